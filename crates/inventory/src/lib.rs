//! Passive device identification: observations from traffic become devices, each field decided by
//! a rule from the evidence that supports it best.
//!
//! Callers feed [`Inventory`] three kinds of facts as they parse: which MAC an address was seen with
//! ([`Inventory::saw`]), DHCP leases ([`Inventory::lease`], and DHCPv6 ones by the MAC in the client's
//! DUID, [`Inventory::duid_lease`]) and observations about an address or a
//! MAC ([`Inventory::observe`], e.g. `dhcp.hostname`, `dicom.ae`, `http.user_agent`). [`Inventory::finish`]
//! decides identity (a device is its MAC where it is on the captured segment, else its address;
//! a MAC that carries many addresses is a router), then applies the [`rules::Rules`].

pub mod cmms;
pub mod recorder;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

pub use recorder::Recorder;
pub use rules::Rules;

/// Hash maps on the per-packet path: foldhash, not SipHash (keys are addresses, not attacker-chosen
/// strings that could be crafted to collide: foldhash is seeded per process anyway).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// An address and the source MAC it was seen with (`None`: without a MAC, or a group MAC).
type Sighting = (IpAddr, Option<[u8; 6]>);

/// Who an observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Mac([u8; 6]),
    Ip(IpAddr),
}

/// At most this many distinct values are kept per evidence field of one subject.
const MAX_VALUES_PER_FIELD: usize = 16;
/// At most this many evidence fields per subject.
const MAX_FIELDS: usize = 64;
/// Longest evidence value kept (bytes).
const MAX_VALUE_LEN: usize = 256;
/// A MAC seen with more addresses than this (beyond its DHCP leases) is a router's.
const ROUTER_MIN_ADDRESSES: usize = 4;
/// A MAC that claims at most this many addresses in ARP has them as its own (a router's interfaces,
/// a multi-homed host); one that claims more answers for others (proxy ARP), and its claims are only
/// sightings.
const MAX_OWN_CLAIMS: usize = 8;
/// Addresses, MACs and (address, MAC) pairs the inventory keeps, each kind: a million is ten times a
/// hospital group's device count; a flood of spoofed sources (a MAC flood, a spoofed-source scan)
/// stops there, and what it would have added is counted ([`Inventory::dropped`]), never stored.
pub const MAX_SUBJECTS: usize = 1 << 20;
/// At most this many DHCPv6 addresses are kept per DUID MAC (a client holds a few at a time).
const MAX_DUID_LEASES: usize = 64;
/// MACs that name one CDP device id are one chassis's only when they lie this close together: a
/// switch's port MACs come from one block of its maker's (a Catalyst's is 64 to 1,024 addresses),
/// while two switches left with the factory name `Switch` have unrelated MACs.
const CHASSIS_BLOCK: u64 = 1024;

/// One value of one evidence field of a subject.
#[derive(Debug, Clone)]
struct Seen {
    field: &'static str,
    value: String,
    first_ns: i64,
    last_ns: i64,
    count: u64,
}

#[derive(Debug, Default)]
struct SubjectFacts {
    /// Every (field, value) kept, in the order first seen, in one list (a handful a subject): an
    /// observation of a known value reads this one block, where a list of fields each with its own list
    /// of values cost a cache miss more on every observation (most of them come at a flow's end, long
    /// after the subject was last touched). At most [`MAX_FIELDS`] fields of at most
    /// [`MAX_VALUES_PER_FIELD`] values; [`Inventory::finish`] sorts them by field.
    seen: Vec<Seen>,
    /// Distinct fields in `seen`.
    fields: usize,
    first_ns: i64,
    last_ns: i64,
}

impl SubjectFacts {
    /// The entry of `value` of `field`, if kept.
    fn find_mut(&mut self, field: &'static str, value: &str) -> Option<&mut Seen> {
        // Field names are literals: the same name nearly always has the same address. A value's length
        // is compared before its bytes.
        let i = match self
            .seen
            .iter()
            .position(|s| std::ptr::eq(s.field, field) && s.value == value)
        {
            Some(i) => i,
            None => self
                .seen
                .iter()
                .position(|s| s.field == field && s.value == value)?,
        };
        Some(&mut self.seen[i])
    }

    /// Keeps a value not kept yet, unless its field, or the subject, is full.
    fn add(&mut self, seen: Seen) {
        let values = self.seen.iter().filter(|s| s.field == seen.field).count();
        if values == 0 {
            if self.fields >= MAX_FIELDS {
                return;
            }
            self.fields += 1;
        } else if values >= MAX_VALUES_PER_FIELD {
            return;
        }
        self.seen.push(seen);
    }

    fn touch(&mut self, ts: i64) {
        if self.first_ns == 0 || ts < self.first_ns {
            self.first_ns = ts;
        }
        self.last_ns = self.last_ns.max(ts);
    }
}

/// Everything learnt from a capture, before identity is decided.
#[derive(Debug)]
pub struct Inventory {
    /// At most this many entries in each map below ([`MAX_SUBJECTS`] unless a test says less).
    limit: usize,
    /// New subjects, sightings and leases not kept because their map was full.
    dropped: u64,
    facts: FastMap<Subject, SubjectFacts>,
    /// Each (address, source MAC) pair seen, with its first and last time: one look-up per flow end
    /// (two a flow), expanded into the maps below by [`Inventory::finish`].
    sightings: FastMap<Sighting, (i64, i64)>,
    /// Addresses each MAC carried (as source), and the MACs each address came from.
    mac_ips: FastMap<[u8; 6], BTreeSet<IpAddr>>,
    ip_macs: FastMap<IpAddr, BTreeSet<[u8; 6]>>,
    leases: FastMap<[u8; 6], BTreeSet<IpAddr>>,
    /// The latest lease of each address, (time, MAC): an address given to one device, then to
    /// another, belongs to the second.
    latest_lease: FastMap<IpAddr, (i64, [u8; 6])>,
    /// DHCPv6 addresses by the MAC in the client's DUID, checked against the frames in `finish`.
    /// The time is the first reply's, for the device's first and last seen.
    duid_leases: FastMap<[u8; 6], BTreeMap<IpAddr, i64>>,
    /// Addresses each MAC said in ARP it has (one more than [`MAX_OWN_CLAIMS`] at most: enough to
    /// know it claimed too many).
    claims: FastMap<[u8; 6], BTreeSet<IpAddr>>,
    /// What each MAC said, in LLDP or CDP, of the chassis it belongs to.
    chassis: FastMap<[u8; 6], PortOf>,
}

/// The chassis a MAC speaks for (see [`Inventory::chassis`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chassis<'a> {
    /// LLDP's chassis id when it is a MAC (subtype 4): the device's base MAC.
    Mac([u8; 6]),
    /// CDP's device id: the device's name, which only MACs of one block share (see
    /// [`CHASSIS_BLOCK`]).
    Name(&'a str),
}

/// What a MAC said of its chassis: the latest of each kind, and whether it routes.
#[derive(Debug, Clone, Default)]
struct PortOf {
    mac: Option<[u8; 6]>,
    name: Option<String>,
    router: bool,
}

/// A decided field: its value, how sure, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub value: String,
    pub confidence: f32,
    pub rule: String,
    pub reason: String,
    /// The evidence that decided it.
    pub evidence_field: &'static str,
    pub evidence_value: String,
}

#[derive(Debug, Clone)]
pub struct Evidence {
    pub field: &'static str,
    pub value: String,
    pub first_ns: i64,
    pub last_ns: i64,
    pub count: u64,
}

#[derive(Debug, Clone)]
pub struct Device {
    /// `mac-0011223344ff` for a device on the segment, `ip-10.1.2.3` for one behind a router.
    pub id: String,
    pub mac: Option<[u8; 6]>,
    pub ips: Vec<IpAddr>,
    pub first_ns: i64,
    pub last_ns: i64,
    /// Decided fields (vendor, model, software, hostname, category, role, modality, criticality).
    pub fields: BTreeMap<&'static str, Attribute>,
    pub evidence: Vec<Evidence>,
}

impl Device {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(|a| a.value.as_str())
    }

    pub fn category(&self) -> &str {
        self.get("category").unwrap_or("unknown")
    }
}

/// Addresses that name no single device: unspecified, broadcast, multicast.
fn is_host(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

/// Addresses of the hospital's own networks (RFC 1918, unique local, link local): a device behind a
/// router is listed by its address only when it is one of these; public peers are not devices of ours.
fn is_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_private() || a.is_link_local(),
        IpAddr::V6(a) => {
            (a.segments()[0] & 0xfe00) == 0xfc00 || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn unicast(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && mac != &[0; 6]
}

pub fn mac_string(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

impl Default for Inventory {
    fn default() -> Inventory {
        Inventory::new()
    }
}

impl Inventory {
    pub fn new() -> Inventory {
        Inventory::with_limit(MAX_SUBJECTS)
    }

    /// An inventory that keeps at most `limit` entries of each kind.
    pub fn with_limit(limit: usize) -> Inventory {
        Inventory {
            limit,
            dropped: 0,
            facts: FastMap::default(),
            sightings: FastMap::default(),
            mac_ips: FastMap::default(),
            ip_macs: FastMap::default(),
            leases: FastMap::default(),
            latest_lease: FastMap::default(),
            duid_leases: FastMap::default(),
            claims: FastMap::default(),
            chassis: FastMap::default(),
        }
    }

    /// New subjects, sightings and leases left out because the inventory held [`MAX_SUBJECTS`] of
    /// their kind.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether `map` may take `key`: it has it, or room for it (else the call is counted as dropped).
    fn room<K: std::hash::Hash + Eq, V>(
        &mut self,
        map: impl Fn(&Self) -> &FastMap<K, V>,
        key: &K,
    ) -> bool {
        let m = map(self);
        if m.len() < self.limit || m.contains_key(key) {
            return true;
        }
        self.dropped += 1;
        false
    }

    /// A frame from `ip` carried `mac` as its source (or `None` on links without MACs).
    pub fn saw(&mut self, ts_ns: i64, ip: IpAddr, mac: Option<[u8; 6]>) {
        let key = (ip, mac.filter(unicast));
        if !self.room(|i| &i.sightings, &key) {
            return;
        }
        let (first, last) = self.sightings.entry(key).or_insert((ts_ns, ts_ns));
        *first = (*first).min(ts_ns);
        *last = (*last).max(ts_ns);
    }

    /// The sightings into addresses per MAC, MACs per address and times per subject, in the order
    /// they were first seen (the caps keep the earliest).
    fn expand_sightings(&mut self) {
        let mut pairs: Vec<_> = std::mem::take(&mut self.sightings).into_iter().collect();
        pairs.sort_unstable_by_key(|&((ip, mac), (first, last))| (first, last, ip, mac));
        for ((ip, mac), (first, last)) in pairs {
            self.expand_sighting(first, ip, mac);
            if last != first {
                self.expand_sighting(last, ip, mac);
            }
        }
    }

    fn expand_sighting(&mut self, ts_ns: i64, ip: IpAddr, mac: Option<[u8; 6]>) {
        if !is_host(&ip) {
            if let Some(m) = mac.filter(unicast) {
                self.facts.entry(Subject::Mac(m)).or_default().touch(ts_ns);
            }
            return;
        }
        match mac.filter(unicast) {
            Some(m) => {
                let ips = self.mac_ips.entry(m).or_default();
                if ips.len() < 4096 {
                    ips.insert(ip);
                }
                let macs = self.ip_macs.entry(ip).or_default();
                if macs.len() < 64 {
                    macs.insert(m);
                }
                self.facts.entry(Subject::Mac(m)).or_default().touch(ts_ns);
            }
            None => {
                self.ip_macs.entry(ip).or_default();
            }
        }
        self.facts.entry(Subject::Ip(ip)).or_default().touch(ts_ns);
    }

    /// A DHCP server gave `ip` to `mac`: the address is the device's even if a router also shows it.
    pub fn lease(&mut self, ts_ns: i64, mac: [u8; 6], ip: IpAddr) {
        if unicast(&mac)
            && is_host(&ip)
            && self.room(|i| &i.leases, &mac)
            && self.room(|i| &i.latest_lease, &ip)
        {
            self.leases.entry(mac).or_default().insert(ip);
            note_lease(&mut self.latest_lease, ts_ns, mac, ip);
            self.facts
                .entry(Subject::Mac(mac))
                .or_default()
                .touch(ts_ns);
        }
    }

    /// A DHCPv6 server gave `ip` to the client whose DUID embeds `mac`. A DUID-LLT keeps for life the
    /// MAC it was made from, which may belong to another interface of the device or to the machine a
    /// virtual machine was cloned from; so [`Inventory::finish`] gives the address to `mac` only when
    /// that MAC is otherwise known (it sent frames, or evidence names it, as a relayed client's
    /// DUID does) and no other device on the segment sent from the address.
    pub fn duid_lease(&mut self, ts_ns: i64, mac: [u8; 6], ip: IpAddr) {
        if !unicast(&mac) || !is_host(&ip) {
            return;
        }
        if !self.room(|i| &i.duid_leases, &mac) {
            return;
        }
        let ips = self.duid_leases.entry(mac).or_default();
        if ips.len() < MAX_DUID_LEASES {
            ips.entry(ip).or_insert(ts_ns);
        }
    }

    /// In ARP, `mac` said it has `ip` (a request's or reply's sender, an announcement), in a frame
    /// sent from `mac` itself; or gave it as its management address in LLDP or CDP. Also a sighting; and, unless `mac` claims many addresses (proxy ARP),
    /// the address is its own even if it routes for others: a router's interface address is the
    /// router's, not a device of its own.
    pub fn claim(&mut self, ts_ns: i64, mac: [u8; 6], ip: IpAddr) {
        self.saw(ts_ns, ip, Some(mac));
        if unicast(&mac) && is_host(&ip) && self.room(|i| &i.claims, &mac) {
            let ips = self.claims.entry(mac).or_default();
            if ips.len() <= MAX_OWN_CLAIMS {
                ips.insert(ip);
            }
        }
    }

    /// In LLDP or CDP, `port` said it belongs to `chassis`. A switch sends these from each port's
    /// own MAC, so that a capture of many ports would show one device per port: [`Inventory::finish`]
    /// makes the MACs of one chassis one device, keyed by the chassis MAC when LLDP gives it (the same
    /// device whichever ports a capture sees), else by the lowest of the MACs. Like any frame's
    /// source, a chassis id can be forged; what a forger gains is to have its evidence listed under
    /// another device.
    pub fn chassis(&mut self, port: [u8; 6], chassis: Chassis<'_>) {
        let said = match chassis {
            Chassis::Mac(m) => PortOf {
                mac: Some(m).filter(unicast),
                ..PortOf::default()
            },
            Chassis::Name(n) => PortOf {
                name: Some(truncate(trim(n), MAX_VALUE_LEN))
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
                ..PortOf::default()
            },
        };
        if !unicast(&port)
            || (said.mac.is_none() && said.name.is_none())
            || !self.room(|i| &i.chassis, &port)
        {
            return;
        }
        let of = self.chassis.entry(port).or_default();
        of.mac = said.mac.or(of.mac);
        of.name = said.name.or(of.name.take());
    }

    /// `port` said it routes: the router capability enabled in LLDP or CDP, an IPv6 router
    /// advertisement, a neighbour advertisement's router flag. Its chassis is a router however few
    /// addresses a capture shows it carry, and only the addresses it claims (ARP, Neighbor
    /// Discovery, its management addresses) or leases are its own.
    pub fn router(&mut self, port: [u8; 6]) {
        if unicast(&port) && self.room(|i| &i.chassis, &port) {
            self.chassis.entry(port).or_default().router = true;
        }
    }

    /// Evidence about a subject: `field` names its kind (`dhcp.hostname`, `dicom.ae`, ...).
    pub fn observe(&mut self, ts_ns: i64, subject: Subject, field: &'static str, value: &str) {
        let value = trim(value);
        if value.is_empty() {
            return;
        }
        if let Subject::Ip(ip) = subject
            && !is_host(&ip)
        {
            return;
        }
        if !self.room(|i| &i.facts, &subject) {
            return;
        }
        let facts = self.facts.entry(subject).or_default();
        facts.touch(ts_ns);
        let value = truncate(value, MAX_VALUE_LEN);
        match facts.find_mut(field, value) {
            Some(s) => {
                s.count += 1;
                s.first_ns = s.first_ns.min(ts_ns);
                s.last_ns = s.last_ns.max(ts_ns);
            }
            None => facts.add(Seen {
                field,
                value: value.to_string(),
                first_ns: ts_ns,
                last_ns: ts_ns,
                count: 1,
            }),
        }
    }

    /// Decides identity and fields, on this thread.
    pub fn finish(self, rules: &Rules) -> Vec<Device> {
        self.finish_with(rules, 1, |_| ())
            .into_iter()
            .map(|(d, ())| d)
            .collect()
    }

    /// [`Inventory::finish`], with `row` made of each device on the thread that decided it: with many
    /// devices and `threads` of 2 or more, half are decided on a second thread (each device is decided
    /// on its own facts). The devices come in the same order as from `finish`.
    pub fn finish_with<U: Send>(
        mut self,
        rules: &Rules,
        threads: usize,
        row: impl Fn(&Device) -> U + Sync,
    ) -> Vec<(Device, U)> {
        self.expand_sightings();
        let Inventory {
            limit: _,
            dropped: _,
            mut facts,
            sightings: _,
            mac_ips,
            ip_macs,
            mut leases,
            mut latest_lease,
            duid_leases,
            mut claims,
            chassis,
        } = self;
        // Which MACs are one chassis's ports (LLDP, CDP): what a port claimed, its chassis claimed.
        let ports = chassis_of(&chassis, &mac_ips);
        for (port, rep) in &ports {
            if let Some(ips) = claims.remove(port) {
                claims.entry(*rep).or_default().extend(ips);
            }
        }
        // What a MAC claimed in ARP, LLDP or CDP is its own, unless it claimed too much to be one
        // host's.
        claims.retain(|_, ips| ips.len() <= MAX_OWN_CLAIMS);
        // Routers: one MAC for many addresses that are not its own (leases, ARP claims); and a
        // chassis that says it routes.
        let mut routers: BTreeSet<[u8; 6]> = mac_ips
            .iter()
            .filter(|(m, ips)| {
                let foreign = ips.iter().filter(|ip| !is_own(&leases, &claims, m, ip));
                foreign.count() > ROUTER_MIN_ADDRESSES
            })
            .map(|(m, _)| *m)
            .collect();
        for (port, of) in &chassis {
            if of.router {
                routers.insert(*ports.get(port).unwrap_or(port));
            }
        }
        // DHCPv6 leases that hold up against the frames join the DHCP ones.
        for (m, ips) in duid_leases {
            if !mac_ips.contains_key(&m) && !facts.contains_key(&Subject::Mac(m)) {
                continue;
            }
            for (ip, ts) in ips {
                let used_by_another = ip_macs
                    .get(&ip)
                    .is_some_and(|macs| macs.iter().any(|x| *x != m && !routers.contains(x)));
                if !used_by_another {
                    leases.entry(m).or_default().insert(ip);
                    note_lease(&mut latest_lease, ts, m, ip);
                    facts.entry(Subject::Mac(m)).or_default().touch(ts);
                }
            }
        }
        // Which device owns each address: the MAC that leased it last, else the one non-router MAC it
        // came from.
        let mut owner: HashMap<IpAddr, Subject> = latest_lease
            .iter()
            .map(|(ip, (_, m))| (*ip, Subject::Mac(*m)))
            .collect();
        for (ip, macs) in &ip_macs {
            if owner.contains_key(ip) {
                continue;
            }
            // The one MAC that claimed it in ARP, router or not (two claimants: a conflict or a
            // spoof, decided below as for any address several MACs sent from).
            let claimants: Vec<&[u8; 6]> = macs
                .iter()
                .filter(|m| claims.get(*m).is_some_and(|c| c.contains(ip)))
                .collect();
            if let [m] = claimants.as_slice() {
                owner.insert(*ip, Subject::Mac(**m));
                continue;
            }
            let own: Vec<&[u8; 6]> = macs.iter().filter(|m| !routers.contains(*m)).collect();
            match own.as_slice() {
                [m] => {
                    owner.insert(*ip, Subject::Mac(**m));
                }
                [] if is_local(ip) => {
                    owner.insert(*ip, Subject::Ip(*ip));
                }
                // Several MACs for one address (a failover pair, a spoof): each MAC is its own device;
                // address-level evidence goes to the first.
                [m, ..] => {
                    owner.insert(*ip, Subject::Mac(**m));
                }
                [] => {}
            }
        }
        // Gather each device's facts.
        let mut devices: BTreeMap<Subject, (BTreeSet<IpAddr>, SubjectFacts)> = BTreeMap::new();
        for m in mac_ips.keys().chain(leases.keys()) {
            devices.entry(Subject::Mac(*m)).or_default();
        }
        for (ip, o) in &owner {
            devices.entry(*o).or_default().0.insert(*ip);
        }
        // In a fixed order: a device's values of one field come from several subjects (a router's
        // addresses), and their order is the report's.
        let mut subjects: Vec<Subject> = facts.keys().copied().collect();
        subjects.sort_unstable();
        for s in subjects {
            let target = match s {
                Subject::Mac(m) if unicast(&m) => Some(Subject::Mac(m)),
                Subject::Mac(_) => None,
                Subject::Ip(ip) => owner.get(&ip).copied(),
            };
            let Some(t) = target else { continue };
            let f = facts.remove(&s).unwrap_or_default();
            let entry = devices.entry(t).or_default();
            merge(&mut entry.1, f);
        }
        // A chassis's port MACs into the chassis's device.
        for (port, rep) in ports {
            let Some((ips, f)) = devices.remove(&Subject::Mac(port)) else {
                continue;
            };
            let entry = devices.entry(Subject::Mac(rep)).or_default();
            entry.0.extend(ips);
            let (first, last) = (f.first_ns, f.last_ns);
            merge(&mut entry.1, f);
            entry.1.add(Seen {
                field: "l2.port_mac",
                value: mac_string(&port),
                first_ns: first,
                last_ns: last,
                count: 1,
            });
        }
        let ctx = DeviceContext {
            rules,
            by_field: rules.by_field(),
            routers: &routers,
            mac_ips: &mac_ips,
            leases: &leases,
            claims: &claims,
        };
        let mut devices: Vec<Undecided> = devices.into_iter().collect();
        let decide_all = |part: Vec<Undecided>| {
            part.into_iter()
                .map(|(subject, (ips, f))| {
                    let d = ctx.device(subject, ips, f);
                    let r = row(&d);
                    (d, r)
                })
                .collect::<Vec<_>>()
        };
        if devices.len() < PARALLEL_DEVICES || threads < 2 {
            return decide_all(devices);
        }
        // Each device is decided on its own: the second half on a second thread, then in order.
        let second = devices.split_off(devices.len() / 2);
        std::thread::scope(|scope| {
            let helper = scope.spawn(|| decide_all(second));
            let mut out = decide_all(devices);
            match helper.join() {
                Ok(rest) => out.extend(rest),
                Err(panic) => std::panic::resume_unwind(panic),
            }
            out
        })
    }
}

/// Each MAC that belongs to another's chassis, with that MAC (the device it joins). MACs are linked
/// to the chassis MAC LLDP names, and to each other when they give the same CDP device id from one
/// block of [`CHASSIS_BLOCK`] addresses; a linked group joins the chassis MAC one of them named, else
/// the lowest of its MACs that sent from an address, else its lowest MAC.
fn chassis_of(
    chassis: &FastMap<[u8; 6], PortOf>,
    mac_ips: &FastMap<[u8; 6], BTreeSet<IpAddr>>,
) -> BTreeMap<[u8; 6], [u8; 6]> {
    // Union-find over the MACs involved, in a fixed order.
    let mut macs: BTreeSet<[u8; 6]> = BTreeSet::new();
    for (port, of) in chassis {
        macs.insert(*port);
        macs.extend(of.mac);
    }
    let index: HashMap<[u8; 6], usize> = macs.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let macs: Vec<[u8; 6]> = macs.into_iter().collect();
    let mut parent: Vec<usize> = (0..macs.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let join = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (root(parent, a), root(parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    };
    let mut named: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (port, of) in chassis {
        let p = index[port];
        if let Some(m) = of.mac {
            join(&mut parent, p, index[&m]);
        }
        if let Some(n) = &of.name {
            named.entry(n).or_default().push(p);
        }
    }
    let as_u64 = |m: &[u8; 6]| m.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
    for ports in named.values_mut() {
        ports.sort_unstable();
        // Sorted by MAC: a block is a run of neighbours each close to the one before.
        for w in ports.windows(2) {
            if as_u64(&macs[w[1]]) - as_u64(&macs[w[0]]) < CHASSIS_BLOCK {
                join(&mut parent, w[0], w[1]);
            }
        }
    }
    // Each group's device: a chassis MAC LLDP named, else a MAC that sent from an address, else the
    // lowest (groups are visited from their lowest MAC up).
    let named_chassis: BTreeSet<[u8; 6]> = chassis.values().filter_map(|of| of.mac).collect();
    let mut rep: HashMap<usize, [u8; 6]> = HashMap::new();
    for (i, m) in macs.iter().enumerate() {
        let r = root(&mut parent, i);
        let rank = |m: &[u8; 6]| (!named_chassis.contains(m), !mac_ips.contains_key(m));
        rep.entry(r)
            .and_modify(|best| {
                if rank(m) < rank(best) {
                    *best = *m;
                }
            })
            .or_insert(*m);
    }
    let mut out = BTreeMap::new();
    for (i, m) in macs.iter().enumerate() {
        let r = rep[&root(&mut parent, i)];
        if r != *m {
            out.insert(*m, r);
        }
    }
    out
}

/// A device before it is decided: its subject, addresses and merged facts.
type Undecided = (Subject, (BTreeSet<IpAddr>, SubjectFacts));

/// Devices below which [`Inventory::finish_with`] decides on one thread: a thread costs more than
/// deciding a few dozen devices.
const PARALLEL_DEVICES: usize = 256;

/// What deciding one device reads besides its own facts.
struct DeviceContext<'a> {
    rules: &'a Rules,
    by_field: HashMap<&'a str, Vec<usize>>,
    routers: &'a BTreeSet<[u8; 6]>,
    mac_ips: &'a FastMap<[u8; 6], BTreeSet<IpAddr>>,
    leases: &'a FastMap<[u8; 6], BTreeSet<IpAddr>>,
    /// ARP claims of at most [`MAX_OWN_CLAIMS`] addresses.
    claims: &'a FastMap<[u8; 6], BTreeSet<IpAddr>>,
}

impl DeviceContext<'_> {
    /// The device `subject` with its addresses and merged facts: its id, its evidence (with the MAC's
    /// vendor and, for a router, how many addresses it carried) and its decided fields.
    fn device(&self, subject: Subject, ips: BTreeSet<IpAddr>, mut f: SubjectFacts) -> Device {
        let (id, mac) = match subject {
            Subject::Mac(m) => (format!("mac-{}", mac_string(&m).replace(':', "")), Some(m)),
            Subject::Ip(ip) => (format!("ip-{ip}"), None),
        };
        let router = mac.is_some_and(|m| self.routers.contains(&m));
        if let Some(m) = mac {
            let t0 = f.first_ns;
            if let Some(name) = oui_vendor(&m) {
                add_fact(&mut f, "mac.vendor", &name, t0);
            }
            // A router that carried many addresses (not one that only says it routes).
            let n = self.mac_ips.get(&m).map_or(0, |s| s.len());
            if router && n > ROUTER_MIN_ADDRESSES {
                add_fact(&mut f, "l2.router", &format!("{n} addresses"), t0);
            }
        }
        let ips: Vec<IpAddr> = match mac {
            // The addresses a router carries are other devices'; it keeps only its own (leases,
            // ARP claims).
            Some(m) if router => {
                let own = [self.leases.get(&m), self.claims.get(&m)];
                let own: BTreeSet<IpAddr> = own.into_iter().flatten().flatten().copied().collect();
                own.into_iter().collect()
            }
            _ => ips.into_iter().collect(),
        };
        // By field; a field's values stay in the order first seen (the sort is stable).
        f.seen.sort_by_key(|s| s.field);
        let evidence: Vec<Evidence> = f
            .seen
            .into_iter()
            .map(|s| Evidence {
                field: s.field,
                value: s.value,
                first_ns: s.first_ns,
                last_ns: s.last_ns,
                count: s.count,
            })
            .collect();
        let fields = decide(&evidence, self.rules, &self.by_field);
        Device {
            id,
            mac,
            ips,
            first_ns: f.first_ns,
            last_ns: f.last_ns,
            fields,
            evidence,
        }
    }
}

/// Whether `ip` is `mac`'s own: leased to it, or claimed by it in ARP.
fn is_own(
    leases: &FastMap<[u8; 6], BTreeSet<IpAddr>>,
    claims: &FastMap<[u8; 6], BTreeSet<IpAddr>>,
    mac: &[u8; 6],
    ip: &IpAddr,
) -> bool {
    leases.get(mac).is_some_and(|l| l.contains(ip))
        || claims.get(mac).is_some_and(|c| c.contains(ip))
}

/// Records a lease of `ip` to `mac` at `ts` if it is the latest (on a tie, the greater MAC, so that
/// the order leases arrive in does not matter).
fn note_lease(latest: &mut FastMap<IpAddr, (i64, [u8; 6])>, ts: i64, mac: [u8; 6], ip: IpAddr) {
    let e = latest.entry(ip).or_insert((ts, mac));
    *e = (*e).max((ts, mac));
}

/// `s.trim()`, without decoding characters when both ends are ASCII that is not white space (nearly
/// every value): a multi-byte white space character starts and ends with bytes of 0x80 and above.
fn trim(s: &str) -> &str {
    let plain_end = |b: Option<&u8>| b.is_some_and(|&b| b < 0x80 && !char::from(b).is_whitespace());
    let b = s.as_bytes();
    if plain_end(b.first()) && plain_end(b.last()) {
        s
    } else {
        s.trim()
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Adds a value the subject cannot have yet (the MAC's vendor, a router's address count), past the
/// caps.
fn add_fact(f: &mut SubjectFacts, field: &'static str, value: &str, ts: i64) {
    if !f.seen.iter().any(|s| s.field == field) {
        f.fields += 1;
    }
    f.seen.push(Seen {
        field,
        value: value.to_string(),
        first_ns: ts,
        last_ns: ts,
        count: 1,
    });
}

fn merge(into: &mut SubjectFacts, from: SubjectFacts) {
    if from.first_ns != 0 {
        into.touch(from.first_ns);
        into.touch(from.last_ns);
    }
    for s in from.seen {
        match into.find_mut(s.field, &s.value) {
            Some(d) => {
                d.count += s.count;
                d.first_ns = d.first_ns.min(s.first_ns);
                d.last_ns = d.last_ns.max(s.last_ns);
            }
            None => into.add(s),
        }
    }
}

/// The registered organisation of a MAC's prefix (MA-L, MA-M or MA-S), unless the address is
/// locally administered (randomised or virtual).
pub fn oui_vendor(mac: &[u8; 6]) -> Option<String> {
    if mac[0] & 0x02 != 0 {
        return None;
    }
    macaddr_ouidb::oui_db()
        .lookup(mac)
        .map(|e| e.name().to_string())
}

/// Applies the rules to one device's evidence: for each field, the best-supported value. `by_field`
/// is [`Rules::by_field`]: only the rules that read a piece of evidence's field are tried on it.
fn decide(
    evidence: &[Evidence],
    rules: &Rules,
    by_field: &HashMap<&str, Vec<usize>>,
) -> BTreeMap<&'static str, Attribute> {
    // (rule, evidence) pairs that match, applied in rule order and, within a rule, in evidence
    // order: a later pair of equal confidence wins, so that the user's rules override ours.
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for (j, e) in evidence.iter().enumerate() {
        for &i in by_field.get(e.field).map_or(&[][..], Vec::as_slice) {
            if rules.rules[i].matches(&e.value) {
                hits.push((i, j));
            }
        }
    }
    hits.sort_unstable();
    // The winner of each field first (the last candidate at least as sure as the one before it, as
    // if each replaced the last), then one attribute per field: a device's rules often set the same
    // field several times over, and only the winners' text is needed.
    let mut winners: Vec<(&'static str, f32, usize, usize, &str)> = Vec::new();
    for (i, j) in hits {
        let rule = &rules.rules[i];
        for (k, v) in &rule.set {
            let Some(field) = rules::FIELDS.iter().find(|f| **f == k.as_str()) else {
                continue;
            };
            let candidate = (*field, rule.confidence, i, j, v.as_str());
            match winners.iter_mut().find(|w| w.0 == *field) {
                // Later rules win ties: the user's rules come after the shipped ones.
                Some(w) if w.1 > rule.confidence => {}
                Some(w) => *w = candidate,
                None => winners.push(candidate),
            }
        }
    }
    let mut out: BTreeMap<&'static str, Attribute> = winners
        .into_iter()
        .map(|(field, confidence, i, j, template)| {
            let (rule, e) = (&rules.rules[i], &evidence[j]);
            let label = e.value.split('.').next().unwrap_or(&e.value);
            let value = template
                .replace("$value", &e.value)
                .replace("$label", label);
            let attribute = Attribute {
                value,
                confidence,
                rule: rule.id.clone(),
                reason: rule.reason.clone(),
                evidence_field: e.field,
                evidence_value: e.value.clone(),
            };
            (field, attribute)
        })
        .collect();
    if !out.contains_key("criticality") {
        let category = out.get("category").map_or("unknown", |a| a.value.as_str());
        let (confidence, evidence_value) = out
            .get("category")
            .map_or((0.0, String::new()), |a| (a.confidence, a.value.clone()));
        out.insert(
            "criticality",
            Attribute {
                value: rules::default_criticality(category).to_string(),
                confidence,
                rule: "default-criticality".into(),
                reason: "the default criticality of its category".into(),
                evidence_field: "category",
                evidence_value,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const PUMP: [u8; 6] = [0x58, 0x46, 0xe1, 1, 2, 3];
    const ROUTER: [u8; 6] = [0xe8, 0x0a, 0xb9, 9, 9, 9];

    /// A device's evidence comes out by field, each field's values in the order first seen, each with
    /// its count and first and last times summed over the device's MAC and address; a field name at
    /// another address is the same field; at most `MAX_FIELDS` fields are kept.
    #[test]
    fn evidence_is_by_field_then_first_seen_with_counts_and_caps() {
        let mut inv = Inventory::new();
        let addr = ip("10.0.0.5");
        inv.saw(1, addr, Some(PUMP));
        let obs = [
            (5, Subject::Ip(addr), "http.server", "b"),
            (3, Subject::Mac(PUMP), "dhcp.hostname", "pump-1"),
            (4, Subject::Ip(addr), "http.server", "a"),
            (9, Subject::Mac(PUMP), "http.server", "b"),
            (2, Subject::Ip(addr), "dhcp.hostname", "pump-1"),
            (7, Subject::Ip(addr), "http.server", "b"),
        ];
        for (ts, s, field, value) in obs {
            inv.observe(ts, s, field, value);
        }
        // The same name built at run time: not the literal's address.
        let name: &'static str = String::from("http.server").leak();
        inv.observe(8, Subject::Mac(PUMP), name, "a");
        for i in 0..MAX_FIELDS + 5 {
            let field: &'static str = format!("x.f{i:03}").leak();
            inv.observe(10, Subject::Mac(PUMP), field, "v");
        }
        let d = &inv.finish(&Rules::default())[0];
        let got: Vec<(&str, &str, i64, i64, u64)> = d
            .evidence
            .iter()
            .filter(|e| !e.field.starts_with("x.") && e.field != "mac.vendor")
            .map(|e| (e.field, e.value.as_str(), e.first_ns, e.last_ns, e.count))
            .collect();
        assert_eq!(
            got,
            [
                ("dhcp.hostname", "pump-1", 2, 3, 2),
                // The MAC's own values first (its facts are merged with its address's after).
                ("http.server", "b", 5, 9, 3),
                ("http.server", "a", 4, 8, 2),
            ]
        );
        // dhcp.hostname, http.server and x.f000 ... up to the cap; the vendor comes on top.
        let fields: BTreeSet<&str> = d.evidence.iter().map(|e| e.field).collect();
        assert_eq!(fields.len(), MAX_FIELDS + 1, "{fields:?}");
        assert!(fields.contains("mac.vendor"));
    }

    /// A switch's ports each send LLDP from their own MAC, naming the base MAC as chassis: one device,
    /// keyed by the chassis MAC (never a frame's source itself), with each port MAC as evidence and
    /// every port's facts; a port that also sent from an address brings the address along.
    #[test]
    fn the_ports_of_one_chassis_are_one_device() {
        let base = [0x00, 0x1f, 0x11, 0, 0, 0x80];
        let ports = [1u8, 2, 3].map(|p| [0x00, 0x1f, 0x11, 0, 0, 0x80 + p]);
        let mut inv = Inventory::new();
        for (i, p) in ports.iter().enumerate() {
            let ts = 10 + i as i64;
            inv.saw(ts, Ipv4Addr::UNSPECIFIED.into(), Some(*p));
            inv.chassis(*p, Chassis::Mac(base));
            inv.observe(ts, Subject::Mac(*p), "lldp.system_name", "icu-sw-3");
            inv.observe(ts, Subject::Mac(*p), "lldp.port_id", &format!("Gi0/{i}"));
        }
        inv.saw(20, ip("10.3.0.2"), Some(ports[2]));
        let devices = inv.finish(&Rules::default());
        assert_eq!(devices.len(), 1, "{devices:#?}");
        let d = &devices[0];
        assert_eq!((d.id.as_str(), d.mac), ("mac-001f11000080", Some(base)));
        assert_eq!(d.ips, [ip("10.3.0.2")]);
        assert_eq!((d.first_ns, d.last_ns), (10, 20));
        let values = |field: &str| -> Vec<(&str, u64)> {
            d.evidence
                .iter()
                .filter(|e| e.field == field)
                .map(|e| (e.value.as_str(), e.count))
                .collect()
        };
        assert_eq!(values("lldp.system_name"), [("icu-sw-3", 3)]);
        assert_eq!(values("lldp.port_id").len(), 3);
        assert_eq!(
            values("l2.port_mac"),
            [
                ("00:1f:11:00:00:81", 1),
                ("00:1f:11:00:00:82", 1),
                ("00:1f:11:00:00:83", 1)
            ]
        );
    }

    /// A chassis that says it routes is a router however few addresses it carries: only what it
    /// claimed (a port's LLDP management address) is its own; a device behind it is its own address,
    /// a public peer nobody.
    #[test]
    fn a_chassis_that_says_it_routes_keeps_only_its_own_addresses() {
        let base = [0x00, 0x1f, 0x11, 0, 0, 0x80];
        let port = [0x00, 0x1f, 0x11, 0, 0, 0x81];
        let mut inv = Inventory::new();
        inv.chassis(port, Chassis::Mac(base));
        inv.router(port);
        inv.claim(1, port, ip("10.20.0.1"));
        for a in ["10.20.0.1", "10.30.0.7", "203.0.113.50"] {
            inv.saw(2, ip(a), Some(base));
        }
        let devices = inv.finish(&Rules::default());
        let got: Vec<(&str, Vec<IpAddr>)> = devices
            .iter()
            .map(|d| (d.id.as_str(), d.ips.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("mac-001f11000080", vec![ip("10.20.0.1")]),
                ("ip-10.30.0.7", vec![ip("10.30.0.7")]),
            ]
        );
        // It did not carry many addresses: no such evidence.
        assert!(devices[0].evidence.iter().all(|e| e.field != "l2.router"));
    }

    /// CDP names no chassis MAC: MACs of one block that give one device id are one device, the one of
    /// them that sent from an address; the same factory name from unrelated MACs is two devices.
    #[test]
    fn one_cdp_device_id_is_one_device_only_within_a_mac_block() {
        let sw = |last: u16| [0x00, 0x1f, 0x11, 0, (last >> 8) as u8, last as u8];
        let mut inv = Inventory::new();
        for m in [sw(0x102), sw(0x101), sw(0x104)] {
            inv.saw(1, Ipv4Addr::UNSPECIFIED.into(), Some(m));
            inv.chassis(m, Chassis::Name("core-sw.hospital.example"));
        }
        inv.saw(2, ip("10.0.0.1"), Some(sw(0x104)));
        // Two unconfigured switches far apart, and a name that is only white space.
        let other = [0x00, 0x40, 0x96, 0x10, 0, 1];
        for m in [sw(0x900), other] {
            inv.saw(1, Ipv4Addr::UNSPECIFIED.into(), Some(m));
            inv.chassis(m, Chassis::Name("Switch"));
        }
        inv.chassis(sw(0xa00), Chassis::Name("  "));
        inv.chassis([0x01, 0, 0x0c, 0xcc, 0xcc, 0xcc], Chassis::Name("Switch"));
        let devices = inv.finish(&Rules::default());
        let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(
            ids,
            ["mac-001f11000104", "mac-001f11000900", "mac-004096100001"]
        );
        let ports: Vec<&str> = devices[0]
            .evidence
            .iter()
            .filter(|e| e.field == "l2.port_mac")
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(ports, ["00:1f:11:00:01:01", "00:1f:11:00:01:02"]);
    }

    /// Enough devices to be decided on two threads: each keeps its own facts, in the order of one.
    #[test]
    fn many_devices_are_decided_in_order_each_from_its_own_facts() {
        let n = PARALLEL_DEVICES * 2 + 7;
        let mut inv = Inventory::new();
        for i in 0..n {
            let mac = [0x02, 0, 0, 0, (i >> 8) as u8, i as u8];
            let addr = IpAddr::from([10, 1, (i >> 8) as u8, i as u8]);
            inv.saw(1, addr, Some(mac));
            inv.observe(
                2,
                Subject::Mac(mac),
                "dhcp.hostname",
                &format!("bed-{i:04}"),
            );
            if i % 3 == 0 {
                inv.observe(3, Subject::Ip(addr), "dhcp.vendor_class", "Baxter-Spectrum");
            }
        }
        // A device without the vendor class, decided alone.
        let mut one = Inventory::new();
        one.saw(1, ip("10.9.9.9"), Some([0x02, 0, 0, 0, 9, 9]));
        one.observe(
            2,
            Subject::Mac([0x02, 0, 0, 0, 9, 9]),
            "dhcp.hostname",
            "bed-9999",
        );
        let plain = one.finish(&Rules::builtin())[0].category().to_string();
        assert_ne!(plain, "infusion-pump");
        let rows = inv.finish_with(&Rules::builtin(), 2, |d| {
            d.get("hostname").map(str::to_string)
        });
        assert_eq!(rows.len(), n);
        for (i, (d, row)) in rows.iter().enumerate() {
            assert_eq!(d.id, format!("mac-02000000{:02x}{:02x}", i >> 8, i & 0xff));
            assert_eq!(d.ips, vec![IpAddr::from([10, 1, (i >> 8) as u8, i as u8])]);
            let hostname = format!("bed-{i:04}");
            assert_eq!(d.get("hostname"), Some(hostname.as_str()));
            assert_eq!(
                row.as_deref(),
                Some(hostname.as_str()),
                "the row is its device's"
            );
            let category = if i % 3 == 0 {
                "infusion-pump"
            } else {
                d.category()
            };
            assert_eq!(d.category(), category, "device {i}");
            assert_eq!(d.evidence.len(), 1 + usize::from(i % 3 == 0), "device {i}");
        }
    }

    #[test]
    fn a_device_is_its_mac_and_its_fields_come_from_rules() {
        let mut inv = Inventory::new();
        inv.saw(1, ip("10.0.0.5"), Some(PUMP));
        inv.observe(2, Subject::Mac(PUMP), "dhcp.hostname", "pump-0001");
        inv.observe(
            2,
            Subject::Ip(ip("10.0.0.5")),
            "dhcp.vendor_class",
            "Baxter-Spectrum",
        );
        let d = inv.finish(&Rules::builtin());
        assert_eq!(d.len(), 1);
        let d = &d[0];
        assert_eq!(d.id, "mac-5846e1010203");
        assert_eq!(d.ips, vec![ip("10.0.0.5")]);
        assert_eq!(d.get("hostname"), Some("pump-0001"));
        assert_eq!(
            d.get("vendor"),
            Some("Baxter"),
            "from the IEEE registration of 58:46:e1"
        );
        assert_eq!(d.category(), "infusion-pump");
        assert_eq!(
            d.fields["category"].rule, "dhcp-pump",
            "the vendor class is surer than the OUI"
        );
        assert_eq!(d.get("criticality"), Some("life-sustaining"));
    }

    #[test]
    fn hosts_behind_a_router_are_their_addresses_and_public_peers_are_not_devices() {
        let mut inv = Inventory::new();
        for i in 1..=6 {
            inv.saw(1, ip(&format!("10.9.0.{i}")), Some(ROUTER));
        }
        inv.saw(1, ip("203.0.113.50"), Some(ROUTER));
        inv.observe(1, Subject::Ip(ip("10.9.0.3")), "dicom.role", "store-scp");
        let d = inv.finish(&Rules::builtin());
        let ids: Vec<&str> = d.iter().map(|d| d.id.as_str()).collect();
        assert!(ids.contains(&"mac-e80ab9090909"), "{ids:?}");
        assert!(ids.contains(&"ip-10.9.0.3"));
        assert!(
            !ids.iter().any(|i| i.contains("203.0.113")),
            "public peers are not hospital devices"
        );
        let router = d.iter().find(|d| d.id == "mac-e80ab9090909").unwrap();
        assert_eq!(router.category(), "network-device");
        assert!(router.ips.is_empty());
        let pacs = d.iter().find(|d| d.id == "ip-10.9.0.3").unwrap();
        assert_eq!(pacs.category(), "pacs");
    }

    #[test]
    fn a_routers_arp_claims_are_its_own_addresses_and_proxy_arp_is_not() {
        let ids = |d: &[Device]| -> Vec<(String, Vec<IpAddr>)> {
            d.iter().map(|d| (d.id.clone(), d.ips.clone())).collect()
        };
        // The router forwards six hosts' traffic and answers ARP for its own interface address:
        // one device with that address, not a second one made of the address.
        let mut inv = Inventory::new();
        for i in 1..=6 {
            inv.saw(1, ip(&format!("10.9.0.{i}")), Some(ROUTER));
        }
        inv.claim(2, ROUTER, ip("10.1.0.1"));
        inv.saw(3, ip("10.1.0.1"), Some(ROUTER));
        let d = inv.finish(&Rules::builtin());
        let router = d.iter().find(|d| d.id == "mac-e80ab9090909").unwrap();
        assert_eq!(router.ips, vec![ip("10.1.0.1")]);
        assert_eq!(router.category(), "network-device");
        assert!(d.iter().all(|d| d.id != "ip-10.1.0.1"), "{:?}", ids(&d));
        assert_eq!(d.len(), 7, "the router and the six hosts behind it");

        // Proxy ARP: one MAC answering for many addresses speaks for other hosts, whose addresses
        // stay theirs.
        let mut inv = Inventory::new();
        for i in 1..=(MAX_OWN_CLAIMS + 4) {
            inv.claim(1, ROUTER, ip(&format!("10.9.0.{i}")));
        }
        let d = inv.finish(&Rules::builtin());
        let router = d.iter().find(|d| d.id == "mac-e80ab9090909").unwrap();
        assert!(router.ips.is_empty(), "{:?}", ids(&d));
        assert!(d.iter().any(|d| d.id == "ip-10.9.0.3"));

        // Two MACs claiming one address (a conflict, or a spoof): each is a device; the address
        // goes to one of them, as for any address several MACs sent from.
        let mut inv = Inventory::new();
        inv.claim(1, PUMP, ip("10.0.0.5"));
        inv.claim(2, ROUTER, ip("10.0.0.5"));
        let d = inv.finish(&Rules::builtin());
        assert_eq!(d.len(), 2, "{:?}", ids(&d));
        assert_eq!(d.iter().filter(|d| d.ips == [ip("10.0.0.5")]).count(), 1);
    }

    #[test]
    fn a_flood_of_new_sources_stops_at_the_limit_and_is_counted() {
        let mut inv = Inventory::with_limit(3);
        let mac = |i: u8| [0x00, 0x1b, 0x2c, 0, 0, i];
        for i in 1..=5u8 {
            inv.saw(i64::from(i), ip(&format!("10.0.0.{i}")), Some(mac(i)));
        }
        assert_eq!(inv.dropped(), 2);
        // What it holds is still updated; a known subject's evidence still counts.
        inv.saw(9, ip("10.0.0.1"), Some(mac(1)));
        inv.observe(9, Subject::Mac(mac(1)), "dhcp.hostname", "pump-1");
        inv.observe(9, Subject::Mac(mac(2)), "dhcp.hostname", "pump-2");
        inv.observe(9, Subject::Mac(mac(3)), "dhcp.hostname", "pump-3");
        assert_eq!(inv.dropped(), 2);
        // A fourth subject with evidence is one too many.
        inv.observe(9, Subject::Mac(mac(4)), "dhcp.hostname", "pump-4");
        inv.claim(9, mac(5), ip("10.0.0.5"));
        assert_eq!(inv.dropped(), 4);
        let d = inv.finish(&Rules::builtin());
        let names: Vec<Option<&str>> = d.iter().map(|d| d.get("hostname")).collect();
        assert_eq!(names, [Some("pump-1"), Some("pump-2"), Some("pump-3")]);
        assert_eq!(d[0].last_ns, 9);
    }

    #[test]
    fn a_lease_follows_the_device_across_addresses() {
        let mut inv = Inventory::new();
        inv.lease(1, PUMP, ip("10.0.0.5"));
        inv.saw(1, ip("10.0.0.5"), Some(PUMP));
        inv.lease(100, PUMP, ip("10.0.0.9"));
        inv.saw(100, ip("10.0.0.9"), Some(PUMP));
        let d = inv.finish(&Rules::builtin());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].ips, vec![ip("10.0.0.5"), ip("10.0.0.9")]);
    }

    #[test]
    fn user_rules_win_ties_and_evidence_is_bounded() {
        let mut rules = Rules::builtin();
        rules
            .add("[[rule]]\nid='local-name'\nfield='dhcp.hostname'\nmatch='pump-*'\nset={model='Ward pump', hostname='$value.synhosp'}\nconfidence=0.9\nreason='our naming plan'\n", "site.toml")
            .unwrap();
        let mut inv = Inventory::new();
        inv.saw(1, ip("10.0.0.5"), Some(PUMP));
        inv.observe(2, Subject::Mac(PUMP), "dhcp.hostname", "pump-0001");
        for i in 0..1000 {
            inv.observe(
                3,
                Subject::Mac(PUMP),
                "dns.query",
                &format!("name{i}.example"),
            );
        }
        let d = &inv.finish(&rules)[0];
        assert_eq!(d.get("hostname"), Some("pump-0001.synhosp"));
        assert_eq!(d.fields["hostname"].rule, "local-name");
        assert_eq!(d.get("model"), Some("Ward pump"));
        assert_eq!(
            d.evidence.iter().filter(|e| e.field == "dns.query").count(),
            MAX_VALUES_PER_FIELD
        );
    }

    #[test]
    fn ties_go_to_the_later_rule_then_the_later_evidence() {
        // Evidence comes out sorted by field: `a.first` before `b.second`.
        let mut rules = Rules::default();
        rules
            .add(
                "[[rule]]\nid='reads-b'\nfield='b.second'\nmatch='*'\nset={model='from b'}\n\
                 confidence=0.5\nreason='r'\n\
                 [[rule]]\nid='reads-a'\nfield='a.first'\nmatch='*'\nset={model='from a'}\n\
                 confidence=0.5\nreason='r'\n\
                 [[rule]]\nid='reads-both'\nfield='a.first|b.second|a.first'\nmatch='*'\n\
                 set={vendor='$value'}\nconfidence=0.5\nreason='r'\n",
                "t.toml",
            )
            .unwrap();
        let mut inv = Inventory::new();
        inv.saw(1, ip("10.0.0.5"), Some(PUMP));
        inv.observe(2, Subject::Mac(PUMP), "a.first", "one");
        inv.observe(2, Subject::Mac(PUMP), "b.second", "two");
        let d = &inv.finish(&rules)[0];
        // The later rule wins although its evidence comes first ...
        assert_eq!(d.fields["model"].rule, "reads-a");
        assert_eq!(d.get("model"), Some("from a"));
        // ... and within one rule, the later evidence, each piece tried once.
        assert_eq!(d.get("vendor"), Some("two"));
        assert_eq!(d.fields["vendor"].evidence_field, "b.second");
    }

    #[test]
    fn an_address_belongs_to_its_latest_lease() {
        const OTHER: [u8; 6] = [0x58, 0x46, 0xe1, 4, 5, 6];
        for order in [[PUMP, OTHER], [OTHER, PUMP]] {
            let mut inv = Inventory::new();
            // PUMP held the address first, OTHER got it later: whichever lease is reported first.
            for mac in order {
                let ts = if mac == PUMP { 1 } else { 5 };
                inv.lease(ts, mac, ip("10.0.0.5"));
            }
            inv.observe(6, Subject::Ip(ip("10.0.0.5")), "dhcp.hostname", "now-other");
            let d = inv.finish(&Rules::builtin());
            let holder = d.iter().find(|d| d.ips.contains(&ip("10.0.0.5"))).unwrap();
            assert_eq!(holder.mac, Some(OTHER));
            assert!(holder.evidence.iter().any(|e| e.value == "now-other"));
        }
    }

    #[test]
    fn merged_evidence_comes_out_in_the_same_order_every_time() {
        // One MAC sending from two outside addresses, each with its own evidence of one field: the
        // device's values are the addresses' in address order, whatever the maps' hashing.
        let run = || {
            let mut inv = Inventory::new();
            for a in ["94.45.228.23", "52.32.149.186"] {
                inv.saw(1, ip(a), Some(PUMP));
            }
            inv.observe(
                2,
                Subject::Ip(ip("94.45.228.23")),
                "service",
                "https-server",
            );
            inv.observe(2, Subject::Ip(ip("52.32.149.186")), "service", "dns-server");
            let d = inv.finish(&Rules::builtin());
            let values: Vec<String> = d[0]
                .evidence
                .iter()
                .filter(|e| e.field == "service")
                .map(|e| e.value.clone())
                .collect();
            values
        };
        for _ in 0..20 {
            assert_eq!(run(), ["dns-server", "https-server"]);
        }
    }

    #[test]
    fn trim_is_str_trim() {
        for v in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{b}a\u{b}",
            "\u{1c}a\u{1f}",
            "\u{85}a",
            "a\u{a0}",
            "\u{3000}x\u{2029}",
            "é",
            " é ",
            "\tx\n",
            "x\u{c}",
        ] {
            assert_eq!(trim(v), v.trim(), "{v:?}");
        }
    }
}
