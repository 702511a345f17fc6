//! How what a run learnt merges with what is stored: pure functions, no SQL.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::hash::Hash;

use crate::{CommRecord, DeviceRecord, EvidenceRecord, FieldRecord};

/// What is stored of a decided field, enough to decide whether a new decision replaces it.
#[derive(Debug, Clone)]
pub(crate) struct OldField {
    pub value: String,
    pub confidence: f64,
    pub rule: String,
    pub reason: String,
    pub evidence_field: String,
    pub evidence_value: String,
}

impl OldField {
    /// The same decision for the same reason: nothing to write.
    pub(crate) fn same_as(&self, f: &FieldRecord) -> bool {
        self.value == f.value
            && self.confidence as f32 == f.confidence
            && self.rule == f.rule
            && self.reason == f.reason
            && self.evidence_field == f.evidence_field
            && self.evidence_value == f.evidence_value
    }
}

/// A new decision replaces the stored one when it is at least as sure, or when the same rule made
/// it (the same evidence now says something else: a firmware update, a renamed host). A weaker
/// guess from a capture that saw less of the device does not overwrite a better-supported value.
pub(crate) fn replaces(old: Option<&OldField>, new: &FieldRecord) -> bool {
    match old {
        None => true,
        // Stored confidences are f32 widened: compare as f32, exactly.
        Some(o) => new.confidence >= o.confidence as f32 || new.rule == o.rule,
    }
}

/// Within one run the later of two equally sure decisions wins, as in the rules themselves.
fn better_in_run(old: &FieldRecord, new: &FieldRecord) -> bool {
    new.confidence >= old.confidence
}

fn merge_evidence(into: &mut Vec<EvidenceRecord>, from: impl IntoIterator<Item = EvidenceRecord>) {
    for e in from {
        match into
            .iter_mut()
            .find(|d| d.field == e.field && d.value == e.value)
        {
            Some(d) => {
                d.count = d.count.saturating_add(e.count);
                d.first_seen_ns = d.first_seen_ns.min(e.first_seen_ns);
                d.last_seen_ns = d.last_seen_ns.max(e.last_seen_ns);
            }
            None => into.push(e),
        }
    }
}

fn merge_fields(into: &mut Vec<FieldRecord>, from: impl IntoIterator<Item = FieldRecord>) {
    for f in from {
        match into.iter_mut().find(|d| d.field == f.field) {
            Some(d) => {
                if better_in_run(d, &f) {
                    *d = f;
                }
            }
            None => into.push(f),
        }
    }
}

/// Whether `key` tells `items` apart: pairwise for a few, through a set for more.
fn distinct<'a, T, K: Eq + Hash>(items: &'a [T], key: impl Fn(&'a T) -> K) -> bool {
    if items.len() <= 16 {
        return items
            .iter()
            .enumerate()
            .all(|(i, a)| items[i + 1..].iter().all(|b| key(a) != key(b)));
    }
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().all(|x| seen.insert(key(x)))
}

/// One record per device id, each with one row per field, per evidence value and per address,
/// so that no statement touches a row twice (PostgreSQL refuses that in one `ON CONFLICT` insert).
/// Devices that are so already (as `analyze --db` sends them) are borrowed, not copied.
pub(crate) fn normalise_devices(devices: &[DeviceRecord]) -> Cow<'_, [DeviceRecord]> {
    let mut ids = HashSet::with_capacity(devices.len());
    let normal = devices.iter().all(|d| {
        ids.insert(d.id.as_str())
            && d.ips.windows(2).all(|w| w[0] < w[1])
            && distinct(&d.fields, |f| f.field.as_str())
            && distinct(&d.evidence, |e| (e.field.as_str(), e.value.as_str()))
    });
    if normal {
        return Cow::Borrowed(devices);
    }
    let mut by_id: BTreeMap<&str, DeviceRecord> = BTreeMap::new();
    for d in devices {
        match by_id.get_mut(d.id.as_str()) {
            None => {
                let mut t = DeviceRecord {
                    id: d.id.clone(),
                    mac: d.mac.clone(),
                    ips: d.ips.clone(),
                    first_seen_ns: d.first_seen_ns,
                    last_seen_ns: d.last_seen_ns,
                    fields: Vec::with_capacity(d.fields.len()),
                    evidence: Vec::with_capacity(d.evidence.len()),
                };
                merge_fields(&mut t.fields, d.fields.iter().cloned());
                if d.evidence.len() > 64 {
                    // Many values: merge through a map rather than by linear search.
                    let mut m: BTreeMap<(&str, &str), EvidenceRecord> = BTreeMap::new();
                    for e in &d.evidence {
                        m.entry((e.field.as_str(), e.value.as_str()))
                            .and_modify(|x| {
                                x.count = x.count.saturating_add(e.count);
                                x.first_seen_ns = x.first_seen_ns.min(e.first_seen_ns);
                                x.last_seen_ns = x.last_seen_ns.max(e.last_seen_ns);
                            })
                            .or_insert_with(|| e.clone());
                    }
                    t.evidence = m.into_values().collect();
                } else {
                    merge_evidence(&mut t.evidence, d.evidence.iter().cloned());
                }
                by_id.insert(&d.id, t);
            }
            Some(t) => {
                t.first_seen_ns = t.first_seen_ns.min(d.first_seen_ns);
                t.last_seen_ns = t.last_seen_ns.max(d.last_seen_ns);
                if t.mac.is_none() {
                    t.mac.clone_from(&d.mac);
                }
                t.ips.extend(d.ips.iter().cloned());
                merge_fields(&mut t.fields, d.fields.iter().cloned());
                merge_evidence(&mut t.evidence, d.evidence.iter().cloned());
            }
        }
    }
    let mut out: Vec<DeviceRecord> = by_id.into_values().collect();
    for d in &mut out {
        d.ips.sort();
        d.ips.dedup();
    }
    Cow::Owned(out)
}

/// The key of a communications row.
pub(crate) type CommKey<'a> = (&'a str, &'a str, u16, &'a str, &'a str, &'static str);

pub(crate) fn comm_key(c: &CommRecord) -> CommKey<'_> {
    (
        &c.device,
        &c.peer_ip,
        c.peer_port,
        &c.transport,
        &c.app,
        c.direction.as_str(),
    )
}

/// One record per key, summed. Records sorted by key without duplicates (as `analyze --db` sends
/// them) are borrowed, not copied.
pub(crate) fn normalise_comms(comms: &[CommRecord]) -> Cow<'_, [CommRecord]> {
    if comms.windows(2).all(|w| comm_key(&w[0]) < comm_key(&w[1])) {
        return Cow::Borrowed(comms);
    }
    let mut by_key: BTreeMap<CommKey<'_>, CommRecord> = BTreeMap::new();
    for c in comms {
        by_key
            .entry(comm_key(c))
            .and_modify(|t| {
                t.flows = t.flows.saturating_add(c.flows);
                t.packets = t.packets.saturating_add(c.packets);
                t.bytes = t.bytes.saturating_add(c.bytes);
                t.first_seen_ns = t.first_seen_ns.min(c.first_seen_ns);
                t.last_seen_ns = t.last_seen_ns.max(c.last_seen_ns);
                if c.peer_device.is_some() {
                    t.peer_device.clone_from(&c.peer_device);
                }
            })
            .or_insert_with(|| c.clone());
    }
    Cow::Owned(by_key.into_values().collect())
}

/// Counters are `u64` in the API and `BIGINT` in the database.
pub(crate) fn db_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A counter read back (a negative one, which the store never writes, reads as 0).
pub(crate) fn db_count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Direction;

    fn field(name: &str, value: &str, confidence: f32, rule: &str) -> FieldRecord {
        FieldRecord {
            field: name.into(),
            value: value.into(),
            confidence,
            rule: rule.into(),
            reason: String::new(),
            evidence_field: String::new(),
            evidence_value: String::new(),
        }
    }

    #[test]
    fn a_weaker_guess_does_not_overwrite_but_the_same_rule_does() {
        let old = OldField {
            value: "infusion-pump".into(),
            confidence: 0.9,
            rule: "dhcp-pump".into(),
            reason: String::new(),
            evidence_field: String::new(),
            evidence_value: String::new(),
        };
        assert!(!replaces(
            Some(&old),
            &field("category", "workstation", 0.4, "oui")
        ));
        assert!(replaces(
            Some(&old),
            &field("category", "patient-monitor", 0.9, "dicom")
        ));
        assert!(replaces(
            Some(&old),
            &field("category", "x", 0.1, "dhcp-pump")
        ));
        assert!(replaces(None, &field("category", "x", 0.0, "r")));
    }

    fn evidence(value: &str, t: i64, count: u64) -> EvidenceRecord {
        EvidenceRecord {
            field: "dns.query".into(),
            value: value.into(),
            first_seen_ns: t,
            last_seen_ns: t,
            count,
        }
    }

    #[test]
    fn duplicates_in_a_batch_merge() {
        let a = DeviceRecord {
            id: "d".into(),
            mac: None,
            ips: vec!["10.0.0.2".into(), "10.0.0.1".into()],
            first_seen_ns: 10,
            last_seen_ns: 20,
            fields: vec![
                field("vendor", "A", 0.5, "r1"),
                field("vendor", "B", 0.5, "r2"),
            ],
            evidence: vec![evidence("x", 10, 1), evidence("x", 5, 2)],
        };
        let mut b = a.clone();
        b.first_seen_ns = 1;
        b.last_seen_ns = 15;
        b.mac = Some("00:11:22:33:44:55".into());
        b.fields = vec![field("vendor", "C", 0.4, "r3")];
        let both = [a, b];
        let n = normalise_devices(&both);
        assert_eq!(n.len(), 1);
        let d = &n[0];
        assert_eq!((d.first_seen_ns, d.last_seen_ns), (1, 20));
        assert_eq!(d.ips, vec!["10.0.0.1", "10.0.0.2"]);
        assert_eq!(d.mac.as_deref(), Some("00:11:22:33:44:55"));
        assert_eq!(d.fields.len(), 1);
        assert_eq!(d.fields[0].value, "B", "later of equals wins, weaker loses");
        assert_eq!(d.evidence.len(), 1);
        assert_eq!(d.evidence[0].count, 6);
        assert_eq!(d.evidence[0].first_seen_ns, 5);
    }

    /// Records already normal are borrowed as they are; a record with anything to merge (a
    /// repeated id, address, field or piece of evidence, among few or many) is not.
    #[test]
    fn normal_records_are_borrowed() {
        let ev = |i: usize| evidence(&format!("host{i}"), 1, 1);
        let device = |id: &str, n_ev: usize| DeviceRecord {
            id: id.into(),
            mac: None,
            ips: vec!["10.0.0.1".into(), "10.0.0.2".into()],
            first_seen_ns: 1,
            last_seen_ns: 2,
            fields: vec![
                field("vendor", "A", 0.5, "r1"),
                field("model", "B", 0.5, "r2"),
            ],
            evidence: (0..n_ev).map(ev).collect(),
        };
        // Not sorted by id: order is not asked of devices.
        let normal = vec![device("z", 3), device("a", 40)];
        assert!(matches!(normalise_devices(&normal), Cow::Borrowed(_)));
        let mut damaged: Vec<Vec<DeviceRecord>> = Vec::new();
        damaged.push(vec![device("a", 3), device("a", 3)]);
        let mut d = device("a", 3);
        d.ips.push("10.0.0.1".into());
        damaged.push(vec![d]);
        let mut d = device("a", 3);
        d.fields.push(field("vendor", "C", 0.9, "r3"));
        damaged.push(vec![d]);
        for n in [3, 40] {
            let mut d = device("a", n);
            d.evidence.push(ev(0));
            damaged.push(vec![d]);
        }
        for set in &damaged {
            let out = normalise_devices(set);
            assert!(matches!(out, Cow::Owned(_)));
            let d = &out[0];
            assert!(d.ips.windows(2).all(|w| w[0] < w[1]));
            assert!(distinct(&d.fields, |f| f.field.as_str()));
            assert!(distinct(&d.evidence, |e| (
                e.field.as_str(),
                e.value.as_str()
            )));
        }

        let comm = |device: &str, direction: Direction| CommRecord {
            device: device.into(),
            peer_ip: "10.0.0.9".into(),
            peer_port: 104,
            transport: "tcp".into(),
            app: "dicom".into(),
            direction,
            peer_device: None,
            flows: 1,
            packets: 2,
            bytes: 3,
            first_seen_ns: 4,
            last_seen_ns: 5,
        };
        // "in" sorts before "out", as the database's key does.
        let sorted = vec![comm("a", Direction::In), comm("a", Direction::Out)];
        assert!(matches!(normalise_comms(&sorted), Cow::Borrowed(_)));
        let unsorted = vec![comm("a", Direction::Out), comm("a", Direction::In)];
        assert_eq!(normalise_comms(&unsorted).as_ref(), &sorted[..]);
        let twice = vec![comm("a", Direction::In), comm("a", Direction::In)];
        let summed = normalise_comms(&twice);
        assert_eq!(summed.len(), 1);
        assert_eq!(summed[0].flows, 2);
    }
}
