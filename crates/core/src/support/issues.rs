//! An error issue's life: unresolved, resolved (now, in the next release,
//! or in a given release) and ignored (until more events, more users or a
//! date), and the rules that bring it back: a resolved issue seen again in
//! a release after its fix regresses, an ignored one whose condition is
//! met is unresolved again.
//!
//! Releases are ordered as Sentry's are for semantic versions: a
//! `package@` prefix and a leading `v` are set aside and the rest compared
//! by SemVer 2.0. Two releases that are not both versions have no order;
//! then any release other than the fixed one counts as after it, since an
//! event from a build other than the one that was resolved is news.

use std::cmp::Ordering;

/// Where an issue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Unresolved,
    Resolved,
    Ignored,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Unresolved, Status::Resolved, Status::Ignored];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unresolved => "unresolved",
            Status::Resolved => "resolved",
            Status::Ignored => "ignored",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Status, String> {
        Status::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("no issue status `{s}`: use unresolved, resolved or ignored"))
    }
}

/// How a resolved issue was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Fixed now: any later event brings it back.
    Now,
    /// Fixed in the release after `current`, the newest it had been seen
    /// in (none when it had been seen in no release).
    NextRelease { current: Option<String> },
    /// Fixed in this release: events from it and older ones are expected.
    InRelease(String),
}

impl Resolution {
    /// The stored kind (`now`, `next`, `release`).
    pub fn kind(&self) -> &'static str {
        match self {
            Resolution::Now => "now",
            Resolution::NextRelease { .. } => "next",
            Resolution::InRelease(_) => "release",
        }
    }

    /// The release the resolution holds, if any.
    pub fn release(&self) -> Option<&str> {
        match self {
            Resolution::Now => None,
            Resolution::NextRelease { current } => current.as_deref(),
            Resolution::InRelease(r) => Some(r),
        }
    }

    /// Reads a stored kind and release back.
    pub fn from_parts(kind: &str, release: Option<&str>) -> Option<Resolution> {
        match (kind, release) {
            ("now", _) => Some(Resolution::Now),
            ("next", r) => Some(Resolution::NextRelease {
                current: r.map(str::to_owned),
            }),
            ("release", Some(r)) => Some(Resolution::InRelease(r.to_owned())),
            _ => None,
        }
    }
}

/// What ends an ignore; the first condition met ends it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IgnoreUntil {
    /// This many more events.
    pub events: Option<u64>,
    /// This many more distinct users.
    pub users: Option<u64>,
    /// This instant (ms).
    pub until_ms: Option<i64>,
}

impl IgnoreUntil {
    /// Whether the ignore is over, given what happened since it began.
    pub fn ended(&self, events_since: u64, users_since: u64, now_ms: i64) -> bool {
        self.events.is_some_and(|n| events_since >= n)
            || self.users.is_some_and(|n| users_since >= n)
            || self.until_ms.is_some_and(|t| now_ms >= t)
    }
}

/// A release as a version, when it is one: `app@1.2.3`, `v1.2.3`, `1.2`.
fn version(release: &str) -> Option<semver::Version> {
    let r = release.rsplit_once('@').map_or(release, |(_, v)| v);
    let r = r.strip_prefix('v').unwrap_or(r);
    if let Ok(v) = semver::Version::parse(r) {
        return Some(v);
    }
    // `1.2` and `1` as Sentry's users write them.
    let parts: Vec<&str> = r.split('.').collect();
    if parts.len() < 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        let mut padded = parts.join(".");
        for _ in parts.len()..3 {
            padded.push_str(".0");
        }
        return semver::Version::parse(&padded).ok();
    }
    None
}

/// How two releases are ordered, when both are versions.
pub fn compare_releases(a: &str, b: &str) -> Option<Ordering> {
    Some(version(a)?.cmp(&version(b)?))
}

/// Whether `release` comes after `fixed`: newer by version, or, without an
/// order, simply another release.
pub fn after(release: &str, fixed: &str) -> bool {
    match compare_releases(release, fixed) {
        Some(o) => o == Ordering::Greater,
        None => release != fixed,
    }
}

/// Whether an event in `release` (none when the SDK sent none), seen at
/// `at_ms`, brings back an issue resolved by `resolution` at
/// `resolved_at_ms`.
pub fn regresses(
    resolution: &Resolution,
    resolved_at_ms: i64,
    release: Option<&str>,
    at_ms: i64,
) -> bool {
    match resolution {
        Resolution::Now => at_ms > resolved_at_ms,
        Resolution::NextRelease { current } => match (release, current) {
            (Some(r), Some(c)) => after(r, c),
            // Resolved before any release was seen: the next one is any.
            (Some(_), None) => true,
            // Without a release, nothing says the fix is deployed.
            (None, _) => false,
        },
        Resolution::InRelease(fixed) => release.is_some_and(|r| after(r, fixed)),
    }
}

/// The newest of the releases, by version where they are versions, else
/// the last given.
pub fn newest<'a>(releases: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    releases.into_iter().fold(None, |best, r| match best {
        None => Some(r),
        Some(b) => match compare_releases(r, b) {
            Some(Ordering::Less) => Some(b),
            _ => Some(r),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_order_by_version_with_prefixes() {
        assert_eq!(
            compare_releases("app@1.10.0", "app@1.9.3"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_releases("v1.2", "1.2.0"), Some(Ordering::Equal));
        assert_eq!(
            compare_releases("1.3.0-rc.1", "1.3.0"),
            Some(Ordering::Less)
        );
        assert_eq!(compare_releases("abc123", "1.0.0"), None);
        assert!(after("1.3.0", "1.2.0"));
        assert!(!after("1.1.0", "1.2.0"));
        assert!(!after("1.2.0", "1.2.0"));
        assert!(after("deadbeef", "cafebabe"));
        assert!(!after("cafebabe", "cafebabe"));
        assert_eq!(newest(["1.2.0", "1.10.0", "1.9.0"]), Some("1.10.0"));
        assert_eq!(newest(Vec::<&str>::new()), None);
    }

    #[test]
    fn a_resolved_issue_regresses_only_after_its_fix() {
        let now = Resolution::Now;
        assert!(!regresses(&now, 1000, Some("1.0.0"), 1000));
        assert!(regresses(&now, 1000, None, 1001));

        let in_120 = Resolution::InRelease("1.2.0".into());
        assert!(!regresses(&in_120, 0, Some("1.2.0"), 5));
        assert!(!regresses(&in_120, 0, Some("1.1.9"), 5));
        assert!(!regresses(&in_120, 0, None, 5));
        assert!(regresses(&in_120, 0, Some("1.3.0"), 5));

        let next = Resolution::NextRelease {
            current: Some("2.0.0".into()),
        };
        assert!(!regresses(&next, 0, Some("2.0.0"), 9));
        assert!(regresses(&next, 0, Some("2.0.1"), 9));
        assert!(!regresses(&next, 0, None, 9));
        let next_of_none = Resolution::NextRelease { current: None };
        assert!(regresses(&next_of_none, 0, Some("0.1.0"), 9));
    }

    #[test]
    fn resolutions_round_trip_through_their_parts() {
        for r in [
            Resolution::Now,
            Resolution::NextRelease { current: None },
            Resolution::NextRelease {
                current: Some("1.0".into()),
            },
            Resolution::InRelease("2.0".into()),
        ] {
            assert_eq!(Resolution::from_parts(r.kind(), r.release()), Some(r));
        }
        assert_eq!(Resolution::from_parts("release", None), None);
        assert_eq!(Resolution::from_parts("later", None), None);
        assert_eq!("ignored".parse::<Status>(), Ok(Status::Ignored));
        assert!("open".parse::<Status>().is_err());
    }

    #[test]
    fn an_ignore_ends_at_the_first_condition_met() {
        let none = IgnoreUntil::default();
        assert!(!none.ended(1_000_000, 1_000, i64::MAX));
        let events = IgnoreUntil {
            events: Some(10),
            ..IgnoreUntil::default()
        };
        assert!(!events.ended(9, 100, 0));
        assert!(events.ended(10, 0, 0));
        let users_or_date = IgnoreUntil {
            users: Some(3),
            until_ms: Some(500),
            ..IgnoreUntil::default()
        };
        assert!(!users_or_date.ended(100, 2, 499));
        assert!(users_or_date.ended(0, 3, 0));
        assert!(users_or_date.ended(0, 0, 500));
    }
}
