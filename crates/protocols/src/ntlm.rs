//! NTLMSSP ([MS-NLMP]), the authentication Windows runs inside SMB session setup (and LDAP, DCE/RPC,
//! HTTP): each message carries its sender's OS version (major, minor, build), the server's
//! CHALLENGE names the server (NetBIOS and DNS computer and domain names) and the client's
//! AUTHENTICATE names its workstation. Windows on a modality console or a nurses' station says
//! exactly which release it runs, out-of-support ones included.
//!
//! [`Scanner`] finds messages in the first bytes of one direction of a stream by their signature
//! (`NTLMSSP\0`), without parsing the SMB or SPNEGO around them. User names, and the responses to
//! the challenge, are never read.

use memchr::memmem;

/// The signature every message starts with.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// Bytes of a direction searched: SMB negotiation and session setup come first, well within this.
pub const MAX_SCANNED: usize = 16 * 1024;
/// Longest name kept, in characters.
const MAX_NAME: usize = 255;

/// What one message says of its sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// 1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE.
    pub message_type: u32,
    /// The sender's OS version: major, minor, build (when the message carries one).
    pub version: Option<(u8, u8, u16)>,
    /// CHALLENGE: the server's NetBIOS and DNS computer names and domain names (target info).
    pub nb_computer: Option<String>,
    pub nb_domain: Option<String>,
    pub dns_computer: Option<String>,
    pub dns_domain: Option<String>,
    /// AUTHENTICATE: the client's workstation name.
    pub workstation: Option<String>,
}

impl Message {
    /// `10.0.19045`: the sender's OS version as evidence.
    pub fn version_text(&self) -> Option<String> {
        self.version
            .map(|(major, minor, build)| format!("{major}.{minor}.{build}"))
    }

    /// The message as identity evidence about its sender: (field, value) pairs.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(v) = self.version_text() {
            out.push(("ntlm.os_version", v));
        }
        for (field, v) in [
            ("ntlm.computer_name", &self.nb_computer),
            ("ntlm.domain", &self.nb_domain),
            ("ntlm.dns_name", &self.dns_computer),
            ("ntlm.dns_domain", &self.dns_domain),
            ("ntlm.workstation", &self.workstation),
        ] {
            if let Some(v) = v {
                out.push((field, v.clone()));
            }
        }
        out
    }
}

/// Why a message could not be read (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The message goes on past the bytes given: more may complete it.
    Incomplete,
    /// Not an NTLMSSP message this reader knows.
    Malformed,
}

/// One message, starting at its signature. Security buffers (length, allocated length, offset) point
/// into `msg`.
pub fn parse(msg: &[u8]) -> Result<Message, Error> {
    if msg.len() < 12 {
        return Err(Error::Incomplete);
    }
    if &msg[..8] != SIGNATURE {
        return Err(Error::Malformed);
    }
    let message_type = u32le(msg, 8).ok_or(Error::Incomplete)?;
    // Where the version is, and the flags that say whether it is there.
    let (flags_at, version_at) = match message_type {
        1 => (12, 32),
        2 => (20, 48),
        3 => (60, 64),
        _ => return Err(Error::Malformed),
    };
    let flags = u32le(msg, flags_at).ok_or(Error::Incomplete)?;
    const NEGOTIATE_VERSION: u32 = 0x0200_0000;
    const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
    let mut out = Message {
        message_type,
        ..Message::default()
    };
    if flags & NEGOTIATE_VERSION != 0 {
        let v = msg
            .get(version_at..version_at + 8)
            .ok_or(Error::Incomplete)?;
        out.version = Some((v[0], v[1], u16::from_le_bytes([v[2], v[3]])));
    }
    let unicode = flags & NEGOTIATE_UNICODE != 0;
    match message_type {
        2 => {
            let info = buffer(msg, 40)?;
            let mut b = info;
            // AV pairs: id, length (UTF-16LE values), until MsvAvEOL.
            while let [a, b1, l0, l1, rest @ ..] = b {
                let (id, len) = (
                    u16::from_le_bytes([*a, *b1]),
                    usize::from(u16::from_le_bytes([*l0, *l1])),
                );
                if id == 0 {
                    break;
                }
                let value = rest.get(..len).ok_or(Error::Malformed)?;
                let name = Some(text(value, true)).filter(|t| !t.is_empty());
                match id {
                    1 => out.nb_computer = name,
                    2 => out.nb_domain = name,
                    3 => out.dns_computer = name,
                    4 => out.dns_domain = name,
                    _ => {}
                }
                b = &rest[len..];
            }
        }
        3 => {
            let w = buffer(msg, 44)?;
            out.workstation = Some(text(w, unicode)).filter(|t| !t.is_empty());
        }
        _ => {}
    }
    Ok(out)
}

/// The bytes a security buffer at `at` points to.
fn buffer(msg: &[u8], at: usize) -> Result<&[u8], Error> {
    let len = usize::from(u16::from_le_bytes(
        msg.get(at..at + 2)
            .ok_or(Error::Incomplete)?
            .try_into()
            .map_err(|_| Error::Malformed)?,
    ));
    let offset = u32le(msg, at + 4).ok_or(Error::Incomplete)? as usize;
    if len == 0 {
        return Ok(&[]);
    }
    let end = offset.checked_add(len).ok_or(Error::Malformed)?;
    if end > MAX_SCANNED {
        return Err(Error::Malformed);
    }
    msg.get(offset..end).ok_or(Error::Incomplete)
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A name: UTF-16LE (unicode) or the OEM code page (taken as Latin-1), control characters left
/// out, capped.
fn text(b: &[u8], unicode: bool) -> String {
    let chars: Vec<char> = if unicode {
        char::decode_utf16(b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])))
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    } else {
        b.iter().map(|&c| char::from(c)).collect()
    };
    chars
        .into_iter()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Finds and reads the NTLMSSP messages in the first [`MAX_SCANNED`] bytes of one direction of a
/// stream, fed in order and in chunks of any size.
#[derive(Debug, Default)]
pub struct Scanner {
    buf: Vec<u8>,
    /// Where the next search starts.
    from: usize,
    done: bool,
}

impl Scanner {
    /// The next bytes of the direction; `found` receives each message read, in order. A message
    /// split across chunks is read once it is whole.
    pub fn feed(&mut self, bytes: &[u8], found: &mut dyn FnMut(Message)) {
        if self.done {
            return;
        }
        let room = MAX_SCANNED - self.buf.len();
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        while let Some(at) = memmem::find(&self.buf[self.from..], SIGNATURE) {
            let start = self.from + at;
            match parse(&self.buf[start..]) {
                Ok(m) => {
                    self.from = start + SIGNATURE.len();
                    found(m);
                }
                Err(Error::Incomplete) if self.buf.len() < MAX_SCANNED => return,
                Err(_) => self.from = start + SIGNATURE.len(),
            }
        }
        // A signature may straddle the next chunk: search again from its possible start.
        self.from = self
            .from
            .max(self.buf.len().saturating_sub(SIGNATURE.len() - 1));
        if self.buf.len() >= MAX_SCANNED {
            self.done = true;
            self.buf = Vec::new();
        }
    }

    /// The capture lost bytes of this direction: whatever follows is not where it seems.
    pub fn gap(&mut self) {
        self.done = true;
        self.buf = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// A CHALLENGE from a Windows 10 1809 server: its names in the target info.
    fn challenge() -> Vec<u8> {
        let mut info = Vec::new();
        for (id, name) in [
            (2u16, "HOSPITAL"),
            (1, "PACS01"),
            (3, "pacs01.hospital.example"),
        ] {
            let v = utf16(name);
            info.extend_from_slice(&id.to_le_bytes());
            info.extend_from_slice(&(v.len() as u16).to_le_bytes());
            info.extend_from_slice(&v);
        }
        info.extend_from_slice(&[0, 0, 0, 0]);
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&2u32.to_le_bytes());
        m.extend_from_slice(&[0; 8]); // target name: empty
        m.extend_from_slice(&0x0281_8205u32.to_le_bytes()); // flags: version, unicode, ...
        m.extend_from_slice(&[0x11; 8]); // challenge
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&56u32.to_le_bytes());
        m.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 15]); // 10.0.17763
        m.extend_from_slice(&info);
        m
    }

    #[test]
    fn a_challenge_names_the_server_and_its_windows() {
        let m = parse(&challenge()).unwrap();
        assert_eq!(m.version_text().as_deref(), Some("10.0.17763"));
        assert_eq!(
            m.facts(),
            [
                ("ntlm.os_version", "10.0.17763".to_string()),
                ("ntlm.computer_name", "PACS01".to_string()),
                ("ntlm.domain", "HOSPITAL".to_string()),
                ("ntlm.dns_name", "pacs01.hospital.example".to_string()),
            ]
        );
    }

    /// Found inside other bytes, split over chunks of every size; every cut of it is incomplete,
    /// never a panic; a message type or an offset out of bounds is malformed.
    #[test]
    fn the_scanner_finds_messages_across_chunks() {
        let mut stream = b"\x00\x00\x01\x00SMB2 session setup, SPNEGO wrapping ".to_vec();
        stream.extend(challenge());
        stream.extend_from_slice(b" and more");
        for size in 1..40 {
            let mut s = Scanner::default();
            let mut got = Vec::new();
            for c in stream.chunks(size) {
                s.feed(c, &mut |m| got.push(m));
            }
            assert_eq!(got.len(), 1, "chunks of {size}");
            assert_eq!(got[0].nb_computer.as_deref(), Some("PACS01"));
        }
        let whole = challenge();
        for cut in 0..whole.len() {
            assert_eq!(parse(&whole[..cut]), Err(Error::Incomplete), "{cut}");
        }
        let mut bad = whole.clone();
        bad[8] = 9;
        assert_eq!(parse(&bad), Err(Error::Malformed));
        let mut far = whole;
        far[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&far), Err(Error::Malformed));
    }
}
