//! `MEDSENTRY_TIMINGS=1`: how long each phase of a command took, on stderr, for profiling a run.
//! Durations and phase names only, never anything from the traffic.

use std::time::{Duration, Instant};

/// The phases of one piece of work (`analyze`, `persist`), each timed from the end of the one before.
pub struct Phases {
    what: &'static str,
    on: bool,
    start: Instant,
    last: Instant,
    done: Vec<(&'static str, Duration, Option<u64>)>,
}

impl Phases {
    /// Timing only when `MEDSENTRY_TIMINGS=1`; otherwise every call does nothing.
    pub fn new(what: &'static str) -> Phases {
        let now = Instant::now();
        Phases {
            what,
            on: std::env::var_os("MEDSENTRY_TIMINGS").is_some_and(|v| v == "1"),
            start: now,
            last: now,
            done: Vec::new(),
        }
    }

    /// Ends phase `name`.
    pub fn lap(&mut self, name: &'static str) {
        if self.on {
            let now = Instant::now();
            self.done.push((name, now - self.last, peak_rss_kib()));
            self.last = now;
        }
    }

    /// A duration measured elsewhere (on another thread).
    pub fn note(&mut self, name: &'static str, d: Duration) {
        if self.on {
            self.done.push((name, d, None));
        }
    }

    /// One line: every phase and the total.
    pub fn print(&self) {
        if self.on {
            let phases: Vec<String> = self
                .done
                .iter()
                .map(|(name, d, peak)| match peak {
                    Some(kib) => format!("{name} {:.3}s (peak {} MiB)", d.as_secs_f64(), kib >> 10),
                    None => format!("{name} {:.3}s", d.as_secs_f64()),
                })
                .collect();
            eprintln!(
                "medsentry: timings: {} {} (total {:.3}s)",
                self.what,
                phases.join(", "),
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}

/// The process's peak resident memory so far (`VmHWM`), where the system reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
