//! SMB over TCP (445, or 139 behind a NetBIOS session): which SMB each side speaks, from the first
//! SMB message of each direction (SMB1's `0xFF 'SMB'`, SMB2/3's `0xFE 'SMB'`, SMB3's encrypted
//! `0xFD 'SMB'`), and the NTLMSSP messages of session setup ([`crate::ntlm`]). A server that answers
//! in SMB1 is the protocol WannaCry and NotPetya spread through (MS17-010).

use capture::Direction;

use crate::ntlm;

/// The SMB family a side spoke first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Smb1,
    /// SMB 2.0.2 to 3.1.1 in the clear.
    Smb2,
    /// An SMB3 transform header: encrypted.
    Smb3Encrypted,
}

/// Bytes of a direction kept while looking for its first SMB message (NetBIOS session requests
/// and keep-alives before it are a few dozen bytes).
const MAX_HEAD: usize = 1024;

/// Reads one SMB connection: each side's version and its NTLMSSP messages.
#[derive(Debug, Default)]
pub struct SmbReader {
    ntlm: [ntlm::Scanner; 2],
    first: [FirstMessage; 2],
}

#[derive(Debug, Default)]
struct FirstMessage {
    buf: Vec<u8>,
    version: Option<Version>,
    done: bool,
}

impl FirstMessage {
    fn feed(&mut self, bytes: &[u8]) {
        if self.done {
            return;
        }
        let room = MAX_HEAD.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        // NetBIOS session service frames: type, a 17-bit length, the payload.
        loop {
            let Some(&[kind, flags, hi, lo]) = self.buf.first_chunk::<4>() else {
                return self.give_up_if_full();
            };
            let len = (usize::from(flags & 1) << 16) | usize::from(hi) << 8 | usize::from(lo);
            match kind {
                0x00 => {
                    let Some(id) = self.buf.get(4..8) else {
                        return self.give_up_if_full();
                    };
                    self.version = match id {
                        [0xff, b'S', b'M', b'B'] => Some(Version::Smb1),
                        [0xfe, b'S', b'M', b'B'] => Some(Version::Smb2),
                        [0xfd, b'S', b'M', b'B'] => Some(Version::Smb3Encrypted),
                        _ => None,
                    };
                    return self.stop();
                }
                // Session request, positive and negative responses, retarget, keep-alive.
                0x81..=0x85 if self.buf.len() >= 4 + len => {
                    self.buf.drain(..4 + len);
                }
                0x81..=0x85 => return self.give_up_if_full(),
                _ => return self.stop(),
            }
        }
    }

    fn give_up_if_full(&mut self) {
        if self.buf.len() >= MAX_HEAD {
            self.stop();
        }
    }

    fn stop(&mut self) {
        self.done = true;
        self.buf = Vec::new();
    }
}

impl SmbReader {
    /// The next bytes of direction `dir`; `found` receives each NTLMSSP message read.
    pub fn data(&mut self, dir: Direction, bytes: &[u8], found: &mut dyn FnMut(ntlm::Message)) {
        self.first[dir.index()].feed(bytes);
        self.ntlm[dir.index()].feed(bytes, found);
    }

    /// The capture lost bytes of `dir`.
    pub fn gap(&mut self, dir: Direction) {
        self.first[dir.index()].stop();
        self.ntlm[dir.index()].gap();
    }

    /// The SMB each side spoke first: client, server.
    pub fn versions(&self) -> [Option<Version>; 2] {
        [self.first[0].version, self.first[1].version]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: Direction = Direction::ToServer;
    const DOWN: Direction = Direction::ToClient;

    fn message(id: u8) -> Vec<u8> {
        let mut m = vec![0, 0, 0, 40, id, b'S', b'M', b'B'];
        m.resize(44, 0);
        m
    }

    /// Port 139: a NetBIOS session request and its positive response come first; then each side's
    /// first SMB message says its version, whatever the chunks.
    #[test]
    fn each_sides_first_message_says_its_smb() {
        let mut client = vec![0x81, 0, 0, 4, 1, 2, 3, 4];
        client.extend(message(0xff));
        let mut server = vec![0x82, 0, 0, 0];
        server.extend(message(0xff));
        for size in [1, 3, 7, 100] {
            let mut r = SmbReader::default();
            for (dir, bytes) in [(UP, &client), (DOWN, &server)] {
                for c in bytes.chunks(size) {
                    r.data(dir, c, &mut |_| {});
                }
            }
            assert_eq!(r.versions(), [Some(Version::Smb1); 2], "chunks of {size}");
        }
        // A modern pair: the client's multi-protocol negotiate is SMB1, the server answers SMB2.
        let mut r = SmbReader::default();
        r.data(UP, &message(0xff), &mut |_| {});
        r.data(DOWN, &message(0xfe), &mut |_| {});
        assert_eq!(r.versions(), [Some(Version::Smb1), Some(Version::Smb2)]);
        // Encrypted SMB3; not SMB at all; a gap before the first message.
        let mut r = SmbReader::default();
        r.data(DOWN, &message(0xfd), &mut |_| {});
        r.data(UP, b"GET / HTTP/1.1\r\n\r\n", &mut |_| {});
        assert_eq!(r.versions(), [None, Some(Version::Smb3Encrypted)]);
        let mut r = SmbReader::default();
        r.gap(DOWN);
        r.data(DOWN, &message(0xff), &mut |_| {});
        assert_eq!(r.versions(), [None, None]);
    }
}
