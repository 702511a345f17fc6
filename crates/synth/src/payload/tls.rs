//! TLS records and handshake messages (RFC 5246 for TLS 1.2, RFC 8446 for TLS 1.3) and a minimal
//! X.509 v3 certificate in DER (RFC 5280): the TCP payload of a TLS session, byte for byte.
//!
//! Everything a passive observer can read is exact: record and handshake framing, ClientHello and
//! ServerHello fields in the order that JA3/JA4 fingerprints hash, certificates. Everything
//! encrypted is opaque bytes of the right length, deterministic from the inputs.
//!
//! Vectors are cut to what their length fields can say (the session ID to 32 bytes, a host name
//! to 255, protocol names to 255, lists to 1024 entries), so no input makes a malformed message.
//! Handshake messages longer than a record's 2^14 bytes are split across records (RFC 5246
//! §6.2.1), as a large certificate chain is.

use crate::rng::Rng;

pub const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
pub const CONTENT_ALERT: u8 = 21;
pub const CONTENT_HANDSHAKE: u8 = 22;
pub const CONTENT_APPLICATION_DATA: u8 = 23;

pub const HS_CLIENT_HELLO: u8 = 1;
pub const HS_SERVER_HELLO: u8 = 2;
pub const HS_NEW_SESSION_TICKET: u8 = 4;
pub const HS_CERTIFICATE: u8 = 11;
pub const HS_SERVER_KEY_EXCHANGE: u8 = 12;
pub const HS_SERVER_HELLO_DONE: u8 = 14;
pub const HS_CLIENT_KEY_EXCHANGE: u8 = 16;

pub const TLS10: u16 = 0x0301;
pub const TLS12: u16 = 0x0303;
pub const TLS13: u16 = 0x0304;

pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_STATUS_REQUEST: u16 = 5;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
pub const EXT_SESSION_TICKET: u16 = 35;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_QUIC_TRANSPORT_PARAMETERS: u16 = 57;
pub const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
pub const EXT_KEY_SHARE: u16 = 51;
pub const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746): a cipher-suite value that stands in for the
/// renegotiation_info extension.
pub const SCSV_RENEGOTIATION: u16 = 0x00ff;

pub const GROUP_SECP256R1: u16 = 23;
pub const GROUP_SECP384R1: u16 = 24;
pub const GROUP_SECP521R1: u16 = 25;
pub const GROUP_X25519: u16 = 29;
pub const GROUP_X448: u16 = 30;

/// Most plaintext one record carries (RFC 8446 §5.1).
pub const MAX_FRAGMENT: usize = 1 << 14;
/// Payload of a full application_data record: 2^14 bytes of plaintext sealed with an AEAD
/// (AES-GCM or ChaCha20-Poly1305: a 16-byte tag) plus TLS 1.3's inner content-type byte.
pub const MAX_APPLICATION_RECORD: usize = MAX_FRAGMENT + 1 + 16;

/// AEAD tag plus TLS 1.3 inner content type: what encryption adds to a TLS 1.3 record.
const TLS13_OVERHEAD: usize = 16 + 1;
const MAX_LIST: usize = 1024;

/// The fields of a ClientHello a fingerprint sees. See [`client_hello`] for what each becomes.
#[derive(Debug, Clone, Copy)]
pub struct ClientHelloSpec<'a> {
    /// ClientHello.legacy_version: 0x0303 for TLS 1.2 and 1.3 clients.
    pub legacy_version: u16,
    pub random: [u8; 32],
    /// Empty for a fresh TLS 1.2 session; 32 random bytes from TLS 1.3 clients (middlebox
    /// compatibility mode, RFC 8446 §D.4). Cut to 32 bytes.
    pub session_id: &'a [u8],
    pub cipher_suites: &'a [u16],
    pub sni: Option<&'a str>,
    pub alpn: &'a [&'a str],
    pub supported_groups: &'a [u16],
    pub signature_algorithms: &'a [u16],
    /// Empty: no supported_versions extension (a TLS 1.2 client).
    pub supported_versions: &'a [u16],
    /// A GREASE value (RFC 8701, e.g. 0x0a0a) placed first in the cipher suites, the extensions,
    /// the groups, the key shares and the versions, as Chrome does (Chrome draws a different
    /// value for each; one value is as valid).
    pub grease: Option<u16>,
    /// The group of the one key share offered when TLS 1.3 is; the key is derived from `random`.
    pub key_share_group: Option<u16>,
    /// QUIC's transport parameters (RFC 9000 18), sent last as extension 57; empty: none (TLS over
    /// TCP).
    pub quic_transport_parameters: &'a [u8],
}

/// A ClientHello in one handshake record (more if it exceeds 2^14 bytes) of record version
/// 0x0301, as clients write their first record.
///
/// Extensions, in this order, each only when the condition holds:
///
/// | extension | when |
/// |---|---|
/// | GREASE (empty) | `grease` |
/// | server_name (0) | `sni` is a non-empty name |
/// | extended_master_secret (23) | always |
/// | renegotiation_info (65281) | the suites lack the SCSV 0x00ff (RFC 5746 §3.4: one or the other) |
/// | supported_groups (10) | groups given |
/// | ec_point_formats (11), [uncompressed] | groups given |
/// | session_ticket (35), empty | always |
/// | application_layer_protocol_negotiation (16) | `alpn` given |
/// | status_request (5), OCSP | always |
/// | signature_algorithms (13) | algorithms given |
/// | key_share (51) | TLS 1.3 offered and `key_share_group` |
/// | psk_key_exchange_modes (45), [psk_dhe_ke] | TLS 1.3 offered |
/// | supported_versions (43) | versions given |
/// | quic_transport_parameters (57) | parameters given |
///
/// "TLS 1.3 offered" means `supported_versions` contains 0x0304.
pub fn client_hello(out: &mut Vec<u8>, spec: &ClientHelloSpec) {
    let tls13 = spec.supported_versions.contains(&TLS13);
    handshake_record(out, TLS10, HS_CLIENT_HELLO, |out| {
        out.extend_from_slice(&spec.legacy_version.to_be_bytes());
        out.extend_from_slice(&spec.random);
        vector(out, 1, |out| {
            out.extend_from_slice(cap(spec.session_id, 32))
        });
        vector(out, 2, |out| {
            u16s(
                out,
                spec.grease
                    .into_iter()
                    .chain(cap(spec.cipher_suites, 32_000).iter().copied()),
            )
        });
        out.extend_from_slice(&[1, 0]); // compression_methods: null only
        vector(out, 2, |out| {
            if let Some(g) = spec.grease {
                extension(out, g, |_| {});
            }
            if let Some(host) = spec.sni.filter(|h| !h.is_empty()) {
                // ServerNameList of one HostName (name_type 0).
                extension(out, EXT_SERVER_NAME, |out| {
                    vector(out, 2, |out| {
                        out.push(0);
                        vector(out, 2, |out| {
                            out.extend_from_slice(cap(host.as_bytes(), 255))
                        });
                    })
                });
            }
            extension(out, EXT_EXTENDED_MASTER_SECRET, |_| {});
            if !spec.cipher_suites.contains(&SCSV_RENEGOTIATION) {
                extension(out, EXT_RENEGOTIATION_INFO, |out| out.push(0));
            }
            if !spec.supported_groups.is_empty() {
                extension(out, EXT_SUPPORTED_GROUPS, |out| {
                    vector(out, 2, |out| {
                        u16s(out, with_grease(spec.grease, spec.supported_groups))
                    })
                });
                extension(out, EXT_EC_POINT_FORMATS, |out| {
                    out.extend_from_slice(&[1, 0])
                });
            }
            extension(out, EXT_SESSION_TICKET, |_| {});
            if spec.alpn.iter().any(|p| !p.is_empty()) {
                extension(out, EXT_ALPN, |out| alpn_list(out, cap(spec.alpn, 64)));
            }
            // CertificateStatusRequest: status_type ocsp, empty responder_id_list, no extensions.
            extension(out, EXT_STATUS_REQUEST, |out| {
                out.extend_from_slice(&[1, 0, 0, 0, 0])
            });
            if !spec.signature_algorithms.is_empty() {
                extension(out, EXT_SIGNATURE_ALGORITHMS, |out| {
                    vector(out, 2, |out| {
                        u16s(
                            out,
                            cap(spec.signature_algorithms, MAX_LIST).iter().copied(),
                        )
                    })
                });
            }
            if tls13 && let Some(group) = spec.key_share_group {
                extension(out, EXT_KEY_SHARE, |out| {
                    vector(out, 2, |out| {
                        if let Some(g) = spec.grease {
                            // Chrome's GREASE key share: one zero byte.
                            out.extend_from_slice(&g.to_be_bytes());
                            out.extend_from_slice(&[0, 1, 0]);
                        }
                        key_share_entry(out, group, &spec.random, 0x6b65_795f_c11e);
                    })
                });
            }
            if tls13 {
                extension(out, EXT_PSK_KEY_EXCHANGE_MODES, |out| {
                    out.extend_from_slice(&[1, 1])
                });
            }
            if !spec.supported_versions.is_empty() {
                extension(out, EXT_SUPPORTED_VERSIONS, |out| {
                    vector(out, 1, |out| {
                        u16s(
                            out,
                            with_grease(spec.grease, cap(spec.supported_versions, 120)),
                        )
                    })
                });
            }
            if !spec.quic_transport_parameters.is_empty() {
                extension(out, EXT_QUIC_TRANSPORT_PARAMETERS, |out| {
                    out.extend_from_slice(cap(spec.quic_transport_parameters, 60_000))
                });
            }
        });
    });
}

/// A ServerHello record (record version 0x0303).
///
/// TLS 1.2 and below (`version` < 0x0304): `version` as server_version, then OpenSSL's
/// extensions in OpenSSL's order: renegotiation_info (empty), ec_point_formats [uncompressed,
/// ansiX962_compressed_prime, ansiX962_compressed_char2] when `cipher` is an ECDHE/ECDH suite
/// (0xC0xx, 0xCCA8, 0xCCA9), session_ticket (empty), ALPN when `alpn` is given,
/// extended_master_secret. The server flight goes on with [`certificate_flight`] or
/// [`certificate_flight_ecdhe`].
///
/// TLS 1.3 (`version` 0x0304): legacy_version 0x0303, `session_id` (the client's, echoed),
/// supported_versions [0x0304] and an x25519 key_share (key derived from `random`). The flight
/// goes on with [`change_cipher_spec`] (middlebox compatibility mode, RFC 8446 §D.4) and then
/// [`encrypted_server_flight_13`]. ALPN travels encrypted in TLS 1.3, so `alpn` is ignored here
/// and given to [`encrypted_server_flight_13`] instead.
pub fn server_hello(
    out: &mut Vec<u8>,
    version: u16,
    random: [u8; 32],
    session_id: &[u8],
    cipher: u16,
    alpn: Option<&str>,
) {
    let tls13 = version >= TLS13;
    handshake_record(out, version.min(TLS12), HS_SERVER_HELLO, |out| {
        out.extend_from_slice(&version.min(TLS12).to_be_bytes());
        out.extend_from_slice(&random);
        vector(out, 1, |out| out.extend_from_slice(cap(session_id, 32)));
        out.extend_from_slice(&cipher.to_be_bytes());
        out.push(0); // compression_method: null
        vector(out, 2, |out| {
            if tls13 {
                extension(out, EXT_SUPPORTED_VERSIONS, |out| {
                    out.extend_from_slice(&TLS13.to_be_bytes())
                });
                extension(out, EXT_KEY_SHARE, |out| {
                    key_share_entry(out, GROUP_X25519, &random, 0x5e7)
                });
                return;
            }
            extension(out, EXT_RENEGOTIATION_INFO, |out| out.push(0));
            if cipher >> 8 == 0xc0 || cipher == 0xcca8 || cipher == 0xcca9 {
                extension(out, EXT_EC_POINT_FORMATS, |out| {
                    out.extend_from_slice(&[3, 0, 1, 2])
                });
            }
            extension(out, EXT_SESSION_TICKET, |_| {});
            if let Some(p) = alpn.filter(|p| !p.is_empty()) {
                extension(out, EXT_ALPN, |out| alpn_list(out, &[p]));
            }
            extension(out, EXT_EXTENDED_MASTER_SECRET, |_| {});
        });
    });
}

/// The encrypted rest of a TLS 1.3 server's first flight, after [`server_hello`] and
/// [`change_cipher_spec`]: the
/// EncryptedExtensions, Certificate (of `chain`), CertificateVerify (RSA-PSS, 2048-bit key) and
/// Finished messages, each in its own application_data record as OpenSSL writes them, of exactly
/// the length the real encrypted message has, contents opaque from `seed`. `cipher` decides the
/// Finished length (48 bytes for TLS_AES_256_GCM_SHA384, 32 otherwise).
pub fn encrypted_server_flight_13(
    out: &mut Vec<u8>,
    cipher: u16,
    alpn: Option<&str>,
    chain: &[&[u8]],
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    // EncryptedExtensions: header, extension list length, the ALPN extension if any.
    let ee = 4
        + 2
        + alpn
            .filter(|p| !p.is_empty())
            .map_or(0, |p| 4 + 2 + 1 + p.len().min(255));
    // Certificate: header, empty request context, list length, per entry length + DER + empty
    // extensions.
    let certs = 4 + 1 + 3 + chain.iter().map(|c| 3 + c.len() + 2).sum::<usize>();
    // CertificateVerify: header, scheme, signature length, 256-byte signature.
    let verify = 4 + 2 + 2 + 256;
    let finished = 4 + if cipher == 0x1302 { 48 } else { 32 };
    for plain in [ee, certs, verify, finished] {
        encrypted_13(out, plain, &mut rng);
    }
}

/// A TLS 1.3 client's second flight: the ChangeCipherSpec record of middlebox compatibility
/// mode, then the encrypted Finished (32-byte verify data) in one application_data record.
pub fn client_finish_13(out: &mut Vec<u8>, seed: u64) {
    change_cipher_spec(out);
    encrypted_13(out, 4 + 32, &mut Rng::new(seed));
}

/// Records of a TLS 1.3 encrypted handshake message of `plain` bytes: each fragment of at most
/// 2^14 bytes becomes a record 17 bytes longer.
fn encrypted_13(out: &mut Vec<u8>, plain: usize, rng: &mut Rng) {
    let mut left = plain;
    while left > 0 {
        let n = left.min(MAX_FRAGMENT);
        opaque_record(out, CONTENT_APPLICATION_DATA, n + TLS13_OVERHEAD, rng);
        left -= n;
    }
}

/// A TLS 1.2 server's Certificate message (the chain, leaf first) and ServerHelloDone, each in
/// its own record as OpenSSL writes them: the flight of an RSA key exchange suite.
pub fn certificate_flight(out: &mut Vec<u8>, chain: &[&[u8]]) {
    certificate(out, chain);
    server_hello_done(out);
}

/// As [`certificate_flight`], with the ServerKeyExchange an ECDHE suite needs between them:
/// named curve x25519, the server's 32-byte `public` key, signed with rsa_pss_rsae_sha256 by a
/// 2048-bit key (256 opaque bytes from `seed`).
pub fn certificate_flight_ecdhe(out: &mut Vec<u8>, chain: &[&[u8]], public: [u8; 32], seed: u64) {
    certificate(out, chain);
    handshake_record(out, TLS12, HS_SERVER_KEY_EXCHANGE, |out| {
        out.push(3); // curve_type: named_curve
        out.extend_from_slice(&GROUP_X25519.to_be_bytes());
        out.push(32);
        out.extend_from_slice(&public);
        out.extend_from_slice(&0x0804u16.to_be_bytes());
        out.extend_from_slice(&256u16.to_be_bytes());
        opaque(out, 256, &mut Rng::new(seed));
    });
    server_hello_done(out);
}

fn certificate(out: &mut Vec<u8>, chain: &[&[u8]]) {
    handshake_record(out, TLS12, HS_CERTIFICATE, |out| {
        vector(out, 3, |out| {
            for der in chain {
                // A certificate list is at most 2^24 - 1 bytes: leave out what would not fit.
                let der = cap(der, 0x00ff_ffff);
                vector(out, 3, |out| out.extend_from_slice(der));
            }
        });
    });
}

/// ServerHelloDone: a handshake message with an empty body, in its own record.
pub fn server_hello_done(out: &mut Vec<u8>) {
    handshake_record(out, TLS12, HS_SERVER_HELLO_DONE, |_| {});
}

/// A TLS 1.2 client's second flight, each in its own record: ClientKeyExchange with the
/// client's 32-byte ECDHE point `key`, ChangeCipherSpec, and Finished encrypted with AES-GCM (40
/// bytes: an 8-byte explicit nonce, the 16-byte message, the 16-byte tag). The explicit nonce is
/// the record sequence number, 0 for this first encrypted record, as Go, NSS, GnuTLS and mbedTLS
/// write it.
pub fn client_finish_12(out: &mut Vec<u8>, key: [u8; 32]) {
    handshake_record(out, TLS12, HS_CLIENT_KEY_EXCHANGE, |out| {
        out.push(32);
        out.extend_from_slice(&key);
    });
    change_cipher_spec(out);
    record_header(out, CONTENT_HANDSHAKE, 40);
    out.extend_from_slice(&[0; 8]);
    opaque(
        out,
        32,
        &mut Rng::new(u64::from_le_bytes(key[..8].try_into().unwrap_or([0; 8]))),
    );
}

/// A TLS 1.2 server's second flight, each message in its own record: NewSessionTicket (RFC
/// 5077 §3.3: owed to a client whose session_ticket extension the ServerHello answered, as
/// [`server_hello`] always does; lifetime hint 7200 s, a 192-byte opaque ticket from `seed`),
/// ChangeCipherSpec, and the encrypted Finished laid out as in [`client_finish_12`].
pub fn server_finish_12(out: &mut Vec<u8>, seed: u64) {
    let mut rng = Rng::new(seed);
    handshake_record(out, TLS12, HS_NEW_SESSION_TICKET, |out| {
        out.extend_from_slice(&7200u32.to_be_bytes());
        vector(out, 2, |out| opaque(out, 192, &mut rng));
    });
    change_cipher_spec(out);
    record_header(out, CONTENT_HANDSHAKE, 40);
    out.extend_from_slice(&[0; 8]);
    opaque(out, 32, &mut rng);
}

/// A ChangeCipherSpec record: one byte, 1.
pub fn change_cipher_spec(out: &mut Vec<u8>) {
    record_header(out, CONTENT_CHANGE_CIPHER_SPEC, 1);
    out.push(1);
}

/// `len` bytes of encrypted application data in records (content type 23, version 0x0303) of
/// [`MAX_APPLICATION_RECORD`] bytes, the last one shorter. Bytes come from an [`Rng`] seeded with
/// `seed`, eight at a time. Nothing is written for `len` 0.
pub fn application_data(out: &mut Vec<u8>, len: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    out.reserve(len + len.div_ceil(MAX_APPLICATION_RECORD) * 5);
    let mut left = len;
    while left > 0 {
        let n = left.min(MAX_APPLICATION_RECORD);
        opaque_record(out, CONTENT_APPLICATION_DATA, n, &mut rng);
        left -= n;
    }
}

/// An encrypted close_notify alert as TLS 1.2 with AES-GCM sends it: content type 21, 26 opaque
/// bytes (8-byte explicit nonce, 2-byte alert, 16-byte tag).
pub fn alert_close_notify_encrypted(out: &mut Vec<u8>) {
    opaque_record(out, CONTENT_ALERT, 26, &mut Rng::new(0xc105e));
}

/// Which client a ClientHello imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientStack {
    /// A medical device's embedded stack, mbedTLS 2.x configured with a short suite list: TLS 1.2
    /// only, no GREASE, P-256/P-384, SCSV instead of renegotiation_info.
    Embedded,
    /// The JDK 11 client (JSSE): TLS 1.3 and 1.0-1.2, the long JDK suite list with SCSV.
    Java,
    /// Chrome (~120): GREASE, TLS 1.3 and 1.2, 15 suites, x25519 first, h2 and http/1.1.
    Browser,
    /// curl on OpenSSL 3.0: OpenSSL's default 30 suites plus SCSV, ten groups, h2 and http/1.1.
    OpenSsl,
}

impl ClientStack {
    pub const ALL: [ClientStack; 4] = [
        ClientStack::Embedded,
        ClientStack::Java,
        ClientStack::Browser,
        ClientStack::OpenSsl,
    ];
}

/// The fixed ClientHello parameters of a [`ClientStack`]; [`StackProfile::hello`] adds the
/// per-connection ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackProfile {
    pub legacy_version: u16,
    pub cipher_suites: Vec<u16>,
    pub supported_groups: Vec<u16>,
    pub signature_algorithms: Vec<u16>,
    pub supported_versions: Vec<u16>,
    pub grease: Option<u16>,
    pub key_share_group: Option<u16>,
    /// ALPN protocols the stack offers by default.
    pub alpn: Vec<&'static str>,
    /// Whether the stack sends a 32-byte legacy session ID in a fresh handshake (TLS 1.3
    /// middlebox compatibility) rather than an empty one.
    pub compat_session_id: bool,
}

impl StackProfile {
    /// The ClientHello of this stack for one connection. `session_id` should be 32 random bytes
    /// when [`StackProfile::compat_session_id`] is set, empty otherwise.
    pub fn hello<'a>(
        &'a self,
        random: [u8; 32],
        session_id: &'a [u8],
        sni: Option<&'a str>,
    ) -> ClientHelloSpec<'a> {
        ClientHelloSpec {
            legacy_version: self.legacy_version,
            random,
            session_id,
            cipher_suites: &self.cipher_suites,
            sni,
            alpn: &self.alpn,
            supported_groups: &self.supported_groups,
            signature_algorithms: &self.signature_algorithms,
            supported_versions: &self.supported_versions,
            grease: self.grease,
            key_share_group: self.key_share_group,
            quic_transport_parameters: &[],
        }
    }
}

/// The ClientHello parameters of a real client stack (lists as those stacks send them).
pub fn stack_spec(stack: ClientStack) -> StackProfile {
    match stack {
        ClientStack::Embedded => StackProfile {
            legacy_version: TLS12,
            cipher_suites: vec![
                0xc02b,
                0xc02f,
                0xc02c,
                0xc030,
                0xc023,
                0xc027,
                0x009c,
                0x003c,
                0x002f,
                SCSV_RENEGOTIATION,
            ],
            supported_groups: vec![GROUP_SECP256R1, GROUP_SECP384R1],
            // mbedTLS 2.x: SHA-512 down to SHA-1, ECDSA before RSA for each hash.
            signature_algorithms: vec![
                0x0603, 0x0601, 0x0503, 0x0501, 0x0403, 0x0401, 0x0303, 0x0301, 0x0203, 0x0201,
            ],
            supported_versions: vec![],
            grease: None,
            key_share_group: None,
            alpn: vec![],
            compat_session_id: false,
        },
        ClientStack::Java => StackProfile {
            legacy_version: TLS12,
            cipher_suites: vec![
                0x1301,
                0x1302,
                0xc02c,
                0xc02b,
                0xc030,
                0xc02f,
                0x009f,
                0x00a3,
                0x009e,
                0x00a2,
                0xc024,
                0xc028,
                0xc023,
                0xc027,
                0x006b,
                0x006a,
                0x0067,
                0x0040,
                0xc02e,
                0xc032,
                0xc02d,
                0xc031,
                0xc026,
                0xc02a,
                0xc025,
                0xc029,
                0xc00a,
                0xc014,
                0xc009,
                0xc013,
                0x0039,
                0x0038,
                0x0033,
                0x0032,
                0xc005,
                0xc00f,
                0xc004,
                0xc00e,
                0x009d,
                0x009c,
                0x003d,
                0x003c,
                0x0035,
                0x002f,
                SCSV_RENEGOTIATION,
            ],
            supported_groups: vec![29, 23, 24, 25, 30, 256, 257, 258, 259, 260],
            signature_algorithms: vec![
                0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401,
                0x0501, 0x0601, 0x0402, 0x0303, 0x0301, 0x0302, 0x0203, 0x0201, 0x0202,
            ],
            supported_versions: vec![TLS13, TLS12, 0x0302, TLS10],
            grease: None,
            key_share_group: Some(GROUP_X25519),
            alpn: vec![],
            compat_session_id: true,
        },
        ClientStack::Browser => StackProfile {
            legacy_version: TLS12,
            cipher_suites: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            supported_groups: vec![GROUP_X25519, GROUP_SECP256R1, GROUP_SECP384R1],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            supported_versions: vec![TLS13, TLS12],
            grease: Some(0x0a0a),
            key_share_group: Some(GROUP_X25519),
            alpn: vec!["h2", "http/1.1"],
            compat_session_id: true,
        },
        ClientStack::OpenSsl => StackProfile {
            legacy_version: TLS12,
            cipher_suites: vec![
                0x1302,
                0x1303,
                0x1301,
                0xc02c,
                0xc030,
                0x009f,
                0xcca9,
                0xcca8,
                0xccaa,
                0xc02b,
                0xc02f,
                0x009e,
                0xc024,
                0xc028,
                0x006b,
                0xc023,
                0xc027,
                0x0067,
                0xc00a,
                0xc014,
                0x0039,
                0xc009,
                0xc013,
                0x0033,
                0x009d,
                0x009c,
                0x003d,
                0x003c,
                0x0035,
                0x002f,
                SCSV_RENEGOTIATION,
            ],
            supported_groups: vec![29, 23, 30, 25, 24, 256, 257, 258, 259, 260],
            signature_algorithms: vec![
                0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0804, 0x0805,
                0x0806, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602,
            ],
            supported_versions: vec![TLS13, TLS12],
            grease: None,
            key_share_group: Some(GROUP_X25519),
            alpn: vec!["h2", "http/1.1"],
            compat_session_id: true,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// X.509

/// A syntactically valid X.509 v3 certificate in DER. It does not verify (the signature and key
/// are deterministic noise) but parses everywhere:
///
/// * serial `serial`, signature algorithm sha256WithRSAEncryption;
/// * issuer and subject `C=US, O=<org>, CN=<cn>` (an empty O or CN is left out; each is cut to
///   the 64 characters RFC 5280 allows);
/// * validity as given: 13 characters ("250101000000Z") make a UTCTime, 15 ("20500101000000Z")
///   a GeneralizedTime;
/// * an rsaEncryption 2048-bit public key (exponent 65537) that depends only on the subject;
/// * extensions as OpenSSL-made certificates have them: subjectKeyIdentifier (from the subject),
///   authorityKeyIdentifier (from the issuer, so a chain links up), basicConstraints, keyUsage;
///   a self-issued certificate (subject = issuer) is a CA (CA:TRUE, keyCertSign and cRLSign,
///   like `openssl req -x509`), any other a server leaf (CA:FALSE, digitalSignature and
///   keyEncipherment, extKeyUsage serverAuth and clientAuth); a subjectAltName DNS entry
///   repeats the CN when the CN is a valid host name.
#[allow(clippy::too_many_arguments)] // the parameters are the certificate fields
pub fn certificate_der(
    out: &mut Vec<u8>,
    subject_cn: &str,
    subject_org: &str,
    issuer_cn: &str,
    issuer_org: &str,
    serial: u64,
    not_before: &str,
    not_after: &str,
) {
    let subject = (trim_chars(subject_cn, 64), trim_chars(subject_org, 64));
    let issuer = (trim_chars(issuer_cn, 64), trim_chars(issuer_org, 64));
    let subject_seed = name_seed(subject);
    let issuer_seed = name_seed(issuer);
    let is_ca = subject == issuer;

    der(out, TAG_SEQUENCE, |out| {
        der(out, TAG_SEQUENCE, |out| {
            // version [0] EXPLICIT v3 (2)
            out.extend_from_slice(&[0xa0, 0x03, 0x02, 0x01, 0x02]);
            der_uint(out, serial);
            out.extend_from_slice(SHA256_WITH_RSA);
            der_name(out, issuer);
            der(out, TAG_SEQUENCE, |out| {
                der_time(out, not_before);
                der_time(out, not_after);
            });
            der_name(out, subject);
            der_rsa_public_key(out, subject_seed);
            der(out, 0xa3, |out| {
                der(out, TAG_SEQUENCE, |out| {
                    der_extension(out, OID_SUBJECT_KEY_ID, false, |out| {
                        der(out, TAG_OCTET_STRING, |out| key_id(out, subject_seed));
                    });
                    der_extension(out, OID_AUTHORITY_KEY_ID, false, |out| {
                        der(out, TAG_SEQUENCE, |out| {
                            der(out, 0x80, |out| key_id(out, issuer_seed))
                        });
                    });
                    der_extension(out, OID_BASIC_CONSTRAINTS, true, |out| {
                        der(out, TAG_SEQUENCE, |out| {
                            if is_ca {
                                out.extend_from_slice(&[0x01, 0x01, 0xff]); // cA TRUE
                            }
                        });
                    });
                    der_extension(out, OID_KEY_USAGE, true, |out| {
                        // BIT STRING, named bits from the most significant: digitalSignature
                        // (0), keyEncipherment (2) / keyCertSign (5), cRLSign (6); DER drops
                        // trailing zero bits and counts them in the first octet.
                        if is_ca {
                            out.extend_from_slice(&[0x03, 0x02, 0x01, 0x86]);
                        } else {
                            out.extend_from_slice(&[0x03, 0x02, 0x05, 0xa0]);
                        }
                    });
                    if !is_ca {
                        der_extension(out, OID_EXT_KEY_USAGE, false, |out| {
                            der(out, TAG_SEQUENCE, |out| {
                                out.extend_from_slice(OID_SERVER_AUTH);
                                out.extend_from_slice(OID_CLIENT_AUTH);
                            });
                        });
                    }
                    if is_host_name(subject.0) {
                        der_extension(out, OID_SUBJECT_ALT_NAME, false, |out| {
                            der(out, TAG_SEQUENCE, |out| {
                                der(out, 0x82, |out| out.extend_from_slice(subject.0.as_bytes()));
                            });
                        });
                    }
                });
            });
        });
        out.extend_from_slice(SHA256_WITH_RSA);
        der(out, TAG_BIT_STRING, |out| {
            out.push(0); // no unused bits
            opaque(
                out,
                256,
                &mut Rng::new(issuer_seed ^ serial.rotate_left(17) ^ subject_seed.rotate_left(31)),
            );
        });
    });
}

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_UTF8_STRING: u8 = 0x0c;
const TAG_PRINTABLE_STRING: u8 = 0x13;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;

/// AlgorithmIdentifier { sha256WithRSAEncryption (1.2.840.113549.1.1.11), NULL }.
const SHA256_WITH_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
/// AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }.
const RSA_ENCRYPTION: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
// Attribute types (2.5.4.x) and extension ids (2.5.29.x), OID contents only.
const OID_COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const OID_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const OID_AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
/// id-kp-serverAuth and id-kp-clientAuth (1.3.6.1.5.5.7.3.1 and .2), whole TLVs.
const OID_SERVER_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
const OID_CLIENT_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

/// A DER TLV: `f` writes the contents, then the definite length goes in front of them (short
/// form below 128, else 0x8N and N big-endian octets).
fn der(out: &mut Vec<u8>, tag: u8, f: impl FnOnce(&mut Vec<u8>)) {
    out.push(tag);
    let at = out.len();
    f(out);
    let len = out.len() - at;
    if len < 0x80 {
        out.insert(at, len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let mut head = vec![0x80 | (8 - skip) as u8];
        head.extend_from_slice(&bytes[skip..]);
        out.splice(at..at, head);
    }
}

/// A non-negative INTEGER: minimal big-endian octets, a zero octet in front when the top bit
/// is set.
fn der_uint(out: &mut Vec<u8>, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    der(out, TAG_INTEGER, |out| {
        if bytes[skip] & 0x80 != 0 {
            out.push(0);
        }
        out.extend_from_slice(&bytes[skip..]);
    });
}

/// Name: RDNSequence of C, O, CN, one attribute per RDN.
fn der_name(out: &mut Vec<u8>, (cn, org): (&str, &str)) {
    der(out, TAG_SEQUENCE, |out| {
        der_attribute(out, OID_COUNTRY, TAG_PRINTABLE_STRING, "US");
        if !org.is_empty() {
            der_attribute(out, OID_ORGANIZATION, TAG_UTF8_STRING, org);
        }
        if !cn.is_empty() {
            der_attribute(out, OID_COMMON_NAME, TAG_UTF8_STRING, cn);
        }
    });
}

fn der_attribute(out: &mut Vec<u8>, oid: &[u8], string_tag: u8, value: &str) {
    der(out, TAG_SET, |out| {
        der(out, TAG_SEQUENCE, |out| {
            der(out, TAG_OID, |out| out.extend_from_slice(oid));
            der(out, string_tag, |out| {
                out.extend_from_slice(value.as_bytes())
            });
        });
    });
}

fn der_time(out: &mut Vec<u8>, t: &str) {
    let tag = if t.len() == 15 {
        TAG_GENERALIZED_TIME
    } else {
        TAG_UTC_TIME
    };
    der(out, tag, |out| out.extend_from_slice(t.as_bytes()));
}

/// SubjectPublicKeyInfo { rsaEncryption, BIT STRING { RSAPublicKey { n, e } } } with a 2048-bit
/// modulus (top and bottom bits set) from `seed`.
fn der_rsa_public_key(out: &mut Vec<u8>, seed: u64) {
    der(out, TAG_SEQUENCE, |out| {
        out.extend_from_slice(RSA_ENCRYPTION);
        der(out, TAG_BIT_STRING, |out| {
            out.push(0);
            der(out, TAG_SEQUENCE, |out| {
                der(out, TAG_INTEGER, |out| {
                    out.push(0); // the modulus's top bit is set: keep the INTEGER positive
                    let at = out.len();
                    opaque(out, 256, &mut Rng::new(seed ^ 0x6d6f_6475_6c75_7300));
                    out[at] |= 0x80;
                    out[at + 255] |= 1;
                });
                out.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]); // e = 65537
            });
        });
    });
}

fn der_extension(out: &mut Vec<u8>, oid: &[u8], critical: bool, value: impl FnOnce(&mut Vec<u8>)) {
    der(out, TAG_SEQUENCE, |out| {
        der(out, TAG_OID, |out| out.extend_from_slice(oid));
        if critical {
            out.extend_from_slice(&[0x01, 0x01, 0xff]);
        }
        der(out, TAG_OCTET_STRING, value);
    });
}

/// A 20-byte key identifier (the size of the SHA-1 hash RFC 5280 §4.2.1.2 suggests).
fn key_id(out: &mut Vec<u8>, seed: u64) {
    opaque(out, 20, &mut Rng::new(seed ^ 0x6b65_7969_6400_0000));
}

/// FNV-1a over a name's fields: the seed of everything derived from that name.
fn name_seed((cn, org): (&str, &str)) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in cn.bytes().chain([0]).chain(org.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A DNS host name a subjectAltName can carry: LDH labels, optionally a leading wildcard label.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').enumerate().all(|(i, l)| {
            (i == 0 && l == "*")
                || (!l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        })
}

/// At most `max` characters of `s`.
fn trim_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

// ---------------------------------------------------------------------------------------------
// Framing

/// A record header with a known length.
fn record_header(out: &mut Vec<u8>, content_type: u8, len: usize) {
    out.push(content_type);
    out.extend_from_slice(&TLS12.to_be_bytes());
    out.extend_from_slice(&(len.min(0xffff) as u16).to_be_bytes());
}

/// A record of `len` opaque bytes (record version 0x0303).
fn opaque_record(out: &mut Vec<u8>, content_type: u8, len: usize, rng: &mut Rng) {
    record_header(out, content_type, len);
    opaque(out, len, rng);
}

/// `len` bytes from `rng`, filled in place.
fn opaque(out: &mut Vec<u8>, len: usize, rng: &mut Rng) {
    let at = out.len();
    out.resize(at + len, 0);
    rng.fill(&mut out[at..]);
}

/// One handshake message (type, 24-bit length, body from `body`) in handshake records of
/// record version `version`. Written in place; a message over 2^14 bytes is then re-split into
/// several records.
fn handshake_record(
    out: &mut Vec<u8>,
    version: u16,
    msg_type: u8,
    body: impl FnOnce(&mut Vec<u8>),
) {
    let start = out.len();
    out.extend_from_slice(&[CONTENT_HANDSHAKE, (version >> 8) as u8, version as u8, 0, 0]);
    out.push(msg_type);
    vector(out, 3, body);
    let len = out.len() - start - 5;
    if len <= MAX_FRAGMENT {
        out[start + 3..start + 5].copy_from_slice(&(len as u16).to_be_bytes());
        return;
    }
    let msg = out.split_off(start + 5);
    out.truncate(start);
    for chunk in msg.chunks(MAX_FRAGMENT) {
        out.extend_from_slice(&[CONTENT_HANDSHAKE, (version >> 8) as u8, version as u8]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

/// A vector with a `width`-byte length prefix (RFC 8446 §3.4) around what `f` writes. Callers
/// bound their contents; a longer one would have its length saturated, never panic.
fn vector(out: &mut Vec<u8>, width: usize, f: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.resize(at + width, 0);
    f(out);
    let len = (out.len() - at - width).min((1 << (8 * width)) - 1);
    out[at..at + width].copy_from_slice(&(len as u32).to_be_bytes()[4 - width..]);
}

/// An extension: type, then its data as a 2-byte-length vector.
fn extension(out: &mut Vec<u8>, ext_type: u16, data: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(&ext_type.to_be_bytes());
    vector(out, 2, data);
}

/// ProtocolNameList: a 2-byte-length list of 1-byte-length names (empty names are illegal and
/// left out).
fn alpn_list(out: &mut Vec<u8>, protocols: &[&str]) {
    vector(out, 2, |out| {
        for p in protocols.iter().filter(|p| !p.is_empty()) {
            vector(out, 1, |out| out.extend_from_slice(cap(p.as_bytes(), 255)));
        }
    });
}

/// KeyShareEntry: group, then the public key as a 2-byte-length vector, of the size the group's
/// key has, derived from `random`.
fn key_share_entry(out: &mut Vec<u8>, group: u16, random: &[u8; 32], label: u64) {
    out.extend_from_slice(&group.to_be_bytes());
    let len = match group {
        GROUP_SECP256R1 => 65,
        GROUP_SECP384R1 => 97,
        GROUP_SECP521R1 => 133,
        GROUP_X448 => 56,
        // ffdhe2048 to ffdhe8192 (RFC 7919): the size of p.
        0x0100 => 256,
        0x0101 => 384,
        0x0102 => 512,
        0x0103 => 768,
        0x0104 => 1024,
        0x11ec => 1216, // X25519MLKEM768
        _ => 32,
    };
    let seed = random.chunks(8).fold(label, |h, c| {
        (h ^ u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .rotate_left(23)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
    });
    vector(out, 2, |out| {
        opaque(out, len, &mut Rng::new(seed));
        if matches!(group, GROUP_SECP256R1 | GROUP_SECP384R1 | GROUP_SECP521R1) {
            let at = out.len() - len;
            out[at] = 4; // uncompressed point
        }
    });
}

fn u16s(out: &mut Vec<u8>, values: impl Iterator<Item = u16>) {
    for v in values {
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn with_grease(grease: Option<u16>, list: &[u16]) -> impl Iterator<Item = u16> + '_ {
    grease
        .into_iter()
        .chain(cap(list, MAX_LIST).iter().copied())
}

fn cap<T>(s: &[T], max: usize) -> &[T] {
    &s[..s.len().min(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte reader over a message, panicking on truncation (the tests want to know).
    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> &'a [u8] {
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            a
        }
        fn u8(&mut self) -> u8 {
            self.take(1)[0]
        }
        fn u16(&mut self) -> u16 {
            u16::from_be_bytes(self.take(2).try_into().unwrap())
        }
        fn u24(&mut self) -> usize {
            let b = self.take(3);
            (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize
        }
        fn vec8(&mut self) -> &'a [u8] {
            let n = self.u8() as usize;
            self.take(n)
        }
        fn vec16(&mut self) -> &'a [u8] {
            let n = self.u16() as usize;
            self.take(n)
        }
        fn done(&self) -> bool {
            self.0.is_empty()
        }
    }

    fn u16_list(b: &[u8]) -> Vec<u16> {
        b.chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    /// Records as (type, version, fragment).
    fn records(mut b: &[u8]) -> Vec<(u8, u16, &[u8])> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let mut r = Reader(b);
            let t = r.u8();
            let v = r.u16();
            let frag = r.vec16();
            assert!(frag.len() <= MAX_FRAGMENT + 256);
            out.push((t, v, frag));
            b = r.0;
        }
        out
    }

    struct Hello {
        version: u16,
        random: Vec<u8>,
        session_id: Vec<u8>,
        ciphers: Vec<u16>,
        extensions: Vec<(u16, Vec<u8>)>,
    }

    fn parse_client_hello(bytes: &[u8]) -> Hello {
        let recs = records(bytes);
        assert!(
            recs.iter()
                .all(|r| r.0 == CONTENT_HANDSHAKE && r.1 == TLS10)
        );
        let msg: Vec<u8> = recs.iter().flat_map(|r| r.2.iter().copied()).collect();
        let mut r = Reader(&msg);
        assert_eq!(r.u8(), HS_CLIENT_HELLO);
        let len = r.u24();
        assert_eq!(len, r.0.len());
        let version = r.u16();
        let random = r.take(32).to_vec();
        let session_id = r.vec8().to_vec();
        let ciphers = u16_list(r.vec16());
        assert_eq!(r.vec8(), [0]);
        let mut exts = Reader(r.vec16());
        assert!(r.done());
        let mut extensions = Vec::new();
        while !exts.done() {
            let t = exts.u16();
            extensions.push((t, exts.vec16().to_vec()));
        }
        Hello {
            version,
            random,
            session_id,
            ciphers,
            extensions,
        }
    }

    fn ext(h: &Hello, t: u16) -> Option<&[u8]> {
        h.extensions
            .iter()
            .find(|e| e.0 == t)
            .map(|e| e.1.as_slice())
    }

    /// JA3 string (GREASE values dropped, RFC 8701: 0x?a?a).
    fn ja3(h: &Hello) -> String {
        let grease = |v: &u16| v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff;
        let join = |v: Vec<u16>| {
            v.iter()
                .filter(|x| !grease(x))
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("-")
        };
        let groups = ext(h, 10).map(|g| u16_list(&g[2..])).unwrap_or_default();
        let formats = ext(h, 11).map(|f| {
            f[1..]
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("-")
        });
        format!(
            "{},{},{},{},{}",
            h.version,
            join(h.ciphers.clone()),
            join(h.extensions.iter().map(|e| e.0).collect()),
            join(groups),
            formats.unwrap_or_default()
        )
    }

    #[test]
    fn browser_client_hello_fields() {
        let p = stack_spec(ClientStack::Browser);
        let sid = [7u8; 32];
        let mut out = vec![0xee];
        client_hello(
            &mut out,
            &p.hello([1; 32], &sid, Some("portal.hospital.example")),
        );
        let h = parse_client_hello(&out[1..]);
        assert_eq!(h.version, 0x0303);
        assert_eq!(h.random, [1; 32]);
        assert_eq!(h.session_id, sid);
        assert_eq!(h.ciphers[0], 0x0a0a);
        assert_eq!(&h.ciphers[1..], p.cipher_suites);
        let types: Vec<u16> = h.extensions.iter().map(|e| e.0).collect();
        assert_eq!(
            types,
            [0x0a0a, 0, 23, 65281, 10, 11, 35, 16, 5, 13, 51, 45, 43]
        );
        assert_eq!(
            ext(&h, 0).unwrap(),
            b"\x00\x1a\x00\x00\x17portal.hospital.example"
        );
        assert_eq!(
            ext(&h, 10).unwrap(),
            [0, 8, 0x0a, 0x0a, 0, 29, 0, 23, 0, 24]
        );
        assert_eq!(ext(&h, 16).unwrap(), b"\x00\x0c\x02h2\x08http/1.1");
        assert_eq!(ext(&h, 43).unwrap(), [6, 0x0a, 0x0a, 3, 4, 3, 3]);
        assert_eq!(ext(&h, 45).unwrap(), [1, 1]);
        let mut ks = Reader(ext(&h, 51).unwrap());
        let mut ks = Reader(ks.vec16());
        assert_eq!((ks.u16(), ks.vec16()), (0x0a0a, &[0u8][..]));
        assert_eq!((ks.u16(), ks.vec16().len()), (29, 32));
        assert!(ks.done());
        assert_eq!(
            ja3(&h),
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             0-23-65281-10-11-35-16-5-13-51-45-43,29-23-24,0"
        );
    }

    #[test]
    fn embedded_client_hello_is_tls12_only() {
        let p = stack_spec(ClientStack::Embedded);
        let mut out = Vec::new();
        client_hello(&mut out, &p.hello([2; 32], &[], None));
        let h = parse_client_hello(&out);
        assert!(h.session_id.is_empty());
        let types: Vec<u16> = h.extensions.iter().map(|e| e.0).collect();
        // SCSV in the suites, so no renegotiation_info; no TLS 1.3 extensions.
        assert_eq!(types, [23, 10, 11, 35, 5, 13]);
        assert_eq!(
            ext(&h, 13).unwrap().len(),
            2 + 2 * p.signature_algorithms.len()
        );
    }

    #[test]
    fn every_stack_differs_and_java_has_no_grease() {
        let mut ja3s = Vec::new();
        for stack in ClientStack::ALL {
            let p = stack_spec(stack);
            let mut out = Vec::new();
            client_hello(&mut out, &p.hello([3; 32], &[9; 32], Some("a.example")));
            let h = parse_client_hello(&out);
            assert_eq!(
                ext(&h, 51).is_some(),
                p.supported_versions.contains(&TLS13),
                "{stack:?}"
            );
            ja3s.push(ja3(&h));
        }
        ja3s.sort();
        ja3s.dedup();
        assert_eq!(ja3s.len(), 4);
    }

    #[test]
    fn hostile_client_hello_inputs_stay_well_formed() {
        let ciphers = vec![0x1301u16; 40_000];
        let long = "x".repeat(1000);
        let alpn = vec![long.as_str(); 100];
        let groups = vec![23u16; 5000];
        let spec = ClientHelloSpec {
            legacy_version: TLS12,
            random: [0; 32],
            session_id: &[1; 100],
            cipher_suites: &ciphers,
            sni: Some(&long),
            alpn: &alpn,
            supported_groups: &groups,
            signature_algorithms: &groups,
            supported_versions: &[TLS13; 300],
            grease: Some(0x1a1a),
            key_share_group: Some(0x11ec),
            quic_transport_parameters: &[],
        };
        let mut out = Vec::new();
        client_hello(&mut out, &spec);
        assert!(records(&out).len() > 1, "split across records");
        let h = parse_client_hello(&out);
        assert_eq!(h.session_id.len(), 32);
        assert_eq!(h.ciphers.len(), 32_001);
        assert_eq!(ext(&h, 0).unwrap().len(), 5 + 255);
    }

    #[test]
    fn server_hello_12_and_13() {
        let mut out = Vec::new();
        server_hello(&mut out, TLS12, [5; 32], &[6; 32], 0xc02f, Some("http/1.1"));
        let recs = records(&out);
        assert_eq!(recs.len(), 1);
        assert_eq!((recs[0].0, recs[0].1), (CONTENT_HANDSHAKE, TLS12));
        let mut r = Reader(recs[0].2);
        assert_eq!(r.u8(), HS_SERVER_HELLO);
        assert_eq!(r.u24(), r.0.len());
        assert_eq!(r.u16(), TLS12);
        assert_eq!(r.take(32), [5; 32]);
        assert_eq!(r.vec8(), [6; 32]);
        assert_eq!((r.u16(), r.u8()), (0xc02f, 0));
        let mut e = Reader(r.vec16());
        let mut types = Vec::new();
        while !e.done() {
            types.push(e.u16());
            e.vec16();
        }
        assert_eq!(types, [65281, 11, 35, 16, 23]);

        out.clear();
        server_hello(&mut out, TLS13, [5; 32], &[6; 32], 0x1301, Some("h2"));
        change_cipher_spec(&mut out);
        let recs = records(&out);
        assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), [22, 20]);
        assert_eq!(recs[1].2, [1]);
        let mut r = Reader(recs[0].2);
        r.take(4);
        assert_eq!(r.u16(), TLS12, "legacy_version");
        r.take(32);
        r.vec8();
        assert_eq!((r.u16(), r.u8()), (0x1301, 0));
        let mut e = Reader(r.vec16());
        assert_eq!((e.u16(), e.vec16()), (43, &[3u8, 4][..]));
        assert_eq!(e.u16(), 51);
        let mut ks = Reader(e.vec16());
        assert_eq!((ks.u16(), ks.vec16().len()), (29, 32));
        assert!(e.done());

        out.clear();
        encrypted_server_flight_13(
            &mut out,
            0x1301,
            Some("h2"),
            &[&[0u8; 900], &[0u8; 1100]],
            1,
        );
        let lens: Vec<usize> = records(&out).iter().map(|r| r.2.len()).collect();
        assert_eq!(
            lens,
            [
                4 + 2 + 4 + 2 + 3 + 17,
                8 + 905 + 1105 + 17,
                264 + 17,
                36 + 17
            ]
        );
        out.clear();
        client_finish_13(&mut out, 2);
        let recs = records(&out);
        assert_eq!((recs[0].0, recs[1].0, recs[1].2.len()), (20, 23, 53));
    }

    #[test]
    fn certificate_flights() {
        let mut cert = Vec::new();
        certificate_der(
            &mut cert,
            "pacs.hospital.example",
            "Hospital",
            "Hospital CA",
            "Hospital",
            7,
            "250101000000Z",
            "270101000000Z",
        );
        let mut out = Vec::new();
        certificate_flight(&mut out, &[&cert, &cert]);
        let recs = records(&out);
        assert_eq!(recs.len(), 2);
        let mut r = Reader(recs[0].2);
        assert_eq!(r.u8(), HS_CERTIFICATE);
        assert_eq!(r.u24(), r.0.len());
        let mut list = Reader(&r.0[3..]);
        assert_eq!(r.u24(), list.0.len());
        for _ in 0..2 {
            let n = list.u24();
            assert_eq!(list.take(n), cert);
        }
        assert!(list.done());
        assert_eq!(recs[1], (CONTENT_HANDSHAKE, TLS12, &[14u8, 0, 0, 0][..]));

        out.clear();
        certificate_flight_ecdhe(&mut out, &[&cert], [9; 32], 3);
        let recs = records(&out);
        assert_eq!(
            recs.iter().map(|r| r.2[0]).collect::<Vec<_>>(),
            [11, 12, 14]
        );
        let mut r = Reader(recs[1].2);
        r.take(4);
        assert_eq!((r.u8(), r.u16(), r.vec8()), (3, 29, &[9u8; 32][..]));
        assert_eq!((r.u16(), r.vec16().len()), (0x0804, 256));
        assert!(r.done());

        // A chain over 16 KiB is split across records.
        let big = vec![0x30u8; 20_000];
        out.clear();
        certificate_flight(&mut out, &[&big]);
        let recs = records(&out);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].2.len(), MAX_FRAGMENT);
        assert_eq!(recs[0].2.len() + recs[1].2.len(), 4 + 3 + 3 + 20_000);
    }

    #[test]
    fn client_finish_and_alert() {
        let mut out = Vec::new();
        client_finish_12(&mut out, [4; 32]);
        let recs = records(&out);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].2[..5], [16, 0, 0, 33, 32]);
        assert_eq!(recs[0].2[5..], [4; 32]);
        assert_eq!(recs[1], (20, TLS12, &[1u8][..]));
        assert_eq!((recs[2].0, recs[2].2.len()), (22, 40));
        assert_eq!(recs[2].2[..8], [0; 8]);
        out.clear();
        server_finish_12(&mut out, 5);
        let recs = records(&out);
        assert_eq!(recs.len(), 3);
        let mut r = Reader(recs[0].2);
        assert_eq!((r.u8(), r.u24()), (HS_NEW_SESSION_TICKET, 4 + 2 + 192));
        assert_eq!(
            (r.take(4), r.vec16().len()),
            (&7200u32.to_be_bytes()[..], 192)
        );
        assert_eq!(recs[1], (20, TLS12, &[1u8][..]));
        assert_eq!(
            (recs[2].0, recs[2].2.len(), &recs[2].2[..8]),
            (22, 40, &[0u8; 8][..])
        );
        out.clear();
        alert_close_notify_encrypted(&mut out);
        assert_eq!(out[..5], [21, 3, 3, 0, 26]);
        assert_eq!(out.len(), 31);
    }

    #[test]
    fn application_data_records() {
        for len in [
            0,
            1,
            100,
            MAX_APPLICATION_RECORD,
            MAX_APPLICATION_RECORD + 1,
            100_000,
        ] {
            let mut out = Vec::new();
            application_data(&mut out, len, 42);
            let recs = records(&out);
            assert_eq!(recs.iter().map(|r| r.2.len()).sum::<usize>(), len);
            assert_eq!(recs.len(), len.div_ceil(MAX_APPLICATION_RECORD));
            assert!(recs.iter().all(|r| r.0 == 23 && r.1 == TLS12));
            let mut again = Vec::new();
            application_data(&mut again, len, 42);
            assert_eq!(out, again, "deterministic");
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        application_data(&mut a, 64, 1);
        application_data(&mut b, 64, 2);
        assert_ne!(a, b);
    }

    /// A DER walker: checks every TLV's length is definite, minimal and nests exactly.
    fn walk_der(mut b: &[u8], depth: usize, seen: &mut Vec<(usize, u8, usize)>) {
        while !b.is_empty() {
            let tag = b[0];
            let (len, head) = match b[1] {
                l if l < 0x80 => (l as usize, 2),
                0x81 => {
                    assert!(b[2] >= 0x80, "minimal length");
                    (b[2] as usize, 3)
                }
                0x82 => {
                    assert!(b[2] != 0, "minimal length");
                    ((b[2] as usize) << 8 | b[3] as usize, 4)
                }
                l => panic!("length form {l:#x}"),
            };
            let content = &b[head..head + len];
            seen.push((depth, tag, len));
            if tag & 0x20 != 0 {
                walk_der(content, depth + 1, seen);
            }
            if tag == TAG_OCTET_STRING && depth == 5 {
                walk_der(content, depth + 1, seen); // extension values are DER too
            }
            b = &b[head + len..];
        }
    }

    #[test]
    fn certificate_der_structure() {
        let mut out = Vec::new();
        certificate_der(
            &mut out,
            "mx450-icu3.hospital.example",
            "Philips",
            "Philips Device CA",
            "Philips",
            0x8000_0000_0000_0001,
            "250101000000Z",
            "350101000000Z",
        );
        let mut seen = Vec::new();
        walk_der(&out, 0, &mut seen);
        assert_eq!(seen[0], (0, TAG_SEQUENCE, out.len() - 4));
        // tbsCertificate, signatureAlgorithm, signatureValue at depth 1.
        let top: Vec<u8> = seen.iter().filter(|s| s.0 == 1).map(|s| s.1).collect();
        assert_eq!(top, [TAG_SEQUENCE, TAG_SEQUENCE, TAG_BIT_STRING]);
        // version, serial, sigalg, issuer, validity, subject, spki, extensions.
        let tbs: Vec<u8> = seen.iter().filter(|s| s.0 == 2).map(|s| s.1).collect();
        // (then the signatureAlgorithm's OID and NULL).
        assert_eq!(
            tbs[..8],
            [
                0xa0,
                TAG_INTEGER,
                TAG_SEQUENCE,
                TAG_SEQUENCE,
                TAG_SEQUENCE,
                TAG_SEQUENCE,
                TAG_SEQUENCE,
                0xa3
            ]
        );
        // The serial with its top bit set gets a leading zero.
        let serial = out
            .windows(11)
            .position(|w| w == [2, 9, 0, 0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert!(serial.is_some());
        // Subject and issuer strings are there; the signature is 257 bytes with the pad octet.
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("mx450-icu3.hospital.example") && text.contains("Philips Device CA"));
        assert_eq!(
            seen.iter()
                .find(|s| s.0 == 1 && s.1 == TAG_BIT_STRING)
                .unwrap()
                .2,
            257
        );
        // Same inputs, same bytes; the key depends on the subject only.
        let mut again = Vec::new();
        certificate_der(
            &mut again,
            "mx450-icu3.hospital.example",
            "Philips",
            "Philips Device CA",
            "Philips",
            0x8000_0000_0000_0001,
            "250101000000Z",
            "350101000000Z",
        );
        assert_eq!(out, again);
    }

    #[test]
    fn der_edge_cases() {
        for v in [0u64, 1, 0x7f, 0x80, 0xff, 0x100, u64::MAX] {
            let mut out = Vec::new();
            der_uint(&mut out, v);
            let content = &out[2..];
            assert_eq!(out[1] as usize, content.len());
            assert!(
                content.len() == 1 || !(content[0] == 0 && content[1] < 0x80),
                "minimal"
            );
            assert!(content[0] < 0x80, "non-negative");
        }
        let long = "é".repeat(100);
        let mut out = Vec::new();
        certificate_der(&mut out, &long, "", &long, "", 0, "x", "20500101000000Z");
        let mut seen = Vec::new();
        walk_der(&out, 0, &mut seen);
        assert!(
            seen.iter().any(|s| s.1 == TAG_UTF8_STRING && s.2 == 128),
            "64 characters"
        );
        assert!(seen.iter().any(|s| s.1 == TAG_GENERALIZED_TIME));
        assert!(is_host_name("*.example.org") && is_host_name("mx450"));
        assert!(!is_host_name("IntelliVue MX450") && !is_host_name("a..b") && !is_host_name("-a"));
    }
}
