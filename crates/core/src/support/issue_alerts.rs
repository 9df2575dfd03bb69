//! When an error issue alerts, and how loudly: the severity each event
//! level maps to, and the two kinds of spike (a number of events within a
//! window, or a share of the requests of the route the issue happens on).

use std::fmt;

use super::incident::Severity;

/// Sentry's event levels, most severe first.
pub const LEVELS: [&str; 5] = ["fatal", "error", "warning", "info", "debug"];

/// The severity an alert takes from its issue's level, for the levels
/// given; the others take the alert integration's default (for incidents)
/// or SEV3 (for notifications). Written `fatal=sev1,error=sev3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Severities(Vec<(&'static str, Severity)>);

impl Default for Severities {
    /// Fatal errors as SEV2, the rest unmapped.
    fn default() -> Severities {
        Severities(vec![("fatal", Severity::Sev2)])
    }
}

impl Severities {
    /// Reads `level=sevN` pairs separated by commas; empty means none.
    pub fn parse(s: &str) -> Result<Severities, String> {
        let mut out: Vec<(&'static str, Severity)> = Vec::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (level, sev) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not `level=severity`"))?;
            let level = level.trim().to_ascii_lowercase();
            let level = LEVELS.into_iter().find(|l| *l == level).ok_or_else(|| {
                format!("`{level}` is not a level: use one of {}", LEVELS.join(", "))
            })?;
            let sev: Severity = sev
                .parse()
                .map_err(|e: super::incident::UnknownValue| e.to_string())?;
            if out.iter().any(|(l, _)| *l == level) {
                return Err(format!("`{level}` is given twice"));
            }
            out.push((level, sev));
        }
        out.sort_by_key(|(l, _)| LEVELS.iter().position(|x| x == l));
        Ok(Severities(out))
    }

    /// The severity of an issue of this level, when one is set.
    pub fn of(&self, level: &str) -> Option<Severity> {
        self.0.iter().find(|(l, _)| *l == level).map(|(_, s)| *s)
    }
}

impl fmt::Display for Severities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(l, s)| format!("{l}={}", s.as_str()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// A share-of-requests spike needs at least this many requests on the
/// route within the window, so that one failure among three requests is
/// not a spike.
pub const MIN_ROUTE_REQUESTS: u64 = 20;

/// Whether `events` of an issue within a window are at least `percent` %
/// of the `requests` its route served in that window.
pub fn spikes_on_route(events: u64, requests: u64, percent: f64) -> bool {
    requests >= MIN_ROUTE_REQUESTS && (events as f64) * 100.0 >= percent * requests as f64
}

/// A spike's share as a percentage must be more than 0 and at most 100.
pub fn check_percent(p: f64) -> Result<f64, String> {
    if p.is_finite() && p > 0.0 && p <= 100.0 {
        Ok(p)
    } else {
        Err("a spike's share of a route's requests is a percentage above 0 and at most 100".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_read_and_write_the_same() {
        let s = Severities::parse(" error=SEV3 , fatal=sev1").expect("read");
        assert_eq!(s.to_string(), "fatal=sev1,error=sev3");
        assert_eq!(s.of("fatal"), Some(Severity::Sev1));
        assert_eq!(s.of("warning"), None);
        assert_eq!(Severities::parse(&s.to_string()).expect("read"), s);
        assert_eq!(Severities::parse("").expect("read").to_string(), "");
        assert_eq!(Severities::default().to_string(), "fatal=sev2");
    }

    #[test]
    fn bad_severities_say_why() {
        assert!(
            Severities::parse("fatal")
                .expect_err("refused")
                .contains("level=severity")
        );
        assert!(
            Severities::parse("boom=sev1")
                .expect_err("refused")
                .contains("not a level")
        );
        assert!(
            Severities::parse("fatal=sev9")
                .expect_err("refused")
                .contains("sev1, sev2")
        );
        assert!(
            Severities::parse("fatal=sev1,fatal=sev2")
                .expect_err("refused")
                .contains("twice")
        );
    }

    #[test]
    fn a_route_spike_needs_its_share_and_enough_requests() {
        assert!(spikes_on_route(10, 100, 10.0));
        assert!(!spikes_on_route(9, 100, 10.0));
        assert!(!spikes_on_route(5, 10, 10.0), "too few requests");
        assert!(!spikes_on_route(0, 0, 1.0));
        assert!(check_percent(0.0).is_err());
        assert!(check_percent(f64::NAN).is_err());
        assert!(check_percent(150.0).is_err());
        assert_eq!(check_percent(2.5), Ok(2.5));
    }
}
