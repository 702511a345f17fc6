//! Cleartext service logins on devices: telnet (option negotiation, prompts, character echo) and
//! FTP (banner, USER/PASS, replies), as busybox telnetd and common FTP daemons answer.

/// Telnet server's opening: IAC DO TERMINAL-TYPE, IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, then a
/// banner and the login prompt.
pub fn telnet_greeting(out: &mut Vec<u8>, banner: &str) {
    out.extend_from_slice(&[255, 253, 24, 255, 251, 1, 255, 251, 3]);
    out.extend_from_slice(banner.as_bytes());
    out.extend_from_slice(b"\r\n\r\nlogin: ");
}

/// The client's answer to the option negotiation: IAC WILL TERMINAL-TYPE, IAC DO ECHO, IAC DO SGA.
pub fn telnet_client_options(out: &mut Vec<u8>) {
    out.extend_from_slice(&[255, 251, 24, 255, 253, 1, 255, 253, 3]);
}

pub fn ftp_reply(out: &mut Vec<u8>, code: u16, text: &str) {
    out.extend_from_slice(format!("{code} {text}\r\n").as_bytes());
}

pub fn ftp_command(out: &mut Vec<u8>, verb: &str, arg: Option<&str>) {
    out.extend_from_slice(verb.as_bytes());
    if let Some(a) = arg {
        out.push(b' ');
        out.extend_from_slice(a.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}
