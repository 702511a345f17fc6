//! SSDP (UPnP discovery, UDP 1900): devices announce themselves (`NOTIFY`) and answer searches
//! (`HTTP/1.1 200 OK`) with a `SERVER` line naming their OS and UPnP stack, and the device types
//! they implement; searchers (`M-SEARCH`) may say what they are in `USER-AGENT`. Network cameras,
//! printers, gateways and the embedded Linux inside many bedside systems all speak it.
//!
//! HTTP over UDP: one message per datagram, a start line and headers (no body is read). Lenient:
//! lines are split on CRLF or LF, header names matched case-insensitively, anything unreadable
//! skipped.

pub const PORT: u16 = 1900;

/// Headers kept, at most this long each.
const MAX_VALUE: usize = 256;
/// Lines read from one message.
const MAX_LINES: usize = 32;

/// What kind of SSDP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `NOTIFY * HTTP/1.1`: an announcement (alive, update or byebye) by the device itself.
    Notify,
    /// `M-SEARCH * HTTP/1.1`: a control point looking for devices.
    Search,
    /// `HTTP/1.1 200 OK`: a device answering a search.
    Response,
}

/// One SSDP message's identity-bearing headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: Kind,
    /// `SERVER`: "OS/version UPnP/1.x product/version" (announcements and responses).
    pub server: Option<&'a str>,
    /// `USER-AGENT` (searches, in UPnP 1.1 and by browsers).
    pub user_agent: Option<&'a str>,
    /// `NT` (announcements) or `ST` (searches and responses): the device or service type.
    pub target: Option<&'a str>,
}

impl Message<'_> {
    /// The device type announced or answered for, when the target is one
    /// (`urn:schemas-upnp-org:device:MediaRenderer:1`); services, UUIDs and `ssdp:all` are not.
    pub fn device_type(&self) -> Option<&str> {
        let t = self.target?;
        (self.kind != Kind::Search && t.starts_with("urn:") && t.contains(":device:")).then_some(t)
    }
}

/// An SSDP message, or `None` when the datagram does not start like one.
pub fn parse(datagram: &[u8]) -> Option<Message<'_>> {
    let text = std::str::from_utf8(datagram).ok().or_else(|| {
        // A stray byte after the headers (some stacks pad) must not hide them.
        let end = datagram.windows(4).position(|w| w == b"\r\n\r\n")?;
        std::str::from_utf8(&datagram[..end]).ok()
    })?;
    let mut lines = text.lines();
    let start = lines.next()?.trim_end();
    let kind = if start.starts_with("NOTIFY * HTTP/1.") {
        Kind::Notify
    } else if start.starts_with("M-SEARCH * HTTP/1.") {
        Kind::Search
    } else if start.starts_with("HTTP/1.") && start.get(9..12) == Some("200") {
        Kind::Response
    } else {
        return None;
    };
    let mut m = Message {
        kind,
        server: None,
        user_agent: None,
        target: None,
    };
    for line in lines.take(MAX_LINES) {
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .char_indices()
            .nth(MAX_VALUE)
            .map_or(value, |(i, _)| &value[..i]);
        if value.is_empty() {
            continue;
        }
        let name = name.trim();
        let slot = if name.eq_ignore_ascii_case("server") {
            &mut m.server
        } else if name.eq_ignore_ascii_case("user-agent") {
            &mut m.user_agent
        } else if name.eq_ignore_ascii_case("nt") || name.eq_ignore_ascii_case("st") {
            &mut m.target
        } else {
            continue;
        };
        slot.get_or_insert(value);
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTIFY: &[u8] = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\
        CACHE-CONTROL: max-age=1800\r\nLOCATION: http://10.2.0.7:49152/desc.xml\r\n\
        NT: urn:schemas-upnp-org:device:MediaRenderer:1\r\nNTS: ssdp:alive\r\n\
        Server: Linux/4.9.0 UPnP/1.0 Portable SDK for UPnP devices/1.6.22\r\n\
        USN: uuid:0a1b::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n";

    #[test]
    fn announcements_responses_and_searches() {
        let m = parse(NOTIFY).unwrap();
        assert_eq!(m.kind, Kind::Notify);
        assert_eq!(
            m.server,
            Some("Linux/4.9.0 UPnP/1.0 Portable SDK for UPnP devices/1.6.22")
        );
        assert_eq!(
            m.device_type(),
            Some("urn:schemas-upnp-org:device:MediaRenderer:1")
        );
        let r = parse(
            b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nSERVER: Windows/10.0 UPnP/1.0 x/1\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.kind, r.device_type()), (Kind::Response, None));
        assert_eq!(r.server, Some("Windows/10.0 UPnP/1.0 x/1"));
        // LF line ends, odd case, a searcher's user agent; a search target is not the sender's type.
        let s = parse(
            b"M-SEARCH * HTTP/1.1\nhost: 239.255.255.250:1900\nst: urn:schemas-upnp-org:device:Printer:1\nuser-agent: Google Chrome/99.0 Mac OS X\n\n",
        )
        .unwrap();
        assert_eq!(s.kind, Kind::Search);
        assert_eq!(s.user_agent, Some("Google Chrome/99.0 Mac OS X"));
        assert_eq!(s.device_type(), None);
    }

    #[test]
    fn other_datagrams_and_every_prefix() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(parse(b"HTTP/1.1 404 Not Found\r\n\r\n"), None);
        assert_eq!(parse(&[0xff; 40]), None);
        for cut in 0..NOTIFY.len() {
            let _ = parse(&NOTIFY[..cut]);
        }
        // A byte that is not UTF-8 after the headers.
        let mut padded = NOTIFY.to_vec();
        padded.push(0xff);
        assert_eq!(
            parse(&padded).unwrap().server,
            parse(NOTIFY).unwrap().server
        );
        // Values are capped.
        let long = format!("NOTIFY * HTTP/1.1\r\nSERVER: {}\r\n\r\n", "x".repeat(1000));
        assert_eq!(
            parse(long.as_bytes()).unwrap().server.unwrap().len(),
            MAX_VALUE
        );
    }
}
