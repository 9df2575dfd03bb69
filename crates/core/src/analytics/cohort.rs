//! Cohorts: named groups of persons that insights filter and break down by.
//!
//! A cohort is defined one of three ways, after PostHog's cohorts:
//! - behavioural: the persons who did an event at least N times in the
//!   last D days, or the persons who did not;
//! - by property: the persons whose properties match every filter;
//! - static: a fixed list of distinct ids, uploaded as CSV.
//!
//! Membership is decided here, one person at a time, from that person's
//! sorted event times; the stores only hand the events over.

use crate::analytics::filter::{FilterError, PropertyFilter, parse_filters};

const DAY_MS: i64 = 86_400_000;

/// The longest look-back a behavioural cohort may have.
pub const MAX_DAYS: u32 = 3_650;
/// The most distinct ids a static cohort holds.
pub const MAX_STATIC: usize = 1_000_000;
/// The longest name a cohort may have, in characters.
pub const MAX_NAME: usize = 120;

/// Who belongs to a cohort.
#[derive(Debug, Clone, PartialEq)]
pub enum CohortRule {
    /// Did `event` at least `min_count` times in the `days` days before
    /// the moment asked about; with `did` false, the persons who did not.
    Behavioural {
        event: String,
        min_count: u32,
        days: u32,
        did: bool,
    },
    /// A person's properties match every filter.
    Property { filters: Vec<PropertyFilter> },
    /// The distinct ids listed, kept with the cohort.
    Static,
}

/// Why a cohort's definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CohortError {
    #[error(
        "a cohort needs a name of 1 to {MAX_NAME} characters, without commas (a breakdown lists cohorts with commas)"
    )]
    Name,
    #[error("a behavioural cohort names the event its persons did (or did not do)")]
    NoEvent,
    #[error("a behavioural cohort counts at least 1 event, not {0}")]
    MinCount(u32),
    #[error("a behavioural cohort looks back 1 to {MAX_DAYS} days, not {0}")]
    Days(u32),
    #[error("a property cohort needs at least one filter, such as plan=pro")]
    NoFilters,
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("a static cohort needs at least one distinct id")]
    NoMembers,
    #[error("a static cohort holds at most {MAX_STATIC} distinct ids; this list has {0}")]
    TooManyMembers(usize),
    #[error("unknown cohort kind `{0}`: use behavioural, property or static")]
    Kind(String),
}

impl CohortRule {
    /// A behavioural rule, checked.
    pub fn behavioural(
        event: &str,
        min_count: u32,
        days: u32,
        did: bool,
    ) -> Result<CohortRule, CohortError> {
        let event = event.trim();
        if event.is_empty() {
            return Err(CohortError::NoEvent);
        }
        if min_count == 0 {
            return Err(CohortError::MinCount(min_count));
        }
        if days == 0 || days > MAX_DAYS {
            return Err(CohortError::Days(days));
        }
        Ok(CohortRule::Behavioural {
            event: event.to_owned(),
            min_count,
            days,
            did,
        })
    }

    /// A property rule from filters written as `key=value;key>1`.
    pub fn property(filters: &str) -> Result<CohortRule, CohortError> {
        let filters = parse_filters(filters)?;
        if filters.is_empty() {
            return Err(CohortError::NoFilters);
        }
        Ok(CohortRule::Property { filters })
    }

    /// The kind's name, as the API and the store write it.
    pub fn kind(&self) -> &'static str {
        match self {
            CohortRule::Behavioural { .. } => "behavioural",
            CohortRule::Property { .. } => "property",
            CohortRule::Static => "static",
        }
    }

    /// The rule in words, for lists and pages.
    pub fn describe(&self) -> String {
        match self {
            CohortRule::Behavioural {
                event,
                min_count,
                days,
                did,
            } => {
                let times = if *min_count == 1 {
                    "once".to_owned()
                } else {
                    format!("{min_count} times")
                };
                if *did {
                    format!("did {event} at least {times} in the last {days} days")
                } else {
                    format!("did not do {event} at least {times} in the last {days} days")
                }
            }
            CohortRule::Property { filters } => {
                let parts: Vec<String> = filters.iter().map(ToString::to_string).collect();
                format!("person properties match {}", parts.join("; "))
            }
            CohortRule::Static => "a fixed list of distinct ids".to_owned(),
        }
    }
}

/// Checks a cohort's name: trimmed, 1 to [`MAX_NAME`] characters.
pub fn cohort_name(name: &str) -> Result<String, CohortError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME
        || name.contains(',')
        || name.chars().any(char::is_control)
    {
        return Err(CohortError::Name);
    }
    Ok(name.to_owned())
}

/// Reads a static cohort's CSV: one distinct id per row, in the first
/// column; a header row named `distinct_id` (or `id`) is skipped, as are
/// blank rows. Quotes around an id are removed. Duplicates count once.
pub fn parse_members_csv(text: &str) -> Result<Vec<String>, CohortError> {
    let mut out: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let first = line.split(',').next().unwrap_or("").trim();
        let id = first
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(first)
            .trim();
        if id.is_empty() {
            continue;
        }
        if i == 0 && matches!(id.to_ascii_lowercase().as_str(), "distinct_id" | "id") {
            continue;
        }
        out.push(id.to_owned());
    }
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        return Err(CohortError::NoMembers);
    }
    if out.len() > MAX_STATIC {
        return Err(CohortError::TooManyMembers(out.len()));
    }
    Ok(out)
}

/// A behavioural rule as the kernel applies it: the event's times for one
/// person are counted in a window of `days` ending at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub min_count: u32,
    pub days: u32,
}

impl Window {
    fn width_ms(self) -> i64 {
        i64::from(self.days) * DAY_MS
    }

    /// Whether a person whose matching events happened at `times` (sorted)
    /// did the event often enough in the window that ends at `end_ms`
    /// (exclusive).
    pub fn did_by(self, times: &[i64], end_ms: i64) -> bool {
        let from = end_ms - self.width_ms();
        let a = times.partition_point(|&t| t < from);
        let b = times.partition_point(|&t| t < end_ms);
        (b - a) as u64 >= u64::from(self.min_count)
    }

    /// For each of `ends` (ascending), whether the person qualified at that
    /// moment: adds 1 to `counts[k]` for each end they qualified at. One
    /// pass over the person's times.
    pub fn tally(self, times: &[i64], ends: &[i64], counts: &mut [u64]) {
        let width = self.width_ms();
        let (mut a, mut b) = (0usize, 0usize);
        for (k, &end) in ends.iter().enumerate() {
            while b < times.len() && times[b] < end {
                b += 1;
            }
            while a < b && times[a] < end - width {
                a += 1;
            }
            if (b - a) as u64 >= u64::from(self.min_count)
                && let Some(c) = counts.get_mut(k)
            {
                *c += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_checked() {
        assert_eq!(
            CohortRule::behavioural(" ", 1, 30, true),
            Err(CohortError::NoEvent)
        );
        assert_eq!(
            CohortRule::behavioural("buy", 0, 30, true),
            Err(CohortError::MinCount(0))
        );
        assert_eq!(
            CohortRule::behavioural("buy", 1, 0, true),
            Err(CohortError::Days(0))
        );
        assert_eq!(
            CohortRule::behavioural("buy", 1, MAX_DAYS + 1, true),
            Err(CohortError::Days(MAX_DAYS + 1))
        );
        let r = CohortRule::behavioural(" buy ", 2, 30, false).expect("valid");
        assert_eq!(
            r.describe(),
            "did not do buy at least 2 times in the last 30 days"
        );
        assert_eq!(CohortRule::property(" ; "), Err(CohortError::NoFilters));
        assert!(matches!(
            CohortRule::property("plan"),
            Err(CohortError::Filter(_))
        ));
        let p = CohortRule::property("plan=pro;seats>=5").expect("valid");
        assert_eq!(p.kind(), "property");
        assert_eq!(p.describe(), "person properties match plan=pro; seats>=5");
        assert_eq!(cohort_name("  "), Err(CohortError::Name));
        assert_eq!(
            cohort_name(&"x".repeat(MAX_NAME + 1)),
            Err(CohortError::Name)
        );
        assert_eq!(cohort_name("a,b"), Err(CohortError::Name));
        assert_eq!(cohort_name(" Paying ").as_deref(), Ok("Paying"));
    }

    #[test]
    fn static_lists_read_the_first_column() {
        let got =
            parse_members_csv("distinct_id,email\n\"u2\",a@x\nu1\n\n u2 ,b\n").expect("valid csv");
        assert_eq!(got, ["u1", "u2"]);
        // A first row that is not a header is a member.
        assert_eq!(
            parse_members_csv("u9\r\nu8").expect("valid csv"),
            ["u8", "u9"]
        );
        assert_eq!(parse_members_csv("id\n\n"), Err(CohortError::NoMembers));
    }

    #[test]
    fn windows_count_events_before_each_moment() {
        let w = Window {
            min_count: 2,
            days: 7,
        };
        let d = |n: i64| n * DAY_MS;
        let times = [d(1), d(3), d(9), d(20)];
        // Window [end - 7 days, end).
        assert!(!w.did_by(&times, d(3))); // only day 1
        assert!(w.did_by(&times, d(3) + 1)); // days 1 and 3
        assert!(w.did_by(&times, d(8))); // days 1 and 3, day 1 still inside
        assert!(!w.did_by(&times, d(8) + 1)); // day 1 has left
        assert!(w.did_by(&times, d(10))); // days 3 and 9
        assert!(!w.did_by(&times, d(21)));
        let ends = [d(3), d(4), d(8) + 1, d(10), d(21), d(30)];
        let mut counts = vec![0; ends.len()];
        w.tally(&times, &ends, &mut counts);
        let each: Vec<u64> = ends
            .iter()
            .map(|&e| u64::from(w.did_by(&times, e)))
            .collect();
        assert_eq!(counts, each);
        assert_eq!(counts, [0, 1, 0, 1, 0, 0]);
    }
}
