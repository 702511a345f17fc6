//! QUIC Initial packets (RFC 9000, RFC 9001; version 2, RFC 9369): a QUIC client's first flight
//! is encrypted only with keys anyone derives from the connection id the client chose, precisely so
//! that it is not secret; a passive reader recovers the TLS ClientHello inside (SNI, ALPN, the
//! versions offered, JA3 and JA4 with its `q` prefix), as it reads a TLS hello over TCP.
//!
//! [`InitialReader`] takes one side's datagrams in order. Each may hold several coalesced packets;
//! Initial packets are unprotected (header protection, then AES-128-GCM) with the keys both sides
//! derive from the client's first Destination Connection ID, and their CRYPTO frames put back in
//! order (Chrome splits its hello into fragments sent out of order), until the hello is whole: the
//! ClientHello on the client's side, the ServerHello (the version the server chose) on the server's. Versions 1 and 2 are
//! read; drafts and others are not. Everything is bounded: a few packets, 16 KiB of CRYPTO data.

use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey, quic};
use ring::hkdf::{HKDF_SHA256, KeyType, Prk, Salt};

use crate::tls_hello::{
    ClientHello, ServerHello, parse_client_hello_message, parse_server_hello_message,
};

/// QUIC version 1 (RFC 9000) and version 2 (RFC 9369).
pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

/// The salts Initial secrets are extracted with (RFC 9001 5.2, RFC 9369 3.3.1).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// Client datagrams read before giving up on a hello that never completes.
const MAX_DATAGRAMS: u32 = 8;
/// CRYPTO bytes kept: a ClientHello with a post-quantum key share is about 1,800 bytes.
const MAX_CRYPTO: usize = 16 * 1024;
/// CRYPTO fragments kept before the hello is whole.
const MAX_FRAGMENTS: usize = 64;
/// Frames read from one packet.
const MAX_FRAMES: usize = 256;

/// The Initial packet protection of one connection's client side.
struct Keys {
    aead: LessSafeKey,
    iv: [u8; 12],
    hp: quic::HeaderProtectionKey,
}

/// A side's Initial secret, key, IV and header protection key.
type Material = ([u8; 32], [u8; 16], [u8; 12], [u8; 16]);

/// One side's Initial secret, key, IV and header protection key for `version` (`side` is
/// `client in` or `server in`), from the client's first Destination Connection ID (RFC 9001 5.2;
/// RFC 9369 3.3 for version 2's salt and labels).
fn material(version: u32, dcid: &[u8], side: &[u8]) -> Option<Material> {
    let (salt, prefix): (&[u8], &[u8]) = match version {
        VERSION_1 => (&SALT_V1, b"quic "),
        VERSION_2 => (&SALT_V2, b"quicv2 "),
        _ => return None,
    };
    let initial = Salt::new(HKDF_SHA256, salt).extract(dcid);
    let mut secret = [0u8; 32];
    expand_label(&initial, side, &mut secret)?;
    let client = Prk::new_less_safe(HKDF_SHA256, &secret);
    let (mut key, mut iv, mut hp) = ([0u8; 16], [0u8; 12], [0u8; 16]);
    expand_label(&client, &[prefix, b"key"].concat(), &mut key)?;
    expand_label(&client, &[prefix, b"iv"].concat(), &mut iv)?;
    expand_label(&client, &[prefix, b"hp"].concat(), &mut hp)?;
    Some((secret, key, iv, hp))
}

impl Keys {
    fn new(version: u32, dcid: &[u8], side: &[u8]) -> Option<Keys> {
        let (_, key, iv, hp) = material(version, dcid, side)?;
        Some(Keys {
            aead: LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).ok()?),
            iv,
            hp: quic::HeaderProtectionKey::new(&quic::AES_128, &hp).ok()?,
        })
    }
}

/// An output length for ring's HKDF.
struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// TLS 1.3's HKDF-Expand-Label with an empty context (RFC 8446 7.1), into `out`.
fn expand_label(prk: &Prk, label: &[u8], out: &mut [u8]) -> Option<()> {
    let len = u16::try_from(out.len()).ok()?.to_be_bytes();
    let label_len = [u8::try_from(6 + label.len()).ok()?];
    let info: [&[u8]; 5] = [&len, &label_len, b"tls13 ", label, &[0]];
    prk.expand(&info, Len(out.len())).ok()?.fill(out).ok()
}

/// A QUIC variable-length integer (RFC 9000 16) at the front of `b`: its value and the rest.
fn varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for x in &bytes[1..] {
        v = (v << 8) | u64::from(*x);
    }
    Some((v, &b[len..]))
}

/// Reads the hello out of one side of a QUIC connection's first datagrams.
pub struct InitialReader {
    /// The server's side (else the client's).
    server: bool,
    /// The client's first Destination Connection ID: read from its first Initial packet on the
    /// client's side, given on the server's.
    dcid: Option<Vec<u8>>,
    /// Decided by the first Initial packet: its version and keys.
    keys: Option<(u32, Keys)>,
    /// CRYPTO data of the Initial packet number space: the contiguous part from offset 0, and the
    /// fragments beyond it.
    crypto: Vec<u8>,
    fragments: Vec<(usize, Vec<u8>)>,
    datagrams: u32,
    done: bool,
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
}

impl InitialReader {
    /// A reader of the client's datagrams.
    pub fn client() -> InitialReader {
        InitialReader {
            server: false,
            dcid: None,
            keys: None,
            crypto: Vec::new(),
            fragments: Vec::new(),
            datagrams: 0,
            done: false,
            client_hello: None,
            server_hello: None,
        }
    }

    /// A reader of the server's datagrams, whose keys come from the client's first Destination
    /// Connection ID ([`InitialReader::client_dcid`] of the client's reader).
    pub fn server(client_dcid: &[u8]) -> InitialReader {
        InitialReader {
            server: true,
            dcid: Some(client_dcid.to_vec()),
            ..InitialReader::client()
        }
    }

    /// On the client's side, the Destination Connection ID of its first Initial packet.
    pub fn client_dcid(&self) -> Option<&[u8]> {
        self.dcid.as_deref().filter(|_| !self.server)
    }

    /// The next datagram from this reader's side.
    pub fn feed(&mut self, datagram: &[u8]) {
        if self.done {
            return;
        }
        self.datagrams += 1;
        let mut rest = datagram;
        // Coalesced packets: long headers, each with its length; a short header ends the datagram.
        while !rest.is_empty() && !self.done {
            match self.packet(rest) {
                Some(next) => rest = next,
                None => break,
            }
        }
        if self.datagrams >= MAX_DATAGRAMS {
            self.finish();
        }
    }

    /// Nothing more can be learned: the hello was read, or will not be.
    pub fn done(&self) -> bool {
        self.done
    }

    pub fn client_hello(&self) -> Option<&ClientHello> {
        self.client_hello.as_ref()
    }

    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.server_hello.as_ref()
    }

    fn finish(&mut self) {
        self.done = true;
        self.crypto = Vec::new();
        self.fragments = Vec::new();
    }

    /// One long-header packet at the front of `b`: read if it is an Initial one; the bytes after it.
    fn packet<'a>(&mut self, b: &'a [u8]) -> Option<&'a [u8]> {
        let first = *b.first()?;
        // Long header with the fixed bit (RFC 9000 17.2); a version negotiation packet has version 0.
        if first & 0xc0 != 0xc0 {
            return None;
        }
        let version = u32::from_be_bytes(b.get(1..5)?.try_into().ok()?);
        let initial_type = match version {
            VERSION_1 => 0,
            VERSION_2 => 1,
            _ => {
                // Not a version we read: nothing in this flow will be.
                self.finish();
                return None;
            }
        };
        let dcid_len = usize::from(*b.get(5)?);
        let dcid = b.get(6..6 + dcid_len)?;
        let scid_len = usize::from(*b.get(6 + dcid_len)?);
        if dcid_len > 20 || scid_len > 20 {
            return None;
        }
        let mut at = 7 + dcid_len + scid_len;
        let is_initial = (first >> 4) & 3 == initial_type;
        if is_initial {
            let (token_len, after) = varint(b.get(at..)?)?;
            at = b.len() - after.len() + usize::try_from(token_len).ok()?;
        }
        // Retry packets (type 3 in v1, 0 in v2) have no length: nothing follows them to read.
        let retry_type = if version == VERSION_1 { 3 } else { 0 };
        if (first >> 4) & 3 == retry_type {
            return None;
        }
        let (length, after) = varint(b.get(at..)?)?;
        let pn_offset = b.len() - after.len();
        let end = pn_offset.checked_add(usize::try_from(length).ok()?)?;
        let packet = b.get(..end)?;
        if is_initial {
            if self.keys.is_none() {
                let side: &[u8] = if self.server {
                    b"server in"
                } else {
                    b"client in"
                };
                let first = self.dcid.get_or_insert_with(|| dcid.to_vec());
                self.keys = Keys::new(version, first, side).map(|k| (version, k));
            }
            if let Some(plain) = self.unprotect(packet, pn_offset) {
                self.frames(&plain);
            }
        }
        Some(&b[end..])
    }

    /// The packet's payload, header protection removed and decrypted; `None` if it does not open
    /// with the connection's keys (another connection's, or corrupt).
    fn unprotect(&self, packet: &[u8], pn_offset: usize) -> Option<Vec<u8>> {
        let (_, keys) = self.keys.as_ref()?;
        // The sample starts 4 bytes after the packet number's start, whatever its length.
        let sample = packet.get(pn_offset + 4..pn_offset + 20)?;
        let mask = keys.hp.new_mask(sample).ok()?;
        let mut header = packet.get(..pn_offset + 4)?.to_vec();
        header[0] ^= mask[0] & 0x0f;
        let pn_len = usize::from(header[0] & 3) + 1;
        header.truncate(pn_offset + pn_len);
        let mut pn = 0u64;
        for (i, byte) in header[pn_offset..].iter_mut().enumerate() {
            *byte ^= mask[1 + i];
            pn = (pn << 8) | u64::from(*byte);
        }
        let mut nonce = keys.iv;
        for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let mut payload = packet.get(pn_offset + pn_len..)?.to_vec();
        let plain = keys
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&header[..]),
                &mut payload,
            )
            .ok()?;
        let n = plain.len();
        payload.truncate(n);
        Some(payload)
    }

    /// The frames of an Initial packet: CRYPTO data kept, the rest passed over.
    fn frames(&mut self, mut b: &[u8]) {
        for _ in 0..MAX_FRAMES {
            let Some((kind, rest)) = varint(b) else {
                return;
            };
            b = match kind {
                // PADDING, PING.
                0x00 | 0x01 => rest,
                // ACK (with ECN counts for 0x03): largest, delay, range count, first range, ranges.
                0x02 | 0x03 => match skip_ack(rest, kind == 0x03) {
                    Some(r) => r,
                    None => return,
                },
                0x06 => {
                    let Some((offset, r)) = varint(rest) else {
                        return;
                    };
                    let Some((len, r)) = varint(r) else { return };
                    let Some(data) = usize::try_from(len).ok().and_then(|n| r.get(..n)) else {
                        return;
                    };
                    self.crypto_data(offset, data);
                    if self.done {
                        return;
                    }
                    &r[data.len()..]
                }
                // CONNECTION_CLOSE, or a frame an Initial packet may not carry: nothing more to read.
                _ => return,
            };
        }
    }

    /// CRYPTO data at `offset`; completes the hello when its bytes are all there.
    fn crypto_data(&mut self, offset: u64, data: &[u8]) {
        let Ok(offset) = usize::try_from(offset) else {
            return self.finish();
        };
        if offset.saturating_add(data.len()) > MAX_CRYPTO || self.fragments.len() >= MAX_FRAGMENTS {
            return self.finish();
        }
        self.fragments.push((offset, data.to_vec()));
        // Append whatever now continues the contiguous part (first copy wins on overlap).
        loop {
            let have = self.crypto.len();
            let Some(i) = self
                .fragments
                .iter()
                .position(|(o, d)| *o <= have && o + d.len() > have)
            else {
                break;
            };
            let (o, d) = self.fragments.swap_remove(i);
            let skip = have - o;
            self.crypto.extend_from_slice(&d[skip..]);
        }
        let have = self.crypto.len();
        self.fragments.retain(|(o, d)| o + d.len() > have);
        // A handshake message: type, 24-bit length, body.
        let Some(len) = self.crypto.get(1..4) else {
            return;
        };
        let whole =
            4 + (usize::from(len[0]) << 16 | usize::from(len[1]) << 8 | usize::from(len[2]));
        if whole > MAX_CRYPTO {
            return self.finish();
        }
        if self.crypto.len() >= whole {
            let message = &self.crypto[..whole];
            if self.server {
                self.server_hello = parse_server_hello_message(message);
            } else {
                self.client_hello = parse_client_hello_message(message);
            }
            self.finish();
        }
    }
}

/// Passes over an ACK frame's fields after its type.
fn skip_ack(b: &[u8], ecn: bool) -> Option<&[u8]> {
    let (_largest, b) = varint(b)?;
    let (_delay, b) = varint(b)?;
    let (ranges, b) = varint(b)?;
    let (_first, mut b) = varint(b)?;
    // Each further range is a gap and a length; a count past what the packet holds fails below.
    for _ in 0..ranges.min(MAX_FRAMES as u64) * 2 {
        b = varint(b)?.1;
    }
    if ecn {
        for _ in 0..3 {
            b = varint(b)?.1;
        }
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use synth::payload::tls::{ClientStack, client_hello, stack_spec};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

    /// RFC 9001 appendix A.1: the client's Initial secrets for the example connection id.
    #[test]
    fn initial_keys_match_rfc9001() {
        let (secret, key, iv, hp) = material(VERSION_1, &DCID, b"client in").unwrap();
        assert_eq!(
            hex(&secret),
            "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"
        );
        assert_eq!(hex(&key), "1f369613dd76d5467730efcbe3b1a22d");
        assert_eq!(hex(&iv), "fa044b2f42a3fd3b46fb255c");
        assert_eq!(hex(&hp), "9f50449e04a0e810283a1e9933adedd2");
        let (_, key, iv, hp) = material(VERSION_1, &DCID, b"server in").unwrap();
        assert_eq!(hex(&key), "cf3a5331653c364c88f0f379b6067e37");
        assert_eq!(hex(&iv), "0ac1493ca1905853b0bba03e");
        assert_eq!(hex(&hp), "c206b8d9b9f0f37644430b490eeaa314");
        // RFC 9369 appendix A.1, version 2.
        let (_, key, iv, hp) = material(VERSION_2, &DCID, b"client in").unwrap();
        assert_eq!(hex(&key), "8b1a0bc121284290a29e0971b5cd045d");
        assert_eq!(hex(&iv), "91f73e2351d8fa91660e909f");
        assert_eq!(hex(&hp), "45b95e15235d6f45a6b19cbcb0294ba9");
    }

    fn crypto(offset: usize, data: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        synth::payload::quic::crypto_frame(&mut f, offset as u64, data);
        f
    }

    /// A client Initial packet (2-byte packet number `pn`), padded as clients pad them.
    fn initial(version: u32, dcid: &[u8], pn: u16, frames: &[u8]) -> Vec<u8> {
        protect(version, dcid, false, dcid, pn, frames)
    }

    /// An Initial packet of the server (or the client) with `dcid` in its header, protected with the
    /// keys of `client_dcid`: built by synth, from the RFCs, apart from this reader.
    fn protect(
        version: u32,
        client_dcid: &[u8],
        server: bool,
        dcid: &[u8],
        pn: u16,
        frames: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let packet = synth::payload::quic::Initial {
            version,
            client_dcid,
            server,
            dcid,
            scid: &[0xaa, 0xbb, 0xcc, 0xdd],
            pn,
            frames,
            pad_to: synth::payload::quic::CLIENT_PAYLOAD,
        };
        synth::payload::quic::initial(&mut out, &packet);
        out
    }

    /// Chrome's hello, as a handshake message (no record header).
    fn chrome_hello() -> Vec<u8> {
        let profile = stack_spec(ClientStack::Browser);
        let mut record = Vec::new();
        client_hello(
            &mut record,
            &profile.hello([7; 32], &[], Some("ehr.hospital.example")),
        );
        record.split_off(5)
    }

    /// The hello split in three CRYPTO fragments sent out of order over two packets (as Chrome
    /// does), among PING, ACK and PADDING frames, the second packet coalesced with a Handshake
    /// packet the reader passes over: the same hello as over TCP, JA4 with a `q`.
    #[test]
    fn a_hello_split_out_of_order_over_two_packets_is_read() {
        let hello = chrome_hello();
        let (a, rest) = hello.split_at(150);
        let (b, c) = rest.split_at(100);
        let mut first = crypto(150, b);
        first.push(0x01);
        first.extend(crypto(0, a));
        let mut second = vec![0x02, 5, 0, 0, 0];
        second.extend(crypto(250, c));
        for version in [VERSION_1, VERSION_2] {
            let mut r = InitialReader::client();
            r.feed(&initial(version, &DCID, 0, &first));
            assert!(!r.done() && r.client_hello().is_none());
            let mut datagram = initial(version, &DCID, 1, &second);
            let handshake_type = if version == VERSION_1 { 2 } else { 3 };
            datagram.extend_from_slice(&[0xc0 | handshake_type << 4, 0, 0, 0, 1, 0, 0, 3, 1, 2, 3]);
            datagram[1..5].copy_from_slice(&version.to_be_bytes());
            r.feed(&datagram);
            assert!(r.done());
            let got = r.client_hello().expect("the hello");
            let want = parse_client_hello_message(&hello).unwrap();
            assert_eq!(got, &want);
            assert_eq!(got.sni.as_deref(), Some("ehr.hospital.example"));
            assert!(got.ja4_quic().starts_with("q13d"), "{}", got.ja4_quic());
            assert_eq!(got.ja4_quic()[1..], want.ja4()[1..]);
            assert_eq!(r.client_dcid(), Some(&DCID[..]));
        }
    }

    /// The server's Initial packet, to the client's connection id, under keys from the client's first
    /// one: its ServerHello, and the version it chose.
    #[test]
    fn the_servers_hello_is_read_with_the_clients_connection_id() {
        let mut hello = Vec::new();
        synth::payload::tls::server_hello(&mut hello, 0x0304, [9; 32], &[], 0x1301, None);
        let message = hello.split_off(5);
        let scid = [0xaa, 0xbb, 0xcc, 0xdd];
        let frames = [vec![0x02, 0, 0, 0, 0], crypto(0, &message)].concat();
        let packet = protect(VERSION_1, &DCID, true, &scid, 0, &frames);
        let mut r = InitialReader::server(&DCID);
        r.feed(&packet);
        let h = r.server_hello().expect("the server's hello");
        assert_eq!((h.version, h.cipher), (0x0304, 0x1301));
        assert_eq!(r.client_dcid(), None);
        // Under another connection's keys, nothing.
        let mut r = InitialReader::server(&[1, 2, 3]);
        r.feed(&packet);
        assert!(r.server_hello().is_none());
    }

    /// A packet for another connection id does not open with this connection's keys; a version we do
    /// not read ends the reading; eight datagrams without a whole hello too; every prefix of a
    /// datagram is read without a panic.
    #[test]
    fn what_cannot_be_read_is_passed_over_and_bounded() {
        let hello = chrome_hello();
        let first = initial(VERSION_1, &DCID, 0, &crypto(0, &hello[..100]));
        let mut r = InitialReader::client();
        r.feed(&first);
        let mut other = initial(VERSION_1, &[1, 2, 3, 4], 1, &crypto(100, &hello[100..]));
        r.feed(&other);
        assert!(r.client_hello().is_none());
        for _ in 0..6 {
            r.feed(&[0x40, 1, 2, 3]);
        }
        assert!(r.done() && r.client_hello().is_none());

        let mut r = InitialReader::client();
        let mut draft = first.clone();
        draft[1..5].copy_from_slice(&0xff00_001du32.to_be_bytes());
        r.feed(&draft);
        assert!(r.done());

        let whole = initial(VERSION_1, &DCID, 0, &crypto(0, &hello));
        for cut in 0..whole.len() {
            let mut r = InitialReader::client();
            r.feed(&whole[..cut]);
            assert!(r.client_hello().is_none());
        }
        // Flipped bits anywhere: never a panic, and a hello only if the tag still verifies.
        for i in (0..whole.len()).step_by(7) {
            other.clone_from(&whole);
            other[i] ^= 0x10;
            let mut r = InitialReader::client();
            r.feed(&other);
        }
    }
}
