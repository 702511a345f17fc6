//! QUIC Initial packets (RFC 9000, RFC 9001; version 2, RFC 9369) as a client or server protects
//! them: long header, packet number, frames padded, AES-128-GCM under the Initial keys the client's
//! first Destination Connection ID gives, then header protection. Written here from the RFCs, apart
//! from the analyser's reader, so that each checks the other.

use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey, quic};
use ring::hkdf::{HKDF_SHA256, KeyType, Prk, Salt};

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

/// What a client pads its Initial datagrams' payload to (a datagram of at least 1,200 bytes).
pub const CLIENT_PAYLOAD: usize = 1162;

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand_label(prk: &Prk, label: &[u8], out: &mut [u8]) {
    let len = (out.len() as u16).to_be_bytes();
    let label_len = [(6 + label.len()) as u8];
    let info: [&[u8]; 5] = [&len, &label_len, b"tls13 ", label, &[0]];
    prk.expand(&info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF output lengths are fixed and small");
}

/// The Initial key, IV and header protection key of one side (`server`), from the client's first
/// Destination Connection ID.
fn keys(version: u32, client_dcid: &[u8], server: bool) -> ([u8; 16], [u8; 12], [u8; 16]) {
    let (salt, prefix): ([u8; 20], &[u8]) = if version == VERSION_2 {
        (
            [
                0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
                0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
            ],
            b"quicv2 ",
        )
    } else {
        (
            [
                0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
            ],
            b"quic ",
        )
    };
    let initial = Salt::new(HKDF_SHA256, &salt).extract(client_dcid);
    let mut secret = [0u8; 32];
    let side: &[u8] = if server { b"server in" } else { b"client in" };
    expand_label(&initial, side, &mut secret);
    let prk = Prk::new_less_safe(HKDF_SHA256, &secret);
    let (mut key, mut iv, mut hp) = ([0u8; 16], [0u8; 12], [0u8; 16]);
    expand_label(&prk, &[prefix, b"key"].concat(), &mut key);
    expand_label(&prk, &[prefix, b"iv"].concat(), &mut iv);
    expand_label(&prk, &[prefix, b"hp"].concat(), &mut hp);
    (key, iv, hp)
}

/// Appends a QUIC variable-length integer (RFC 9000 16), in its shortest form.
pub fn varint(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=63 => out.push(v as u8),
        64..=16_383 => out.extend_from_slice(&(v as u16 | 0x4000).to_be_bytes()),
        16_384..=1_073_741_823 => out.extend_from_slice(&(v as u32 | 0x8000_0000).to_be_bytes()),
        _ => out.extend_from_slice(&(v | 0xc000_0000_0000_0000).to_be_bytes()),
    }
}

/// Appends a CRYPTO frame: `data` at `offset` of the handshake stream.
pub fn crypto_frame(out: &mut Vec<u8>, offset: u64, data: &[u8]) {
    out.push(0x06);
    varint(out, offset);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// Appends a client's transport parameters (RFC 9000 18.2) as Chrome sends them, in the order of
/// their ids: idle timeout 30 s, 15 MiB of connection flow control, 6 MiB per stream, 100 streams
/// each way, and its initial source connection id, `scid`.
pub fn client_transport_parameters(out: &mut Vec<u8>, scid: &[u8]) {
    let params: [(u64, u64); 7] = [
        (0x01, 30_000),
        (0x04, 15_728_640),
        (0x05, 6_291_456),
        (0x06, 6_291_456),
        (0x07, 6_291_456),
        (0x08, 100),
        (0x09, 100),
    ];
    for (id, value) in params {
        let mut v = Vec::new();
        varint(&mut v, value);
        varint(out, id);
        varint(out, v.len() as u64);
        out.extend_from_slice(&v);
    }
    varint(out, 0x0f);
    varint(out, scid.len() as u64);
    out.extend_from_slice(scid);
}

/// Appends a 1-RTT packet (short header) to `dcid`: its first byte, the connection id, then `len`
/// bytes that stand for the protected packet number and payload (`fill` writes them).
pub fn short_header(out: &mut Vec<u8>, dcid: &[u8], len: usize, fill: impl FnOnce(&mut [u8])) {
    // Fixed bit, spin bit clear, key phase 0, a 2-byte packet number (all protected in reality).
    out.push(0x41);
    out.extend_from_slice(dcid);
    let start = out.len();
    out.resize(start + len, 0);
    fill(&mut out[start..]);
}

/// One Initial packet.
pub struct Initial<'a> {
    pub version: u32,
    /// The client's first Destination Connection ID, which both sides' keys come from.
    pub client_dcid: &'a [u8],
    /// Sent by the server (else by the client).
    pub server: bool,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// The packet number, written in two bytes.
    pub pn: u16,
    /// The frames; padded with PADDING frames to `pad_to` bytes of payload.
    pub frames: &'a [u8],
    pub pad_to: usize,
}

/// Appends `p`, protected.
pub fn initial(out: &mut Vec<u8>, p: &Initial) {
    let (key, iv, hp) = keys(p.version, p.client_dcid, p.server);
    let start = out.len();
    let packet_type = if p.version == VERSION_2 { 1 } else { 0 };
    // Long header, fixed bit, type, a 2-byte packet number.
    out.push(0xc0 | (packet_type << 4) | 1);
    out.extend_from_slice(&p.version.to_be_bytes());
    out.push(p.dcid.len() as u8);
    out.extend_from_slice(p.dcid);
    out.push(p.scid.len() as u8);
    out.extend_from_slice(p.scid);
    // No token.
    out.push(0);
    // Header protection samples 16 bytes from 4 after the packet number's start: with a 2-byte
    // number, at least 2 bytes of payload before the tag (RFC 9001 5.4.2).
    let mut payload = p.frames.to_vec();
    payload.resize(payload.len().max(p.pad_to).max(2), 0);
    varint(out, (2 + payload.len() + 16) as u64);
    let pn_offset = out.len();
    out.extend_from_slice(&p.pn.to_be_bytes());
    let mut nonce = iv;
    nonce[10] ^= (p.pn >> 8) as u8;
    nonce[11] ^= p.pn as u8;
    let sealer = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).expect("a 16-byte key"));
    let tag = sealer
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&out[start..]),
            &mut payload,
        )
        .expect("an Initial packet is far below AES-GCM's limits");
    out.extend_from_slice(&payload);
    out.extend_from_slice(tag.as_ref());
    let hpk = quic::HeaderProtectionKey::new(&quic::AES_128, &hp).expect("a 16-byte key");
    let mask = hpk
        .new_mask(&out[pn_offset + 4..pn_offset + 20])
        .expect("a 16-byte sample");
    out[start] ^= mask[0] & 0x0f;
    out[pn_offset] ^= mask[1];
    out[pn_offset + 1] ^= mask[2];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9001 appendix A: the example connection id's client and server Initial keys.
    #[test]
    fn keys_match_rfc9001() {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
        let (key, iv, hp) = keys(VERSION_1, &dcid, false);
        assert_eq!(
            (hex(&key), hex(&iv), hex(&hp)),
            (
                "1f369613dd76d5467730efcbe3b1a22d".into(),
                "fa044b2f42a3fd3b46fb255c".into(),
                "9f50449e04a0e810283a1e9933adedd2".into()
            )
        );
        let (key, _, _) = keys(VERSION_1, &dcid, true);
        assert_eq!(hex(&key), "cf3a5331653c364c88f0f379b6067e37");
    }

    /// Found by fuzzing: a packet with no frames and no padding still has room for the sample.
    #[test]
    fn an_empty_packet_is_padded_for_header_protection() {
        let mut out = Vec::new();
        let p = Initial {
            version: VERSION_1,
            client_dcid: &[1],
            server: false,
            dcid: &[1],
            scid: &[],
            pn: 0,
            frames: &[],
            pad_to: 0,
        };
        initial(&mut out, &p);
        // Header (7 + 1 + token + length) then 2 + 2 + 16.
        assert_eq!(out.len(), 1 + 4 + 2 + 1 + 1 + 1 + 20);
    }

    #[test]
    fn varints_take_their_shortest_form() {
        for (v, len) in [
            (0u64, 1),
            (63, 1),
            (64, 2),
            (16_383, 2),
            (16_384, 4),
            (1 << 30, 8),
        ] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out.len(), len, "{v}");
        }
    }
}
