//! Which application protocol a flow carries: by content first (an MLLP start byte and `MSH`, a DICOM
//! A-ASSOCIATE-RQ, a TLS ClientHello, an HTTP request line, telnet option negotiation, an FTP banner),
//! then by well-known port, so that HL7 and DICOM are found on any port and TLS on a clinical port is
//! known to be encrypted. A UDP datagram has one content check of its own: an EtherNet/IP
//! ListIdentity reply, which answers a broadcast and so starts a flow whose server port says nothing.

/// An application protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum App {
    Unknown,
    Hl7,
    Dicom,
    Tls,
    Http,
    Telnet,
    Ftp,
    Dns,
    Dhcp,
    Ntp,
    Mdns,
    Ssh,
    Snmp,
    /// EtherNet/IP (CIP over TCP and UDP 44818): PLCs and other industrial controllers.
    Enip,
    /// NetBIOS name and datagram services (UDP 137, 138): Windows and Samba names, browser
    /// announcements.
    Netbios,
    /// Link-Local Multicast Name Resolution (UDP 5355): Windows hosts answering for their own names.
    Llmnr,
    /// UPnP discovery (UDP 1900).
    Ssdp,
    /// QUIC (UDP 443): HTTP/3 and other protocols over TLS 1.3 in QUIC.
    Quic,
    /// SMB (TCP 445, and 139 over the NetBIOS session service): Windows file sharing, whose session
    /// setup carries NTLMSSP.
    Smb,
}

impl App {
    /// The report's name for it (DESIGN.md: "hl7"|"dicom"|"http"|"tls"|"dns"|"dhcp"|"telnet"|"ftp"|"unknown",
    /// and "ntp", "mdns", "ssh", "snmp", "enip", "netbios", "llmnr", "ssdp", "quic", "smb" beyond it).
    pub fn as_str(self) -> &'static str {
        match self {
            App::Unknown => "unknown",
            App::Hl7 => "hl7",
            App::Dicom => "dicom",
            App::Tls => "tls",
            App::Http => "http",
            App::Telnet => "telnet",
            App::Ftp => "ftp",
            App::Dns => "dns",
            App::Dhcp => "dhcp",
            App::Ntp => "ntp",
            App::Mdns => "mdns",
            App::Ssh => "ssh",
            App::Snmp => "snmp",
            App::Enip => "enip",
            App::Netbios => "netbios",
            App::Llmnr => "llmnr",
            App::Ssdp => "ssdp",
            App::Quic => "quic",
            App::Smb => "smb",
        }
    }
}

/// Ports that name a protocol, beyond the built-in ones (from the user's configuration).
#[derive(Debug, Clone, Default)]
pub struct PortMap {
    pub hl7: Vec<u16>,
    pub dicom: Vec<u16>,
    /// Ports where TLS carries DICOM (2762 by default) or HL7 (none by default).
    pub dicom_tls: Vec<u16>,
    pub hl7_tls: Vec<u16>,
}

impl PortMap {
    /// The built-in map: HL7 2575 (and 6661, common on interface engines), DICOM 104 and 11112,
    /// DICOM-TLS 2762.
    pub fn standard() -> PortMap {
        PortMap {
            hl7: vec![2575, 6661],
            dicom: vec![104, 11112],
            dicom_tls: vec![2762],
            hl7_tls: vec![],
        }
    }

    /// The protocol a TCP server port suggests.
    pub fn tcp(&self, port: u16) -> App {
        if self.hl7.contains(&port) {
            return App::Hl7;
        }
        if self.dicom.contains(&port) {
            return App::Dicom;
        }
        if self.dicom_tls.contains(&port) || self.hl7_tls.contains(&port) {
            return App::Tls;
        }
        match port {
            80 | 8080 | 8000 => App::Http,
            443 | 8443 => App::Tls,
            23 => App::Telnet,
            21 => App::Ftp,
            22 => App::Ssh,
            53 => App::Dns,
            445 | 139 => App::Smb,
            crate::enip::PORT => App::Enip,
            _ => App::Unknown,
        }
    }

    /// What TLS on this port protects, when the port says (DICOM-TLS on 2762).
    pub fn inside_tls(&self, port: u16) -> Option<App> {
        if self.dicom_tls.contains(&port) {
            Some(App::Dicom)
        } else if self.hl7_tls.contains(&port) {
            Some(App::Hl7)
        } else {
            None
        }
    }

    /// The protocol a UDP server port suggests.
    pub fn udp(&self, port: u16) -> App {
        match port {
            53 => App::Dns,
            // DHCP and DHCPv6 (546 client, 547 server and relay).
            67 | 68 | 546 | 547 => App::Dhcp,
            123 => App::Ntp,
            // Agents listen on 161, notification receivers on 162.
            161 | 162 => App::Snmp,
            5353 => App::Mdns,
            crate::netbios::NS_PORT | crate::netbios::DGM_PORT => App::Netbios,
            5355 => App::Llmnr,
            crate::ssdp::PORT => App::Ssdp,
            crate::enip::PORT => App::Enip,
            443 => App::Quic,
            _ => App::Unknown,
        }
    }
}

/// What the first bytes of a direction say, if anything. `to_server` tells which side sent them.
pub fn by_content(first: &[u8], to_server: bool) -> Option<App> {
    if is_mllp_hl7(first) {
        return Some(App::Hl7);
    }
    if to_server && is_associate_rq(first) {
        return Some(App::Dicom);
    }
    if is_tls_record(first) {
        return Some(App::Tls);
    }
    if first.starts_with(b"SSH-") {
        return Some(App::Ssh);
    }
    if is_telnet_negotiation(first) {
        return Some(App::Telnet);
    }
    if to_server && is_http_request(first) || !to_server && first.starts_with(b"HTTP/1.") {
        return Some(App::Http);
    }
    if !to_server
        && first.starts_with(b"220")
        && first.get(3).is_some_and(|&c| c == b' ' || c == b'-')
    {
        // An FTP (or SMTP) greeting; FTP on its port or with USER from the client.
        return None;
    }
    None
}

/// An EtherNet/IP ListIdentity reply filling a whole datagram: command 0x63, a length that is exactly
/// the rest of the datagram, success status and zero options (Vol 2 section 2-3). A target answers a
/// broadcast ListIdentity from its port 44818 to the scanner's own port, so the reply opens a flow of
/// its own whose ports say nothing; these four header fields together almost never occur by chance.
pub fn is_enip_list_identity_reply(datagram: &[u8]) -> bool {
    let Some(h) = datagram.get(..crate::enip::HEADER_LEN) else {
        return false;
    };
    let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
    h[..2] == [0x63, 0x00]
        && len > 0
        && len == datagram.len() - crate::enip::HEADER_LEN
        && h[8..12] == [0; 4]
        && h[20..24] == [0; 4]
}

/// `<VT>MSH` and a field separator: an MLLP-framed HL7 v2 message.
pub fn is_mllp_hl7(b: &[u8]) -> bool {
    b.len() >= 5 && b[0] == 0x0b && &b[1..4] == b"MSH" && b[4].is_ascii_punctuation()
}

/// A DICOM A-ASSOCIATE-RQ: PDU type 1, reserved 0, a plausible length, protocol version 1.
pub fn is_associate_rq(b: &[u8]) -> bool {
    if b.len() < 10 || b[0] != 0x01 || b[1] != 0 {
        return false;
    }
    let len = u32::from_be_bytes([b[2], b[3], b[4], b[5]]);
    // Fixed fields are 68 bytes; the items that follow fit easily in 64 KiB.
    (68..=65_536).contains(&len) && b[6] == 0x00 && b[7] == 0x01
}

/// A TLS record header: handshake (22), alert (21) or application data (23), version 3.x, a length
/// within the record limit.
pub fn is_tls_record(b: &[u8]) -> bool {
    if b.len() < 5 {
        return false;
    }
    let len = u16::from_be_bytes([b[3], b[4]]);
    matches!(b[0], 21..=23) && b[1] == 3 && b[2] <= 4 && len > 0 && len <= 16_384 + 2048
}

/// IAC followed by WILL, WONT, DO or DONT: telnet option negotiation.
pub fn is_telnet_negotiation(b: &[u8]) -> bool {
    b.len() >= 3 && b[0] == 0xff && (251..=254).contains(&b[1])
}

/// An HTTP/1.x request line: a known method, a space, and `HTTP/1.` before the end of the line.
pub fn is_http_request(b: &[u8]) -> bool {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    if !METHODS.iter().any(|m| b.starts_with(m)) {
        return false;
    }
    let line_end = b
        .iter()
        .position(|&c| c == b'\n')
        .unwrap_or(b.len().min(8192));
    b[..line_end].windows(7).any(|w| w == b"HTTP/1.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_beats_port() {
        assert_eq!(by_content(b"\x0bMSH|^~\\&|MON", true), Some(App::Hl7));
        assert_eq!(
            by_content(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", true),
            Some(App::Tls)
        );
        assert_eq!(
            by_content(b"GET /api/status HTTP/1.1\r\nHost: x\r\n", true),
            Some(App::Http)
        );
        assert_eq!(
            by_content(b"HTTP/1.1 401 Unauthorized\r\n", false),
            Some(App::Http)
        );
        assert_eq!(
            by_content(b"\xff\xfb\x01\xff\xfb\x03", false),
            Some(App::Telnet)
        );
        let mut rq = vec![0x01, 0x00, 0x00, 0x00, 0x00, 0xcd, 0x00, 0x01];
        rq.extend_from_slice(&[0x20; 32]);
        assert_eq!(by_content(&rq, true), Some(App::Dicom));
        // An A-ASSOCIATE-RQ comes from the requestor only.
        assert_eq!(by_content(&rq, false), None);
        assert_eq!(by_content(b"random bytes here", true), None);
        assert_eq!(by_content(b"", true), None);
    }

    #[test]
    fn ports_name_protocols() {
        let ports = PortMap::standard();
        assert_eq!(ports.tcp(2575), App::Hl7);
        assert_eq!(ports.tcp(104), App::Dicom);
        assert_eq!(ports.tcp(11112), App::Dicom);
        assert_eq!(ports.tcp(2762), App::Tls);
        assert_eq!(ports.inside_tls(2762), Some(App::Dicom));
        assert_eq!(ports.tcp(40000), App::Unknown);
        assert_eq!(ports.udp(53), App::Dns);
        assert_eq!(ports.udp(547), App::Dhcp);
        assert_eq!(ports.udp(161), App::Snmp);
        assert_eq!(ports.udp(162), App::Snmp);
        assert_eq!(ports.udp(44818), App::Enip);
        assert_eq!(ports.tcp(44818), App::Enip);
        assert_eq!(App::Snmp.as_str(), "snmp");
        assert_eq!(App::Enip.as_str(), "enip");
    }

    #[test]
    fn a_list_identity_reply_is_recognised_by_its_header_alone() {
        let mut reply = vec![0x63, 0x00, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        reply.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert!(is_enip_list_identity_reply(&reply));
        // The request (no data), a length that does not fill the datagram, a failure status.
        assert!(!is_enip_list_identity_reply(&reply[..24]));
        assert!(!is_enip_list_identity_reply(&[&reply[..], &[0]].concat()));
        let mut failed = reply.clone();
        failed[8] = 1;
        assert!(!is_enip_list_identity_reply(&failed));
        assert!(!is_enip_list_identity_reply(b"\x63\x00"));
    }

    #[test]
    fn near_misses_are_not_detected() {
        assert!(!is_mllp_hl7(b"\x0bMSG|"));
        assert!(!is_associate_rq(&[
            0x01, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0, 0
        ]));
        assert!(!is_tls_record(b"\x16\x03\x09\x00\x10"));
        assert!(!is_http_request(b"GET / FTP/1.0\r\n"));
    }
}
