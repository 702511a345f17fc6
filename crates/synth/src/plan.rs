//! The day's schedule: who talks to whom and when. Every device boots with DHCP, announces its
//! address in ARP, resolves its servers' names, keeps its clock with NTP, then does what its kind
//! does. Plans are light; each
//! becomes a live session only when the timeline reaches it.

use std::collections::VecDeque;

use crate::apps::{
    self, DicomAssoc, DicomWork, Exchanges, FtpSession, Hl7Feed, Hl7Link, PumpStatus, Scripted,
    TelnetSession, TlsParams, TlsWrap, WebLogin,
};
use crate::emit::{Datagram, LinkFrame, LinkSession, Planned, UdpSession};
use crate::hospital::{Device, Hospital, Kind};
use crate::patients::{self, Patient};
use crate::payload::{dhcp, dns, lldp, netbios, ntp, quic, smb, tls};
use crate::rng::Rng;
use crate::tcp::Side;
use crate::tcp::{App, Endpoint, SegmentFaults, TcpSession};
use crate::truth::{Truth, endpoint};
use crate::wire::{self, BROADCAST_MAC, Ip, L2L3, multicast_mac_v4};

pub const DOMAIN: &str = "synhosp.example";
/// Where cloud services live (TEST-NET-3: documentation addresses, never routed).
const CLOUD_IP: [u8; 4] = [203, 0, 113, 50];

pub struct Plan<'h> {
    pub hospital: &'h Hospital,
    pub seed: u64,
    pub start_us: i64,
    pub end_us: i64,
    pub faults: SegmentFaults,
    pub plans: Vec<Planned>,
    /// Next ephemeral port per device.
    ports: Vec<u16>,
    streams: u64,
}

/// The NTLMSSP version (major, minor, build) of a Windows release synth's devices run.
fn windows_version(software: &str) -> Option<smb::Version> {
    match software {
        "Windows 10 22H2" => Some((10, 0, 19045)),
        "Windows 11 23H2" => Some((10, 0, 22631)),
        "Windows Server 2019" => Some((10, 0, 17763)),
        "Windows Server 2022" => Some((10, 0, 20348)),
        _ => None,
    }
}

/// The cloud service as `me` reaches it: its address behind the gateway's MAC, on `me`'s VLAN.
fn cloud_through(gw: &Device, me: &L2L3) -> L2L3 {
    L2L3 {
        mac: gw.mac,
        ip: Ip::V4(CLOUD_IP),
        vlan: me.vlan,
    }
}

fn us(s: f64) -> i64 {
    (s * 1e6) as i64
}

impl<'h> Plan<'h> {
    pub fn new(
        hospital: &'h Hospital,
        seed: u64,
        start_us: i64,
        minutes: u32,
        faults: SegmentFaults,
    ) -> Plan<'h> {
        let mut rng = Rng::child(seed, 0x9047);
        let ports = hospital
            .devices
            .iter()
            .map(|d| match d.vendor_spec().vendor_class {
                "MSFT 5.0" => 49152 + rng.below(8000) as u16,
                _ => 32768 + rng.below(20000) as u16,
            })
            .collect();
        Plan {
            hospital,
            seed,
            start_us,
            end_us: start_us + i64::from(minutes) * 60_000_000,
            faults,
            plans: Vec::new(),
            ports,
            streams: 0,
        }
    }

    fn rng(&mut self) -> Rng {
        self.streams += 1;
        Rng::child(self.seed, 0x1_0000 + self.streams)
    }

    fn port(&mut self, d: &Device) -> u16 {
        let p = &mut self.ports[d.index];
        let v = *p;
        *p = if *p >= 60999 { 32768 } else { *p + 1 };
        v
    }

    /// A TCP connection from `client` (its preferred address family) to `server:port`.
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        at: i64,
        client: &Device,
        client_l3: L2L3,
        server_l3: L2L3,
        sport: u16,
        app: Box<dyn App>,
        flow_app: &'static str,
        encrypted: bool,
    ) {
        let c = Endpoint {
            l2l3: client_l3,
            port: self.port(client),
        };
        let s = Endpoint {
            l2l3: server_l3,
            port: sport,
        };
        let rng = self.rng();
        let faults = self.faults;
        let end = self.end_us;
        self.plans.push(Planned {
            start_us: at,
            build: Box::new(move |truth: &mut Truth| {
                Box::new(TcpSession::new(
                    c, s, at, end, faults, rng, app, flow_app, encrypted, truth,
                ))
            }),
        });
    }

    fn udp(&mut self, datagrams: Vec<Datagram>) {
        if let Some(first) = datagrams.first() {
            let at = first.ts_us;
            let q: VecDeque<Datagram> = datagrams.into();
            self.plans.push(Planned {
                start_us: at,
                build: Box::new(move |_| Box::new(UdpSession { datagrams: q })),
            });
        }
    }

    /// Frames of no flow, in time order.
    fn link(&mut self, frames: Vec<LinkFrame>) {
        if let Some(at) = frames.first().map(|f| f.ts_us) {
            let q: VecDeque<LinkFrame> = frames.into();
            self.plans.push(Planned {
                start_us: at,
                build: Box::new(move |_| Box::new(LinkSession { frames: q })),
            });
        }
    }

    /// The gateway is the core switch too: on each of the ports the capture sees, it announces itself
    /// in LLDP every 30 seconds and in CDP every 60, from the port's own MAC (the MACs after its base
    /// MAC, which LLDP names as the chassis).
    fn switch(&mut self, gw: &Device, r: &mut Rng) {
        let name = format!("{}.{DOMAIN}", gw.hostname);
        let description = format!(
            "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version {}, \
             RELEASE SOFTWARE (fc5)",
            gw.software.trim_start_matches("IOS-XE ")
        );
        let switch = lldp::Switch {
            chassis: gw.mac,
            name: &name,
            description: &description,
            platform: "cisco C9300-48P",
            address: gw.ip4.into(),
            address6: gw.ip6.map(Into::into),
        };
        for (k, port_mac) in gw.ports.iter().copied().enumerate() {
            let port = format!("GigabitEthernet1/0/{}", k + 1);
            let short = format!("Gi1/0/{}", k + 1);
            let mut frames = Vec::new();
            let mut t = self.start_us + us(r.unit() * 30.0);
            let mut n = 0;
            while t < self.end_us {
                let mut f = Vec::new();
                switch.lldp(&mut f, port_mac, &short);
                frames.push(LinkFrame::plain(t, f));
                if n % 2 == 0 {
                    let mut f = Vec::new();
                    switch.cdp(&mut f, port_mac, &port);
                    frames.push(LinkFrame::plain(t + us(0.2), f));
                }
                n += 1;
                t += us(30.0);
            }
            self.link(frames);
        }
    }

    /// On an IPv6 hospital the gateway advertises itself as the default router every 200 seconds,
    /// with its own /64.
    fn router_advertisements(&mut self, gw: &Device, r: &mut Rng) {
        let Some(a) = gw.ip6 else { return };
        let mut prefix = [0u8; 16];
        prefix[..8].copy_from_slice(&a[..8]);
        let mut frames = Vec::new();
        let mut t = self.start_us + us(r.unit() * 10.0);
        while t < self.end_us {
            let mut f = Vec::new();
            let ends = wire::router_advertisement(&mut f, gw.mac, gw.vlan, prefix);
            frames.push(LinkFrame::icmp6(t, f, gw.vlan, ends));
            t += us(200.0);
        }
        self.link(frames);
    }

    /// Builds every plan; `truth` receives the patient values used.
    pub fn build(&mut self, truth: &mut Truth) {
        let h = self.hospital;
        let mut rng = Rng::child(self.seed, 0x7143);
        // The patients of the day: one per monitored bed, a pool for the lab, ADT and imaging.
        let pool: Vec<Patient> = (0..(h.devices.len() / 2).max(8))
            .map(|i| patients::generate(&mut rng, i))
            .collect();
        let mut next_patient = 0usize;
        let mut used: Vec<bool> = vec![false; pool.len()];
        let take = |i: usize, used: &mut Vec<bool>| {
            used[i % pool.len()] = true;
            pool[i % pool.len()].clone()
        };
        let kin: Vec<String> = (0..16)
            .map(|i| patients::generate(&mut rng, 90_000 + i).pn())
            .collect();

        for d in &h.devices {
            let mut r = Rng::child(self.seed, 0x2_0000 + d.index as u64);
            let boot = if d.dhcp {
                self.start_us + us(r.unit() * 30.0)
            } else {
                self.start_us
            };
            if d.dhcp {
                self.dhcp(d, boot, &mut r);
            }
            let up = boot + us(0.05 + r.unit() * 0.2);
            // Its address comes up: an ARP announcement (RFC 5227), as every stack sends, and the
            // one packet a device that never opens a connection still puts on the segment.
            let at = up - us(0.01);
            let mut arp = Vec::new();
            wire::arp_announcement(&mut arp, &d.v4());
            let mut frames = vec![LinkFrame::plain(at, arp)];
            // An IPv6 address comes up too: duplicate address detection, then its advertisement.
            if d.ip6.is_some() {
                let src = d.preferred();
                let mut ns = Vec::new();
                let ends = wire::dad_solicitation(&mut ns, &src);
                frames.push(LinkFrame::icmp6(at + 1, ns, src.vlan, ends));
                let mut na = Vec::new();
                let ends = wire::unsolicited_advertisement(&mut na, &src, d.kind == Kind::Gateway);
                frames.push(LinkFrame::icmp6(at + 2, na, src.vlan, ends));
            }
            self.link(frames);
            if d.kind == Kind::Gateway {
                self.switch(d, &mut r);
                self.router_advertisements(d, &mut r);
            }
            // Name lookups at start, and again when the answers' five-minute TTL runs out.
            let names: Vec<String> = self
                .servers_of(d)
                .iter()
                .map(|s| s.hostname.clone())
                .collect();
            let mut t = up;
            while t < self.end_us {
                for n in &names {
                    self.dns(d, t, n, &mut r);
                    t += us(0.001 + r.unit() * 0.01);
                }
                t += us(300.0 + r.unit() * 5.0);
            }
            if d.dhcp || d.kind != Kind::Ntp {
                let mut t = up + us(1.0 + r.unit() * 3.0);
                let poll = [64.0, 128.0, 256.0][r.below(3) as usize];
                while t < self.end_us {
                    self.ntp(d, t, &mut r);
                    t += us(poll + r.unit() * 2.0);
                }
            }
            let work = up + us(0.5 + r.unit() * 2.0);
            match d.kind {
                Kind::Monitor => {
                    let p = take(next_patient, &mut used);
                    next_patient += 1;
                    self.monitor(d, work, p, &mut r);
                }
                Kind::Lab => {
                    let ps: Vec<Patient> = (0..6)
                        .map(|k| take(next_patient + k * 7, &mut used))
                        .collect();
                    next_patient += 1;
                    self.lab(d, work, ps, &mut r);
                }
                Kind::Ehr => {
                    let ps: Vec<Patient> = (0..pool.len().min(40))
                        .map(|k| take(k * 3 + 1, &mut used))
                        .collect();
                    self.adt(d, work, ps, kin.clone(), &mut r);
                }
                Kind::Pump => self.pump(d, work, &mut r),
                Kind::Imaging => {
                    let ps: Vec<Patient> = (0..8)
                        .map(|k| take(next_patient + k * 5 + 2, &mut used))
                        .collect();
                    next_patient += 1;
                    self.imaging(d, work, ps, &mut r);
                }
                Kind::Glucose => self.glucose(d, work, &mut r),
                Kind::Workstation => self.workstation(d, work, &mut r),
                _ => {}
            }
        }
        for (i, p) in pool.iter().enumerate() {
            if used[i] {
                truth.phi.patient_names.push(p.pn());
                truth.phi.patient_names.push(p.family.clone());
                truth.phi.patient_ids.push(p.mrn.clone());
                truth.phi.birth_dates.push(p.birth_date.clone());
            }
        }
        truth.phi.patient_names.extend(kin);
        self.plans.sort_by_key(|p| p.start_us);
    }

    fn servers_of(&self, d: &Device) -> Vec<&'h Device> {
        let h = self.hospital;
        // Each device resolves the servers it is configured with by name, its NTP server included;
        // Windows workstations also look up their domain controller.
        let kinds: &[Kind] = match d.kind {
            Kind::Monitor | Kind::Lab => &[Kind::Hl7Engine, Kind::Ntp],
            Kind::Pump => &[Kind::PumpServer, Kind::Ntp],
            Kind::Imaging => &[Kind::Pacs, Kind::Worklist, Kind::Ntp],
            Kind::Workstation => &[Kind::Ehr, Kind::DhcpDns, Kind::Ntp],
            Kind::Ehr => &[Kind::Hl7Engine],
            Kind::Glucose => &[Kind::Ntp],
            _ => &[],
        };
        kinds.iter().map(|&k| h.server(k)).collect()
    }

    fn dhcp(&mut self, d: &Device, t0: i64, r: &mut Rng) {
        let srv = self.hospital.server(Kind::DhcpDns);
        let v = d.vendor_spec();
        let xid = r.next_u32();
        let ci = dhcp::ClientInfo {
            mac: d.mac,
            hostname: &d.hostname,
            vendor_class: v.vendor_class,
            param_list: v.params,
            client_id: v.vendor_class == "MSFT 5.0",
        };
        let lease = dhcp::Lease {
            yiaddr: d.ip4,
            server: srv.ip4,
            mask: [255, 255, 0, 0],
            router: [10, 20, 0, 1],
            dns: srv.ip4,
            domain: DOMAIN,
            lease_secs: 86_400,
        };
        let unspecified = L2L3 {
            mac: d.mac,
            ip: Ip::V4([0, 0, 0, 0]),
            vlan: d.vlan,
        };
        let server = L2L3 {
            mac: srv.mac,
            ip: Ip::V4(srv.ip4),
            vlan: d.vlan,
        };
        let bcast = Ip::V4([255, 255, 255, 255]);
        // DORA, all broadcast: the client has no address yet, the server answers to everyone.
        let from_client = |ts_us, payload| Datagram {
            ts_us,
            src: unspecified,
            sport: 68,
            dst_mac: BROADCAST_MAC,
            dst_ip: bcast,
            dport: 67,
            app: "dhcp",
            payload,
        };
        let from_server = |ts_us, payload| Datagram {
            ts_us,
            src: server,
            sport: 67,
            dst_mac: BROADCAST_MAC,
            dst_ip: bcast,
            dport: 68,
            app: "dhcp",
            payload,
        };
        let mut t = t0;
        let mut out = Vec::new();
        let mut p = Vec::new();
        dhcp::client(&mut p, dhcp::MessageType::Discover, xid, 0, &ci, None, None);
        out.push(from_client(t, std::mem::take(&mut p)));
        t += us(0.002 + r.unit() * 0.01);
        dhcp::server(&mut p, dhcp::MessageType::Offer, xid, d.mac, &lease);
        out.push(from_server(t, std::mem::take(&mut p)));
        t += us(0.001 + r.unit() * 0.005);
        dhcp::client(
            &mut p,
            dhcp::MessageType::Request,
            xid,
            0,
            &ci,
            Some(d.ip4),
            Some(srv.ip4),
        );
        out.push(from_client(t, std::mem::take(&mut p)));
        t += us(0.001 + r.unit() * 0.005);
        dhcp::server(&mut p, dhcp::MessageType::Ack, xid, d.mac, &lease);
        out.push(from_server(t, p));
        self.udp(out);
    }

    fn dns(&mut self, d: &Device, t: i64, name: &str, r: &mut Rng) {
        let srv = self.hospital.server(Kind::DhcpDns);
        let target = self.hospital.devices.iter().find(|x| x.hostname == name);
        let fqdn = format!("{name}.{DOMAIN}");
        let me = d.preferred();
        let server = srv.as_seen_by(&me);
        let id = r.next_u32() as u16;
        let sport = self.port(d);
        let v6 = matches!(me.ip, Ip::V6(_));
        let mut q = Vec::new();
        dns::query(&mut q, id, &fqdn, if v6 { 28 } else { 1 });
        let mut a = Vec::new();
        match (target, v6) {
            (Some(x), true) if x.ip6.is_some() => {
                dns::response_aaaa(&mut a, id, &fqdn, &[x.ip6.unwrap_or_default()], 300)
            }
            (Some(x), _) => dns::response_a(&mut a, id, &fqdn, &[x.ip4], 300),
            (None, _) => dns::response_nxdomain(&mut a, id, &fqdn, if v6 { 28 } else { 1 }),
        }
        let t2 = t + us(0.0002 + r.unit() * 0.002);
        self.udp(vec![
            Datagram {
                ts_us: t,
                src: me,
                sport,
                dst_mac: server.mac,
                dst_ip: server.ip,
                dport: 53,
                app: "dns",
                payload: q,
            },
            Datagram {
                ts_us: t2,
                src: server,
                sport: 53,
                dst_mac: me.mac,
                dst_ip: me.ip,
                dport: sport,
                app: "dns",
                payload: a,
            },
        ]);
    }

    fn ntp(&mut self, d: &Device, t: i64, r: &mut Rng) {
        let srv = self.hospital.server(Kind::Ntp);
        let me = d.preferred();
        let server = srv.as_seen_by(&me);
        let ntp_ts = |us: i64| -> (u32, u32) {
            let secs = us.div_euclid(1_000_000) + 2_208_988_800;
            let frac = ((us.rem_euclid(1_000_000) as u64) << 32) / 1_000_000;
            (secs as u32, frac as u32)
        };
        let mut q = Vec::new();
        ntp::client(&mut q, ntp_ts(t));
        let t2 = t + us(0.0003 + r.unit() * 0.001);
        let mut a = Vec::new();
        ntp::server(
            &mut a,
            2,
            [10, 20, 0, 1],
            ntp_ts(t),
            ntp_ts(t + 100),
            ntp_ts(t2 - 50),
        );
        self.udp(vec![
            Datagram {
                ts_us: t,
                src: me,
                sport: 123,
                dst_mac: server.mac,
                dst_ip: server.ip,
                dport: 123,
                app: "ntp",
                payload: q,
            },
            Datagram {
                ts_us: t2,
                src: server,
                sport: 123,
                dst_mac: me.mac,
                dst_ip: me.ip,
                dport: 123,
                app: "ntp",
                payload: a,
            },
        ]);
    }

    fn tls_params(
        &self,
        stack: tls::ClientStack,
        server: &Device,
        alpn: Vec<&'static str>,
        tls13: bool,
    ) -> TlsParams {
        TlsParams {
            stack,
            sni: Some(format!("{}.{DOMAIN}", server.hostname)),
            alpn,
            server_cn: format!("{}.{DOMAIN}", server.hostname),
            server_org: "Synthetic General Hospital".into(),
            issuer_cn: "SynHosp Internal Issuing CA 1".into(),
            tls13,
        }
    }

    fn monitor(&mut self, d: &Device, at: i64, patient: Patient, r: &mut Rng) {
        let engine = self.hospital.server(Kind::Hl7Engine);
        let me = d.preferred();
        let srv = engine.as_seen_by(&me);
        let v = d.vendor_spec();
        let v28 = r.chance(0.3);
        let udi = v28.then(|| {
            format!(
                "(01)0088{:010}(21){}",
                d.index * 7919 % 10_000_000_000,
                d.serial
            )
        });
        let feed = Hl7Feed::Vitals {
            equipment_id: format!(
                "{}^{}^{}",
                d.serial,
                v.label.replace(' ', ""),
                d.model.replace(' ', "_")
            ),
            udi,
            state: apps::initial_vitals(r),
        };
        let unit = d
            .hostname
            .split('-')
            .nth(1)
            .unwrap_or("ICU")
            .to_ascii_uppercase();
        let link = Hl7Link::new(
            feed,
            d.application.clone(),
            unit,
            "ENGINE",
            if v28 { "2.8" } else { "2.6" },
            vec![patient],
            (10_000, 60_000),
            format!("{}-", d.application),
        );
        if r.chance(0.2) {
            let p = self.tls_params(tls::ClientStack::Embedded, engine, vec![], false);
            self.tcp(
                at,
                d,
                me,
                srv,
                2576,
                Box::new(TlsWrap::new(Box::new(link), p)),
                "tls",
                true,
            );
        } else {
            self.tcp(at, d, me, srv, 2575, Box::new(link), "hl7", false);
        }
    }

    fn lab(&mut self, d: &Device, at: i64, ps: Vec<Patient>, r: &mut Rng) {
        let engine = self.hospital.server(Kind::Hl7Engine);
        let me = d.preferred();
        let srv = engine.as_seen_by(&me);
        let feed = Hl7Feed::Lab {
            instrument_id: format!("{}^{}", d.serial, d.model.replace(' ', "_")),
        };
        let link = Hl7Link::new(
            feed,
            d.application.clone(),
            "LAB".into(),
            "ENGINE",
            "2.5.1",
            ps,
            (20_000, 120_000),
            format!("{}-", d.application),
        );
        let _ = r;
        self.tcp(at, d, me, srv, 6661, Box::new(link), "hl7", false);
    }

    fn adt(&mut self, d: &Device, at: i64, ps: Vec<Patient>, kin: Vec<String>, _r: &mut Rng) {
        let engine = self.hospital.server(Kind::Hl7Engine);
        let me = d.v4();
        let srv = engine.as_seen_by(&me);
        let link = Hl7Link::new(
            Hl7Feed::Adt { next_of_kin: kin },
            "EPIC".into(),
            "SYNHOSP".into(),
            "ENGINE",
            "2.5.1",
            ps,
            (2_000, 15_000),
            "ADT".into(),
        );
        self.tcp(at, d, me, srv, 2575, Box::new(link), "hl7", false);
    }

    fn pump(&mut self, d: &Device, at: i64, r: &mut Rng) {
        let psrv = self.hospital.server(Kind::PumpServer);
        let me = d.preferred();
        let srv = psrv.as_seen_by(&me);
        let v = d.vendor_spec();
        let ua = format!(
            "{}/{} ({})",
            v.label.replace([' ', '.'], ""),
            d.software,
            d.model
        );
        let status = PumpStatus::new(
            d.serial.clone(),
            d.model,
            format!("{}.{DOMAIN}", psrv.hostname),
            ua,
            (20_000, 90_000),
            r,
        );
        if r.chance(0.4) {
            let p = self.tls_params(tls::ClientStack::Embedded, psrv, vec!["http/1.1"], false);
            self.tcp(
                at,
                d,
                me,
                srv,
                443,
                Box::new(TlsWrap::new(Box::new(status), p)),
                "tls",
                true,
            );
        } else {
            self.tcp(at, d, me, srv, 80, Box::new(status), "http", false);
        }
        // The biomedical engineering workstation services some pumps over their cleartext ports.
        let biomed = self.hospital.of_kind(Kind::Workstation).next();
        if let Some(ws) = biomed
            && r.chance(0.15)
        {
            let t = at
                + us(5.0 + r.unit() * (self.end_us - at - 60_000_000).max(1_000_000) as f64 / 1e6);
            let ws_l3 = ws.v4();
            let pump_l3 = L2L3 {
                vlan: ws_l3.vlan.or(d.vlan),
                ..d.v4()
            };
            let ws_l3 = L2L3 {
                vlan: pump_l3.vlan,
                ..ws_l3
            };
            let client = endpoint(ws_l3.ip, 0);
            let server = endpoint(pump_l3.ip, 0);
            match r.below(3) {
                0 => {
                    let app = TelnetSession::new(
                        format!("{} service console", d.model),
                        "biomed".into(),
                        "Biomed#2024".into(),
                        client,
                        server,
                    );
                    self.tcp(t, ws, ws_l3, pump_l3, 23, Box::new(app), "telnet", false);
                }
                1 => {
                    let app =
                        FtpSession::new("service".into(), "pump-svc-01".into(), client, server);
                    self.tcp(t, ws, ws_l3, pump_l3, 21, Box::new(app), "ftp", false);
                }
                _ => {
                    let app = WebLogin::new(
                        d.ip4.map(|b| b.to_string()).join("."),
                        "admin".into(),
                        "admin123".into(),
                        format!("{} {} - Device Configuration", v.label, d.model),
                        client,
                        server,
                    );
                    self.tcp(t, ws, ws_l3, pump_l3, 80, Box::new(app), "http", false);
                }
            }
        }
    }

    fn imaging(&mut self, d: &Device, at: i64, ps: Vec<Patient>, r: &mut Rng) {
        let pacs = self.hospital.server(Kind::Pacs);
        let mwl = self.hospital.server(Kind::Worklist);
        let me = d.preferred();
        let modality = d.modality.unwrap_or("CT");
        let v = d.vendor_spec();
        let use_tls = r.chance(0.15);
        let identity = r.chance(0.1).then(|| {
            (
                format!("{}_svc", modality.to_ascii_lowercase()),
                "Modality!23".to_string(),
            )
        });
        let (mean_gap_s, lo, hi) = match modality {
            "CT" => (720.0, 60, 250),
            "MR" => (1500.0, 80, 240),
            "US" => (900.0, 10, 40),
            _ => (360.0, 1, 4),
        };
        // A verification at start of day.
        let mut t = at;
        self.dicom(
            d,
            me,
            pacs,
            t,
            DicomWork::Echo,
            false,
            None,
            None,
            use_tls,
            r,
        );
        t += us(1.0 + r.unit() * 20.0);
        let mut study = 0u64;
        while t < self.end_us {
            let p = ps[study as usize % ps.len()].clone();
            study += 1;
            let wl = DicomWork::Worklist {
                matches: 1 + r.below(3) as usize,
                items: vec![p.clone()],
                accession_base: d.index as u64 * 1000 + study * 10,
            };
            self.dicom(d, me, mwl, t, wl, false, None, identity.clone(), false, r);
            t += us(30.0 + r.unit() * 120.0);
            if t >= self.end_us {
                break;
            }
            let images = r.range(lo, hi) as usize;
            let reject = r.chance(0.05);
            if reject {
                // A misconfigured destination AE title: rejected, then retried correctly.
                self.dicom(
                    d,
                    me,
                    pacs,
                    t,
                    DicomWork::Store {
                        images,
                        patient: p.clone(),
                        study: 0,
                    },
                    true,
                    None,
                    identity.clone(),
                    use_tls,
                    r,
                );
                t += us(2.0 + r.unit() * 5.0);
            }
            let abort = r.chance(0.03).then(|| r.below(images as u64) as usize);
            let study_id = (d.index as u64) << 20 | study;
            self.dicom(
                d,
                me,
                pacs,
                t,
                DicomWork::Store {
                    images,
                    patient: p,
                    study: study_id,
                },
                false,
                abort,
                identity.clone(),
                use_tls,
                r,
            );
            let _ = v;
            t += us(mean_gap_s * (0.3 + 1.4 * r.unit()));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dicom(
        &mut self,
        d: &Device,
        me: L2L3,
        scp: &Device,
        at: i64,
        work: DicomWork,
        reject: bool,
        abort: Option<usize>,
        identity: Option<(String, String)>,
        use_tls: bool,
        r: &mut Rng,
    ) {
        let srv = scp.as_seen_by(&me);
        let called = if reject {
            "PACS_OLD".to_string()
        } else {
            scp.application.clone()
        };
        let v = d.vendor_spec();
        let assoc = DicomAssoc::new(
            d.application.clone(),
            called,
            d.modality.unwrap_or("CT"),
            work,
            reject,
            abort,
            identity,
            v.label,
            d.model,
            d.hostname.to_ascii_uppercase(),
            d.software,
            r.next_u64(),
            endpoint(me.ip, 0),
            endpoint(srv.ip, 0),
        );
        if use_tls {
            let p = self.tls_params(tls::ClientStack::OpenSsl, scp, vec![], false);
            self.tcp(
                at,
                d,
                me,
                srv,
                2762,
                Box::new(TlsWrap::new(Box::new(assoc), p)),
                // DICOM over TLS on its registered port: a DICOM flow, encrypted.
                "dicom",
                true,
            );
        } else {
            let port = if scp.kind == Kind::Pacs { 104 } else { 11112 };
            self.tcp(at, d, me, srv, port, Box::new(assoc), "dicom", false);
        }
    }

    fn glucose(&mut self, d: &Device, at: i64, r: &mut Rng) {
        let gw = self.hospital.server(Kind::Gateway);
        let me = d.v4();
        let cloud = cloud_through(gw, &me);
        let mut t = at;
        while t < self.end_us {
            let n = 1 + r.below(3) as usize;
            let pairs = (0..n)
                .map(|_| {
                    (
                        r.range(2_000, 40_000) as usize,
                        r.range(200, 800) as usize,
                        (5, 200),
                    )
                })
                .collect();
            let p = TlsParams {
                stack: tls::ClientStack::Embedded,
                sni: Some(format!(
                    "poc-{}.cloud.example",
                    d.vendor_spec()
                        .label
                        .to_ascii_lowercase()
                        .replace([' ', '.'], "")
                )),
                alpn: vec![],
                server_cn: "*.cloud.example".into(),
                server_org: "Example Cloud Services".into(),
                issuer_cn: "Example Public CA R3".into(),
                tls13: false,
            };
            self.tcp(
                t,
                d,
                me,
                cloud,
                443,
                Box::new(TlsWrap::new(
                    Box::new(Exchanges::new(pairs).with_reset(r.chance(0.3))),
                    p,
                )),
                "tls",
                true,
            );
            t += us(120.0 + r.unit() * 180.0);
        }
    }

    /// A browser's HTTP/3 connection from `d` to the cloud office suite, through the gateway: the
    /// client's Initial (its ClientHello: TLS 1.3 only, h3, the QUIC transport parameters), the
    /// server's Initial (its ServerHello), then `exchanges` of 1-RTT packets, protected bytes.
    fn quic(&mut self, d: &Device, at: i64, exchanges: usize, r: &mut Rng) {
        let gw = self.hospital.server(Kind::Gateway);
        let me = d.v4();
        let cloud = cloud_through(gw, &me);
        let port = self.port(d);
        let mut cid = || {
            let mut c = [0u8; 8];
            r.fill(&mut c);
            c
        };
        let (dcid, scid, server_cid) = (cid(), cid(), cid());
        let mut params = Vec::new();
        quic::client_transport_parameters(&mut params, &scid);
        let mut random = [0u8; 32];
        r.fill(&mut random);
        let mut record = Vec::new();
        let spec = tls::ClientHelloSpec {
            legacy_version: 0x0303,
            random,
            session_id: &[],
            cipher_suites: &[0x1301, 0x1302, 0x1303],
            sni: Some("office.cloud.example"),
            alpn: &["h3"],
            supported_groups: &[0x001d, 0x0017, 0x0018],
            signature_algorithms: &[
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            supported_versions: &[0x0304],
            grease: Some(0x4a4a),
            key_share_group: Some(0x001d),
            quic_transport_parameters: &params,
        };
        tls::client_hello(&mut record, &spec);
        // The handshake message, without TLS's record header: QUIC carries it in CRYPTO frames.
        let hello = record.split_off(5);
        let mut frames = Vec::new();
        quic::crypto_frame(&mut frames, 0, &hello);
        let mut client_initial = Vec::new();
        let mut packet = quic::Initial {
            version: quic::VERSION_1,
            client_dcid: &dcid,
            server: false,
            dcid: &dcid,
            scid: &scid,
            pn: 0,
            frames: &frames,
            pad_to: quic::CLIENT_PAYLOAD,
        };
        quic::initial(&mut client_initial, &packet);
        let mut server_hello = Vec::new();
        r.fill(&mut random);
        tls::server_hello(&mut server_hello, 0x0304, random, &[], 0x1301, None);
        let mut frames = vec![0x02, 0, 0, 0, 0];
        quic::crypto_frame(&mut frames, 0, &server_hello[5..]);
        let mut server_initial = Vec::new();
        packet.server = true;
        packet.dcid = &scid;
        packet.scid = &server_cid;
        packet.frames = &frames;
        quic::initial(&mut server_initial, &packet);
        let rtt = us(0.01 + r.unit() * 0.03);
        let mut t = at;
        let to_cloud = |ts_us: i64, payload: Vec<u8>| Datagram {
            ts_us,
            src: me,
            sport: port,
            dst_mac: gw.mac,
            dst_ip: cloud.ip,
            dport: 443,
            app: "quic",
            payload,
        };
        let to_me = |ts_us: i64, payload: Vec<u8>| Datagram {
            ts_us,
            src: cloud,
            sport: 443,
            dst_mac: d.mac,
            dst_ip: me.ip,
            dport: port,
            app: "quic",
            payload,
        };
        let mut datagrams = vec![to_cloud(t, client_initial)];
        t += rtt;
        datagrams.push(to_me(t, server_initial));
        for _ in 0..exchanges {
            t += us(0.001 + r.unit() * 0.2);
            let mut req = Vec::new();
            let n = r.range(60, 1200) as usize;
            quic::short_header(&mut req, &server_cid, n, |b| r.fill(b));
            datagrams.push(to_cloud(t, req));
            t += rtt;
            let mut resp = Vec::new();
            let n = r.range(200, 1232) as usize;
            quic::short_header(&mut resp, &scid, n, |b| r.fill(b));
            datagrams.push(to_me(t, resp));
        }
        self.udp(datagrams);
    }

    /// A Windows workstation logs on to a Windows server's share (SMB2 session setup with NTLMSSP):
    /// each side's messages carry its Windows version, the server's challenge its names, the
    /// client's authentication its workstation name.
    fn smb_logon(&mut self, d: &Device, at: i64, r: &mut Rng) {
        let Some(srv) = [Kind::DhcpDns, Kind::Ehr, Kind::Pacs]
            .into_iter()
            .map(|k| self.hospital.server(k))
            .find(|s| windows_version(s.software).is_some())
        else {
            return;
        };
        let (Some(mine), Some(theirs)) =
            (windows_version(d.software), windows_version(srv.software))
        else {
            return;
        };
        let session = r.next_u64();
        let mut challenge = [0u8; 8];
        r.fill(&mut challenge);
        let mut responses = [0u8; 48];
        r.fill(&mut responses);
        let computer = srv.hostname.to_ascii_uppercase();
        let (mut neg, mut chal, mut auth) = (Vec::new(), Vec::new(), Vec::new());
        smb::ntlm_negotiate(&mut neg, mine);
        let dns_name = format!("{}.{DOMAIN}", srv.hostname);
        smb::ntlm_challenge(
            &mut chal, theirs, "HOSPITAL", &computer, DOMAIN, &dns_name, challenge,
        );
        let workstation = d.hostname.to_ascii_uppercase();
        smb::ntlm_authenticate(
            &mut auth,
            mine,
            "HOSPITAL",
            "clinician",
            &workstation,
            responses,
        );
        let mut script = Vec::new();
        let mut m = Vec::new();
        smb::session_setup_request(&mut m, 1, 0, &neg);
        script.push((Side::Client, std::mem::take(&mut m), (1, 5)));
        smb::session_setup_response(
            &mut m,
            1,
            session,
            smb::STATUS_MORE_PROCESSING_REQUIRED,
            &chal,
        );
        script.push((Side::Server, std::mem::take(&mut m), (1, 3)));
        smb::session_setup_request(&mut m, 2, session, &auth);
        script.push((Side::Client, std::mem::take(&mut m), (1, 5)));
        smb::session_setup_response(&mut m, 2, session, smb::STATUS_SUCCESS, &[]);
        script.push((Side::Server, m, (5, 30)));
        let me = d.preferred();
        let server = srv.as_seen_by(&me);
        self.tcp(
            at,
            d,
            me,
            server,
            445,
            Box::new(Scripted::new(script)),
            "smb",
            false,
        );
    }

    fn workstation(&mut self, d: &Device, at: i64, r: &mut Rng) {
        let ehr = self.hospital.server(Kind::Ehr);
        let me = d.preferred();
        let srv = ehr.as_seen_by(&me);
        if d.vendor_spec().vendor_class == "MSFT 5.0" {
            // Windows names itself on the subnet: a NetBIOS registration, then a browser host
            // announcement (Windows 10: OS 10.0), both to the subnet's broadcast address.
            let bcast = Ip::V4([d.ip4[0], d.ip4[1], 255, 255]);
            let mut reg = Vec::new();
            let id = r.next_u32() as u16;
            netbios::registration(&mut reg, id, &d.hostname, 0x00, false, d.ip4);
            let mut ann = Vec::new();
            let id = r.next_u32() as u16;
            let announced = netbios::Announced {
                name: &d.hostname,
                workgroup: "HOSPITAL",
                version: (10, 0),
                server_type: 0x0000_1003,
                comment: "",
            };
            netbios::host_announcement(&mut ann, id, d.ip4, &announced);
            // It logs on to the domain's file server, then its browser keeps the cloud office
            // suite open, over HTTP/3.
            self.smb_logon(d, at + us(0.5 + r.unit() * 5.0), r);
            let exchanges = 2 + r.below(6) as usize;
            self.quic(d, at + us(1.0 + r.unit() * 20.0), exchanges, r);
            for (t, port, payload) in [(at, 137, reg), (at + us(0.5), 138, ann)] {
                self.udp(vec![Datagram {
                    ts_us: t,
                    src: d.v4(),
                    sport: port,
                    dst_mac: BROADCAST_MAC,
                    dst_ip: bcast,
                    dport: port,
                    app: "netbios",
                    payload,
                }]);
            }
        }
        if r.chance(0.3) {
            // Announces itself for DICOM viewers' discovery.
            let mut p = Vec::new();
            let host = format!("{}.local", d.hostname);
            dns::mdns_announce(
                &mut p,
                "_dicom._tcp",
                &d.hostname.to_ascii_uppercase(),
                &host,
                11112,
                &[&format!("model={}", d.model)],
                d.ip4,
                120,
            );
            let group = [224, 0, 0, 251];
            self.udp(vec![Datagram {
                ts_us: at,
                src: d.v4(),
                sport: 5353,
                dst_mac: multicast_mac_v4(group),
                dst_ip: Ip::V4(group),
                dport: 5353,
                app: "mdns",
                payload: p,
            }]);
        }
        let mut t = at + us(r.unit() * 30.0);
        while t < self.end_us {
            let n = 1 + r.below(6) as usize;
            let pairs = (0..n)
                .map(|_| {
                    (
                        r.range(400, 1_500) as usize,
                        r.range(2_000, 250_000) as usize,
                        (200, 8_000),
                    )
                })
                .collect();
            let p = self.tls_params(tls::ClientStack::Browser, ehr, vec!["h2", "http/1.1"], true);
            self.tcp(
                t,
                d,
                me,
                srv,
                443,
                Box::new(TlsWrap::new(Box::new(Exchanges::new(pairs)), p)),
                "tls",
                true,
            );
            t += us(30.0 + r.unit() * 150.0);
        }
    }
}
