//! Packet timestamps: nanoseconds since the Unix epoch, taken from the capture, never from the wall clock.

use std::fmt;

/// A packet timestamp in nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const NANOS_PER_SEC: i64 = 1_000_000_000;

    pub fn from_parts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp(
            secs.saturating_mul(Self::NANOS_PER_SEC)
                .saturating_add(i64::from(nanos)),
        )
    }

    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp::from_parts(secs, 0)
    }

    pub fn as_nanos(self) -> i64 {
        self.0
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(Self::NANOS_PER_SEC)
    }

    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(Self::NANOS_PER_SEC) as u32
    }

    /// `self - earlier` in nanoseconds, never negative.
    pub fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0).max(0)
    }

    pub fn add_secs(self, secs: i64) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(secs.saturating_mul(Self::NANOS_PER_SEC)),
        )
    }

    /// RFC 3339 in UTC with microsecond precision, e.g. `2025-03-03T08:00:00.000123Z`.
    pub fn rfc3339(self) -> String {
        self.to_string()
    }
}

/// Length of [`Timestamp::format_rfc3339`]'s output for years 0 to 9999.
pub const RFC3339_LEN: usize = 27;

/// "00" to "99", one after another.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

impl Timestamp {
    /// Writes RFC 3339 (UTC, microseconds) into `buf` without the formatting machinery: reports print
    /// hundreds of thousands of these. Years outside 0..=9999 are clamped.
    pub fn format_rfc3339(self, buf: &mut [u8; RFC3339_LEN]) -> &str {
        let secs = self.secs();
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let y = y.clamp(0, 9999) as u32;
        // Two digits at a time, from a table.
        let mut put2 = |at: usize, v: u32| {
            let i = (v % 100) as usize * 2;
            buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        };
        put2(0, y / 100);
        put2(2, y);
        put2(5, m);
        put2(8, d);
        put2(11, (sod / 3600) as u32);
        put2(14, ((sod / 60) % 60) as u32);
        put2(17, (sod % 60) as u32);
        let micros = self.subsec_nanos() / 1000;
        put2(20, micros / 10_000);
        put2(22, micros / 100);
        put2(24, micros);
        for (at, c) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ] {
            buf[at] = c;
        }
        // Only ASCII digits and separators were written.
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.format_rfc3339(&mut [0; RFC3339_LEN]))
    }
}

/// Days since the epoch to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_utc() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
        // 2025-03-03 08:00:00 UTC is gen_big.py's default start.
        assert_eq!(
            Timestamp::from_parts(1_740_988_800, 123_456_789).to_string(),
            "2025-03-03T08:00:00.123456Z"
        );
        assert_eq!(
            Timestamp::from_secs(951_782_400).to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp::from_secs(-1).to_string(),
            "1969-12-31T23:59:59.000000Z"
        );
    }

    /// Every field, digit by digit, against a plain formatter, over many times from before year 0 to
    /// after 9999 (clamped years) and every sub-second width.
    #[test]
    fn rfc3339_digits_equal_a_plain_formatter() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = match i % 4 {
                0 => (x % 4_000_000_000) as i64,
                1 => (x % 400_000_000_000) as i64 - 200_000_000_000,
                2 => (x >> 1) as i64 * if x & 1 == 0 { 1 } else { -1 },
                _ => 1_740_988_800 + (x % 86_400_000) as i64,
            };
            let t = Timestamp::from_parts(secs, (x % 1_000_000_000) as u32);
            let sod = t.secs().rem_euclid(86_400);
            let (y, m, d) = civil_from_days(t.secs().div_euclid(86_400));
            let want = format!(
                "{:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
                y.clamp(0, 9999),
                sod / 3600,
                sod / 60 % 60,
                sod % 60,
                t.subsec_nanos() / 1000
            );
            assert_eq!(t.format_rfc3339(&mut [0; RFC3339_LEN]), want, "{secs} s");
        }
    }
}
