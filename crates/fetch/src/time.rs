//! Calendar arithmetic for the few dates the feeds need: RFC 3339 stamps, NVD query dates, HTTP dates.
//!
//! Times are whole seconds since the Unix epoch in UTC; a dependency on a date crate would cost more
//! build time than these hundred lines.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// Seconds since the epoch of a wall-clock time (negative before 1970).
pub(crate) fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The wall-clock time of a count of seconds since the epoch.
pub(crate) fn system_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
}

fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(DAY);
    let rem = secs.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
    }
}

/// `2025-08-25T12:00:00Z`: how times are kept in the state file.
pub(crate) fn rfc3339(secs: i64) -> String {
    let c = civil(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `2025-08-25T12:00:00.000+00:00`: the extended ISO-8601 form the NVD API takes for its date parameters.
pub(crate) fn nvd_date(secs: i64) -> String {
    let c = civil(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000+00:00",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `20250825T120000Z`: a time as part of a file name (no colons, so it is valid everywhere).
pub(crate) fn compact(secs: i64) -> String {
    let c = civil(secs);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `2025-08-25`: the date of a time.
pub(crate) fn date(secs: i64) -> String {
    let c = civil(secs);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 9 {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY-MM-DD` into (year, month, day), checking the day exists.
fn parse_ymd(s: &str) -> Option<(i64, u32, u32)> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (digits(y)?, digits(m)? as u32, digits(d)? as u32);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let days_in_month = days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1);
    (i64::from(d) <= days_in_month).then_some((y, m, d))
}

/// Parses a date (`2025-08-25`, midnight UTC) or an RFC 3339 time (`2025-08-25T12:00:00Z`, fractions and a
/// `+01:00` offset allowed; no offset means UTC) into seconds since the epoch.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date_part, time_part) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let (y, m, d) = parse_ymd(date_part)?;
    let mut secs = days_from_civil(y, m, d) * DAY;
    let Some(t) = time_part else {
        return Some(secs);
    };
    let (clock, offset) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = t.rfind(['+', '-']) {
        let (c, o) = t.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':')?;
        let (oh, om) = (digits(oh)?, digits(om)?);
        if oh > 23 || om > 59 {
            return None;
        }
        (c, sign * (oh * 3600 + om * 60))
    } else {
        (t, 0)
    };
    let clock = clock.split_once('.').map_or(clock, |(whole, frac)| {
        if frac.bytes().all(|b| b.is_ascii_digit()) {
            whole
        } else {
            ""
        }
    });
    let mut it = clock.split(':');
    let (h, mi, se) = (
        digits(it.next()?)?,
        digits(it.next()?)?,
        it.next().map_or(Some(0), digits)?,
    );
    if it.next().is_some() || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + se - offset;
    Some(secs)
}

/// Parses an HTTP date in the preferred IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`), as found in
/// `Retry-After`. The obsolete forms are not worth supporting: the caller falls back to its own back-off.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let mut it = s.split_ascii_whitespace();
    let _weekday = it.next()?;
    let day = digits(it.next()?)?;
    let month = match it.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year = it.next()?;
    let clock = it.next()?;
    if it.next()? != "GMT" {
        return None;
    }
    let day = u32::try_from(day).ok()?;
    parse_rfc3339(&format!("{year}-{month:02}-{day:02}T{clock}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dates() {
        for secs in [0, 951_782_400, 1_756_123_200, 4_102_444_800, -86_400] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(rfc3339(1_756_123_200), "2025-08-25T12:00:00Z");
        assert_eq!(nvd_date(1_756_123_200), "2025-08-25T12:00:00.000+00:00");
        assert_eq!(compact(1_756_123_200), "20250825T120000Z");
        assert_eq!(date(951_782_400), "2000-02-29");
    }

    #[test]
    fn parses_offsets_fractions_and_plain_dates() {
        let noon = 1_756_123_200;
        assert_eq!(parse_rfc3339("2025-08-25T13:00:00.123+01:00"), Some(noon));
        assert_eq!(parse_rfc3339("2025-08-25T07:00:00-05:00"), Some(noon));
        assert_eq!(parse_rfc3339("2025-08-25T12:00:00"), Some(noon));
        assert_eq!(parse_rfc3339("2025-08-25"), Some(noon - 12 * 3600));
        for bad in [
            "",
            "2025-02-30",
            "2025-13-01",
            "25-08-25",
            "2025-08-25T25:00:00Z",
            "2025-08-25Tnoon",
            "2025-08-25T12:00:00.x1Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_imf_fixdate() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            parse_rfc3339("1994-11-06T08:49:37Z")
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("120"), None);
    }
}
