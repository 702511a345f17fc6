//! IPv4 and IPv6 fragment reassembly with hard caps, timed by packet time only.
//!
//! Datagrams are keyed by (source, destination, protocol, identification). Overlapping data is
//! resolved "first data wins". Every limit drops (never evicts) and is counted in [`DefragStats`].

use std::collections::HashMap;
use std::net::IpAddr;

use crate::decode::Fragment;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Datagrams in flight at once; a fragment of a new datagram is dropped when the table is full.
    pub max_datagrams: usize,
    /// Fragments (including duplicates) one datagram may receive before it is dropped.
    pub max_fragments_per_datagram: usize,
    /// Largest reassembled IP payload accepted.
    pub max_datagram_bytes: usize,
    /// Seconds of packet time after a datagram's first fragment before it is dropped.
    pub timeout_secs: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 1024,
            max_fragments_per_datagram: 64,
            max_datagram_bytes: 65535 + 40,
            timeout_secs: 30,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments offered to [`Defragmenter::push`].
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped incomplete after the timeout.
    pub timed_out: u64,
    /// Datagrams dropped for receiving too many fragments.
    pub dropped_too_many_fragments: u64,
    /// Datagrams (or lone fragments) dropped for exceeding `max_datagram_bytes`.
    pub dropped_too_large: u64,
    /// Fragments of new datagrams dropped because the table was full.
    pub dropped_table_full: u64,
    /// Fragments that overlapped data already received (duplicates included), or that
    /// contradicted the datagram's known end; the data received first was kept.
    pub overlaps: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
}

#[derive(Debug)]
struct Datagram {
    first_seen: Timestamp,
    /// Reassembly buffer; bytes outside `have` are zero placeholders.
    data: Vec<u8>,
    /// Received byte ranges `[start, end)`: sorted, disjoint and non-adjacent.
    have: Vec<(usize, usize)>,
    /// Datagram length, known once the last fragment (MF clear) arrived.
    total: Option<usize>,
    fragments: usize,
}

impl Datagram {
    fn is_complete(&self) -> bool {
        match (self.total, self.have.as_slice()) {
            (Some(0), []) => true,
            (Some(t), [(0, e)]) => *e == t,
            _ => false,
        }
    }

    /// Copy the parts of `payload` (at `start`) that fill holes. Returns whether any part of it
    /// overlapped data already held.
    fn fill(&mut self, start: usize, payload: &[u8]) -> bool {
        let end = start.saturating_add(payload.len());
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        let mut overlapped = false;
        let mut cur = start;
        let copy = |data: &mut Vec<u8>, from: usize, to: usize| {
            if let (Some(dst), Some(src)) = (
                data.get_mut(from..to),
                payload.get(from.saturating_sub(start)..to.saturating_sub(start)),
            ) {
                dst.copy_from_slice(src);
            }
        };
        for &(s, e) in &self.have {
            if e <= cur {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cur {
                copy(&mut self.data, cur, s);
            }
            overlapped = true;
            cur = e;
            if cur >= end {
                break;
            }
        }
        if cur < end {
            copy(&mut self.data, cur, end);
        }
        if start < end {
            self.add_range(start, end);
        }
        overlapped
    }

    fn add_range(&mut self, start: usize, end: usize) {
        let at = self.have.partition_point(|&(_, e)| e < start);
        // Ranges from `at` on that touch or overlap [start, end) merge into one.
        let mut merged = (start, end);
        let mut last = at;
        while let Some(&(s, e)) = self.have.get(last) {
            if s > end {
                break;
            }
            merged = (merged.0.min(s), merged.1.max(e));
            last += 1;
        }
        self.have.splice(at..last, [merged]);
    }
}

/// Reassembles IP fragments into whole IP payloads.
#[derive(Debug)]
pub struct Defragmenter {
    config: DefragConfig,
    table: HashMap<Key, Datagram>,
    stats: DefragStats,
    /// No datagram can expire before this time (a lower bound; recomputed on each scan).
    next_expiry: Timestamp,
}

impl Defragmenter {
    pub fn new(config: DefragConfig) -> Self {
        Defragmenter {
            config,
            table: HashMap::new(),
            stats: DefragStats::default(),
            next_expiry: Timestamp(i64::MAX),
        }
    }

    fn deadline(&self, first_seen: Timestamp) -> Timestamp {
        first_seen.add_secs(self.config.timeout_secs)
    }

    /// Offer one fragment (the fragment's IP payload bytes). Returns the whole reassembled IP
    /// payload when this fragment completes its datagram.
    ///
    /// Only offer fragments captured in full (`IpPacket::truncated` false): a short capture
    /// would leave zeros in the reassembled payload.
    pub fn push(
        &mut self,
        now: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        frag: &Fragment,
        payload: &[u8],
    ) -> Option<Vec<u8>> {
        self.stats.fragments = self.stats.fragments.saturating_add(1);
        let key = Key {
            src,
            dst,
            protocol,
            id: frag.id,
        };
        let start = usize::try_from(frag.offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(payload.len());

        // A datagram past its deadline is dead even if `expire` was not called yet.
        if let Some(d) = self.table.get(&key)
            && now > self.deadline(d.first_seen)
        {
            self.table.remove(&key);
            self.stats.timed_out = self.stats.timed_out.saturating_add(1);
        }

        if end > self.config.max_datagram_bytes {
            self.table.remove(&key);
            self.stats.dropped_too_large = self.stats.dropped_too_large.saturating_add(1);
            return None;
        }

        if !self.table.contains_key(&key) {
            if self.table.len() >= self.config.max_datagrams {
                self.expire(now);
            }
            if self.table.len() >= self.config.max_datagrams {
                self.stats.dropped_table_full = self.stats.dropped_table_full.saturating_add(1);
                return None;
            }
            let deadline = self.deadline(now);
            self.next_expiry = self.next_expiry.min(deadline);
            self.table.insert(
                key,
                Datagram {
                    first_seen: now,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                    fragments: 0,
                },
            );
        }
        let d = self.table.get_mut(&key)?;

        d.fragments = d.fragments.saturating_add(1);
        if d.fragments > self.config.max_fragments_per_datagram {
            self.table.remove(&key);
            self.stats.dropped_too_many_fragments =
                self.stats.dropped_too_many_fragments.saturating_add(1);
            return None;
        }

        // Data already held beyond this fragment's end, or a different end seen before.
        let held_end = d.have.last().map_or(0, |&(_, e)| e);
        let conflicting = match d.total {
            Some(total) => end > total || (!frag.more && end != total),
            None => !frag.more && held_end > end,
        };
        if conflicting {
            // First data wins: ignore the contradicting fragment.
            self.stats.overlaps = self.stats.overlaps.saturating_add(1);
            return None;
        }
        if !frag.more {
            d.total = Some(end);
        }
        if d.fill(start, payload) {
            self.stats.overlaps = self.stats.overlaps.saturating_add(1);
        }

        if !d.is_complete() {
            return None;
        }
        let mut d = self.table.remove(&key)?;
        self.stats.reassembled = self.stats.reassembled.saturating_add(1);
        d.data.truncate(d.total.unwrap_or(0));
        Some(d.data)
    }

    /// Drop datagrams older than the timeout (call it as packet time advances; cheap when
    /// nothing expires).
    pub fn expire(&mut self, now: Timestamp) {
        if now <= self.next_expiry {
            return;
        }
        let timeout = self.config.timeout_secs;
        let before = self.table.len();
        let mut next = Timestamp(i64::MAX);
        self.table.retain(|_, d| {
            let deadline = d.first_seen.add_secs(timeout);
            let keep = now <= deadline;
            if keep {
                next = next.min(deadline);
            }
            keep
        });
        self.next_expiry = next;
        let expired = u64::try_from(before.saturating_sub(self.table.len())).unwrap_or(u64::MAX);
        self.stats.timed_out = self.stats.timed_out.saturating_add(expired);
    }

    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    /// Datagrams currently awaiting fragments.
    pub fn in_flight(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10));
    const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20));

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    fn frag(id: u32, offset: u32, more: bool) -> Fragment {
        Fragment { id, offset, more }
    }

    /// A recognisable datagram: byte i is i mod 251.
    fn datagram(len: usize) -> Vec<u8> {
        (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
    }

    /// Push `data[start..end]` as a fragment of datagram `id`.
    fn push(
        d: &mut Defragmenter,
        now: i64,
        id: u32,
        data: &[u8],
        start: usize,
        end: usize,
    ) -> Option<Vec<u8>> {
        let f = frag(id, u32::try_from(start).unwrap(), end < data.len());
        d.push(t(now), SRC, DST, 17, &f, &data[start..end])
    }

    #[test]
    fn in_order() {
        let data = datagram(3000);
        let mut d = Defragmenter::new(DefragConfig::default());
        assert_eq!(push(&mut d, 0, 1, &data, 0, 1480), None);
        assert_eq!(push(&mut d, 0, 1, &data, 1480, 2960), None);
        assert_eq!(d.in_flight(), 1);
        assert_eq!(push(&mut d, 0, 1, &data, 2960, 3000), Some(data));
        assert_eq!(d.in_flight(), 0);
        let s = d.stats();
        assert_eq!((s.fragments, s.reassembled, s.overlaps), (3, 1, 0));
    }

    #[test]
    fn reverse_and_shuffled_order() {
        let data = datagram(4000);
        let mut d = Defragmenter::new(DefragConfig::default());
        let cuts = [0, 1000, 2000, 3000, 4000];
        for i in (1..cuts.len()).rev() {
            let r = push(&mut d, 5, 9, &data, cuts[i - 1], cuts[i]);
            assert_eq!(r.is_some(), i == 1);
            if let Some(whole) = r {
                assert_eq!(whole, data);
            }
        }
        // Middle pieces last.
        for (i, (s, e)) in [(0, 1000), (3000, 4000), (2000, 3000), (1000, 2000)]
            .into_iter()
            .enumerate()
        {
            let r = push(&mut d, 6, 10, &data, s, e);
            assert_eq!(r.as_deref(), (i == 3).then_some(&data[..]));
        }
        assert_eq!(d.stats().reassembled, 2);
        assert_eq!(d.in_flight(), 0);
    }

    #[test]
    fn overlap_first_data_wins() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let a = [b'A'; 16];
        let b = [b'B'; 16];
        assert_eq!(d.push(t(0), SRC, DST, 6, &frag(3, 0, true), &a), None);
        // Overlaps bytes 8..16 of A and supplies 16..24.
        assert_eq!(d.push(t(0), SRC, DST, 6, &frag(3, 8, true), &b), None);
        let whole = d.push(t(0), SRC, DST, 6, &frag(3, 24, false), b"CCCCCCCC");
        let mut expected = vec![b'A'; 16];
        expected.extend_from_slice(&[b'B'; 8]);
        expected.extend_from_slice(b"CCCCCCCC");
        assert_eq!(whole, Some(expected));
        assert_eq!(d.stats().overlaps, 1);

        // A fragment spanning a hole between two held pieces fills only the hole.
        let mut d = Defragmenter::new(DefragConfig::default());
        d.push(t(0), SRC, DST, 6, &frag(4, 0, true), &[1; 8]);
        d.push(t(0), SRC, DST, 6, &frag(4, 16, false), &[3; 8]);
        let whole = d.push(t(0), SRC, DST, 6, &frag(4, 0, true), &[2; 24]);
        let mut expected = vec![1; 8];
        expected.extend_from_slice(&[2; 8]);
        expected.extend_from_slice(&[3; 8]);
        assert_eq!(whole, Some(expected));
        assert_eq!(d.stats().overlaps, 1);
    }

    #[test]
    fn duplicate_fragments() {
        let data = datagram(2000);
        let mut d = Defragmenter::new(DefragConfig::default());
        assert_eq!(push(&mut d, 0, 7, &data, 0, 1000), None);
        assert_eq!(push(&mut d, 0, 7, &data, 0, 1000), None);
        assert_eq!(d.stats().overlaps, 1);
        assert_eq!(push(&mut d, 0, 7, &data, 1000, 2000), Some(data.clone()));
        // A duplicate of a completed datagram starts a new one (which will time out).
        assert_eq!(push(&mut d, 1, 7, &data, 1000, 2000), None);
        assert_eq!(d.in_flight(), 1);
        assert_eq!(d.stats().reassembled, 1);
    }

    #[test]
    fn conflicting_last_fragment_is_ignored() {
        let mut d = Defragmenter::new(DefragConfig::default());
        d.push(t(0), SRC, DST, 17, &frag(5, 16, false), &[9; 8]); // total 24
        // A second "last" fragment with a different end, and data beyond the end.
        assert_eq!(
            d.push(t(0), SRC, DST, 17, &frag(5, 0, false), &[1; 8]),
            None
        );
        assert_eq!(
            d.push(t(0), SRC, DST, 17, &frag(5, 16, true), &[1; 16]),
            None
        );
        assert_eq!(d.stats().overlaps, 2);
        let whole = d.push(t(0), SRC, DST, 17, &frag(5, 0, true), &[1; 16]);
        assert_eq!(whole.map(|w| w.len()), Some(24));
        // Last fragment arriving after data beyond its end.
        d.push(t(0), SRC, DST, 17, &frag(6, 32, true), &[1; 8]);
        assert_eq!(
            d.push(t(0), SRC, DST, 17, &frag(6, 8, false), &[1; 8]),
            None
        );
        assert_eq!(d.stats().overlaps, 3);
    }

    #[test]
    fn missing_piece_then_timeout() {
        let data = datagram(3000);
        let mut d = Defragmenter::new(DefragConfig::default());
        push(&mut d, 100, 1, &data, 0, 1000);
        push(&mut d, 110, 1, &data, 2000, 3000);
        d.expire(t(120));
        assert_eq!(d.in_flight(), 1);
        d.expire(t(130)); // exactly 30 s: not older than the timeout yet
        assert_eq!(d.in_flight(), 1);
        d.expire(t(131));
        assert_eq!(d.in_flight(), 0);
        assert_eq!(d.stats().timed_out, 1);
        // The late middle piece starts a fresh datagram instead of completing the old one.
        assert_eq!(push(&mut d, 131, 1, &data, 1000, 2000), None);
        assert_eq!(d.in_flight(), 1);

        // Without a call to expire, a stale datagram is not completed by a late fragment.
        let mut d = Defragmenter::new(DefragConfig::default());
        push(&mut d, 0, 2, &data, 0, 1000);
        push(&mut d, 0, 2, &data, 2000, 3000);
        assert_eq!(push(&mut d, 31, 2, &data, 1000, 2000), None);
        assert_eq!(d.stats().timed_out, 1);

        // Packet time going backwards never expires anything.
        let mut d = Defragmenter::new(DefragConfig::default());
        push(&mut d, 1000, 3, &data, 0, 1000);
        d.expire(t(0));
        assert_eq!(d.in_flight(), 1);
    }

    #[test]
    fn expire_keeps_young_datagrams() {
        let data = datagram(2000);
        let mut d = Defragmenter::new(DefragConfig::default());
        push(&mut d, 0, 1, &data, 0, 1000);
        push(&mut d, 20, 2, &data, 0, 1000);
        d.expire(t(31));
        assert_eq!(d.in_flight(), 1);
        d.expire(t(40));
        assert_eq!(d.in_flight(), 1);
        push(&mut d, 40, 3, &data, 0, 1000);
        d.expire(t(51));
        assert_eq!(d.in_flight(), 1);
        assert_eq!(push(&mut d, 51, 3, &data, 1000, 2000), Some(data));
        assert_eq!(d.stats().timed_out, 2);
    }

    #[test]
    fn too_many_fragments() {
        let config = DefragConfig {
            max_fragments_per_datagram: 4,
            ..DefragConfig::default()
        };
        let mut d = Defragmenter::new(config);
        for i in 0..4u32 {
            assert_eq!(
                d.push(t(0), SRC, DST, 6, &frag(1, i * 8, true), &[0; 8]),
                None
            );
        }
        assert_eq!(d.in_flight(), 1);
        assert_eq!(
            d.push(t(0), SRC, DST, 6, &frag(1, 32, false), &[0; 8]),
            None
        );
        assert_eq!(d.in_flight(), 0);
        assert_eq!(d.stats().dropped_too_many_fragments, 1);

        // Exactly at the cap still completes.
        let data = datagram(32);
        let mut d = Defragmenter::new(config);
        for i in 0..4 {
            let r = push(&mut d, 0, 2, &data, i * 8, i * 8 + 8);
            assert_eq!(r.is_some(), i == 3);
        }
    }

    #[test]
    fn too_large() {
        let config = DefragConfig {
            max_datagram_bytes: 100,
            ..DefragConfig::default()
        };
        let mut d = Defragmenter::new(config);
        assert_eq!(d.push(t(0), SRC, DST, 6, &frag(1, 0, true), &[0; 64]), None);
        assert_eq!(
            d.push(t(0), SRC, DST, 6, &frag(1, 64, false), &[0; 40]),
            None
        );
        assert_eq!(d.in_flight(), 0);
        assert_eq!(d.stats().dropped_too_large, 1);
        // A lone fragment at a huge offset never allocates.
        assert_eq!(
            d.push(t(0), SRC, DST, 6, &frag(2, u32::MAX, true), &[0; 8]),
            None
        );
        assert_eq!(d.stats().dropped_too_large, 2);
        assert_eq!(d.in_flight(), 0);
        // Exactly at the limit is fine.
        assert_eq!(d.push(t(0), SRC, DST, 6, &frag(3, 0, true), &[0; 50]), None);
        let whole = d.push(t(0), SRC, DST, 6, &frag(3, 50, false), &[0; 50]);
        assert_eq!(whole.map(|w| w.len()), Some(100));
    }

    #[test]
    fn table_full() {
        let config = DefragConfig {
            max_datagrams: 2,
            ..DefragConfig::default()
        };
        let data = datagram(2000);
        let mut d = Defragmenter::new(config);
        push(&mut d, 0, 1, &data, 0, 1000);
        push(&mut d, 0, 2, &data, 0, 1000);
        assert_eq!(push(&mut d, 0, 3, &data, 0, 1000), None);
        assert_eq!(push(&mut d, 0, 3, &data, 1000, 2000), None);
        assert_eq!(d.stats().dropped_table_full, 2);
        assert_eq!(d.in_flight(), 2);
        // Existing datagrams still complete (no eviction happened).
        assert_eq!(push(&mut d, 0, 1, &data, 1000, 2000), Some(data.clone()));
        // Room again.
        assert_eq!(push(&mut d, 0, 3, &data, 0, 1000), None);
        assert_eq!(d.in_flight(), 2);
        // Once the old ones time out, a new datagram gets in even without an explicit expire.
        assert_eq!(push(&mut d, 40, 4, &data, 0, 1000), None);
        assert_eq!(d.in_flight(), 1);
        assert_eq!(d.stats().timed_out, 2);
    }

    #[test]
    fn keys_are_distinct() {
        let data = datagram(16);
        let mut d = Defragmenter::new(DefragConfig::default());
        let other = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 99));
        d.push(t(0), SRC, DST, 17, &frag(1, 0, true), &data[..8]);
        assert_eq!(
            d.push(t(0), other, DST, 17, &frag(1, 8, false), &data[8..]),
            None
        );
        assert_eq!(
            d.push(t(0), SRC, DST, 6, &frag(1, 8, false), &data[8..]),
            None
        );
        assert_eq!(
            d.push(t(0), SRC, DST, 17, &frag(2, 8, false), &data[8..]),
            None
        );
        assert_eq!(d.in_flight(), 4);
        let whole = d.push(t(0), SRC, DST, 17, &frag(1, 8, false), &data[8..]);
        assert_eq!(whole, Some(data));
    }

    #[test]
    fn unaligned_and_empty_fragments() {
        let data = datagram(25);
        let mut d = Defragmenter::new(DefragConfig::default());
        assert_eq!(push(&mut d, 0, 1, &data, 0, 7), None);
        assert_eq!(push(&mut d, 0, 1, &data, 7, 7), None); // empty non-last fragment
        assert_eq!(push(&mut d, 0, 1, &data, 7, 13), None);
        assert_eq!(push(&mut d, 0, 1, &data, 13, 25), Some(data));
        // A lone empty last fragment at offset 0 completes an empty datagram.
        assert_eq!(
            d.push(t(0), SRC, DST, 17, &frag(9, 0, false), &[]),
            Some(Vec::new())
        );
    }

    #[test]
    fn pseudo_random_fragments_keep_invariants() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let config = DefragConfig {
            max_datagrams: 8,
            max_datagram_bytes: 512,
            max_fragments_per_datagram: 16,
            timeout_secs: 2,
        };
        let mut d = Defragmenter::new(config);
        let payload = [0x5au8; 300];
        for i in 0..20_000i64 {
            let id = u32::try_from(next() % 12).unwrap();
            let offset = u32::try_from(next() % 600).unwrap() / 40 * 40;
            let len = usize::try_from(next() % 120).unwrap();
            let more = next() % 3 != 0;
            let now = t(i / 40);
            if let Some(whole) = d.push(now, SRC, DST, 17, &frag(id, offset, more), &payload[..len])
            {
                assert!(whole.len() <= 512);
            }
            d.expire(now);
            assert!(d.in_flight() <= 8);
        }
        let s = d.stats();
        assert_eq!(s.fragments, 20_000);
        assert!(
            s.reassembled > 0 && s.overlaps > 0 && s.timed_out > 0,
            "{s:?}"
        );
    }
}
