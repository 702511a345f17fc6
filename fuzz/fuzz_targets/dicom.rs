//! Arbitrary bytes through a `DicomConnection`: the first 16 bytes are eight little-endian chunk sizes
//! (used in turn; 0 means a gap of 100 bytes), the rest is cut into chunks of those sizes, alternating
//! directions, then the connection is closed. A run of eight gaps ends the input.

#![no_main]

use capture::{Direction, Timestamp};
use libfuzzer_sys::fuzz_target;
use protocols::dicom::DicomConnection;

fuzz_target!(|data: &[u8]| {
    let Some((sizes, mut rest)) = data.split_first_chunk::<16>() else {
        return;
    };
    let mut conn = DicomConnection::new();
    let mut i = 0;
    let mut gaps_in_a_row = 0;
    while !rest.is_empty() && gaps_in_a_row < 8 {
        let dir = if i % 2 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let k = (i % 8) * 2;
        let n = usize::from(u16::from_le_bytes([sizes[k], sizes[k + 1]]));
        let ts = Timestamp(i as i64);
        if n == 0 {
            conn.gap(dir, ts, 100);
            gaps_in_a_row += 1;
        } else {
            gaps_in_a_row = 0;
            let (chunk, tail) = rest.split_at(n.min(rest.len()));
            conn.data(dir, ts, chunk);
            rest = tail;
        }
        i += 1;
    }
    conn.close(Timestamp(i as i64));
    let _ = conn.take_associations();
});
