//! Time as the downloader sees it: a monotonic clock and a sleep for pacing, the wall clock for query
//! windows; and the sliding-window rate limiter built on them. Tests swap in a fake clock and never wait.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

/// Where the downloader reads the time and how it waits. [`SystemClock`] is the real one; tests pass a
/// clock whose `sleep` only advances its own time.
pub trait Clock {
    /// Monotonic time since an arbitrary origin; used for rate limiting and back-off.
    fn now(&self) -> Duration;
    /// The wall clock; used for the end of NVD query windows and dates in file names.
    fn wall(&self) -> SystemTime;
    /// Waits for `d`.
    fn sleep(&mut self, d: Duration);
}

/// The real clock: `Instant`, `SystemTime::now()` and `std::thread::sleep`.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// At most `requests` requests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in one window.
    pub requests: u32,
    /// The length of the sliding window.
    pub window: Duration,
}

impl RateLimit {
    /// The NVD's published limit without an API key: 5 requests in a rolling 30 seconds.
    pub const NVD_PUBLIC: RateLimit = RateLimit {
        requests: 5,
        window: Duration::from_secs(30),
    };
    /// The NVD's published limit with an API key: 50 requests in a rolling 30 seconds.
    pub const NVD_WITH_KEY: RateLimit = RateLimit {
        requests: 50,
        window: Duration::from_secs(30),
    };
}

/// A sliding-window limiter: it remembers when the last `requests` requests were sent, and a new one
/// waits until the oldest of them has left the window.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: RateLimit,
    sent: VecDeque<Duration>,
}

impl RateLimiter {
    /// A limiter with nothing sent yet. A limit of zero requests is taken as one.
    pub fn new(limit: RateLimit) -> RateLimiter {
        let limit = RateLimit {
            requests: limit.requests.max(1),
            ..limit
        };
        RateLimiter {
            limit,
            sent: VecDeque::new(),
        }
    }

    /// How long a request at monotonic time `now` must wait (zero if it may go now).
    pub fn delay(&mut self, now: Duration) -> Duration {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= self.limit.window)
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.limit.requests as usize {
            return Duration::ZERO;
        }
        match self.sent.front() {
            Some(&oldest) => (oldest + self.limit.window).saturating_sub(now),
            None => Duration::ZERO,
        }
    }

    /// Waits on `clock` until a request may be sent, records it as sent, and returns the total wait.
    pub fn acquire(&mut self, clock: &mut dyn Clock) -> Duration {
        let mut waited = Duration::ZERO;
        // A clock whose sleep does not advance time must not hang the download: give up waiting after a
        // few rounds (one is enough for any real clock).
        for _ in 0..8 {
            let d = self.delay(clock.now());
            if d.is_zero() {
                break;
            }
            clock.sleep(d);
            waited += d;
        }
        self.sent.push_back(clock.now());
        waited
    }
}
