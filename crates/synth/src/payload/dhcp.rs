//! DHCPv4 messages (RFC 2131 on the BOOTP layout of RFC 951, options of RFC 2132): the UDP payload
//! a client sends from port 68 or a server from port 67.
//!
//! Layout: a 236-byte fixed BOOTP header, the magic cookie 99.130.83.99, then TLV options closed by
//! the END option (255). Like ISC dhclient, Windows and most embedded stacks, the message is padded
//! with PAD (0) bytes to at least 300 bytes, the minimum BOOTP message size old relay agents expect.

/// Value of option 53 (DHCP message type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Ack = 5,
}

/// What a client says about itself.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo<'a> {
    pub mac: [u8; 6],
    /// Option 12; left out when empty.
    pub hostname: &'a str,
    /// Option 60 (e.g. "MSFT 5.0", "dhcpcd-9.4.1:Linux..."); left out when empty.
    pub vendor_class: &'a str,
    /// Option 55, the parameter request list; left out when empty.
    pub param_list: &'a [u8],
    /// Write option 61 (client identifier) as hardware type 1 followed by the MAC, as Windows,
    /// dhcpcd and systemd-networkd (in MAC mode) do.
    pub client_id: bool,
}

/// The lease a server hands out in an Offer or Ack.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    pub yiaddr: [u8; 4],
    /// The server's own address: option 54 (server identifier).
    pub server: [u8; 4],
    pub mask: [u8; 4],
    pub router: [u8; 4],
    pub dns: [u8; 4],
    /// Option 15; left out when empty.
    pub domain: &'a str,
    pub lease_secs: u32,
}

/// UDP port a server listens on.
pub const SERVER_PORT: u16 = 67;
/// UDP port a client listens on.
pub const CLIENT_PORT: u16 = 68;

const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
const MIN_MESSAGE_LEN: usize = 300;

const OPT_PAD: u8 = 0;
const OPT_SUBNET_MASK: u8 = 1;
const OPT_ROUTER: u8 = 3;
const OPT_DNS: u8 = 6;
const OPT_HOSTNAME: u8 = 12;
const OPT_DOMAIN: u8 = 15;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_LEASE_TIME: u8 = 51;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_SERVER_ID: u8 = 54;
const OPT_PARAM_LIST: u8 = 55;
const OPT_MAX_SIZE: u8 = 57;
const OPT_RENEWAL: u8 = 58;
const OPT_REBINDING: u8 = 59;
const OPT_VENDOR_CLASS: u8 = 60;
const OPT_CLIENT_ID: u8 = 61;
const OPT_RELAY_AGENT: u8 = 82;
/// Where the options start: after the BOOTP header (op..file) and the magic cookie.
const BOOTP_OPTIONS: usize = 240;
const OPT_END: u8 = 255;

/// A client message (op BOOTREQUEST). A Discover carries options 53, 61?, 50?, 12, 60, 55, 57 (max
/// message size 1500); a Request carries 53, 61?, 50?, 54?, 12, 60, 55.
///
/// `requested_ip` is option 50: in a Request answering an Offer (SELECTING) or re-using a lease
/// after a reboot (INIT-REBOOT), and optionally in a Discover that remembers an earlier address.
/// `server_id` is option 54, present only in a Request answering an Offer. `ciaddr` stays zero
/// throughout, as in those states. The message type is written as given; `op` is always 1.
pub fn client(
    out: &mut Vec<u8>,
    kind: MessageType,
    xid: u32,
    secs: u16,
    c: &ClientInfo,
    requested_ip: Option<[u8; 4]>,
    server_id: Option<[u8; 4]>,
) {
    let start = out.len();
    // Broadcast flag clear: the client can take a unicast reply before it has an address
    // (what Linux and Windows clients do); `yiaddr` and `ciaddr` are zero in a client message.
    bootp_header(out, 1, xid, secs, [0; 4], c.mac);

    option(out, OPT_MESSAGE_TYPE, &[kind as u8]);
    if c.client_id {
        let mut id = [0u8; 7];
        id[0] = 1; // hardware type: Ethernet
        id[1..].copy_from_slice(&c.mac);
        option(out, OPT_CLIENT_ID, &id);
    }
    if let Some(ip) = requested_ip {
        option(out, OPT_REQUESTED_IP, &ip);
    }
    if kind != MessageType::Discover
        && let Some(ip) = server_id
    {
        option(out, OPT_SERVER_ID, &ip);
    }
    option(out, OPT_HOSTNAME, c.hostname.as_bytes());
    option(out, OPT_VENDOR_CLASS, c.vendor_class.as_bytes());
    option(out, OPT_PARAM_LIST, c.param_list);
    if kind == MessageType::Discover {
        option(out, OPT_MAX_SIZE, &1500u16.to_be_bytes());
    }
    finish(out, start);
}

/// A server reply (op BOOTREPLY), an Offer or an Ack, as dnsmasq orders its options: 53, 54,
/// 51 (lease), 58 (T1 = lease/2), 59 (T2 = 7/8 lease), 1, 3, 6, 15. `siaddr` and `giaddr` are zero
/// (no next server, no relay). An infinite lease (0xffffffff) has no T1/T2.
pub fn server(out: &mut Vec<u8>, kind: MessageType, xid: u32, mac: [u8; 6], lease: &Lease) {
    let start = out.len();
    bootp_header(out, 2, xid, 0, lease.yiaddr, mac);

    option(out, OPT_MESSAGE_TYPE, &[kind as u8]);
    option(out, OPT_SERVER_ID, &lease.server);
    option(out, OPT_LEASE_TIME, &lease.lease_secs.to_be_bytes());
    if lease.lease_secs != u32::MAX {
        let t1 = lease.lease_secs / 2;
        let t2 = (u64::from(lease.lease_secs) * 7 / 8) as u32;
        option(out, OPT_RENEWAL, &t1.to_be_bytes());
        option(out, OPT_REBINDING, &t2.to_be_bytes());
    }
    option(out, OPT_SUBNET_MASK, &lease.mask);
    option(out, OPT_ROUTER, &lease.router);
    option(out, OPT_DNS, &lease.dns);
    option(out, OPT_DOMAIN, lease.domain.as_bytes());
    finish(out, start);
}

/// op, htype 1 (Ethernet), hlen 6, hops 0, xid, secs, flags 0, ciaddr 0, yiaddr, siaddr 0,
/// giaddr 0, chaddr (MAC + 10 zero bytes), sname and file zero, then the magic cookie.
fn bootp_header(out: &mut Vec<u8>, op: u8, xid: u32, secs: u16, yiaddr: [u8; 4], mac: [u8; 6]) {
    out.reserve(MIN_MESSAGE_LEN);
    out.extend_from_slice(&[op, 1, 6, 0]);
    out.extend_from_slice(&xid.to_be_bytes());
    out.extend_from_slice(&secs.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // flags
    out.extend_from_slice(&[0; 4]); // ciaddr
    out.extend_from_slice(&yiaddr);
    out.extend_from_slice(&[0; 8]); // siaddr, giaddr
    out.extend_from_slice(&mac);
    // Rest of chaddr (10), sname (64), file (128).
    out.resize(out.len() + 10 + 64 + 128, 0);
    out.extend_from_slice(&MAGIC_COOKIE);
}

/// One option; left out when `value` is empty (no option here is meaningful empty), truncated to
/// the 255 bytes its length octet can say.
fn option(out: &mut Vec<u8>, code: u8, value: &[u8]) {
    if value.is_empty() {
        return;
    }
    let value = &value[..value.len().min(255)];
    out.push(code);
    out.push(value.len() as u8);
    out.extend_from_slice(value);
}

/// The END option, then PAD up to the 300-byte minimum.
/// Relays the client message `msg` (a whole one, as [`client`] writes it) as a relay agent does
/// (RFC 3046): one hop more, `giaddr` set to the agent's address, and the relay agent information
/// option (82) added last, with the circuit id (sub-option 1: the port the client is on) and the
/// remote id (sub-option 2: the agent), each left out when empty.
pub fn relay(msg: &mut Vec<u8>, giaddr: [u8; 4], circuit_id: &[u8], remote_id: &[u8]) {
    msg[3] = msg[3].saturating_add(1);
    msg[24..28].copy_from_slice(&giaddr);
    let mut agent = Vec::new();
    for (code, value) in [(1u8, circuit_id), (2, remote_id)] {
        option(&mut agent, code, value);
    }
    let mut at = BOOTP_OPTIONS;
    while let Some(&code) = msg.get(at) {
        match code {
            OPT_END => break,
            OPT_PAD => at += 1,
            _ => at += 2 + usize::from(msg.get(at + 1).copied().unwrap_or(0)),
        }
    }
    let mut opt82 = Vec::new();
    option(&mut opt82, OPT_RELAY_AGENT, &agent);
    msg.splice(at..at, opt82);
}

fn finish(out: &mut Vec<u8>, start: usize) {
    out.push(OPT_END);
    let len = out.len() - start;
    if len < MIN_MESSAGE_LEN {
        out.resize(start + MIN_MESSAGE_LEN, OPT_PAD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Size of the BOOTP header before the magic cookie: op..file.
    const BOOTP_HEADER_LEN: usize = 236;

    /// Options of a message as (code, value), stopping at END; panics on a malformed message.
    fn options(msg: &[u8]) -> Vec<(u8, Vec<u8>)> {
        assert_eq!(&msg[BOOTP_HEADER_LEN..BOOTP_HEADER_LEN + 4], &MAGIC_COOKIE);
        let mut i = BOOTP_HEADER_LEN + 4;
        let mut opts = Vec::new();
        loop {
            match msg[i] {
                OPT_PAD => i += 1,
                OPT_END => break,
                code => {
                    let len = msg[i + 1] as usize;
                    opts.push((code, msg[i + 2..i + 2 + len].to_vec()));
                    i += 2 + len;
                }
            }
        }
        assert!(
            msg[i + 1..].iter().all(|&b| b == 0),
            "only padding after END"
        );
        opts
    }

    const MAC: [u8; 6] = [0x00, 0x09, 0xfb, 0x12, 0x34, 0x56];

    fn info() -> ClientInfo<'static> {
        ClientInfo {
            mac: MAC,
            hostname: "MX450-ICU3",
            vendor_class: "MSFT 5.0",
            param_list: &[1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252],
            client_id: true,
        }
    }

    /// A relayed Request: one hop, the agent's address, option 82 last with both sub-options.
    #[test]
    fn a_relay_adds_its_option_last() {
        let mut msg = Vec::new();
        let req = MessageType::Request;
        client(&mut msg, req, 7, 0, &info(), Some([10, 0, 0, 9]), None);
        let before = options(&msg);
        relay(&mut msg, [10, 20, 16, 1], &[0, 4, 0, 16, 1, 5], b"core-gw");
        assert_eq!((msg[3], &msg[24..28]), (1, &[10, 20, 16, 1][..]));
        let after = options(&msg);
        assert_eq!(after[..before.len()], before[..]);
        assert_eq!(
            after[before.len()],
            (
                82,
                [&[1, 6, 0, 4, 0, 16, 1, 5][..], &[2, 7], b"core-gw"].concat()
            )
        );
        assert_eq!(after.len(), before.len() + 1);
    }

    #[test]
    fn discover_layout() {
        let mut out = vec![0xaa]; // appends, never clears
        client(
            &mut out,
            MessageType::Discover,
            0xdead_beef,
            3,
            &info(),
            None,
            None,
        );
        let msg = &out[1..];
        assert_eq!(msg.len(), 300);
        assert_eq!(&msg[..4], &[1, 1, 6, 0]);
        assert_eq!(&msg[4..8], &0xdead_beefu32.to_be_bytes());
        assert_eq!(&msg[8..10], &[0, 3]);
        assert_eq!(&msg[28..34], &MAC);
        assert!(msg[34..236].iter().all(|&b| b == 0));
        let codes: Vec<u8> = options(msg).iter().map(|o| o.0).collect();
        assert_eq!(codes, [53, 61, 12, 60, 55, 57]);
        let opts = options(msg);
        assert_eq!(opts[0].1, [1]);
        assert_eq!(opts[1].1, [1, 0x00, 0x09, 0xfb, 0x12, 0x34, 0x56]);
        assert_eq!(opts[2].1, b"MX450-ICU3");
        assert_eq!(opts[4].1, info().param_list);
        assert_eq!(opts[5].1, [0x05, 0xdc]);
    }

    #[test]
    fn request_carries_requested_ip_and_server_id() {
        let mut out = Vec::new();
        let c = ClientInfo {
            client_id: false,
            vendor_class: "",
            ..info()
        };
        client(
            &mut out,
            MessageType::Request,
            7,
            0,
            &c,
            Some([10, 20, 0, 51]),
            Some([10, 20, 0, 1]),
        );
        let opts = options(&out);
        let codes: Vec<u8> = opts.iter().map(|o| o.0).collect();
        assert_eq!(codes, [53, 50, 54, 12, 55]);
        assert_eq!(opts[0].1, [3]);
        assert_eq!(opts[1].1, [10, 20, 0, 51]);
        assert_eq!(opts[2].1, [10, 20, 0, 1]);
    }

    #[test]
    fn offer_and_ack_layout() {
        let lease = Lease {
            yiaddr: [10, 20, 0, 51],
            server: [10, 20, 0, 1],
            mask: [255, 255, 255, 0],
            router: [10, 20, 0, 254],
            dns: [10, 20, 0, 2],
            domain: "icu.hospital.example",
            lease_secs: 86400,
        };
        for kind in [MessageType::Offer, MessageType::Ack] {
            let mut out = Vec::new();
            server(&mut out, kind, 42, MAC, &lease);
            assert_eq!(
                out.len(),
                240 + 3 + 7 * 6 + 2 + 20 + 1,
                "past 300: no padding"
            );
            assert_eq!(out[0], 2);
            assert_eq!(&out[16..20], &[10, 20, 0, 51]);
            assert_eq!(&out[28..34], &MAC);
            let opts = options(&out);
            let codes: Vec<u8> = opts.iter().map(|o| o.0).collect();
            assert_eq!(codes, [53, 54, 51, 58, 59, 1, 3, 6, 15]);
            assert_eq!(opts[0].1, [kind as u8]);
            assert_eq!(opts[2].1, 86400u32.to_be_bytes());
            assert_eq!(opts[3].1, 43200u32.to_be_bytes());
            assert_eq!(opts[4].1, 75600u32.to_be_bytes());
            assert_eq!(opts[8].1, b"icu.hospital.example");
        }
    }

    #[test]
    fn oversized_options_are_truncated_and_message_grows_past_300() {
        let long = "h".repeat(1000);
        let params = [1u8; 400];
        let c = ClientInfo {
            hostname: &long,
            vendor_class: &long,
            param_list: &params,
            ..info()
        };
        let mut out = Vec::new();
        client(&mut out, MessageType::Discover, 1, 0, &c, None, None);
        let opts = options(&out);
        assert!(opts.iter().all(|o| o.1.len() <= 255));
        assert_eq!(opts.iter().find(|o| o.0 == 12).unwrap().1.len(), 255);
        assert!(out.len() > 300);
    }
}
