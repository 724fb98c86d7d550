//! Capture timestamps (seconds since the epoch) as local wall-clock text,
//! for a fixed UTC offset given on the command line.

/// A fixed offset from UTC in minutes (`+11:00` is 660).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UtcOffset(pub i32);

impl std::str::FromStr for UtcOffset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad UTC offset {s:?}: want e.g. +11:00, -05:00, +5:30 or 0");
        if s == "0" || s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
            return Ok(UtcOffset(0));
        }
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        if h > 14 || !(0..60).contains(&m) {
            return Err(bad());
        }
        Ok(UtcOffset(sign * (h * 60 + m)))
    }
}

impl std::fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 0 {
            return f.write_str("UTC");
        }
        let sign = if self.0 < 0 { '-' } else { '+' };
        write!(f, "UTC{sign}{:02}:{:02}", self.0.abs() / 60, self.0.abs() % 60)
    }
}

impl UtcOffset {
    /// Local seconds since the epoch.
    pub fn local(self, epoch: f64) -> i64 {
        epoch.floor() as i64 + i64::from(self.0) * 60
    }

    /// The local hour of day (0-23) of a time.
    pub fn hour_of_day(self, epoch: f64) -> usize {
        (self.local(epoch).div_euclid(3600).rem_euclid(24)) as usize
    }

    /// `2024-01-01 03:00:05` in local time.
    pub fn format(self, epoch: f64) -> String {
        let secs = self.local(epoch);
        let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60)
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(UtcOffset(0).format(1_704_067_200.0), "2024-01-01 00:00:00");
        assert_eq!(UtcOffset(0).format(951_782_400.0 + 3661.0), "2000-02-29 01:01:01");
        let aedt: UtcOffset = "+11:00".parse().unwrap();
        assert_eq!(aedt.format(1_704_067_200.0), "2024-01-01 11:00:00");
        assert_eq!(aedt.hour_of_day(1_704_067_200.0), 11);
        assert_eq!("-5:30".parse::<UtcOffset>().unwrap(), UtcOffset(-330));
        assert!("11".parse::<UtcOffset>().is_err());
        assert_eq!(UtcOffset(-330).to_string(), "UTC-05:30");
    }
}
