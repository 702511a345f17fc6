//! NTPv4 packets (RFC 5905 §7.3): the 48-byte UDP payload to and from port 123, without
//! extension fields or MAC.
//!
//! Timestamps are NTP's 64-bit format: seconds since 1900-01-01 and a 32-bit binary fraction.

/// UDP port of NTP, on both sides for ntpd and chrony, as the destination for SNTP clients.
pub const PORT: u16 = 123;
/// Seconds from the NTP era start (1900) to the Unix epoch (1970).
pub const UNIX_EPOCH_OFFSET: u32 = 2_208_988_800;

const LEN: usize = 48;
const VERSION: u8 = 4;
const MODE_CLIENT: u8 = 3;
const MODE_SERVER: u8 = 4;
/// Leap indicator 3: clock unsynchronised (stratum 0 "kiss" packets and stratum 16).
const LI_ALARM: u8 = 3;

/// A client request as SNTP clients (systemd-timesyncd, most embedded stacks) send it: LI 0,
/// VN 4, mode 3 and the transmit timestamp; every other field zero.
pub fn client(out: &mut Vec<u8>, transmit_ts: (u32, u32)) {
    let start = out.len();
    out.resize(start + LEN, 0);
    let p = &mut out[start..];
    p[0] = first_octet(0, MODE_CLIENT);
    put_ts(p, 40, transmit_ts);
}

/// A server reply (mode 4): `originate` echoes the client's transmit timestamp, `receive` and
/// `transmit` are the server's clock when the request came in and the reply went out.
/// `ref_id` is four ASCII characters for stratum 1 ("GPS\0", "PPS\0"), an upstream IPv4 address
/// for stratum 2 and above. Poll 6 (64 s) and precision -23 (~119 ns) as ntpd on Linux reports;
/// the root delay and dispersion are 0 at stratum 1 and a few milliseconds below it; the reference
/// timestamp (last clock update) is 17 s before `receive`. Stratum 0 and 16 and above carry leap
/// indicator 3 (unsynchronised).
pub fn server(
    out: &mut Vec<u8>,
    stratum: u8,
    ref_id: [u8; 4],
    originate: (u32, u32),
    receive: (u32, u32),
    transmit: (u32, u32),
) {
    let start = out.len();
    out.resize(start + LEN, 0);
    let p = &mut out[start..];
    let li = if stratum == 0 || stratum >= 16 {
        LI_ALARM
    } else {
        0
    };
    p[0] = first_octet(li, MODE_SERVER);
    p[1] = stratum;
    p[2] = 6; // poll: log2 seconds
    p[3] = (-23i8) as u8; // precision: log2 seconds
    // Root delay and dispersion are NTP short format: 16.16 fixed-point seconds.
    let (delay, dispersion): (u32, u32) = if stratum <= 1 {
        (0, 0x0000_0010)
    } else {
        (0x0000_0240, 0x0000_0410)
    };
    p[4..8].copy_from_slice(&delay.to_be_bytes());
    p[8..12].copy_from_slice(&dispersion.to_be_bytes());
    p[12..16].copy_from_slice(&ref_id);
    put_ts(p, 16, (receive.0.wrapping_sub(17), receive.1));
    put_ts(p, 24, originate);
    put_ts(p, 32, receive);
    put_ts(p, 40, transmit);
}

/// LI (2 bits), VN (3 bits), mode (3 bits).
fn first_octet(li: u8, mode: u8) -> u8 {
    li << 6 | VERSION << 3 | mode
}

fn put_ts(p: &mut [u8], at: usize, (secs, frac): (u32, u32)) {
    p[at..at + 4].copy_from_slice(&secs.to_be_bytes());
    p[at + 4..at + 8].copy_from_slice(&frac.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(p: &[u8], at: usize) -> (u32, u32) {
        let word = |i: usize| u32::from_be_bytes(p[i..i + 4].try_into().unwrap());
        (word(at), word(at + 4))
    }

    #[test]
    fn client_layout() {
        let mut out = vec![9];
        let t = (UNIX_EPOCH_OFFSET + 1_735_689_600, 0x8000_0000);
        client(&mut out, t);
        assert_eq!(out.len(), 49);
        let p = &out[1..];
        assert_eq!(p[0], 0x23, "LI 0, VN 4, mode 3");
        assert!(p[1..40].iter().all(|&b| b == 0));
        assert_eq!(ts(p, 40), t);
    }

    #[test]
    fn server_layout() {
        let mut out = Vec::new();
        let (o, r, t) = ((100, 1), (200, 2), (200, 3));
        server(&mut out, 2, [10, 0, 0, 1], o, r, t);
        assert_eq!(out.len(), 48);
        assert_eq!(out[0], 0x24, "LI 0, VN 4, mode 4");
        assert_eq!((out[1], out[2], out[3] as i8), (2, 6, -23));
        assert_eq!(&out[12..16], &[10, 0, 0, 1]);
        assert_eq!(ts(&out, 16), (183, 2));
        assert_eq!((ts(&out, 24), ts(&out, 32), ts(&out, 40)), (o, r, t));

        out.clear();
        server(&mut out, 16, *b"INIT", o, (5, 0), t);
        assert_eq!(out[0] >> 6, 3, "unsynchronised");
        assert_eq!(ts(&out, 16).0, 5u32.wrapping_sub(17), "wraps, no panic");
    }
}
