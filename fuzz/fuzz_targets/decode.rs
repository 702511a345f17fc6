//! One frame through `decode` for every supported link type: the first byte picks the link type, the
//! second the original length's excess over the captured length (so snaplen-cut frames are covered).
//! IP packets then go through the Neighbor Discovery reader.

#![no_main]

use capture::LinkType;
use capture::decode::{Decoded, NdpPacket, decode};
use libfuzzer_sys::fuzz_target;

const LINKS: [u32; 10] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let [pick, extra, frame @ ..] = data else {
        return;
    };
    let link = LinkType(LINKS[usize::from(*pick) % LINKS.len()]);
    let orig_len = frame.len() as u32 + u32::from(*extra);
    // An IPv6 packet is also read as Neighbor Discovery, as the pipeline does.
    if let Ok(Decoded::Ip(ip)) = decode(link, frame, orig_len) {
        let _ = NdpPacket::from_ip(&ip);
    }
});
