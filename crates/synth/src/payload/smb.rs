//! SMB2 session setup with NTLMSSP ([MS-SMB2] 2.2.5, 2.2.6; [MS-NLMP] 2.2): what a Windows client and
//! server exchange when a workstation maps a share, each NTLMSSP message carrying its sender's OS
//! version. Raw NTLMSSP in the security buffer (as Samba accepts, and Wireshark reads), NTLMv1-sized
//! responses of random bytes: enough for a passive reader, no secret anywhere.

/// SMB2 commands and statuses used here.
const SESSION_SETUP: u16 = 0x0001;
pub const STATUS_SUCCESS: u32 = 0;
pub const STATUS_MORE_PROCESSING_REQUIRED: u32 = 0xc000_0016;

/// NTLMSSP flags: unicode, request target, NTLM, always sign, extended session security, target
/// info, version, 128-bit, key exchange, 56-bit.
const NTLM_FLAGS: u32 = 0xe288_8215;

/// A Windows version as NTLMSSP carries it: major, minor, build.
pub type Version = (u8, u8, u16);

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn version(out: &mut Vec<u8>, v: Version) {
    out.extend_from_slice(&[v.0, v.1]);
    out.extend_from_slice(&v.2.to_le_bytes());
    // Reserved, then NTLMSSP_REVISION_W2K3.
    out.extend_from_slice(&[0, 0, 0, 15]);
}

/// Security buffer fields (length, allocated length, offset) for payloads laid out from `start`.
fn buffers(out: &mut Vec<u8>, start: usize, payloads: &[&[u8]]) {
    let mut at = start;
    for p in payloads {
        out.extend_from_slice(&(p.len() as u16).to_le_bytes());
        out.extend_from_slice(&(p.len() as u16).to_le_bytes());
        out.extend_from_slice(&(at as u32).to_le_bytes());
        at += p.len();
    }
}

/// NEGOTIATE_MESSAGE: flags, no domain or workstation, the client's version.
pub fn ntlm_negotiate(out: &mut Vec<u8>, v: Version) {
    out.extend_from_slice(b"NTLMSSP\0");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&NTLM_FLAGS.to_le_bytes());
    buffers(out, 40, &[&[], &[]]);
    version(out, v);
}

/// CHALLENGE_MESSAGE from a server: its NetBIOS domain as target name, its names in the target
/// info, its version.
pub fn ntlm_challenge(
    out: &mut Vec<u8>,
    v: Version,
    nb_domain: &str,
    nb_computer: &str,
    dns_domain: &str,
    dns_computer: &str,
    challenge: [u8; 8],
) {
    let target = utf16(nb_domain);
    let mut info = Vec::new();
    for (id, name) in [
        (2u16, nb_domain),
        (1, nb_computer),
        (4, dns_domain),
        (3, dns_computer),
    ] {
        let n = utf16(name);
        info.extend_from_slice(&id.to_le_bytes());
        info.extend_from_slice(&(n.len() as u16).to_le_bytes());
        info.extend_from_slice(&n);
    }
    info.extend_from_slice(&[0; 4]);
    out.extend_from_slice(b"NTLMSSP\0");
    out.extend_from_slice(&2u32.to_le_bytes());
    let fixed = 56;
    let mut tmp = Vec::new();
    buffers(&mut tmp, fixed, &[&target]);
    out.extend_from_slice(&tmp);
    out.extend_from_slice(&NTLM_FLAGS.to_le_bytes());
    out.extend_from_slice(&challenge);
    out.extend_from_slice(&[0; 8]);
    tmp.clear();
    buffers(&mut tmp, fixed + target.len(), &[&info]);
    out.extend_from_slice(&tmp);
    version(out, v);
    out.extend_from_slice(&target);
    out.extend_from_slice(&info);
}

/// AUTHENTICATE_MESSAGE from a client: 24-byte LM and NT responses (`responses`), the user's
/// domain and name, its workstation name, its version; no session key.
pub fn ntlm_authenticate(
    out: &mut Vec<u8>,
    v: Version,
    domain: &str,
    user: &str,
    workstation: &str,
    responses: [u8; 48],
) {
    let (lm, nt) = responses.split_at(24);
    let (d, u, w) = (utf16(domain), utf16(user), utf16(workstation));
    out.extend_from_slice(b"NTLMSSP\0");
    out.extend_from_slice(&3u32.to_le_bytes());
    // Payloads after the 72 fixed bytes (signature .. version).
    buffers(out, 72, &[lm, nt, &d, &u, &w, &[]]);
    out.extend_from_slice(&(NTLM_FLAGS & !0x4000_0000).to_le_bytes());
    version(out, v);
    for p in [lm, nt, &d, &u, &w] {
        out.extend_from_slice(p);
    }
}

/// The SMB2 header (64 bytes) of a command or its response.
fn header(out: &mut Vec<u8>, response: bool, status: u32, message_id: u64, session_id: u64) {
    out.extend_from_slice(&[0xfe, b'S', b'M', b'B']);
    out.extend_from_slice(&64u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // credit charge
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&SESSION_SETUP.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // credits
    out.extend_from_slice(&u32::from(response).to_le_bytes()); // flags: server to redirector
    out.extend_from_slice(&0u32.to_le_bytes()); // next command
    out.extend_from_slice(&message_id.to_le_bytes());
    out.extend_from_slice(&0xfeffu32.to_le_bytes()); // process id
    out.extend_from_slice(&0u32.to_le_bytes()); // tree id
    out.extend_from_slice(&session_id.to_le_bytes());
    out.extend_from_slice(&[0; 16]); // signature
}

/// Appends the NetBIOS session service header, then `message`.
fn framed(out: &mut Vec<u8>, message: &[u8]) {
    let len = message.len() as u32;
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(message);
}

/// A SESSION_SETUP request carrying `blob`, framed for TCP 445.
pub fn session_setup_request(out: &mut Vec<u8>, message_id: u64, session_id: u64, blob: &[u8]) {
    let mut m = Vec::new();
    header(&mut m, false, 0, message_id, session_id);
    m.extend_from_slice(&25u16.to_le_bytes());
    m.push(0); // flags
    m.push(1); // security mode: signing enabled
    m.extend_from_slice(&1u32.to_le_bytes()); // capabilities: DFS
    m.extend_from_slice(&0u32.to_le_bytes()); // channel
    m.extend_from_slice(&88u16.to_le_bytes()); // security buffer offset
    m.extend_from_slice(&(blob.len() as u16).to_le_bytes());
    m.extend_from_slice(&0u64.to_le_bytes()); // previous session
    m.extend_from_slice(blob);
    framed(out, &m);
}

/// A SESSION_SETUP response with `status` carrying `blob`, framed for TCP 445.
pub fn session_setup_response(
    out: &mut Vec<u8>,
    message_id: u64,
    session_id: u64,
    status: u32,
    blob: &[u8],
) {
    let mut m = Vec::new();
    header(&mut m, true, status, message_id, session_id);
    m.extend_from_slice(&9u16.to_le_bytes());
    m.extend_from_slice(&0u16.to_le_bytes()); // session flags
    let offset: u16 = if blob.is_empty() { 0 } else { 72 };
    m.extend_from_slice(&offset.to_le_bytes());
    m.extend_from_slice(&(blob.len() as u16).to_le_bytes());
    m.extend_from_slice(blob);
    if blob.is_empty() {
        // The structure's one byte of buffer.
        m.push(0);
    }
    framed(out, &m);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed parts sit where [MS-NLMP] puts them, and the security buffers point at their
    /// payloads.
    #[test]
    fn authenticate_layout() {
        let mut m = Vec::new();
        ntlm_authenticate(&mut m, (10, 0, 19045), "HOSP", "nurse", "WS-0001", [7; 48]);
        assert_eq!(&m[..12], b"NTLMSSP\0\x03\0\0\0");
        let buf = |at: usize| {
            let len = u16::from_le_bytes([m[at], m[at + 1]]) as usize;
            let off = u32::from_le_bytes(m[at + 4..at + 8].try_into().unwrap()) as usize;
            &m[off..off + len]
        };
        assert_eq!(buf(44), utf16("WS-0001"));
        assert_eq!(buf(36), utf16("nurse"));
        assert_eq!(&m[64..68], &[10, 0, 0x65, 0x4a]);
    }
}
