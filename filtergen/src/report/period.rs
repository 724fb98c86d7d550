//! When traffic repeats: the typical gap between events (bursts of an
//! endpoint, questions for a DNS name) and how regular it is.

use serde::Serialize;

/// A repeating pattern.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Period {
    /// Mean of the gaps close to the median gap.
    pub seconds: f64,
    /// Mean absolute deviation of those gaps from `seconds`.
    pub jitter: f64,
    /// Share of all gaps that are close to the median gap (0 to 1).
    pub regular: f64,
    /// Number of gaps measured.
    pub gaps: usize,
}

/// Below this share of regular gaps the traffic is reported as irregular.
pub const REGULAR_ENOUGH: f64 = 0.5;

impl Period {
    pub fn is_regular(&self) -> bool {
        self.regular >= REGULAR_ENOUGH
    }

    /// `every 28 s`, or `irregular` when under half the gaps fit.
    pub fn summary(&self) -> String {
        if self.is_regular() {
            format!("every {}", human(self.seconds))
        } else {
            "irregular".into()
        }
    }

    /// `±0.1 s, 98% of 4319 gaps`.
    pub fn detail(&self) -> String {
        format!("±{}, {:.0}% of {} gaps", human(self.jitter), self.regular * 100.0, self.gaps)
    }
}

/// The period of events at `times` (sorted or not); `None` for fewer than
/// three events.
pub fn estimate(times: &[f64]) -> Option<Period> {
    let mut sorted = times.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut gaps: Vec<f64> = sorted.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 0.0).collect();
    if gaps.len() < 2 {
        return None;
    }
    // (Unstable is enough: values equal under total_cmp are the same bits.)
    gaps.sort_unstable_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    let tolerance = (0.1 * median).max(0.2f64.min(0.3 * median));
    let close: Vec<f64> = gaps.iter().copied().filter(|g| (g - median).abs() <= tolerance).collect();
    let seconds = close.iter().sum::<f64>() / close.len() as f64;
    let jitter = close.iter().map(|g| (g - seconds).abs()).sum::<f64>() / close.len() as f64;
    Some(Period { seconds, jitter, regular: close.len() as f64 / gaps.len() as f64, gaps: gaps.len() })
}

/// A duration for people: `0.5 s`, `5 s`, `28 s`, `5 min`, `2.5 h`.
pub fn human(seconds: f64) -> String {
    fn trim(x: f64, unit: &str) -> String {
        let rounded = x.round();
        if (x - rounded).abs() <= 0.05 * x.max(1.0) {
            format!("{rounded:.0} {unit}")
        } else {
            let s = format!("{x:.1}");
            format!("{} {unit}", s.trim_end_matches('0').trim_end_matches('.'))
        }
    }
    if seconds < 10.0 {
        let s = if seconds < 1.0 { format!("{seconds:.2}") } else { format!("{seconds:.1}") };
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{} s", if s.is_empty() { "0" } else { s })
    } else if seconds < 90.0 {
        format!("{:.0} s", seconds)
    } else if seconds < 5400.0 {
        trim(seconds / 60.0, "min")
    } else if seconds < 2.0 * 86400.0 {
        trim(seconds / 3600.0, "h")
    } else {
        trim(seconds / 86400.0, "d")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_period_despite_noise() {
        // Every 28 s with ±0.3 s jitter, one missed beat and two extra events.
        let mut t: Vec<f64> = (0..100).map(|i| i as f64 * 28.0 + if i % 2 == 0 { 0.3 } else { -0.3 }).filter(|x| (*x - 28.0 * 50.0).abs() > 1.0).collect();
        t.extend([100.0, 1000.0]);
        let p = estimate(&t).unwrap();
        assert!((p.seconds - 28.0).abs() < 0.5, "{p:?}");
        assert!(p.regular > 0.9 && p.regular < 1.0, "{p:?}");
        assert_eq!(p.summary(), "every 28 s");
        assert!(estimate(&[1.0, 2.0]).is_none());
        let random = [0.0, 1.0, 7.0, 30.0, 31.0, 90.0, 200.0, 201.5];
        assert_eq!(estimate(&random).unwrap().summary(), "irregular");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(0.5), "0.5 s");
        assert_eq!(human(5.02), "5 s");
        assert_eq!(human(28.2), "28 s");
        assert_eq!(human(60.0), "60 s");
        assert_eq!(human(299.0), "5 min");
        assert_eq!(human(1800.0), "30 min");
        assert_eq!(human(150.0), "2.5 min");
        assert_eq!(human(7200.0), "2 h");
    }
}
