//! Arbitrary bytes as one direction of an MLLP stream, pushed in two chunks (split where the first byte
//! says) through the deframer, every frame parsed and summarised; and the raw input parsed as one message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use protocols::hl7::{Frame, MllpDeframer, observations, parse, summarize};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, stream)) = data.split_first() else {
        return;
    };
    let cut = usize::from(pick) * stream.len() / 255;
    let (a, b) = stream.split_at(cut.min(stream.len()));
    // A small cap so that oversized frames are reached too.
    let mut deframer = MllpDeframer::new(if pick & 1 == 0 { 4096 } else { 64 });
    let mut on_frame = |f: Frame<'_>| {
        if let Frame::Message(bytes) = f
            && let Ok(msg) = parse(bytes)
        {
            let _ = summarize(&msg);
        }
    };
    deframer.push(a, &mut on_frame);
    if pick & 2 == 0 {
        deframer.gap(1);
    }
    deframer.push(b, &mut on_frame);
    deframer.close();
    if let Ok(msg) = parse(data) {
        let s = summarize(&msg);
        let _ = msg.get("PID-3(1).1.2");
        let mut n = 0;
        for o in observations(&msg) {
            assert!(o.value().len() <= 256 && o.code().len() <= 256);
            n += 1;
        }
        assert_eq!(n, s.observations);
    }
});
