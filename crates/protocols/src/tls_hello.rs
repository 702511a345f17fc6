//! TLS hellos read passively from reassembled TCP streams: the ClientHello (SNI, ALPN, offered versions,
//! JA3 and JA4 fingerprints) and the ServerHello, with the subject and issuer of the server's certificate
//! where TLS 1.2 and older still send it in the clear.
//!
//! A hello can span several records and a record several segments, so records are unwrapped and the
//! handshake message reassembled before anything is parsed. A direction buffers one handshake message of
//! at most [`MAX_BUFFER`] bytes; a stream that is not TLS, a capture gap or a larger message ends the
//! reading of that direction, keeping what was already found.
//!
//! JA3 follows Salesforce's definition. JA4 follows FoxIO's JA4 (TLS client) specification, which is
//! BSD-3-Clause; the other JA4+ fingerprints (JA4S, JA4X, ...) are under another licence and deliberately
//! not computed here.

use std::fmt::Write as _;

/// The most bytes a direction buffers: one handshake message, header included.
pub const MAX_BUFFER: usize = 64 * 1024;

/// Reads the hellos of one direction of a TCP stream, fed in order and in chunks of any size.
#[derive(Debug, Clone)]
pub struct HelloReader {
    to_server: bool,
    stop: Option<StopReason>,
    /// The record header being read, and how much of it has arrived.
    header: [u8; 5],
    header_len: usize,
    /// Bytes of the current record's body still to come, and whether they are skipped rather than read.
    record_left: usize,
    skipping: bool,
    /// The version of the first record, once one was read.
    record_version: Option<u16>,
    /// Server side: no final ServerHello yet, and whether a HelloRetryRequest came first.
    awaiting_server_hello: bool,
    retried: bool,
    /// The handshake message being reassembled (header included); never more than [`MAX_BUFFER`].
    message: Vec<u8>,
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
}

/// Why a [`HelloReader`] stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// Everything this direction shows in the clear was read, or the handshake went past it.
    Complete,
    /// The stream does not start with a TLS record.
    NotTls,
    /// The stream starts with a TLS record other than a handshake: picked up mid-session.
    Midstream,
    /// An alert came before the hello.
    Alert,
    /// The client sent its hello in the SSL 2.0 format, as old stacks do that still offer SSL 2.0 next
    /// to SSL 3.0 or TLS 1.0. It is not read: JA3 and JA4 are defined on TLS hellos only.
    Sslv2Hello,
    /// A record or handshake message broke its framing, or the hello did not parse.
    Malformed,
    /// A handshake message was longer than [`MAX_BUFFER`].
    TooLarge,
    /// The capture lost bytes of this direction before the reading was over.
    Gap,
}

/// A TLS ClientHello. Lists keep wire order and GREASE values ([`is_grease`]); the fingerprints drop them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The version of the record that carried the hello (often 0x0301, for old middleboxes).
    pub record_version: u16,
    /// The hello's own version field: 0x0303 for TLS 1.2 and 1.3 alike.
    pub legacy_version: u16,
    pub ciphers: Vec<u16>,
    pub compression_methods: Vec<u8>,
    /// Extension types in wire order.
    pub extensions: Vec<u16>,
    /// The first host name of the server_name extension.
    pub sni: Option<String>,
    /// Protocols offered by ALPN, in order (bytes that are not UTF-8 are replaced).
    pub alpn: Vec<String>,
    pub supported_versions: Vec<u16>,
    /// supported_groups (formerly elliptic_curves).
    pub groups: Vec<u16>,
    pub ec_point_formats: Vec<u8>,
    pub signature_algorithms: Vec<u16>,
    /// The extension block, or one of the extensions read here, broke its framing; the lists hold what
    /// could be read.
    pub malformed: bool,
    /// The first ALPN value as bytes: JA4 looks at bytes, which `alpn` may have replaced.
    first_alpn: Option<Vec<u8>>,
}

/// A TLS ServerHello, and for TLS 1.2 and older the names on the first certificate that followed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: u16,
    /// The negotiated version: from supported_versions when present (TLS 1.3), else `legacy_version`.
    pub version: u16,
    pub cipher: u16,
    /// Extension types in wire order.
    pub extensions: Vec<u16>,
    pub alpn: Option<String>,
    /// The server first asked for another ClientHello (TLS 1.3 HelloRetryRequest).
    pub hello_retry_request: bool,
    /// Subject and issuer of the first certificate of the Certificate message (TLS 1.2 and older: 1.3
    /// encrypts it), most specific attribute first as RFC 4514 orders them, joined by ", ":
    /// `CN=pacs.example, O=Hospital, C=FR`. (OpenSSL, Suricata and nDPI print the same RDNs the other
    /// way round, `C=FR, O=Hospital, CN=pacs.example`.)
    pub certificate_subject: Option<String>,
    pub certificate_issuer: Option<String>,
}

/// A GREASE value (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa, used in every list to keep peers tolerant.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

impl HelloReader {
    /// A reader of the client's direction (`to_server`) or of the server's.
    pub fn new(to_server: bool) -> Self {
        HelloReader {
            to_server,
            stop: None,
            header: [0; 5],
            header_len: 0,
            record_left: 0,
            skipping: false,
            record_version: None,
            awaiting_server_hello: true,
            retried: false,
            message: Vec::new(),
            client_hello: None,
            server_hello: None,
        }
    }

    /// The next bytes of the stream, in order. Bytes after [`done`](Self::done) are ignored.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.stop.is_none() {
            if self.record_left == 0 {
                let n = (5 - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&bytes[..n]);
                self.header_len += n;
                bytes = &bytes[n..];
                if self.header_len == 5 {
                    self.header_len = 0;
                    self.record_header();
                }
                continue;
            }
            if self.skipping {
                let n = self.record_left.min(bytes.len());
                self.record_left -= n;
                bytes = &bytes[n..];
                self.skipping = self.record_left > 0;
                continue;
            }
            let want = self.message_wants().min(self.record_left).min(bytes.len());
            if want == 0 {
                // Cannot happen while the message is handled as soon as it is whole; stop rather than spin.
                return self.finish(StopReason::Malformed);
            }
            self.message.extend_from_slice(&bytes[..want]);
            self.record_left -= want;
            bytes = &bytes[want..];
            self.message_progress();
        }
    }

    /// The capture lost bytes of this direction: whatever was being read is given up.
    pub fn gap(&mut self) {
        if self.stop.is_none() {
            self.finish(StopReason::Gap);
        }
    }

    pub fn client_hello(&self) -> Option<&ClientHello> {
        self.client_hello.as_ref()
    }

    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.server_hello.as_ref()
    }

    /// Nothing more can be learned from this direction: the caller may stop feeding it.
    pub fn done(&self) -> bool {
        self.stop.is_some()
    }

    /// Why the reader stopped, once it has.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    fn finish(&mut self, reason: StopReason) {
        self.stop = Some(reason);
        self.message = Vec::new();
    }

    fn record_header(&mut self) {
        let [content_type, major, minor, hi, lo] = self.header;
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let first = self.record_version.is_none();
        // TLS 1.3 keeps the 1.2 record version; 2^14 plus the largest expansion a cipher may add.
        if major != 3 || minor > 4 || len > 16_384 + 2048 || !(20..=24).contains(&content_type) {
            // A two-byte SSL 2.0 record header with the high bit set, then CLIENT-HELLO (1) and the
            // version, 2.0 or 3.x (RFC 5246 appendix E.2).
            let [b0, _, msg_type, version_major, version_minor] = self.header;
            let sslv2_hello = b0 & 0x80 != 0
                && msg_type == 1
                && (version_major == 3 || (version_major, version_minor) == (0, 2));
            let reason = if first && self.to_server && sslv2_hello {
                StopReason::Sslv2Hello
            } else if first {
                StopReason::NotTls
            } else {
                StopReason::Malformed
            };
            return self.finish(reason);
        }
        if first {
            self.record_version = Some(u16::from_be_bytes([major, minor]));
        }
        match content_type {
            22 if len == 0 => self.finish(StopReason::Malformed),
            22 => self.record_left = len,
            // After a HelloRetryRequest a server in middlebox-compatible mode sends a change_cipher_spec,
            // and its real ServerHello still comes in the clear.
            20 if !self.message.is_empty() => self.finish(StopReason::Malformed),
            20 if !self.to_server && self.awaiting_server_hello && self.retried => {
                self.record_left = len;
                self.skipping = len > 0;
            }
            _ => {
                let reason = if first && content_type != 21 {
                    StopReason::Midstream
                } else if !self.message.is_empty() {
                    StopReason::Malformed
                } else if self.client_hello.is_some() || self.server_hello.is_some() {
                    StopReason::Complete
                } else if content_type == 21 {
                    StopReason::Alert
                } else {
                    StopReason::Malformed
                };
                self.finish(reason);
            }
        }
    }

    /// How many more bytes the message being reassembled needs: its header, then its body.
    fn message_wants(&self) -> usize {
        match self.message.get(1..4) {
            Some(len) => (4 + u24(len)).saturating_sub(self.message.len()),
            None => 4 - self.message.len(),
        }
    }

    fn message_progress(&mut self) {
        let Some(len) = self.message.get(1..4).map(u24) else {
            return;
        };
        if len > MAX_BUFFER - 4 {
            return self.finish(StopReason::TooLarge);
        }
        if self.message.len() < 4 + len {
            return;
        }
        let mut message = std::mem::take(&mut self.message);
        self.handshake(message[0], &message[4..]);
        if self.stop.is_none() {
            message.clear();
            self.message = message;
        }
    }

    fn handshake(&mut self, msg_type: u8, body: &[u8]) {
        if self.to_server {
            let record_version = self.record_version.unwrap_or(0);
            let hello = (msg_type == 1)
                .then(|| parse_client_hello(body, record_version))
                .flatten();
            let reason = if hello.is_some() {
                StopReason::Complete
            } else {
                StopReason::Malformed
            };
            self.client_hello = hello;
            return self.finish(reason);
        }
        if self.awaiting_server_hello {
            match msg_type {
                // HelloRequest may come at any time; it asks for nothing a passive reader must follow.
                0 => {}
                // The HelloRetryRequest of TLS 1.3 drafts had a message type of its own.
                6 => self.retried = true,
                2 => {
                    let Some(mut hello) = parse_server_hello(body) else {
                        return self.finish(StopReason::Malformed);
                    };
                    let retry = hello.hello_retry_request;
                    hello.hello_retry_request |= self.retried;
                    self.retried |= retry;
                    let encrypted_next = !retry && is_tls13(hello.version);
                    self.awaiting_server_hello = retry;
                    self.server_hello = Some(hello);
                    if encrypted_next {
                        self.finish(StopReason::Complete);
                    }
                }
                _ => self.finish(StopReason::Malformed),
            }
            return;
        }
        if msg_type == 11
            && let Some((subject, issuer)) = first_certificate(body).and_then(certificate_names)
            && let Some(hello) = self.server_hello.as_mut()
        {
            hello.certificate_subject = Some(subject);
            hello.certificate_issuer = Some(issuer);
        }
        // Whatever follows a TLS 1.2 ServerHello, the certificate comes first or not at all.
        self.finish(StopReason::Complete);
    }
}

impl ClientHello {
    /// Salesforce's JA3 input: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`,
    /// decimal, '-'-joined, GREASE removed.
    pub fn ja3_string(&self) -> String {
        fn join<T: std::fmt::Display>(it: impl Iterator<Item = T>) -> String {
            let mut out = String::new();
            for (i, v) in it.enumerate() {
                if i > 0 {
                    out.push('-');
                }
                let _ = write!(out, "{v}");
            }
            out
        }
        let no_grease = |v: &&u16| !is_grease(**v);
        format!(
            "{},{},{},{},{}",
            self.legacy_version,
            join(self.ciphers.iter().filter(no_grease)),
            join(self.extensions.iter().filter(no_grease)),
            join(self.groups.iter().filter(no_grease)),
            join(self.ec_point_formats.iter()),
        )
    }

    /// JA3: the MD5 of [`ja3_string`](Self::ja3_string), in lower-case hex.
    pub fn ja3(&self) -> String {
        // A client sends the same hello on every connection, and formatting some fifty numbers costs
        // more than the MD5: each distinct hello is fingerprinted once per thread. The key holds each
        // list's length before the list, so that no two hellos share one.
        let lists = [&self.ciphers[..], &self.extensions[..], &self.groups[..]];
        let formats = &self.ec_point_formats;
        let mut key =
            Vec::with_capacity(5 + lists.iter().map(|l| l.len()).sum::<usize>() + formats.len());
        key.push(self.legacy_version);
        for list in lists {
            key.push(list.len() as u16);
            key.extend_from_slice(list);
        }
        key.extend(formats.iter().map(|&f| u16::from(f)));
        if let Some(h) = JA3_HASHES.with_borrow(|m| m.get(&key).cloned()) {
            return h;
        }
        let h = hex(&md5(self.ja3_string().as_bytes()));
        JA3_HASHES.with_borrow_mut(|m| {
            if m.len() < MAX_JA4_HASHES {
                m.insert(key, h.clone());
            }
        });
        h
    }

    /// JA4 for TLS over TCP, as FoxIO specifies it: `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub fn ja4(&self) -> String {
        self.ja4_over('t')
    }

    /// JA4 for the TLS inside QUIC: the same, its first character `q`.
    pub fn ja4_quic(&self) -> String {
        self.ja4_over('q')
    }

    fn ja4_over(&self, transport: char) -> String {
        let ciphers: Vec<u16> = self
            .ciphers
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .collect();
        let extensions: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .collect();
        let sni = if extensions.contains(&0x0000) {
            'd'
        } else {
            'i'
        };
        let mut head = format!(
            "{transport}{}{sni}{:02}{:02}{}",
            ja4_version(self.max_version()),
            ciphers.len().min(99),
            extensions.len().min(99),
            ja4_alpn(self.first_alpn.as_deref()),
        );

        let mut sorted = ciphers;
        sorted.sort_unstable();
        head.push('_');
        head.push_str(&hash12_of_list(&sorted, &[]));

        // SNI and ALPN are already in the first part; leaving them out keeps this one per application.
        let mut sorted: Vec<u16> = extensions
            .into_iter()
            .filter(|&v| v != 0x0000 && v != 0x0010)
            .collect();
        sorted.sort_unstable();
        let sig_algs: Vec<u16> = self
            .signature_algorithms
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .collect();
        head.push('_');
        head.push_str(&hash12_of_list(&sorted, &sig_algs));
        head
    }

    /// The highest version offered: the largest non-GREASE supported_versions entry, else the hello's
    /// own version field.
    pub fn max_version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .max()
            .unwrap_or(self.legacy_version)
    }
}

/// A protocol version's name ("TLS 1.2"), or its number in hex for a draft or unknown one.
pub fn version_name(v: u16) -> std::borrow::Cow<'static, str> {
    match v {
        0x0304 => "TLS 1.3".into(),
        0x0303 => "TLS 1.2".into(),
        0x0302 => "TLS 1.1".into(),
        0x0301 => "TLS 1.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0002 => "SSL 2.0".into(),
        other => format!("0x{other:04x}").into(),
    }
}

/// JA4's two characters for a version; draft and unknown versions are "00".
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// First and last character of the first ALPN value; its hex form's first and last when either end is
/// not an ASCII letter or digit; "00" when there is none or it is empty.
fn ja4_alpn(first: Option<&[u8]>) -> String {
    match first {
        Some([a, .., b] | [a @ b]) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
            format!("{}{}", char::from(*a), char::from(*b))
        }
        Some([a, .., b] | [a @ b]) => {
            let h = hex(&[*a, *b]);
            format!("{}{}", &h[..1], &h[3..])
        }
        _ => "00".to_owned(),
    }
}

/// The first 12 hex digits of the SHA-256 of `list` (4 hex digits each, comma-joined), followed by
/// `_` and `tail` when `tail` is not empty; twelve zeros for an empty list, as JA4 asks.
fn hash12_of_list(list: &[u16], tail: &[u16]) -> String {
    if list.is_empty() {
        return "000000000000".to_owned();
    }
    // A client sends the same hello on every connection: each distinct list is hashed once per thread.
    // The key is the list's length, the list, then the tail (lists hold at most 65,535 values).
    let mut key = Vec::with_capacity(1 + list.len() + tail.len());
    key.push(list.len() as u16);
    key.extend_from_slice(list);
    key.extend_from_slice(tail);
    if let Some(h) = JA4_HASHES.with_borrow(|m| m.get(&key).cloned()) {
        return h;
    }
    let h = hash12_uncached(list, tail);
    JA4_HASHES.with_borrow_mut(|m| {
        if m.len() < MAX_JA4_HASHES {
            m.insert(key, h.clone());
        }
    });
    h
}

/// Distinct lists [`hash12_of_list`] (and hellos [`ClientHello::ja3`]) remembers per thread; past this
/// it hashes every time.
const MAX_JA4_HASHES: usize = 4096;

thread_local! {
    static JA4_HASHES: std::cell::RefCell<
        std::collections::HashMap<Vec<u16>, String, foldhash::fast::RandomState>,
    > = std::cell::RefCell::default();
    /// JA3 by the hello's version and lists (see [`ClientHello::ja3`]).
    static JA3_HASHES: std::cell::RefCell<
        std::collections::HashMap<Vec<u16>, String, foldhash::fast::RandomState>,
    > = std::cell::RefCell::default();
}

fn hash12_uncached(list: &[u16], tail: &[u16]) -> String {
    let mut text = String::new();
    for (i, v) in list.iter().enumerate() {
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(text, "{sep}{v:04x}");
    }
    for (i, v) in tail.iter().enumerate() {
        let sep = if i > 0 { "," } else { "_" };
        let _ = write!(text, "{sep}{v:04x}");
    }
    hex(&sha256(text.as_bytes()))[..12].to_owned()
}

/// The random of a TLS 1.3 HelloRetryRequest (RFC 8446 4.1.3): SHA-256 of "HelloRetryRequest".
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// TLS 1.3 or one of its drafts (0x7fNN): everything after the ServerHello is encrypted.
fn is_tls13(version: u16) -> bool {
    version == 0x0304 || version >> 8 == 0x7f
}

/// Big-endian reads that return `None` instead of reading past the end.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// A vector with a one-byte length.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// A vector with a two-byte length.
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// A vector with a three-byte length.
    fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = u24(self.take(3)?);
        self.take(n)
    }
}

fn u24(b: &[u8]) -> usize {
    b.iter()
        .take(3)
        .fold(0, |acc, &x| acc << 8 | usize::from(x))
}

/// A list of 16-bit values; `None` when its length is odd.
fn u16_list(b: &[u8]) -> Option<Vec<u16>> {
    b.len().is_multiple_of(2).then(|| {
        b.chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect()
    })
}

/// A whole ClientHello handshake message (type 1, 24-bit length, body), as QUIC's CRYPTO frames
/// carry it without a record layer (its `record_version` is then 0).
pub fn parse_client_hello_message(msg: &[u8]) -> Option<ClientHello> {
    let (&[1, a, b, c], body) = msg.split_first_chunk::<4>()? else {
        return None;
    };
    let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
    parse_client_hello(body.get(..len)?, 0)
}

fn parse_client_hello(body: &[u8], record_version: u16) -> Option<ClientHello> {
    let mut r = Bytes(body);
    let legacy_version = r.u16()?;
    r.take(32)?; // random
    r.vec8()?; // session id
    let ciphers = u16_list(r.vec16()?)?;
    let compression_methods = r.vec8()?.to_vec();
    let mut hello = ClientHello {
        record_version,
        legacy_version,
        ciphers,
        compression_methods,
        extensions: Vec::new(),
        sni: None,
        alpn: Vec::new(),
        supported_versions: Vec::new(),
        groups: Vec::new(),
        ec_point_formats: Vec::new(),
        signature_algorithms: Vec::new(),
        malformed: false,
        first_alpn: None,
    };
    // Hellos before TLS 1.0 may end here, without an extension block.
    if r.is_empty() {
        return Some(hello);
    }
    let Some(block) = r.vec16() else {
        hello.malformed = true;
        return Some(hello);
    };
    let mut exts = Bytes(block);
    while !exts.is_empty() {
        let (Some(ext_type), Some(data)) = (exts.u16(), exts.vec16()) else {
            hello.malformed = true;
            break;
        };
        hello.extensions.push(ext_type);
        if hello.read_extension(ext_type, data).is_none() {
            hello.malformed = true;
        }
    }
    Some(hello)
}

impl ClientHello {
    /// Reads the extensions this module reports; the first of each kind wins.
    fn read_extension(&mut self, ext_type: u16, data: &[u8]) -> Option<()> {
        let mut r = Bytes(data);
        match ext_type {
            0x0000 => {
                let mut names = Bytes(r.vec16()?);
                while !names.is_empty() {
                    let name_type = names.u8()?;
                    let name = names.vec16()?;
                    if name_type == 0 && self.sni.is_none() {
                        self.sni = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            0x0010 if self.first_alpn.is_none() => {
                let mut protocols = Bytes(r.vec16()?);
                while !protocols.is_empty() {
                    let p = protocols.vec8()?;
                    if self.first_alpn.is_none() {
                        self.first_alpn = Some(p.to_vec());
                    }
                    self.alpn.push(String::from_utf8_lossy(p).into_owned());
                }
            }
            0x000a if self.groups.is_empty() => self.groups = u16_list(r.vec16()?)?,
            0x000b if self.ec_point_formats.is_empty() => {
                self.ec_point_formats = r.vec8()?.to_vec()
            }
            0x000d if self.signature_algorithms.is_empty() => {
                self.signature_algorithms = u16_list(r.vec16()?)?;
            }
            0x002b if self.supported_versions.is_empty() => {
                self.supported_versions = u16_list(r.vec8()?)?;
            }
            _ => {}
        }
        Some(())
    }
}

/// A whole ServerHello handshake message (type 2, 24-bit length, body), as QUIC carries it.
pub fn parse_server_hello_message(msg: &[u8]) -> Option<ServerHello> {
    let (&[2, a, b, c], body) = msg.split_first_chunk::<4>()? else {
        return None;
    };
    let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
    parse_server_hello(body.get(..len)?)
}

fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Bytes(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    // TLS 1.3 drafts before 22 had neither session id nor compression method; those before 16 put
    // 0x0304 itself here, which RFC 8446 servers never do.
    let draft = legacy_version == 0x0304 || legacy_version >> 8 == 0x7f;
    if !draft {
        r.vec8()?;
    }
    let cipher = r.u16()?;
    if !draft {
        r.u8()?;
    }
    let mut hello = ServerHello {
        legacy_version,
        version: legacy_version,
        cipher,
        extensions: Vec::new(),
        alpn: None,
        hello_retry_request: random == HRR_RANDOM,
        certificate_subject: None,
        certificate_issuer: None,
    };
    if r.is_empty() {
        return Some(hello);
    }
    let mut exts = Bytes(r.vec16()?);
    while !exts.is_empty() {
        let (Some(ext_type), Some(data)) = (exts.u16(), exts.vec16()) else {
            break;
        };
        hello.extensions.push(ext_type);
        match ext_type {
            0x002b if data.len() == 2 => hello.version = u16::from_be_bytes([data[0], data[1]]),
            0x0010 => {
                let mut d = Bytes(data);
                if let Some(p) = d.vec16().and_then(|list| Bytes(list).vec8()) {
                    hello.alpn = Some(String::from_utf8_lossy(p).into_owned());
                }
            }
            _ => {}
        }
    }
    Some(hello)
}

/// The DER of the first certificate of a TLS 1.2 Certificate message.
fn first_certificate(body: &[u8]) -> Option<&[u8]> {
    let list = Bytes(body).vec24()?;
    Bytes(list).vec24()
}

/// One DER element: its tag, its contents and what follows it. Definite lengths of up to 4 bytes only.
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len, rest) = rest.split_at_checked(n)?;
        (
            len.iter().fold(0, |acc, &x| acc << 8 | usize::from(x)),
            rest,
        )
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// The contents of a DER element that must have `tag`, and what follows it.
fn der_expect(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match der(b)? {
        (t, contents, rest) if t == tag => Some((contents, rest)),
        _ => None,
    }
}

/// (subject, issuer) of an X.509 certificate.
fn certificate_names(cert: &[u8]) -> Option<(String, String)> {
    let (cert, _) = der_expect(cert, 0x30)?;
    let (mut tbs, _) = der_expect(cert, 0x30)?;
    if tbs.first() == Some(&0xa0) {
        tbs = der_expect(tbs, 0xa0)?.1; // version
    }
    let (_, tbs) = der_expect(tbs, 0x02)?; // serial number
    let (_, tbs) = der_expect(tbs, 0x30)?; // signature algorithm
    let (issuer, tbs) = der_expect(tbs, 0x30)?;
    let (_, tbs) = der_expect(tbs, 0x30)?; // validity
    let (subject, _) = der_expect(tbs, 0x30)?;
    Some((distinguished_name(subject)?, distinguished_name(issuer)?))
}

/// An X.501 Name as text, RDNs in RFC 4514 order (last first), joined by ", ", values escaped.
fn distinguished_name(mut b: &[u8]) -> Option<String> {
    let mut rdns = Vec::new();
    while !b.is_empty() {
        let (mut set, rest) = der_expect(b, 0x31)?;
        b = rest;
        let mut rdn = String::new();
        while !set.is_empty() {
            let (atv, rest) = der_expect(set, 0x30)?;
            set = rest;
            let (oid, value) = der_expect(atv, 0x06)?;
            let (tag, contents, _) = der(value)?;
            if !rdn.is_empty() {
                rdn.push('+');
            }
            let (name, known) = attribute_name(oid);
            rdn.push_str(&name);
            rdn.push('=');
            match directory_string(tag, contents).filter(|_| known) {
                Some(text) => escape_value(&text, &mut rdn),
                // RFC 4514: an attribute known only by its OID shows its value's DER in hex.
                None => {
                    rdn.push('#');
                    rdn.push_str(&hex(value));
                }
            }
        }
        rdns.push(rdn);
    }
    rdns.reverse();
    Some(rdns.join(", "))
}

/// The short name x509 tools print for an attribute type, or its dotted OID; and whether it was known.
fn attribute_name(oid: &[u8]) -> (String, bool) {
    let known = match oid {
        [0x55, 0x04, 3] => "CN",
        [0x55, 0x04, 4] => "SN",
        [0x55, 0x04, 5] => "serialNumber",
        [0x55, 0x04, 6] => "C",
        [0x55, 0x04, 7] => "L",
        [0x55, 0x04, 8] => "ST",
        [0x55, 0x04, 9] => "STREET",
        [0x55, 0x04, 10] => "O",
        [0x55, 0x04, 11] => "OU",
        [0x55, 0x04, 12] => "title",
        [0x55, 0x04, 17] => "postalCode",
        [0x55, 0x04, 42] => "GN",
        [0x55, 0x04, 43] => "initials",
        [0x55, 0x04, 46] => "dnQualifier",
        [0x55, 0x04, 65] => "pseudonym",
        [0x55, 0x04, 97] => "organizationIdentifier",
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
        _ => return (dotted_oid(oid), false),
    };
    (known.to_owned(), true)
}

fn dotted_oid(oid: &[u8]) -> String {
    let mut out = String::new();
    let mut acc: u64 = 0;
    for &b in oid {
        if acc > u64::MAX >> 7 {
            return format!("OID.{}", hex(oid));
        }
        acc = acc << 7 | u64::from(b & 0x7f);
        if b & 0x80 != 0 {
            continue;
        }
        if out.is_empty() {
            let (first, second) = match acc {
                0..40 => (0, acc),
                40..80 => (1, acc - 40),
                _ => (2, acc - 80),
            };
            let _ = write!(out, "{first}.{second}");
        } else {
            let _ = write!(out, ".{acc}");
        }
        acc = 0;
    }
    out
}

/// The text of a string-typed attribute value, or `None` for other types.
fn directory_string(tag: u8, b: &[u8]) -> Option<String> {
    match tag {
        0x0c => Some(String::from_utf8_lossy(b).into_owned()),
        // Printable, IA5, Visible, Numeric and Teletex strings: read as Latin-1, which never fails.
        0x12 | 0x13 | 0x14 | 0x16 | 0x1a => Some(b.iter().map(|&c| char::from(c)).collect()),
        0x1e if b.len().is_multiple_of(2) => Some(
            char::decode_utf16(b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])))
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
        ),
        0x1c if b.len().is_multiple_of(4) => Some(
            b.chunks_exact(4)
                .map(|c| {
                    char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect(),
        ),
        _ => None,
    }
}

/// RFC 4514 escaping, plus control characters as `\XX` so that a NUL cannot cut the name short.
fn escape_value(v: &str, out: &mut String) {
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:02X}");
                }
            }
            c => out.push(c),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The message padded to whole 64-byte blocks as MD5 and SHA-256 both pad it, the bit length last.
fn padded(data: &[u8], big_endian: bool) -> Vec<u8> {
    let bits = (data.len() as u64).wrapping_mul(8);
    let mut m = data.to_vec();
    m.push(0x80);
    while m.len() % 64 != 56 {
        m.push(0);
    }
    m.extend_from_slice(&if big_endian {
        bits.to_be_bytes()
    } else {
        bits.to_le_bytes()
    });
    m
}

/// MD5 (RFC 1321), for JA3 only: short inputs, no security at stake.
fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    let mut h: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    for block in padded(data, false).chunks_exact(64) {
        let mut m = [0u32; 16];
        for (w, c) in m.iter_mut().zip(block.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(K[i])
                .wrapping_add(m[g])
                .rotate_left(S[(i / 16) * 4 + i % 4]);
            (a, b, c, d) = (d, b.wrapping_add(rotated), b, c);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0; 16];
    for (o, x) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&x.to_le_bytes());
    }
    out
}

/// SHA-256 (FIPS 180-4), for JA4.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    for block in padded(data, true).chunks_exact(64) {
        let mut w = [0u32; 64];
        for (x, c) in w.iter_mut().zip(block.chunks_exact(4)) {
            *x = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0; 32];
    for (o, x) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use capture::PipelineConfig;
    use capture::reassembly::Chunk;

    use super::*;

    #[test]
    fn remembered_hashes_are_the_hashes() {
        for (list, tail) in [
            (&[0x1301u16, 0x1302][..], &[0x0403u16][..]),
            (&[0x1301], &[0x1302, 0x0403]),
            (&[0x1301, 0x1302, 0x0403], &[]),
        ] {
            let first = hash12_of_list(list, tail);
            assert_eq!(first, hash12_uncached(list, tail));
            assert_eq!(hash12_of_list(list, tail), first, "from the table");
        }
        assert_ne!(
            hash12_of_list(&[1, 2], &[3]),
            hash12_of_list(&[1], &[2, 3]),
            "the same values split differently are different lists"
        );
    }

    // Hellos built by hand, so that the unit tests need no corpus.

    fn vec8(b: &[u8]) -> Vec<u8> {
        [&[b.len() as u8][..], b].concat()
    }

    fn vec16(b: &[u8]) -> Vec<u8> {
        [&(b.len() as u16).to_be_bytes()[..], b].concat()
    }

    fn vec24(b: &[u8]) -> Vec<u8> {
        [&(b.len() as u32).to_be_bytes()[1..], b].concat()
    }

    fn u16s(list: &[u16]) -> Vec<u8> {
        list.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
        [&[msg_type][..], &vec24(body)].concat()
    }

    fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
        [&[content_type, 3, 3][..], &vec16(body)].concat()
    }

    /// Handshake bytes cut into handshake records of at most `size` bytes.
    fn records(bytes: &[u8], size: usize) -> Vec<u8> {
        bytes.chunks(size).flat_map(|c| record(22, c)).collect()
    }

    fn client_hello_body(legacy: u16, ciphers: &[u16], extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let exts: Vec<u8> = extensions
            .iter()
            .flat_map(|(t, data)| [&t.to_be_bytes()[..], &vec16(data)].concat())
            .collect();
        [
            &legacy.to_be_bytes()[..],
            &[0x11; 32],
            &vec8(&[0x22; 32]),
            &vec16(&u16s(ciphers)),
            &vec8(&[0]),
            &vec16(&exts),
        ]
        .concat()
    }

    /// The Chromium hello of FoxIO's JA4 specification (technical_details/JA4.md): its ciphers, extensions
    /// and signature algorithms in that order, with GREASE values where Chrome puts them if `grease`.
    fn spec_hello(grease: bool) -> Vec<u8> {
        let g = |v: u16| if grease { vec![v] } else { vec![] };
        let ciphers = [
            g(0x0a0a),
            vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
        ]
        .concat();
        let sig_algs = [
            g(0x3a3a),
            vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
        ]
        .concat();
        let mut exts: Vec<(u16, Vec<u8>)> = vec![
            (0x001b, vec8(&u16s(&[0x0002]))),
            (0x0000, vec16(&[&[0][..], &vec16(b"example.com")].concat())),
            (
                0x0033,
                vec16(&[&u16s(&[0x001d])[..], &vec16(&[7; 32])].concat()),
            ),
            (0x0010, vec16(&[vec8(b"h2"), vec8(b"http/1.1")].concat())),
            (0x4469, vec16(&vec8(b"h2"))),
            (0x0017, vec![]),
            (0x002d, vec8(&[1])),
            (0x000d, vec16(&u16s(&sig_algs))),
            (0x0005, vec![1, 0, 0, 0, 0]),
            (0x0023, vec![]),
            (0x0012, vec![]),
            (
                0x002b,
                vec8(&u16s(&[g(0x4a4a), vec![0x0304, 0x0303]].concat())),
            ),
            (0xff01, vec![0]),
            (0x000b, vec8(&[0])),
            (
                0x000a,
                vec16(&u16s(&[g(0x5a5a), vec![29, 23, 24]].concat())),
            ),
            (0x0015, vec![0; 100]),
        ];
        if grease {
            exts.insert(0, (0x1a1a, vec![]));
            exts.insert(15, (0x2a2a, vec![0]));
        }
        handshake(1, &client_hello_body(0x0303, &ciphers, &exts))
    }

    /// Feeds `bytes` in pieces of `step` bytes to a fresh reader.
    fn read(to_server: bool, bytes: &[u8], step: usize) -> HelloReader {
        let mut reader = HelloReader::new(to_server);
        for piece in bytes.chunks(step.max(1)) {
            reader.feed(piece);
        }
        reader
    }

    fn parse_whole(bytes: &[u8]) -> ClientHello {
        let reader = read(true, bytes, usize::MAX);
        assert_eq!(reader.stop_reason(), Some(StopReason::Complete));
        reader.client_hello().expect("a client hello").clone()
    }

    /// JA3 is remembered per distinct hello: hellos whose lists hold the same values split differently,
    /// or differ in one value or the version, each get their own fingerprint, the first time and when
    /// remembered.
    #[test]
    fn remembered_ja3_tells_apart_hellos_that_differ_anywhere() {
        let base = parse_whole(&records(&spec_hello(false), 16_384));
        let mut variants = vec![base.clone()];
        let mut moved = base.clone();
        let c = moved.ciphers.pop().unwrap();
        moved.extensions.insert(0, c);
        variants.push(moved);
        let mut version = base.clone();
        version.legacy_version = 0x0301;
        variants.push(version);
        let mut group = base.clone();
        group.groups.push(25);
        variants.push(group);
        let mut formats = base.clone();
        formats.ec_point_formats = vec![0, 1];
        variants.push(formats);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2 {
            for h in &variants {
                assert_eq!(h.ja3(), hex(&md5(h.ja3_string().as_bytes())));
            }
        }
        for h in &variants {
            seen.insert(h.ja3());
        }
        assert_eq!(seen.len(), variants.len());
    }

    #[test]
    fn the_specification_example_gives_the_specification_ja4_with_or_without_grease() {
        for grease in [false, true] {
            let hello = parse_whole(&records(&spec_hello(grease), 16_384));
            assert_eq!(
                hello.ja4(),
                "t13d1516h2_8daaf6152771_e5627efa2ab1",
                "grease {grease}"
            );
            // Checked with Python's hashlib on the same string.
            assert_eq!(
                hello.ja3_string(),
                "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
                 27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
            );
            assert_eq!(hello.ja3(), "c000e2caf3a25423f9de6c8a4b12a975");
            assert_eq!(hello.sni.as_deref(), Some("example.com"));
            assert_eq!(hello.alpn, ["h2", "http/1.1"]);
            assert_eq!(hello.max_version(), 0x0304);
            assert_eq!(hello.record_version, 0x0303);
            assert!(!hello.malformed);
            // GREASE stays in the lists, in wire order, for whoever wants it.
            assert_eq!(hello.extensions.first() == Some(&0x1a1a), grease);
            assert_eq!(hello.ciphers.len(), 15 + usize::from(grease));
            assert_eq!(hello.supported_versions.len(), 2 + usize::from(grease));
        }
    }

    #[test]
    fn ja4_parts_follow_the_specification() {
        // technical_details/JA4.md: "If there are no signature algorithms in the hello packet, then the
        // string ends without an underscore and is hashed."
        let exts = [
            0x0005, 0x000a, 0x000b, 0x000d, 0x0012, 0x0015, 0x0017, 0x001b, 0x0023, 0x002b, 0x002d,
            0x0033, 0x4469, 0xff01,
        ];
        assert_eq!(hash12_of_list(&exts, &[]), "6d807ffa2a79");
        assert_eq!(hash12_of_list(&[], &[0x0403]), "000000000000");
        // The ALPN examples of the specification.
        let alpn = |b: &[u8]| ja4_alpn(Some(b));
        assert_eq!(alpn(b"h2"), "h2");
        assert_eq!(alpn(b"http/1.1"), "h1");
        assert_eq!(alpn(b"h"), "hh");
        assert_eq!(alpn(&[0xab]), "ab");
        assert_eq!(alpn(&[0xab, 0xcd]), "ad");
        assert_eq!(alpn(&[0x30, 0xab]), "3b");
        assert_eq!(alpn(&[0x30, 0x31, 0xab, 0xcd]), "3d");
        assert_eq!(alpn(&[0x30, 0xab, 0xcd, 0x31]), "01");
        assert_eq!(alpn(b""), "00");
        assert_eq!(ja4_alpn(None), "00");
        assert_eq!(ja4_version(0x7f1c), "00");
        assert_eq!(ja4_version(0x0300), "s3");
    }

    #[test]
    fn a_hello_without_extensions_has_empty_fingerprint_parts() {
        let body = [
            &0x0301u16.to_be_bytes()[..],
            &[0; 32],
            &vec8(&[]),
            &vec16(&u16s(&[0x0035, 0x002f])),
            &vec8(&[0]),
        ]
        .concat();
        let hello = parse_whole(&records(&handshake(1, &body), 16_384));
        assert_eq!(hello.ja3_string(), "769,53-47,,,");
        // sha256("002f,0035") begins f54dd463d39b (Python's hashlib).
        assert_eq!(hello.ja4(), "t10i020000_f54dd463d39b_000000000000");
        assert_eq!(hello.max_version(), 0x0301);
    }

    #[test]
    fn grease_values_are_recognised() {
        let grease: Vec<u16> = (0..=0xffff).filter(|&v| is_grease(v)).collect();
        assert_eq!(grease.len(), 16);
        assert!(
            grease
                .iter()
                .all(|&v| v & 0xff == 0x0a || v & 0xff == (v >> 8))
        );
        assert!(is_grease(0x0a0a) && is_grease(0xfafa));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1a0a) && !is_grease(0x0000));
    }

    #[test]
    fn a_hello_split_across_records_and_segments_is_reassembled() {
        let message = spec_hello(true);
        let whole = parse_whole(&records(&message, 16_384));
        // Two records (cut in the middle of the extensions), many small records, and a record boundary
        // inside the four-byte handshake header.
        for size in [message.len() / 2 + 1, 100, 7, 2, 1] {
            let stream = records(&message, size);
            for step in [1, 3, 1000, usize::MAX] {
                let reader = read(true, &stream, step);
                assert_eq!(
                    reader.client_hello(),
                    Some(&whole),
                    "records of {size}, feeds of {step}"
                );
                assert!(reader.done());
            }
        }
    }

    #[test]
    fn every_prefix_is_incomplete_and_the_whole_is_complete() {
        let stream = records(&spec_hello(true), 300);
        let whole = parse_whole(&stream);
        for cut in 0..stream.len() {
            let mut reader = read(true, &stream[..cut], usize::MAX);
            assert_eq!(reader.client_hello(), None, "prefix of {cut}");
            assert!(!reader.done(), "prefix of {cut}");
            reader.feed(&stream[cut..]);
            assert_eq!(reader.client_hello(), Some(&whole), "prefix of {cut}");
        }
    }

    #[test]
    fn garbage_and_damaged_hellos_never_panic() {
        let stream = records(&spec_hello(true), 200);
        // Every byte replaced by values that break lengths one way or another.
        for i in 0..stream.len() {
            for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut damaged = stream.clone();
                damaged[i] = v;
                for to_server in [true, false] {
                    let reader = read(to_server, &damaged, 61);
                    let _ = reader.client_hello().map(|h| (h.ja3(), h.ja4()));
                }
            }
        }
        // Random bytes, with and without a plausible record header in front.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..2000 {
            let len = (round * 7) % 700;
            let mut bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            if round % 2 == 0 && bytes.len() > 9 {
                bytes[..6].copy_from_slice(&[
                    22,
                    3,
                    1,
                    (len >> 8) as u8,
                    len as u8,
                    round as u8 % 3,
                ]);
            }
            for to_server in [true, false] {
                let reader = read(to_server, &bytes, 1 + round % 13);
                let _ = reader.client_hello().map(|h| (h.ja3(), h.ja4()));
                let _ = reader.server_hello();
            }
        }
    }

    #[test]
    fn a_stream_that_is_not_a_tls_handshake_is_given_up_at_once() {
        let reader = read(true, b"GET / HTTP/1.1\r\nHost: pacs\r\n\r\n", usize::MAX);
        assert_eq!(reader.stop_reason(), Some(StopReason::NotTls));
        let reader = read(true, &record(23, &[1, 2, 3]), usize::MAX);
        assert_eq!(reader.stop_reason(), Some(StopReason::Midstream));
        let reader = read(false, &record(21, &[2, 40]), usize::MAX);
        assert_eq!(reader.stop_reason(), Some(StopReason::Alert));
        // A server's first handshake message must be its hello, a client's its hello.
        let reader = read(true, &records(&handshake(2, &[0; 40]), 100), usize::MAX);
        assert_eq!(reader.stop_reason(), Some(StopReason::Malformed));
        // A handshake message cut by a record of another type.
        let message = spec_hello(false);
        let stream = [records(&message[..50], 100), record(23, &[0; 10])].concat();
        let reader = read(true, &stream, usize::MAX);
        assert_eq!(reader.stop_reason(), Some(StopReason::Malformed));
    }

    #[test]
    fn a_gap_gives_up_and_keeps_what_was_found() {
        let stream = records(&spec_hello(false), 16_384);
        let mut reader = HelloReader::new(true);
        reader.feed(&stream[..100]);
        reader.gap();
        reader.feed(&stream[100..]);
        assert_eq!(reader.stop_reason(), Some(StopReason::Gap));
        assert_eq!(reader.client_hello(), None);

        let (hello, rest) = server_flight_tls12();
        let mut reader = HelloReader::new(false);
        reader.feed(&hello);
        reader.gap();
        reader.feed(&rest);
        assert_eq!(reader.stop_reason(), Some(StopReason::Gap));
        let hello = reader.server_hello().expect("the hello before the gap");
        assert_eq!(
            (hello.cipher, hello.certificate_subject.as_deref()),
            (0xc02f, None)
        );
    }

    #[test]
    fn a_message_over_the_cap_is_refused_and_one_under_it_read() {
        let big = |padding: usize| {
            let body = client_hello_body(0x0303, &[0x1301], &[(0x0015, vec![0; padding])]);
            records(&handshake(1, &body), 16_384)
        };
        let reader = read(true, &big(MAX_BUFFER - 200), 5000);
        assert_eq!(
            reader.client_hello().map(|h| h.extensions.clone()),
            Some(vec![0x0015])
        );
        let reader = read(true, &big(MAX_BUFFER), 5000);
        assert_eq!(reader.stop_reason(), Some(StopReason::TooLarge));
        assert!(reader.message.capacity() == 0 && reader.client_hello().is_none());
        // Refused as soon as the length is read, before any of the body is buffered.
        let reader = read(true, &record(22, &[1, 0xff, 0xff, 0xff]), usize::MAX);
        assert_eq!(reader.stop_reason(), Some(StopReason::TooLarge));
    }

    fn der_tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let n = contents.len();
        let len = match n {
            0..0x80 => vec![n as u8],
            0x80..0x100 => vec![0x81, n as u8],
            _ => vec![0x82, (n >> 8) as u8, n as u8],
        };
        [&[tag][..], &len, contents].concat()
    }

    /// One attribute of a name: its OID, the tag of its string type and its value.
    type Attribute<'a> = (&'a [u8], u8, &'a [u8]);

    /// An X.501 Name from its RDNs.
    fn der_name(rdns: &[&[Attribute]]) -> Vec<u8> {
        let rdns: Vec<u8> = rdns
            .iter()
            .flat_map(|rdn| {
                let atvs: Vec<u8> = rdn
                    .iter()
                    .flat_map(|(oid, tag, v)| {
                        der_tlv(0x30, &[der_tlv(0x06, oid), der_tlv(*tag, v)].concat())
                    })
                    .collect();
                der_tlv(0x31, &atvs)
            })
            .collect();
        der_tlv(0x30, &rdns)
    }

    /// A certificate with every field this module skips present but empty-ish.
    fn der_certificate(issuer: &[u8], subject: &[u8]) -> Vec<u8> {
        let alg = der_tlv(
            0x30,
            &der_tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
        );
        let time = der_tlv(0x17, b"250101000000Z");
        let tbs = [
            der_tlv(0xa0, &der_tlv(0x02, &[2])),
            der_tlv(0x02, &[0x00, 0x97, 0xe6]),
            alg.clone(),
            issuer.to_vec(),
            der_tlv(0x30, &[time.clone(), time].concat()),
            subject.to_vec(),
            der_tlv(0x30, &[alg.clone(), der_tlv(0x03, &[0, 4, 1])].concat()),
        ]
        .concat();
        der_tlv(
            0x30,
            &[der_tlv(0x30, &tbs), alg, der_tlv(0x03, &[0, 0])].concat(),
        )
    }

    const CN: &[u8] = &[0x55, 0x04, 3];
    const C: &[u8] = &[0x55, 0x04, 6];
    const O: &[u8] = &[0x55, 0x04, 10];
    const OU: &[u8] = &[0x55, 0x04, 11];

    /// A TLS 1.2 server's first flight, cut after the ServerHello: (hello, certificate and done).
    fn server_flight_tls12() -> (Vec<u8>, Vec<u8>) {
        let exts = [
            &[0xff, 0x01][..],
            &vec16(&[0]),
            &[0x00, 0x10],
            &vec16(&vec16(&vec8(b"http/1.1"))),
        ]
        .concat();
        let hello = [
            &0x0303u16.to_be_bytes()[..],
            &[0x33; 32],
            &vec8(&[0x44; 32]),
            &[0xc0, 0x2f, 0],
            &vec16(&exts),
        ]
        .concat();
        let subject = der_name(&[
            &[(C, 0x13, b"FR")],
            &[(O, 0x0c, b"Hospital, Inc")],
            &[(OU, 0x13, b"Imaging"), (CN, 0x0c, b"pacs\0.example")],
            &[(&[0x2a, 0x03, 0x04], 0x13, b"x")],
        ]);
        let issuer = der_name(&[
            &[(C, 0x13, b"FR")],
            &[(O, 0x13, b"Hospital CA")],
            &[(CN, 0x1e, &[0, b'R', 0, b'o', 0, b'o', 0, b't'])],
        ]);
        let certificate = vec24(
            &[
                vec24(&der_certificate(&issuer, &subject)),
                vec24(&[0x30, 0]),
            ]
            .concat(),
        );
        let rest = [handshake(11, &certificate), handshake(14, &[])].concat();
        (
            records(&handshake(2, &hello), 16_384),
            records(&rest, 16_384),
        )
    }

    #[test]
    fn a_tls12_server_hello_and_certificate_names_are_read() {
        let (hello, rest) = server_flight_tls12();
        let stream = [hello, rest].concat();
        for step in [1, 5, usize::MAX] {
            let reader = read(false, &stream, step);
            assert_eq!(reader.stop_reason(), Some(StopReason::Complete));
            let hello = reader.server_hello().expect("a server hello");
            assert_eq!((hello.version, hello.cipher), (0x0303, 0xc02f));
            assert_eq!(hello.extensions, [0xff01, 0x0010]);
            assert_eq!(hello.alpn.as_deref(), Some("http/1.1"));
            // Most specific first, commas and NUL escaped, an unknown attribute as its OID and DER.
            assert_eq!(
                hello.certificate_subject.as_deref(),
                Some("1.2.3.4=#130178, OU=Imaging+CN=pacs\\00.example, O=Hospital\\, Inc, C=FR")
            );
            assert_eq!(
                hello.certificate_issuer.as_deref(),
                Some("CN=Root, O=Hospital CA, C=FR")
            );
        }
    }

    fn server_hello_tls13(random: [u8; 32], cipher: u16) -> Vec<u8> {
        let exts = [
            &[0x00, 0x2b][..],
            &vec16(&[3, 4]),
            &[0x00, 0x33],
            &vec16(&u16s(&[0x001d])),
        ]
        .concat();
        let body = [
            &0x0303u16.to_be_bytes()[..],
            &random,
            &vec8(&[0x44; 32]),
            &cipher.to_be_bytes(),
            &[0],
            &vec16(&exts),
        ]
        .concat();
        records(&handshake(2, &body), 16_384)
    }

    #[test]
    fn a_tls13_server_is_done_after_its_hello() {
        let stream = [
            server_hello_tls13([0x55; 32], 0x1302),
            record(20, &[1]),
            record(23, &[9; 40]),
        ]
        .concat();
        let reader = read(false, &stream, 1);
        assert_eq!(reader.stop_reason(), Some(StopReason::Complete));
        let hello = reader.server_hello().expect("a server hello");
        assert_eq!(
            (hello.legacy_version, hello.version, hello.cipher),
            (0x0303, 0x0304, 0x1302)
        );
        assert!(!hello.hello_retry_request && hello.certificate_subject.is_none());
    }

    #[test]
    fn a_hello_retry_request_is_followed_to_the_real_server_hello() {
        let stream = [
            server_hello_tls13(HRR_RANDOM, 0x1301),
            record(20, &[1]),
            server_hello_tls13([0x55; 32], 0x1301),
            record(23, &[9; 40]),
        ]
        .concat();
        let reader = read(false, &stream, 3);
        assert_eq!(reader.stop_reason(), Some(StopReason::Complete));
        let hello = reader.server_hello().expect("a server hello");
        assert!(hello.hello_retry_request);
        assert_eq!((hello.version, hello.cipher), (0x0304, 0x1301));
    }

    #[test]
    fn md5_and_sha256_match_their_reference_vectors() {
        // RFC 1321 appendix A.5 and FIPS 180-2 appendix B.
        assert_eq!(hex(&md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(&md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(&md5(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            )),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    // The corpus: what the capture pipeline delivers, read as the session layer will read it.

    /// The hellos of one TCP flow.
    #[derive(Debug)]
    struct Flow {
        client: (String, u16),
        server: (String, u16),
        client_hello: Option<ClientHello>,
        server_hello: Option<ServerHello>,
        client_stop: Option<StopReason>,
        delivered_to_server: u64,
    }

    /// Reassembles a capture and runs a reader on each direction of every TCP flow, chunk by chunk as
    /// the reassembler delivered them, and again one byte at a time, which must not change anything.
    fn check(path: &Path) -> Vec<Flow> {
        let (flows, _) = capture::reassemble_file(path, PipelineConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        for (record, consumer) in flows.into_iter().filter(|(r, _)| r.protocol == 6) {
            let mut readers = [HelloReader::new(true), HelloReader::new(false)];
            let mut bytewise = readers.clone();
            for chunk in &consumer.chunks {
                match chunk {
                    Chunk::Data(dir, bytes) => {
                        if !readers[dir.index()].done() {
                            readers[dir.index()].feed(bytes);
                        }
                        for b in bytes {
                            bytewise[dir.index()].feed(std::slice::from_ref(b));
                        }
                    }
                    Chunk::Gap(dir, _) => {
                        readers[dir.index()].gap();
                        bytewise[dir.index()].gap();
                    }
                    _ => {}
                }
            }
            let [to_server, to_client] = readers;
            assert_eq!(to_server.client_hello(), bytewise[0].client_hello());
            assert_eq!(to_client.server_hello(), bytewise[1].server_hello());
            out.push(Flow {
                client: (record.client.ip.to_string(), record.client.port),
                server: (record.server.ip.to_string(), record.server.port),
                client_hello: to_server.client_hello().cloned(),
                server_hello: to_client.server_hello().cloned(),
                client_stop: to_server.stop_reason(),
                delivered_to_server: record.reassembly[0].delivered_bytes,
            });
        }
        out
    }

    /// One `filter` of a suricata-verify `test.yaml`: how many EVE events match these fields.
    #[derive(Debug)]
    struct EveFilter {
        count: usize,
        fields: Vec<(String, String)>,
        /// Only for Suricata releases older than one that the test names (`lt-version`).
        older_only: bool,
    }

    /// The `pcap:` a test.yaml names (else the capture beside it), whether the whole test is for older
    /// Suricata releases only, and its filters. A line reader for the simple YAML these files use: block
    /// maps, `- filter:` items, quoted or plain scalars, plain scalars folded onto indented lines.
    fn suricata_test(yaml: &str) -> (Option<String>, bool, Vec<EveFilter>) {
        let mut pcap = None;
        let mut older_only = false;
        let mut filters: Vec<EveFilter> = Vec::new();
        let mut top_requires = false;
        let mut match_indent: Option<usize> = None;
        let mut entry_indent: Option<usize> = None;
        for line in yaml.lines() {
            let text = line.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if indent == 0 {
                top_requires = text == "requires:";
                if let Some(p) = text.strip_prefix("pcap:") {
                    pcap = Some(p.trim().to_owned());
                }
                match_indent = None;
                continue;
            }
            if top_requires && text.starts_with("lt-version") {
                older_only = true;
            }
            if let Some(m) = match_indent {
                if indent > m {
                    let e = *entry_indent.get_or_insert(indent);
                    let filter = filters.last_mut().expect("a filter holds the match");
                    match text.split_once(':') {
                        Some((key, value)) if indent == e => {
                            let value = value.trim().trim_matches('"').trim_matches('\'');
                            filter.fields.push((key.to_owned(), value.to_owned()));
                        }
                        // A plain scalar folded onto the next line continues after a space.
                        _ => {
                            if let Some((_, value)) = filter.fields.last_mut() {
                                value.push(' ');
                                value.push_str(text);
                            }
                        }
                    }
                    continue;
                }
                match_indent = None;
            }
            let item = text.strip_prefix("- ").unwrap_or(text);
            if item == "filter:" {
                filters.push(EveFilter {
                    count: 0,
                    fields: Vec::new(),
                    older_only: false,
                });
            } else if text.starts_with("- ") && text.ends_with(':') {
                // `- stats:`, `- shell:`: not an EVE filter; a placeholder keeps `last_mut` honest.
                filters.push(EveFilter {
                    count: 0,
                    fields: Vec::new(),
                    older_only: true,
                });
            } else if let Some(filter) = filters.last_mut() {
                if let Some(n) = text.strip_prefix("count:") {
                    filter.count = n.trim().parse().expect("a count");
                } else if text.starts_with("lt-version") {
                    filter.older_only = true;
                } else if text == "match:" {
                    match_indent = Some(indent);
                    entry_indent = None;
                }
            }
        }
        (pcap, older_only, filters)
    }

    /// Suricata's name for the version a server chose (`SSLVersionToString` in its output-json-tls.c).
    fn suricata_version(hello: &ServerHello) -> String {
        if hello.legacy_version == 0x0304 {
            // Only servers of TLS 1.3 drafts before 16 put 0x0304 in the hello itself.
            return "TLS 1.3 draft-<16".to_owned();
        }
        let v = hello.version;
        match v {
            0x0200 => "SSLv2".to_owned(),
            0x0300 => "SSLv3".to_owned(),
            0x0301 => "TLSv1".to_owned(),
            0x0302 => "TLS 1.1".to_owned(),
            0x0303 => "TLS 1.2".to_owned(),
            0x0304 => "TLS 1.3".to_owned(),
            0x7f00..0x7f10 => "TLS 1.3 draft-<16".to_owned(),
            0x7f10..=0x7fff => format!("TLS 1.3 draft-{}", v & 0xff),
            _ => "UNDETERMINED".to_owned(),
        }
    }

    /// Ours in Suricata's order: Suricata prints a name's RDNs first to last ("C=FR, ..., CN=SELKS"),
    /// we print them as RFC 4514 does, last first.
    fn first_to_last(name: &str) -> String {
        let mut rdns: Vec<&str> = Vec::new();
        let mut start = 0;
        let bytes = name.as_bytes();
        for i in 0..bytes.len() {
            // ", " separates RDNs unless its comma is escaped.
            if bytes[i] == b','
                && bytes.get(i + 1) == Some(&b' ')
                && (i == 0 || bytes[i - 1] != b'\\')
            {
                rdns.push(&name[start..i]);
                start = i + 2;
            }
        }
        rdns.push(&name[start..]);
        rdns.reverse();
        rdns.join(", ")
    }

    /// Whether a flow has this EVE field's value; `None` for the fields this module does not produce.
    fn eve_field_matches(flow: &Flow, key: &str, value: &str) -> Option<bool> {
        let ch = flow.client_hello.as_ref();
        let sh = flow.server_hello.as_ref();
        let is = |ours: Option<String>| Some(ours.as_deref() == Some(value));
        match key {
            "event_type" => Some(value == "tls" && (ch.is_some() || sh.is_some())),
            "proto" => Some(value == "TCP"),
            "src_ip" => Some(flow.client.0 == value),
            "src_port" => Some(flow.client.1.to_string() == value),
            "dest_ip" => Some(flow.server.0 == value),
            "dest_port" => Some(flow.server.1.to_string() == value),
            "tls.ja4" => is(ch.map(ClientHello::ja4)),
            "tls.ja3.hash" => is(ch.map(ClientHello::ja3)),
            "tls.ja3.string" => is(ch.map(ClientHello::ja3_string)),
            "tls.sni" => is(ch.and_then(|h| h.sni.clone())),
            "tls.version" => is(sh.map(suricata_version)),
            "tls.subject" => {
                is(sh.and_then(|h| h.certificate_subject.as_deref().map(first_to_last)))
            }
            "tls.issuerdn" => {
                is(sh.and_then(|h| h.certificate_issuer.as_deref().map(first_to_last)))
            }
            _ => None,
        }
    }

    /// The captures of the TLS tests of suricata-verify, with the tests that read them.
    fn suricata_tls_tests(corpus: &Path) -> Vec<(PathBuf, PathBuf)> {
        let root = corpus.join("pcap/suricata-verify");
        let mut dirs = vec![root.join("ja4-tls")];
        let mut tls: Vec<PathBuf> = std::fs::read_dir(root.join("tls"))
            .expect("suricata-verify/tls")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        tls.sort();
        dirs.extend(tls);
        let mut out = Vec::new();
        for dir in dirs {
            let yaml = std::fs::read_to_string(dir.join("test.yaml")).expect("test.yaml");
            let pcap = match suricata_test(&yaml).0 {
                Some(p) => dir.join(p),
                None => std::fs::read_dir(&dir)
                    .expect("a test directory")
                    .map(|e| e.expect("a directory entry").path())
                    .find(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
                    .unwrap_or_else(|| panic!("no capture in {}", dir.display())),
            };
            out.push((dir, pcap));
        }
        out
    }

    #[test]
    fn suricata_verify_tls_expectations_hold() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let supported = |k: &str| eve_field_matches(&EMPTY_FLOW, k, "").is_some();
        let mut cache: BTreeMap<PathBuf, Vec<Flow>> = BTreeMap::new();
        let (mut filters_checked, mut values_checked) = (0, BTreeMap::<String, usize>::new());
        let mut failures = Vec::new();
        for (dir, pcap) in suricata_tls_tests(&corpus) {
            let yaml = std::fs::read_to_string(dir.join("test.yaml")).expect("test.yaml");
            let (_, older_only, filters) = suricata_test(&yaml);
            if older_only {
                continue;
            }
            let flows = cache.entry(pcap.clone()).or_insert_with(|| check(&pcap));
            for filter in filters.iter().filter(|f| !f.older_only) {
                let is_tls = filter
                    .fields
                    .iter()
                    .any(|(k, v)| k == "event_type" && v == "tls");
                let ours: Vec<&(String, String)> = filter
                    .fields
                    .iter()
                    .filter(|(k, _)| k.starts_with("tls.") && supported(k))
                    .collect();
                if !is_tls || ours.is_empty() {
                    continue;
                }
                // Fields we do not produce (serial, fingerprint, validity...) narrow Suricata's matches
                // further, so without them ours can only be as many or more.
                let exact = filter.fields.iter().all(|(k, _)| supported(k));
                let matching = flows
                    .iter()
                    .filter(|f| {
                        filter
                            .fields
                            .iter()
                            .all(|(k, v)| eve_field_matches(f, k, v).unwrap_or(true))
                    })
                    .count();
                filters_checked += 1;
                for (k, _) in &ours {
                    *values_checked.entry(k.clone()).or_default() += filter.count;
                }
                let ok = if exact {
                    matching == filter.count
                } else {
                    matching >= filter.count
                };
                if !ok {
                    let ours: Vec<String> = flows.iter().map(summary).collect();
                    failures.push(format!(
                        "{}: {} flows match {:?}, Suricata counts {}; ours:\n  {}",
                        dir.display(),
                        matching,
                        filter.fields,
                        filter.count,
                        ours.join("\n  ")
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        eprintln!("suricata-verify: {filters_checked} filters, values checked {values_checked:?}");
        assert!(filters_checked >= 20 && values_checked.get("tls.ja4") == Some(&1));
    }

    /// One line per flow for failure messages.
    fn summary(f: &Flow) -> String {
        let ch = f.client_hello.as_ref();
        let sh = f.server_hello.as_ref();
        format!(
            "{}:{} -> {}:{} sni={:?} ja3={:?} ja4={:?} version={:?} subject={:?} issuer={:?}",
            f.client.0,
            f.client.1,
            f.server.0,
            f.server.1,
            ch.and_then(|h| h.sni.clone()),
            ch.map(ClientHello::ja3_string),
            ch.map(ClientHello::ja4),
            sh.map(|h| format!("{:#06x}", h.version)),
            sh.and_then(|h| h.certificate_subject.clone()),
            sh.and_then(|h| h.certificate_issuer.clone()),
        )
    }

    const EMPTY_FLOW: Flow = Flow {
        client: (String::new(), 0),
        server: (String::new(), 0),
        client_hello: None,
        server_hello: None,
        client_stop: None,
        delivered_to_server: 0,
    };

    /// tshark's reading of a ClientHello.
    #[derive(Debug)]
    struct TsharkHello {
        frame: String,
        sni: String,
        ja3: String,
        ja3_full: String,
        version: String,
        supported_versions: String,
    }

    /// tshark's first ClientHello of every TCP stream, by (client ip, port, server ip, port).
    fn tshark_client_hellos(
        tshark: &str,
        pcap: &Path,
    ) -> BTreeMap<(String, u16, String, u16), TsharkHello> {
        let fields = [
            "tcp.stream",
            "ip.src",
            "ipv6.src",
            "tcp.srcport",
            "ip.dst",
            "ipv6.dst",
            "tcp.dstport",
            "frame.number",
            "tls.handshake.extensions_server_name",
            "tls.handshake.ja3",
            "tls.handshake.ja3_full",
            "tls.handshake.version",
            "tls.handshake.extensions.supported_version",
        ];
        let mut cmd = Command::new(tshark);
        cmd.arg("-r")
            .arg(pcap)
            .args(["-Y", "tls.handshake.type == 1 && tcp", "-T", "fields"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().expect("run tshark");
        assert!(out.status.success(), "tshark failed on {}", pcap.display());
        let mut hellos = BTreeMap::new();
        let mut streams = std::collections::BTreeSet::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let c: Vec<&str> = line.split('\t').collect();
            assert_eq!(c.len(), fields.len(), "{line}");
            if !streams.insert(c[0].to_owned()) {
                continue; // a second hello on the stream (after a HelloRetryRequest): we read the first
            }
            // With tunnels a field lists every layer's value; the flow is the innermost one.
            let last = |s: &str| s.rsplit(',').next().unwrap_or("").to_owned();
            let ip = |v4: &str, v6: &str| if v4.is_empty() { last(v6) } else { last(v4) };
            let port = |s: &str| last(s).parse::<u16>().expect("a port");
            let first = |s: &str| s.split(',').next().unwrap_or("").to_owned();
            hellos.insert(
                (ip(c[1], c[2]), port(c[3]), ip(c[4], c[5]), port(c[6])),
                TsharkHello {
                    frame: c[7].to_owned(),
                    sni: c[8].to_owned(),
                    ja3: first(c[9]),
                    ja3_full: c[10].to_owned(),
                    version: first(c[11]),
                    supported_versions: c[12].to_owned(),
                },
            );
        }
        hellos
    }

    fn hex_list<T: Into<u32> + Copy>(list: &[T]) -> String {
        let items: Vec<String> = list.iter().map(|&v| format!("{:#06x}", v.into())).collect();
        items.join(",")
    }

    /// What a comparison with tshark covered.
    #[derive(Debug, Default)]
    struct Compared {
        /// ClientHellos read by both and found equal.
        hellos: usize,
        /// SSL 2.0-format hellos: tshark has no JA3 for them either.
        sslv2: usize,
        /// Sessions whose bytes the capture pipeline did not deliver (see the caller).
        lost_by_pipeline: Vec<String>,
    }

    /// Every ClientHello of `pcap` as tshark reads it and as we do: the same flows, SNI, versions and
    /// JA3.
    fn compare_with_tshark(tshark: &str, pcap: &Path, failures: &mut Vec<String>) -> Compared {
        let theirs = tshark_client_hellos(tshark, pcap);
        let ours: BTreeMap<_, _> = check(pcap)
            .into_iter()
            .map(|f| {
                (
                    (
                        f.client.0.clone(),
                        f.client.1,
                        f.server.0.clone(),
                        f.server.1,
                    ),
                    f,
                )
            })
            .collect();
        let name = pcap.display();
        let mut compared = Compared::default();
        for (key, f) in &ours {
            if f.client_hello.is_some() && !theirs.contains_key(key) {
                failures.push(format!(
                    "{name}: we read a hello on {key:?} that tshark does not"
                ));
            }
        }
        for (key, t) in &theirs {
            let flow = ours.get(key);
            if flow.is_none_or(|f| f.delivered_to_server == 0) {
                compared
                    .lost_by_pipeline
                    .push(format!("{name} frame {}", t.frame));
                continue;
            }
            let f = flow.expect("checked above");
            let Some(h) = &f.client_hello else {
                if t.ja3_full.is_empty() && f.client_stop == Some(StopReason::Sslv2Hello) {
                    compared.sslv2 += 1;
                } else {
                    failures.push(format!(
                        "{name}: no hello on {key:?} (tshark: frame {}), stopped: {:?}",
                        t.frame, f.client_stop
                    ));
                }
                continue;
            };
            let pairs = [
                ("sni", h.sni.clone().unwrap_or_default(), &t.sni),
                ("ja3", h.ja3(), &t.ja3),
                ("ja3_full", h.ja3_string(), &t.ja3_full),
                ("version", format!("{:#06x}", h.legacy_version), &t.version),
                (
                    "supported_versions",
                    hex_list(&h.supported_versions),
                    &t.supported_versions,
                ),
            ];
            for (field, ours, theirs) in pairs {
                if &ours != theirs {
                    failures.push(format!(
                        "{name} frame {}: {field} ours {ours:?}, tshark {theirs:?}",
                        t.frame
                    ));
                }
            }
            compared.hellos += 1;
        }
        compared
    }

    #[test]
    fn captured_tls_sessions_match_tshark_and_its_reference_table() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let pcap = corpus.join("captures/tls.pcap");
        let flows = check(&pcap);
        let by_ports = |client: &str, server: &str| {
            flows
                .iter()
                .find(|f| f.client.1.to_string() == client && f.server.1.to_string() == server)
                .unwrap_or_else(|| panic!("no flow {client} -> {server}"))
        };
        // tshark_ref/tls_hello.tsv (MANIFEST.md): one row per frame with a handshake message; a
        // ServerHello frame lists every message type it carries ("2,11,12,14").
        let tsv = std::fs::read_to_string(corpus.join("captures/tshark_ref/tls_hello.tsv"))
            .expect("tls_hello.tsv");
        let mut lines = tsv.lines();
        assert_eq!(
            lines.next(),
            Some(
                "frame.number\ttcp.srcport\ttcp.dstport\ttls.handshake.type\t\
                 tls.handshake.extensions_server_name\ttls.handshake.version\t\
                 tls.handshake.extensions.supported_version\ttls.handshake.ciphersuite"
            )
        );
        let (mut clients, mut servers) = (0, 0);
        for line in lines {
            let c: Vec<&str> = line.split('\t').collect();
            let (src, dst, types, sni, version, supported, ciphers) =
                (c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
            if types == "1" {
                let h = by_ports(src, dst)
                    .client_hello
                    .as_ref()
                    .expect("a client hello");
                assert_eq!(h.sni.as_deref().unwrap_or(""), sni, "{line}");
                assert_eq!(format!("{:#06x}", h.legacy_version), version, "{line}");
                assert_eq!(hex_list(&h.supported_versions), supported, "{line}");
                assert_eq!(hex_list(&h.ciphers), ciphers, "{line}");
                clients += 1;
            } else if types.split(',').next() == Some("2") {
                let h = by_ports(dst, src)
                    .server_hello
                    .as_ref()
                    .expect("a server hello");
                assert_eq!(format!("{:#06x}", h.legacy_version), version, "{line}");
                let negotiated = if supported.is_empty() {
                    version
                } else {
                    supported
                };
                assert_eq!(format!("{:#06x}", h.version), negotiated, "{line}");
                assert_eq!(format!("{:#06x}", h.cipher), ciphers, "{line}");
                // The TLS 1.2 session shows its certificate; TLS 1.3 encrypts it.
                assert_eq!(
                    h.certificate_subject.is_some(),
                    types.contains(",11"),
                    "{line}"
                );
                servers += 1;
            }
        }
        assert_eq!((clients, servers), (3, 3));
        // GROUND_TRUTH.md: the DICOM-over-TLS association T1 negotiated TLS 1.3 with
        // TLS_AES_256_GCM_SHA384.
        let t1 = by_ports("35392", "2762")
            .server_hello
            .as_ref()
            .expect("T1's server hello");
        assert_eq!((t1.version, t1.cipher), (0x0304, 0x1302));

        let Some(tshark) = testkit::tshark() else {
            return;
        };
        let mut failures = Vec::new();
        let compared = compare_with_tshark(tshark, &pcap, &mut failures);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(
            (
                compared.hellos,
                compared.sslv2,
                compared.lost_by_pipeline.len()
            ),
            (3, 0, 0)
        );
    }

    #[test]
    fn suricata_verify_tls_captures_match_tshark() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let Some(tshark) = testkit::tshark() else {
            return;
        };
        let mut pcaps: Vec<PathBuf> = suricata_tls_tests(&corpus)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        // Several tests share a capture, some under another name: compare each distinct capture once.
        let mut seen = std::collections::BTreeSet::new();
        pcaps.retain(|p| seen.insert(md5(&std::fs::read(p).expect("a capture"))));
        let mut failures = Vec::new();
        let mut total = Compared::default();
        for pcap in &pcaps {
            let compared = compare_with_tshark(tshark, pcap, &mut failures);
            total.hellos += compared.hellos;
            total.sslv2 += compared.sslv2;
            total.lost_by_pipeline.extend(compared.lost_by_pipeline);
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        eprintln!(
            "tshark agrees on {} client hellos in {} captures; {} SSL 2.0-format hellos; lost: {:?}",
            total.hellos,
            pcaps.len(),
            total.sslv2,
            total.lost_by_pipeline
        );
        assert!(total.hellos >= 60 && total.sslv2 == 2);
        // tls-subjectaltname holds six sessions that open with SYN, a challenge ACK, the client's RST
        // and the same SYN again three seconds later; the capture pipeline now starts such a
        // connection over (it used to keep it reset and lose its hello), so nothing is lost.
        assert!(
            total.lost_by_pipeline.is_empty(),
            "{:?}",
            total.lost_by_pipeline
        );
    }

    #[test]
    fn a_server_seen_alone_gives_the_names_ndpi_expects() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        // nDPI's expected ndpiReader output for a capture of the server's direction only.
        let out = std::fs::read_to_string(
            corpus.join("pcap/ndpi/expected/tls_1.2_unidirectional_server.pcapng.out"),
        )
        .expect("nDPI's expected output");
        let line = out
            .lines()
            .find(|l| l.contains("TCP 216.58.209.42:443 -> 192.168.12.156:43854"))
            .expect("the flow line");
        let field = |name: &str| {
            let start = line
                .find(name)
                .unwrap_or_else(|| panic!("{name} in {line}"))
                + name.len();
            line[start..].split(']').next().expect("a value").to_owned()
        };
        let flows = check(&corpus.join("pcap/ndpi/tls_1.2_unidirectional_server.pcapng"));
        let flow = flows
            .iter()
            .find(|f| f.server == ("216.58.209.42".to_owned(), 443))
            .expect("the flow, with port 443 taken as the server");
        let hello = flow.server_hello.as_ref().expect("a server hello");
        assert_eq!(field("[TLSv"), "1.2");
        assert_eq!(hello.version, 0x0303);
        // nDPI names the cipher: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 is 0xc02b (IANA).
        assert_eq!(
            field("[Cipher: "),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(hello.cipher, 0xc02b);
        assert_eq!(Some(field("(Negotiated) ALPN: ")), hello.alpn);
        // nDPI prints names first RDN first, as Suricata does; ours are in RFC 4514 order.
        let subject = hello.certificate_subject.as_deref().map(first_to_last);
        let issuer = hello.certificate_issuer.as_deref().map(first_to_last);
        assert_eq!(subject, Some(field("[Subject: ")));
        assert_eq!(issuer, Some(field("[Issuer: ")));
        assert_eq!(
            hello.certificate_issuer.as_deref(),
            Some("CN=GTS CA 1C3, O=Google Trust Services LLC, C=US")
        );
    }

    #[test]
    fn an_sslv2_format_hello_is_recognised_and_not_read() {
        // The start of the SSL 2.0-format hello in suricata-verify's tls-glupteba capture.
        let bytes = [
            0x80, 0x80, 0x01, 0x03, 0x01, 0x00, 0x57, 0x00, 0x00, 0x00, 0x20,
        ];
        let reader = read(true, &bytes, 1);
        assert_eq!(reader.stop_reason(), Some(StopReason::Sslv2Hello));
        assert_eq!(
            read(false, &bytes, 1).stop_reason(),
            Some(StopReason::NotTls)
        );
    }
}
