//! QUIC Initial packets: random bytes cannot get past AES-GCM, so the fuzzer's bytes are the
//! plaintext frames, cut into up to three client packets (the first byte picks the version and the
//! cuts) that synth protects as a client does; the reader then unprotects them and reassembles the
//! CRYPTO stream into a ClientHello. The same bytes also go in raw, as a datagram of each side and
//! through a UDP 443 flow session.

#![no_main]

use std::cell::RefCell;
use std::rc::Rc;

use capture::{Direction, EndReason, StreamConsumer, Timestamp};
use libfuzzer_sys::fuzz_target;
use protocols::detect::PortMap;
use protocols::quic::InitialReader;
use protocols::session::{EventSink, FlowSession, Hl7Record, SharedSink};
use synth::payload::quic::{CLIENT_PAYLOAD, Initial, VERSION_1, VERSION_2, initial};

struct Discard;

impl EventSink for Discard {
    fn hl7(&mut self, _flow: u64, _record: Hl7Record<'_>, _message: &protocols::hl7::Message<'_>) {}
}

const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frames)) = data.split_first() else {
        return;
    };
    let version = if pick & 1 == 0 { VERSION_1 } else { VERSION_2 };
    let cut = |n: u8| (usize::from(n) * frames.len() / 8).min(frames.len());
    let (a, b) = (cut(pick >> 1 & 7), cut(pick >> 4 & 7));
    let (a, b) = (a.min(b), a.max(b));
    let mut datagrams = Vec::new();
    for (pn, part) in [&frames[..a], &frames[a..b], &frames[b..]].into_iter().enumerate() {
        let mut out = Vec::new();
        let packet = Initial {
            version,
            client_dcid: &DCID,
            server: false,
            dcid: &DCID,
            scid: &[1, 2, 3, 4],
            pn: pn as u16,
            frames: part,
            pad_to: if pick & 0x80 != 0 { 0 } else { CLIENT_PAYLOAD },
        };
        initial(&mut out, &packet);
        datagrams.push(out);
    }
    let mut client = InitialReader::client();
    for d in &datagrams {
        client.feed(d);
    }
    if let Some(h) = client.client_hello() {
        let _ = (h.ja3(), h.ja4_quic());
    }
    // Raw bytes, as either side.
    let mut raw = InitialReader::client();
    raw.feed(data);
    let mut server = InitialReader::server(&DCID);
    server.feed(data);
    let _ = server.server_hello();
    // Through a QUIC flow: the protected packets, then the raw bytes back from the server.
    let sink: SharedSink = Rc::new(RefCell::new(Discard));
    let mut s = FlowSession::new(Rc::new(PortMap::standard()), sink, 1, false, 443);
    let ts = Timestamp(1);
    for d in &datagrams {
        s.datagram(Direction::ToServer, ts, d);
    }
    s.datagram(Direction::ToClient, ts, data);
    s.close(ts, EndReason::EndOfCapture);
});
