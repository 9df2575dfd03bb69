//! Security advisories in the shape of the OSV schema, and the rules that
//! decide whether one affects a package and which upgrade clears it.
//!
//! The types are plain records: the wire layer fills them from OSV JSON, and
//! nothing here reads or writes any format. Version texts stay as written, so
//! that a fix is reported the way its advisory spells it; they are parsed by
//! the ecosystem's ordering when compared.

use std::cmp::Ordering;

use jiff::Timestamp;

use super::version::{BadVersion, Version};
use super::{Ecosystem, Package};

/// One advisory (an OSV record).
#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    /// Markdown; empty when the record has none.
    pub details: String,
    pub published: Option<Timestamp>,
    pub modified: Timestamp,
    /// Set when the advisory was retracted; such a record affects nothing.
    pub withdrawn: Option<Timestamp>,
    pub severity: Vec<Severity>,
    pub affected: Vec<Affected>,
    pub references: Vec<Reference>,
    /// The record-level `database_specific.severity` (GitHub writes
    /// `CRITICAL`, `HIGH`, `MODERATE` or `LOW` there).
    pub database_severity: Option<String>,
}

/// A severity score as the record gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Severity {
    pub kind: SeverityKind,
    /// A CVSS vector for the CVSS kinds; other kinds have their own forms.
    pub score: String,
}

/// The `severity[].type` of OSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeverityKind {
    CvssV2,
    CvssV3,
    CvssV4,
    Ubuntu,
    Other(String),
}

impl SeverityKind {
    /// Reads OSV's name of a severity type.
    pub fn parse(s: &str) -> SeverityKind {
        match s {
            "CVSS_V2" => SeverityKind::CvssV2,
            "CVSS_V3" => SeverityKind::CvssV3,
            "CVSS_V4" => SeverityKind::CvssV4,
            "Ubuntu" => SeverityKind::Ubuntu,
            other => SeverityKind::Other(other.to_owned()),
        }
    }
}

/// A link of an advisory: `kind` is OSV's reference type (`ADVISORY`,
/// `FIX`, `WEB`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: String,
    pub url: String,
}

/// The versions of one package an advisory affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    pub ecosystem: Ecosystem,
    /// As the record writes it; compare through [`Ecosystem::normalise_name`].
    pub name: String,
    pub ranges: Vec<Range>,
    /// Versions listed one by one, affected whatever the ranges say.
    pub versions: Vec<String>,
    /// `affected[].database_specific.severity`, where a database puts it.
    pub database_severity: Option<String>,
}

/// A range of affected versions, told as a sequence of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub kind: RangeKind,
    pub events: Vec<Event>,
}

/// The `ranges[].type` of OSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeKind {
    Semver,
    Ecosystem,
    /// Commits of a repository; no package version can be placed in one.
    Git,
}

/// A point where a range opens or closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Affected from here on; `"0"` means from the first version.
    Introduced(String),
    /// Not affected from here on.
    Fixed(String),
    /// Affected up to and including here.
    LastAffected(String),
    /// Not affected from here on, whatever came before.
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }

    /// Where events at the same version sort: a range opened and closed at
    /// one version must open first, or it would stay open forever.
    fn rank(&self) -> u8 {
        match self {
            Event::Introduced(_) => 0,
            Event::LastAffected(_) => 1,
            Event::Fixed(_) | Event::Limit(_) => 2,
        }
    }
}

// ---------------------------------------------------------------- severity

/// How bad an advisory is, for sorting and for a person skimming a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeverityLevel {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLevel::Unknown => "unknown",
            SeverityLevel::Low => "low",
            SeverityLevel::Medium => "medium",
            SeverityLevel::High => "high",
            SeverityLevel::Critical => "critical",
        }
    }

    /// The CVSS qualitative rating of a score; a score of zero (CVSS's
    /// "none") tells nothing a person can act on, so it is unknown.
    pub fn from_score(score: f64) -> SeverityLevel {
        if score >= 9.0 {
            SeverityLevel::Critical
        } else if score >= 7.0 {
            SeverityLevel::High
        } else if score >= 4.0 {
            SeverityLevel::Medium
        } else if score > 0.0 {
            SeverityLevel::Low
        } else {
            SeverityLevel::Unknown
        }
    }

    /// Reads a database's own word (GitHub's `MODERATE` is medium).
    pub fn from_label(label: &str) -> Option<SeverityLevel> {
        match label.trim().to_ascii_uppercase().as_str() {
            "CRITICAL" => Some(SeverityLevel::Critical),
            "HIGH" => Some(SeverityLevel::High),
            "MODERATE" | "MEDIUM" => Some(SeverityLevel::Medium),
            "LOW" => Some(SeverityLevel::Low),
            _ => None,
        }
    }
}

/// Why a text is not a CVSS v3 vector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadCvss {
    #[error("a CVSS v3 vector starts with `CVSS:3.0/` or `CVSS:3.1/`")]
    Prefix,
    #[error("`{0}` is not a CVSS v3 metric")]
    Metric(String),
    #[error("metric `{0}` appears twice")]
    Repeated(String),
    #[error("base metric `{0}` is missing")]
    Missing(&'static str),
}

/// The base score of a CVSS v3.0 or v3.1 vector, by the equations of the
/// CVSS 3.1 specification (section 7.1) and its round-up (Appendix A). The
/// temporal and environmental metrics a vector may carry are not part of the
/// base score and are skipped.
pub fn cvss3_base_score(vector: &str) -> Result<f64, BadCvss> {
    let metrics = vector
        .trim()
        .strip_prefix("CVSS:3.1/")
        .or_else(|| vector.trim().strip_prefix("CVSS:3.0/"))
        .ok_or(BadCvss::Prefix)?;

    const BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    let mut values: [Option<&str>; 8] = [None; 8];
    for metric in metrics.split('/') {
        let (key, value) = metric
            .split_once(':')
            .ok_or_else(|| BadCvss::Metric(metric.to_owned()))?;
        let Some(slot) = BASE.iter().position(|k| *k == key) else {
            continue;
        };
        if values[slot].replace(value).is_some() {
            return Err(BadCvss::Repeated(key.to_owned()));
        }
    }
    let mut get = |i: usize| values[i].take().ok_or(BadCvss::Missing(BASE[i]));
    let bad = |i: usize, v: &str| BadCvss::Metric(format!("{}:{v}", BASE[i]));

    let (av, ac, pr, ui, scope) = (get(0)?, get(1)?, get(2)?, get(3)?, get(4)?);
    let changed = match scope {
        "U" => false,
        "C" => true,
        v => return Err(bad(4, v)),
    };
    let av = match av {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        v => return Err(bad(0, v)),
    };
    let ac = match ac {
        "L" => 0.77,
        "H" => 0.44,
        v => return Err(bad(1, v)),
    };
    // Privileges weigh more when the scope changes.
    let pr = match (pr, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        (v, _) => return Err(bad(2, v)),
    };
    let ui = match ui {
        "N" => 0.85,
        "R" => 0.62,
        v => return Err(bad(3, v)),
    };
    let mut cia = [0.0; 3];
    for (k, weight) in cia.iter_mut().enumerate() {
        let i = 5 + k;
        *weight = match get(i)? {
            "H" => 0.56,
            "L" => 0.22,
            "N" => 0.0,
            v => return Err(bad(i, v)),
        };
    }

    let iss = 1.0 - (1.0 - cia[0]) * (1.0 - cia[1]) * (1.0 - cia[2]);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02_f64).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let sum = if changed {
        1.08 * (impact + exploitability)
    } else {
        impact + exploitability
    };
    Ok(round_up(sum.min(10.0)))
}

/// The smallest number with one decimal that is at least `x`. CVSS 3.1
/// defines it on integers so that floating-point noise such as
/// 4.000000000000001 does not round up to 4.1.
fn round_up(x: f64) -> f64 {
    let scaled = (x * 100_000.0).round() as i64;
    if scaled % 10_000 == 0 {
        scaled as f64 / 100_000.0
    } else {
        (scaled / 10_000 + 1) as f64 / 10.0
    }
}

impl Advisory {
    /// The highest CVSS v3 base score among the record's vectors, if any
    /// of them reads.
    pub fn cvss3_score(&self) -> Option<f64> {
        self.severity
            .iter()
            .filter(|s| s.kind == SeverityKind::CvssV3)
            .filter_map(|s| cvss3_base_score(&s.score).ok())
            .reduce(f64::max)
    }

    /// The level to show: from a CVSS v3 vector when there is one (we
    /// compute the score), else from a bare numeric score, else from the
    /// database's own word, else unknown. CVSS v4 vectors are not scored
    /// here, so a record with only those falls through to the database word.
    pub fn severity_level(&self) -> SeverityLevel {
        if let Some(score) = self.cvss3_score() {
            return SeverityLevel::from_score(score);
        }
        let numeric = self
            .severity
            .iter()
            .filter_map(|s| s.score.trim().parse::<f64>().ok())
            .filter(|n| (0.0..=10.0).contains(n))
            .reduce(f64::max);
        if let Some(score) = numeric {
            return SeverityLevel::from_score(score);
        }
        self.database_severity
            .iter()
            .chain(
                self.affected
                    .iter()
                    .filter_map(|a| a.database_severity.as_ref()),
            )
            .filter_map(|label| SeverityLevel::from_label(label))
            .max()
            .unwrap_or(SeverityLevel::Unknown)
    }
}

// ---------------------------------------------------------------- matching

/// A range bound: `introduced: "0"` is below every version.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Point {
    Start,
    At(Version),
}

/// Whether `version` is one `affected` covers: listed in its `versions`, or
/// inside one of its SEMVER or ECOSYSTEM ranges. GIT ranges are about commits
/// and are skipped.
///
/// Range events are compared by the ecosystem's ordering. For the four
/// ecosystems liveops reads that is SemVer whenever a range says SEMVER, so
/// the two range kinds need no separate treatment. An event whose version
/// does not parse is left out, as an unreadable bound cannot be placed.
pub fn affects(affected: &Affected, version: &Version) -> bool {
    let ecosystem = affected.ecosystem;
    let listed = affected
        .versions
        .iter()
        .any(|listed| Version::parse(ecosystem, listed).is_ok_and(|l| &l == version));
    listed
        || affected
            .ranges
            .iter()
            .filter(|range| range.kind != RangeKind::Git)
            .any(|range| in_range(ecosystem, range, version))
}

/// Walks the events in version order, opening the range at each
/// `introduced` the version has reached and closing it at each `fixed` or
/// `limit` it has reached and each `last_affected` it has passed.
fn in_range(ecosystem: Ecosystem, range: &Range, version: &Version) -> bool {
    let mut events: Vec<(Point, &Event)> = range
        .events
        .iter()
        .filter_map(|event| {
            let point = match event {
                Event::Introduced(v) if v.trim() == "0" => Point::Start,
                _ => Point::At(Version::parse(ecosystem, event.version()).ok()?),
            };
            Some((point, event))
        })
        .collect();
    events.sort_by(|(a, ea), (b, eb)| a.cmp(b).then(ea.rank().cmp(&eb.rank())));

    let mut affected = false;
    for (point, event) in events {
        let reached = match &point {
            Point::Start => Ordering::Greater,
            Point::At(at) => version.cmp(at),
        };
        match event {
            Event::Introduced(_) if reached.is_ge() => affected = true,
            Event::Fixed(_) | Event::Limit(_) if reached.is_ge() => affected = false,
            Event::LastAffected(_) if reached.is_gt() => affected = false,
            _ => {}
        }
    }
    affected
}

/// The entries of `advisory` about `package`, none if it is withdrawn.
fn entries_for<'a>(
    advisory: &'a Advisory,
    package: &'a Package,
) -> impl Iterator<Item = &'a Affected> + 'a {
    let name = package.ecosystem.normalise_name(&package.name);
    advisory.affected.iter().filter(move |a| {
        advisory.withdrawn.is_none()
            && a.ecosystem == package.ecosystem
            && a.ecosystem.normalise_name(&a.name) == name
    })
}

/// Whether `advisory` is about `package` at all (whatever its version): same
/// ecosystem, same name once normalised, and not withdrawn.
pub fn matches(advisory: &Advisory, package: &Package) -> bool {
    entries_for(advisory, package).next().is_some()
}

/// Whether `advisory` affects the version `package` is at. Fails only when
/// that version does not parse by its ecosystem's ordering.
pub fn is_vulnerable(advisory: &Advisory, package: &Package) -> Result<bool, BadVersion> {
    let version = Version::parse(package.ecosystem, &package.version)?;
    Ok(entries_for(advisory, package).any(|a| affects(a, &version)))
}

/// The lowest `fixed` version above the package's that leaves it affected by
/// no range of `advisory`; `None` when the package is not affected, its
/// version does not parse, or no fixed version clears every range.
pub fn smallest_fix(advisory: &Advisory, package: &Package) -> Option<String> {
    smallest_fix_all([advisory], package)
}

/// The lowest `fixed` version, among those of `advisories`, above the
/// package's that none of them affects: the one upgrade that clears them all.
/// `None` when none affects the package, its version does not parse, or no
/// single fixed version clears all of them.
///
/// An upgrade must not walk into another range of the same advisories, so
/// every range about the package counts, including those of advisories that
/// do not affect the current version.
pub fn smallest_fix_all<'a>(
    advisories: impl IntoIterator<Item = &'a Advisory>,
    package: &Package,
) -> Option<String> {
    let current = Version::parse(package.ecosystem, &package.version).ok()?;
    let entries: Vec<&Affected> = advisories
        .into_iter()
        .flat_map(|advisory| entries_for(advisory, package))
        .collect();
    if !entries.iter().any(|a| affects(a, &current)) {
        return None;
    }
    let mut candidates: Vec<(Version, &str)> = entries
        .iter()
        .flat_map(|a| &a.ranges)
        .filter(|range| range.kind != RangeKind::Git)
        .flat_map(|range| &range.events)
        .filter_map(|event| match event {
            Event::Fixed(v) => Some((Version::parse(package.ecosystem, v).ok()?, v.as_str())),
            _ => None,
        })
        .filter(|(v, _)| *v > current)
        .collect();
    candidates.sort_by(|(a, _), (b, _)| a.cmp(b));
    candidates
        .into_iter()
        .find(|(v, _)| !entries.iter().any(|a| affects(a, v)))
        .map(|(_, text)| text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
        Package {
            ecosystem,
            name: name.to_owned(),
            version: version.to_owned(),
        }
    }

    /// Events written as `introduced=1.0`, `fixed=2.0`, `last=1.5`, `limit=3`.
    fn range(kind: RangeKind, events: &[&str]) -> Range {
        let events = events
            .iter()
            .map(|e| {
                let (k, v) = e.split_once('=').expect("kind=version");
                let v = v.to_owned();
                match k {
                    "introduced" => Event::Introduced(v),
                    "fixed" => Event::Fixed(v),
                    "last" => Event::LastAffected(v),
                    "limit" => Event::Limit(v),
                    other => panic!("unknown event kind {other}"),
                }
            })
            .collect();
        Range { kind, events }
    }

    fn affected(ecosystem: Ecosystem, name: &str, ranges: Vec<Range>) -> Affected {
        Affected {
            ecosystem,
            name: name.to_owned(),
            ranges,
            versions: Vec::new(),
            database_severity: None,
        }
    }

    fn advisory(id: &str, affected: Vec<Affected>) -> Advisory {
        Advisory {
            id: id.to_owned(),
            aliases: Vec::new(),
            summary: None,
            details: String::new(),
            published: None,
            modified: Timestamp::UNIX_EPOCH,
            withdrawn: None,
            severity: Vec::new(),
            affected,
            references: Vec::new(),
            database_severity: None,
        }
    }

    /// Which of `versions` `entry` affects, as a string of `x` and `.`.
    fn pattern(entry: &Affected, versions: &[&str]) -> String {
        versions
            .iter()
            .map(|v| {
                let v = Version::parse(entry.ecosystem, v).expect("a valid version");
                if affects(entry, &v) { 'x' } else { '.' }
            })
            .collect()
    }

    #[test]
    fn ranges_are_half_open_unless_last_affected() {
        let versions = [
            "0.0.1",
            "0.9.9",
            "1.0.0",
            "1.5.0",
            "1.9.9-rc.1",
            "2.0.0",
            "2.5.0",
        ];
        let check = |events: &[&str], expected: &str| {
            let entry = affected(
                Ecosystem::CratesIo,
                "x",
                vec![range(RangeKind::Semver, events)],
            );
            assert_eq!(pattern(&entry, &versions), expected, "{events:?}");
        };
        check(&["introduced=0", "fixed=2.0.0"], "xxxxx..");
        check(&["introduced=1.0.0", "fixed=2.0.0"], "..xxx..");
        check(&["introduced=1.0.0", "last=1.5.0"], "..xx...");
        check(&["introduced=1.0.0"], "..xxxxx");
        check(&["introduced=0", "limit=1.0.0"], "xx.....");
        check(&["introduced=1.0.0", "fixed=1.0.0"], ".......");
        check(&["introduced=0.0.0-0", "fixed=1.0.0"], "xx.....");
        // Events out of order, two intervals in one range.
        check(
            &[
                "fixed=2.5.0",
                "introduced=2.0.0",
                "fixed=1.5.0",
                "introduced=0",
            ],
            "xxx..x.",
        );
        // An unreadable bound is left out rather than guessed at.
        check(&["introduced=0", "fixed=not-a-version"], "xxxxxxx");
    }

    #[test]
    fn listed_versions_match_and_git_ranges_do_not() {
        let mut entry = affected(
            Ecosystem::PyPI,
            "Django",
            vec![range(RangeKind::Git, &["introduced=0", "fixed=abc123"])],
        );
        entry.versions = vec!["1.0".to_owned(), "1.1rc1".to_owned(), "garbage!".to_owned()];
        assert_eq!(
            pattern(&entry, &["0.9", "1.0.0", "1.1c1", "1.1", "2.0"]),
            ".xx.."
        );
    }

    #[test]
    fn pypi_ranges_use_pep440_order() {
        let entry = affected(
            Ecosystem::PyPI,
            "x",
            vec![range(
                RangeKind::Ecosystem,
                &["introduced=1.0", "fixed=1.2.post1"],
            )],
        );
        assert_eq!(
            pattern(
                &entry,
                &[
                    "1.0.dev0",
                    "1.0rc1",
                    "1.0",
                    "1.2",
                    "1.2.post1.dev0",
                    "1.2.post1",
                    "1.2.1"
                ]
            ),
            "..xxx.."
        );
    }

    #[test]
    fn matching_normalises_names_and_skips_withdrawn_records() {
        let mut a = advisory(
            "PYSEC-1",
            vec![affected(
                Ecosystem::PyPI,
                "Django_Rest.framework",
                vec![range(RangeKind::Ecosystem, &["introduced=0", "fixed=3.0"])],
            )],
        );
        let old = package(Ecosystem::PyPI, "django-rest-framework", "2.4");
        assert!(matches(&a, &old));
        assert_eq!(is_vulnerable(&a, &old), Ok(true));
        assert_eq!(
            is_vulnerable(
                &a,
                &package(Ecosystem::PyPI, "django-rest-framework", "3.0")
            ),
            Ok(false)
        );
        assert!(!matches(
            &a,
            &package(Ecosystem::Npm, "django-rest-framework", "2.4")
        ));
        assert!(!matches(&a, &package(Ecosystem::PyPI, "django", "2.4")));
        assert!(
            is_vulnerable(
                &a,
                &package(Ecosystem::PyPI, "django-rest-framework", "latest")
            )
            .is_err()
        );
        a.withdrawn = Some(Timestamp::UNIX_EPOCH);
        assert!(!matches(&a, &old));
        assert_eq!(is_vulnerable(&a, &old), Ok(false));
        assert_eq!(smallest_fix(&a, &old), None);
    }

    #[test]
    fn smallest_fix_clears_every_range() {
        let entry = affected(
            Ecosystem::Npm,
            "lodash",
            vec![
                range(RangeKind::Semver, &["introduced=0", "fixed=4.17.12"]),
                range(RangeKind::Semver, &["introduced=4.17.12", "fixed=4.17.21"]),
            ],
        );
        let a = advisory("GHSA-1", vec![entry.clone()]);
        let at = |v| package(Ecosystem::Npm, "lodash", v);
        // 4.17.12 closes the first range but opens the second.
        assert_eq!(smallest_fix(&a, &at("4.17.4")).as_deref(), Some("4.17.21"));
        assert_eq!(smallest_fix(&a, &at("4.17.21")), None);

        // Backported fixes: the lowest fix above the current version wins.
        let b = advisory(
            "GHSA-2",
            vec![affected(
                Ecosystem::Npm,
                "lodash",
                vec![
                    range(RangeKind::Semver, &["introduced=0", "fixed=3.10.2"]),
                    range(RangeKind::Semver, &["introduced=4.0.0", "fixed=4.17.5"]),
                ],
            )],
        );
        assert_eq!(smallest_fix(&b, &at("3.9.0")).as_deref(), Some("3.10.2"));
        assert_eq!(smallest_fix(&b, &at("4.1.0")).as_deref(), Some("4.17.5"));

        // Together: the fix for one must not fall in the other's range.
        assert_eq!(
            smallest_fix_all([&a, &b], &at("4.1.0")).as_deref(),
            Some("4.17.21")
        );
        assert_eq!(
            smallest_fix_all([&b, &a], &at("3.9.0")).as_deref(),
            Some("4.17.21")
        );

        // Affected with no fix at all.
        let c = advisory(
            "GHSA-3",
            vec![affected(
                Ecosystem::Npm,
                "lodash",
                vec![range(
                    RangeKind::Semver,
                    &["introduced=4.0.0", "last=4.17.21"],
                )],
            )],
        );
        assert_eq!(smallest_fix(&c, &at("4.1.0")), None);
        assert_eq!(smallest_fix_all([&a, &c], &at("4.1.0")), None);
    }

    #[test]
    fn cvss3_base_scores_match_the_calculator() {
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:H/A:L", 7.6),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L", 3.7),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 9.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            // Metric order is free, and temporal metrics are not base ones.
            ("CVSS:3.1/S:U/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H/E:U/RL:O", 9.8),
        ];
        for (vector, expected) in cases {
            assert_eq!(cvss3_base_score(vector), Ok(expected), "{vector}");
        }
        assert_eq!(cvss3_base_score("CVSS:4.0/AV:N"), Err(BadCvss::Prefix));
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"),
            Err(BadCvss::Missing("A"))
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Err(BadCvss::Metric("AV:X".to_owned()))
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Err(BadCvss::Repeated("AV".to_owned()))
        );
    }

    #[test]
    fn severity_level_prefers_cvss3_then_the_database_word() {
        let mut a = advisory("X", Vec::new());
        assert_eq!(a.severity_level(), SeverityLevel::Unknown);
        a.database_severity = Some("MODERATE".to_owned());
        assert_eq!(a.severity_level(), SeverityLevel::Medium);
        a.severity.push(Severity {
            kind: SeverityKind::CvssV4,
            score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".to_owned(),
        });
        assert_eq!(a.severity_level(), SeverityLevel::Medium);
        a.severity.push(Severity {
            kind: SeverityKind::CvssV3,
            score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_owned(),
        });
        assert_eq!(a.cvss3_score(), Some(9.8));
        assert_eq!(a.severity_level(), SeverityLevel::Critical);

        let levels = [
            (9.0, "critical"),
            (8.9, "high"),
            (7.0, "high"),
            (6.9, "medium"),
            (4.0, "medium"),
            (3.9, "low"),
            (0.1, "low"),
            (0.0, "unknown"),
        ];
        for (score, level) in levels {
            assert_eq!(SeverityLevel::from_score(score).as_str(), level, "{score}");
        }
    }
}
