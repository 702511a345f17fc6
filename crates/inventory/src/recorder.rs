//! Evidence on its way to an [`Inventory`]: applied where it arrives, or handed in batches to a thread
//! that owns the inventory.
//!
//! Most evidence comes at a flow's end, about addresses whose facts were last touched long before: each
//! observation is a few cache misses (the subject's slot, its facts, the value compared). On the
//! analysis thread those misses are on the critical path; [`Recorder::threaded`] moves them to a
//! thread of their own, which the analysis feeds by appending to a batch (sequential writes, one
//! copy of each value). The inventory receives the same calls in the same order either way, so what
//! it decides is the same.

use std::net::IpAddr;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::{Chassis, Inventory, MAX_VALUE_LEN, Subject, trim, truncate};

/// Calls per batch handed to the inventory thread.
const BATCH_OPS: usize = 4096;
/// Batches in flight: the analysis waits when the inventory thread is this far behind, so memory
/// stays bounded (at most this many batches of [`BATCH_OPS`] calls, each value at most
/// [`MAX_VALUE_LEN`] bytes).
const BATCHES_IN_FLIGHT: usize = 4;

/// Feeds an [`Inventory`]; [`Recorder::finish`] gives it back with everything applied.
pub struct Recorder {
    mode: Mode,
}

enum Mode {
    Inline(Box<Inventory>),
    Threaded {
        batch: Batch,
        tx: SyncSender<Batch>,
        worker: JoinHandle<Inventory>,
    },
}

/// Calls in the order made; the values of observations one after another in `text`.
#[derive(Default)]
struct Batch {
    ops: Vec<Op>,
    text: String,
}

enum Op {
    /// The value is `text[start..end]`.
    Observe {
        ts: i64,
        subject: Subject,
        field: &'static str,
        start: usize,
        end: usize,
    },
    Saw {
        ts: i64,
        ip: IpAddr,
        mac: Option<[u8; 6]>,
    },
    Lease {
        ts: i64,
        mac: [u8; 6],
        ip: IpAddr,
    },
    DuidLease {
        ts: i64,
        mac: [u8; 6],
        ip: IpAddr,
    },
    Claim {
        ts: i64,
        mac: [u8; 6],
        ip: IpAddr,
    },
    ChassisMac {
        port: [u8; 6],
        mac: [u8; 6],
    },
    Router {
        port: [u8; 6],
    },
    /// The chassis's name is `text[start..end]`.
    ChassisName {
        port: [u8; 6],
        start: usize,
        end: usize,
    },
}

impl Op {
    /// Makes the call; `text` holds an observation's value.
    fn apply(&self, inv: &mut Inventory, text: &str) {
        match *self {
            Op::Observe {
                ts,
                subject,
                field,
                start,
                end,
            } => inv.observe(ts, subject, field, &text[start..end]),
            Op::Saw { ts, ip, mac } => inv.saw(ts, ip, mac),
            Op::Lease { ts, mac, ip } => inv.lease(ts, mac, ip),
            Op::DuidLease { ts, mac, ip } => inv.duid_lease(ts, mac, ip),
            Op::Claim { ts, mac, ip } => inv.claim(ts, mac, ip),
            Op::ChassisMac { port, mac } => inv.chassis(port, Chassis::Mac(mac)),
            Op::Router { port } => inv.router(port),
            Op::ChassisName { port, start, end } => {
                inv.chassis(port, Chassis::Name(&text[start..end]));
            }
        }
    }
}

impl Batch {
    /// Copies what the inventory keeps of `value` into `text` once: where it is, unless nothing.
    fn keep(&mut self, value: &str) -> Option<(usize, usize)> {
        let value = truncate(trim(value), MAX_VALUE_LEN);
        if value.is_empty() {
            return None;
        }
        let start = self.text.len();
        self.text.push_str(value);
        Some((start, self.text.len()))
    }

    fn apply(&self, inv: &mut Inventory) {
        for op in &self.ops {
            op.apply(inv, &self.text);
        }
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::inline()
    }
}

impl Recorder {
    /// Applies each call at once, on the caller's thread.
    pub fn inline() -> Recorder {
        Recorder {
            mode: Mode::Inline(Box::default()),
        }
    }

    /// Applies the calls on a thread of its own, in batches.
    pub fn threaded() -> Recorder {
        let (tx, rx) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
        let worker = std::thread::Builder::new()
            .name("inventory".into())
            .spawn(move || apply_all(rx))
            .expect("spawning the inventory thread");
        Recorder {
            mode: Mode::Threaded {
                batch: Batch::default(),
                tx,
                worker,
            },
        }
    }

    /// See [`Inventory::observe`].
    pub fn observe(&mut self, ts_ns: i64, subject: Subject, field: &'static str, value: &str) {
        match &mut self.mode {
            Mode::Inline(inv) => inv.observe(ts_ns, subject, field, value),
            Mode::Threaded { batch, .. } => {
                let Some((start, end)) = batch.keep(value) else {
                    return;
                };
                batch.ops.push(Op::Observe {
                    ts: ts_ns,
                    subject,
                    field,
                    start,
                    end,
                });
                self.sent();
            }
        }
    }

    /// See [`Inventory::chassis`].
    pub fn chassis(&mut self, port: [u8; 6], chassis: Chassis<'_>) {
        match (&mut self.mode, chassis) {
            (Mode::Inline(inv), chassis) => inv.chassis(port, chassis),
            (Mode::Threaded { batch, .. }, Chassis::Mac(mac)) => {
                batch.ops.push(Op::ChassisMac { port, mac });
                self.sent();
            }
            (Mode::Threaded { batch, .. }, Chassis::Name(name)) => {
                let Some((start, end)) = batch.keep(name) else {
                    return;
                };
                batch.ops.push(Op::ChassisName { port, start, end });
                self.sent();
            }
        }
    }

    /// See [`Inventory::router`].
    pub fn router(&mut self, port: [u8; 6]) {
        self.call(Op::Router { port });
    }

    /// See [`Inventory::saw`].
    pub fn saw(&mut self, ts_ns: i64, ip: IpAddr, mac: Option<[u8; 6]>) {
        self.call(Op::Saw { ts: ts_ns, ip, mac });
    }

    /// See [`Inventory::lease`].
    pub fn lease(&mut self, ts_ns: i64, mac: [u8; 6], ip: IpAddr) {
        self.call(Op::Lease { ts: ts_ns, mac, ip });
    }

    /// See [`Inventory::duid_lease`].
    pub fn duid_lease(&mut self, ts_ns: i64, mac: [u8; 6], ip: IpAddr) {
        self.call(Op::DuidLease { ts: ts_ns, mac, ip });
    }

    /// See [`Inventory::claim`].
    pub fn claim(&mut self, ts_ns: i64, mac: [u8; 6], ip: IpAddr) {
        self.call(Op::Claim { ts: ts_ns, mac, ip });
    }

    /// Makes a call that carries no text, here or on the inventory thread.
    fn call(&mut self, op: Op) {
        match &mut self.mode {
            Mode::Inline(inv) => op.apply(inv, ""),
            Mode::Threaded { batch, .. } => {
                batch.ops.push(op);
                self.sent();
            }
        }
    }

    /// Hands a full batch to the inventory thread.
    fn sent(&mut self) {
        if let Mode::Threaded { batch, tx, .. } = &mut self.mode
            && batch.ops.len() >= BATCH_OPS
        {
            let full = std::mem::take(batch);
            // A closed channel means the thread has gone, which only a panic does: `finish` reports it.
            let _ = tx.send(full);
        }
    }

    /// The inventory with every call applied.
    pub fn finish(self) -> Inventory {
        match self.mode {
            Mode::Inline(inv) => *inv,
            Mode::Threaded { batch, tx, worker } => {
                let _ = tx.send(batch);
                drop(tx);
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
        }
    }
}

fn apply_all(rx: Receiver<Batch>) -> Inventory {
    let mut inv = Inventory::new();
    for batch in rx {
        batch.apply(&mut inv);
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rules;

    /// Feeds the same calls to `r`: more than a few batches, values that need trimming, empty ones,
    /// leases and sightings interleaved.
    fn feed(r: &mut Recorder) {
        for i in 0..(BATCH_OPS * 3 + 17) as u32 {
            let mac = [
                0x02,
                0,
                0,
                (i >> 16) as u8,
                (i >> 8) as u8 % 8,
                i as u8 % 50,
            ];
            let ip = IpAddr::from([10, 1, (i % 7) as u8, (i % 50) as u8 + 1]);
            let ts = i64::from(i) * 1000;
            r.saw(ts, ip, Some(mac));
            r.observe(
                ts,
                Subject::Mac(mac),
                "dhcp.hostname",
                &format!(" bed-{} ", i % 50),
            );
            r.observe(
                ts,
                Subject::Ip(ip),
                "http.server",
                if i % 3 == 0 { "" } else { "nginx" },
            );
            if i % 97 == 0 {
                r.lease(ts, mac, ip);
                r.duid_lease(ts, mac, ip);
            }
            if i % 41 == 0 {
                // Ports of two chassis, by MAC and by name.
                r.chassis(mac, Chassis::Mac([0x02, 0, 0, 0, 0, 1]));
                r.chassis(mac, Chassis::Name(" core-sw "));
                r.router(mac);
            }
        }
    }

    /// Whichever way the calls go, the devices decided are the same.
    #[test]
    fn threaded_decides_as_inline_does() {
        let decided = |mut r: Recorder| {
            feed(&mut r);
            format!("{:?}", r.finish().finish(&Rules::builtin()))
        };
        let inline = decided(Recorder::inline());
        assert!(inline.contains("bed-7"), "{inline}");
        assert!(inline.contains("l2.port_mac"), "{inline}");
        assert_eq!(decided(Recorder::threaded()), inline);
    }
}
