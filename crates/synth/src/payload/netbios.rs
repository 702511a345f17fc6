//! NetBIOS over TCP/IP as Windows sends it (RFC 1001/1002, MS-BRWS): name registrations and browser
//! host announcements in an SMB mailslot transaction.

/// `name` (at most 15 characters, upper-cased as Windows does) with `suffix`, first-level encoded
/// (RFC 1001 14.1), with an empty scope.
pub fn encoded_name(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    for (slot, b) in raw
        .iter_mut()
        .zip(name.to_ascii_uppercase().bytes().take(15))
    {
        *slot = b;
    }
    raw[15] = suffix;
    let mut out = Vec::with_capacity(34);
    out.push(32);
    for c in raw {
        out.push(b'A' + (c >> 4));
        out.push(b'A' + (c & 0x0f));
    }
    out.push(0);
    out
}

/// A broadcast registration of `name` with `suffix` for `ip` (name service, UDP 137); `group` for a
/// group name (a workgroup).
pub fn registration(out: &mut Vec<u8>, id: u16, name: &str, suffix: u8, group: bool, ip: [u8; 4]) {
    out.extend_from_slice(&id.to_be_bytes());
    // Registration, recursion desired, broadcast; one question, one additional record.
    out.extend_from_slice(&[0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1]);
    out.extend_from_slice(&encoded_name(name, suffix));
    out.extend_from_slice(&[0, 0x20, 0, 1]);
    // The additional record: a pointer to the question's name, NB, IN, TTL 300,000 s, 6 bytes of
    // NB_FLAGS (B-node, the group bit as asked) and the address.
    out.extend_from_slice(&[0xc0, 12, 0, 0x20, 0, 1, 0, 0x04, 0x93, 0xe0, 0, 6]);
    out.extend_from_slice(&(if group { 0x8000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&ip);
}

/// What a browser host announcement says of its server.
pub struct Announced<'a> {
    pub name: &'a str,
    pub workgroup: &'a str,
    /// The Windows version (10, 0 for Windows 10 and later).
    pub version: (u8, u8),
    /// SV_TYPE_* bits (0x1003: workstation, server, NT).
    pub server_type: u32,
    pub comment: &'a str,
}

/// A browser host announcement (datagram service, UDP 138) from `ip`.
pub fn host_announcement(out: &mut Vec<u8>, id: u16, ip: [u8; 4], a: &Announced<'_>) {
    let mut data = vec![1, 0];
    data.extend_from_slice(&720_000u32.to_le_bytes());
    let mut server = [0u8; 16];
    for (slot, b) in server
        .iter_mut()
        .zip(a.name.to_ascii_uppercase().bytes().take(15))
    {
        *slot = b;
    }
    data.extend_from_slice(&server);
    data.extend_from_slice(&[a.version.0, a.version.1]);
    data.extend_from_slice(&a.server_type.to_le_bytes());
    data.extend_from_slice(&[15, 1, 0x55, 0xaa]);
    data.extend_from_slice(a.comment.as_bytes());
    data.push(0);
    let mailslot = b"\\MAILSLOT\\BROWSE\0";
    let mut smb = b"\xffSMB".to_vec();
    smb.push(0x25);
    smb.resize(32, 0);
    smb.push(17);
    let data_offset = 32 + 1 + 34 + 2 + mailslot.len();
    let len = data.len() as u16;
    let words: [u16; 17] = [
        0,
        len,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        len,
        data_offset as u16,
        3,
        1,
        1,
        2,
    ];
    for w in words {
        smb.extend_from_slice(&w.to_le_bytes());
    }
    smb.extend_from_slice(&((mailslot.len() + data.len()) as u16).to_le_bytes());
    smb.extend_from_slice(mailslot);
    smb.extend_from_slice(&data);
    // Direct group datagram, first fragment, then its id, source address and port, length, offset.
    out.extend_from_slice(&[0x11, 0x0a]);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&ip);
    out.extend_from_slice(&138u16.to_be_bytes());
    let names_len = 2 * 34;
    out.extend_from_slice(&((names_len + smb.len()) as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&encoded_name(a.name, 0x00));
    out.extend_from_slice(&encoded_name(a.workgroup, 0x1d));
    out.extend_from_slice(&smb);
}
