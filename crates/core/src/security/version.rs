//! Versions as each ecosystem orders them: SemVer 2.0 for crates.io, npm and
//! Go (pseudo-versions included), PEP 440 for PyPI.
//!
//! A [`Version`] exists only once its text has parsed, and two versions of the
//! same ecosystem always compare. Equality follows the ordering, not the text:
//! `1.0` and `1.0.0` are the same PyPI version, and SemVer build metadata
//! (Go's `+incompatible` among it) takes no part in precedence.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use super::Ecosystem;

/// A version of a package, parsed by its ecosystem's rules.
///
/// Versions of different orderings never meet in practice (a package belongs
/// to one ecosystem); to keep the order total, SemVer ones sort before PEP 440
/// ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    SemVer(SemVer),
    Pep440(Pep440),
}

/// Why a text is not a version of an ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a {ecosystem} version: {reason}")]
pub struct BadVersion {
    pub ecosystem: &'static str,
    pub input: String,
    pub reason: &'static str,
}

impl Version {
    /// Parses `text` by the ordering `ecosystem` uses.
    pub fn parse(ecosystem: Ecosystem, text: &str) -> Result<Version, BadVersion> {
        let bad = |reason| BadVersion {
            ecosystem: ecosystem.as_str(),
            input: text.to_owned(),
            reason,
        };
        match ecosystem {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Go => {
                SemVer::parse(text).map(Version::SemVer).map_err(bad)
            }
            Ecosystem::PyPI => Pep440::parse(text).map(Version::Pep440).map_err(bad),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::SemVer(v) => v.fmt(f),
            Version::Pep440(v) => v.fmt(f),
        }
    }
}

// ---------------------------------------------------------------- SemVer

/// A SemVer 2.0 version, read leniently: surrounding blanks, a leading `=`
/// or `v` (Go writes one on every version, npm lockfiles sometimes do) and
/// leading zeros are accepted, and a missing minor or patch number is zero.
#[derive(Debug, Clone)]
pub struct SemVer {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<PreId>,
    build: String,
}

/// One dot-separated identifier of a SemVer pre-release. Numeric ones sort
/// before alphanumeric ones, which is why `Num` comes first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum PreId {
    Num(u64),
    Alpha(String),
}

impl SemVer {
    fn parse(text: &str) -> Result<SemVer, &'static str> {
        let s = text.trim();
        let s = s.strip_prefix('=').unwrap_or(s).trim_start();
        let s = s
            .strip_prefix('v')
            .or_else(|| s.strip_prefix('V'))
            .unwrap_or(s);
        if s.is_empty() {
            return Err("it is empty");
        }
        let (rest, build) = match s.split_once('+') {
            Some((rest, build)) => (rest, build),
            None => (s, ""),
        };
        if s.contains('+') && !identifiers_ok(build) {
            return Err("its build metadata is not dot-separated [0-9A-Za-z-] identifiers");
        }
        // The core is digits and dots only, so the first `-` starts the
        // pre-release.
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let mut numbers = core.split('.');
        let mut next = |required: bool| -> Result<u64, &'static str> {
            match numbers.next() {
                Some(n) => parse_number(n).ok_or("its major.minor.patch are not numbers"),
                None if required => Err("it does not start with a number"),
                None => Ok(0),
            }
        };
        let (major, minor, patch) = (next(true)?, next(false)?, next(false)?);
        if numbers.next().is_some() {
            return Err("it has more than three numbers before the pre-release");
        }
        let pre = match pre {
            None => Vec::new(),
            Some(pre) if identifiers_ok(pre) => pre
                .split('.')
                .map(|id| match parse_number(id) {
                    Some(n) => PreId::Num(n),
                    None => PreId::Alpha(id.to_owned()),
                })
                .collect(),
            Some(_) => return Err("its pre-release is not dot-separated [0-9A-Za-z-] identifiers"),
        };
        Ok(SemVer {
            major,
            minor,
            patch,
            pre,
            build: build.to_owned(),
        })
    }

    /// Whether this is a pre-release (Go pseudo-versions are).
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

/// Digits only, fitting a `u64`.
fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Non-empty identifiers of `[0-9A-Za-z-]`, separated by dots.
fn identifiers_ok(s: &str) -> bool {
    s.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            // A release sorts after all of its pre-releases; otherwise the
            // identifiers compare in turn and a shorter prefix sorts first,
            // which is exactly how Vec compares.
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVer {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVer {}

impl Hash for SemVer {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.major, self.minor, self.patch, &self.pre).hash(state);
    }
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, id) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match id {
                PreId::Num(n) => write!(f, "{n}")?,
                PreId::Alpha(s) => f.write_str(s)?,
            }
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- PEP 440

/// A PEP 440 version, held in normal form: labels spelled `a`, `b`, `rc`,
/// implicit numbers made zero, the local part lower-cased with `.` between
/// its segments.
#[derive(Debug, Clone)]
pub struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(PreLabel, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<LocalSegment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum PreLabel {
    Alpha,
    Beta,
    Rc,
}

/// A segment of a local version label. Numbers sort after words, as PEP 440
/// says, hence the variant order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum LocalSegment {
    Word(String),
    Num(u64),
}

/// The spellings of each label, longest first so that `alpha` is not read as
/// `a` followed by garbage.
const PRE_LABELS: [(&str, PreLabel); 8] = [
    ("preview", PreLabel::Rc),
    ("alpha", PreLabel::Alpha),
    ("beta", PreLabel::Beta),
    ("pre", PreLabel::Rc),
    ("rc", PreLabel::Rc),
    ("a", PreLabel::Alpha),
    ("b", PreLabel::Beta),
    ("c", PreLabel::Rc),
];
const POST_LABELS: [&str; 3] = ["post", "rev", "r"];

/// A cursor over the lower-cased text of a version.
struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn eat_str(&mut self, word: &str) -> bool {
        let hit = self.s[self.at..].starts_with(word.as_bytes());
        if hit {
            self.at += word.len();
        }
        hit
    }

    fn eat_separator(&mut self) -> bool {
        matches!(self.peek(), Some(b'-' | b'_' | b'.')) && {
            self.at += 1;
            true
        }
    }

    /// A run of digits; `Ok(None)` when there is none here.
    fn number(&mut self) -> Result<Option<u64>, &'static str> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        if start == self.at {
            return Ok(None);
        }
        // Only ASCII digits were consumed, so the slice is valid UTF-8.
        let digits = std::str::from_utf8(&self.s[start..self.at]).map_err(|_| "not ASCII")?;
        digits
            .parse()
            .map(Some)
            .map_err(|_| "a number is too large")
    }

    /// An optional separator, then `label` (one of `labels`), then an
    /// optional separator and number. Leaves the cursor where it was when
    /// no label follows.
    fn labelled<T: Copy>(
        &mut self,
        labels: &[(&str, T)],
    ) -> Result<Option<(T, Option<u64>)>, &'static str> {
        let start = self.at;
        self.eat_separator();
        let Some(&(_, value)) = labels.iter().find(|(word, _)| self.eat_str(word)) else {
            self.at = start;
            return Ok(None);
        };
        let before_separator = self.at;
        self.eat_separator();
        let n = self.number()?;
        if n.is_none() {
            // A separator after the label belongs to whatever follows.
            self.at = before_separator;
        }
        Ok(Some((value, n)))
    }
}

impl Pep440 {
    fn parse(text: &str) -> Result<Pep440, &'static str> {
        let lower = text.trim().to_ascii_lowercase();
        if lower.is_empty() {
            return Err("it is empty");
        }
        let mut c = Cursor {
            s: lower.as_bytes(),
            at: 0,
        };
        c.eat(b'v');

        let first = c.number()?.ok_or("it does not start with a number")?;
        let (epoch, first) = if c.eat(b'!') {
            (first, c.number()?.ok_or("no release follows the epoch")?)
        } else {
            (0, first)
        };
        let mut release = vec![first];
        loop {
            let start = c.at;
            if !c.eat(b'.') {
                break;
            }
            match c.number()? {
                Some(n) => release.push(n),
                None => {
                    c.at = start;
                    break;
                }
            }
        }

        let pre = c
            .labelled(&PRE_LABELS)?
            .map(|(label, n)| (label, n.unwrap_or(0)));

        // `1.0-1` is a post-release too: a dash and a number, no label.
        let post = {
            let start = c.at;
            match (c.eat(b'-'), c.number()?) {
                (true, Some(n)) => Some(n),
                _ => {
                    c.at = start;
                    let labels = POST_LABELS.map(|w| (w, ()));
                    c.labelled(&labels)?.map(|((), n)| n.unwrap_or(0))
                }
            }
        };

        let dev = c.labelled(&[("dev", ())])?.map(|((), n)| n.unwrap_or(0));

        let mut local = Vec::new();
        if c.eat(b'+') {
            let rest = std::str::from_utf8(&c.s[c.at..]).map_err(|_| "not ASCII")?;
            for segment in rest.split(['.', '-', '_']) {
                if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err("its local label is not dot-separated letters and digits");
                }
                local.push(match parse_number(segment) {
                    Some(n) => LocalSegment::Num(n),
                    None if segment.bytes().all(|b| b.is_ascii_digit()) => {
                        return Err("a number is too large");
                    }
                    None => LocalSegment::Word(segment.to_owned()),
                });
            }
            c.at = c.s.len();
        }

        if c.at != c.s.len() {
            return Err("it has text PEP 440 does not allow");
        }
        Ok(Pep440 {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// Whether this is a pre-release or a development release.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The release numbers without trailing zeros, which carry no meaning.
    fn significant_release(&self) -> &[u64] {
        let len = self
            .release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(0, |i| i + 1);
        &self.release[..len]
    }

    /// The pre-release part of the sort key. A bare development release
    /// (`1.0.dev0`) sorts before every pre-release of its release, and a
    /// version with no pre-release after all of them.
    fn pre_key(&self) -> (u8, Option<(PreLabel, u64)>) {
        match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (0, None),
            (Some(pre), _, _) => (1, Some(pre)),
            (None, _, _) => (2, None),
        }
    }

    /// The development part: a version that is not a development release
    /// sorts after those that are.
    fn dev_key(&self) -> (bool, u64) {
        match self.dev {
            Some(n) => (false, n),
            None => (true, 0),
        }
    }
}

impl Ord for Pep440 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.significant_release().cmp(other.significant_release()))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            // `None < Some`: no post-release sorts before any post-release.
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| self.dev_key().cmp(&other.dev_key()))
            // Vec order: no local label sorts first, then segment by segment.
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Pep440 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440 {}

impl Hash for Pep440 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (
            self.epoch,
            self.significant_release(),
            self.pre_key(),
            self.post,
            self.dev_key(),
            &self.local,
        )
            .hash(state);
    }
}

impl fmt::Display for Pep440 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        for (i, n) in self.release.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        if let Some((label, n)) = self.pre {
            let label = match label {
                PreLabel::Alpha => "a",
                PreLabel::Beta => "b",
                PreLabel::Rc => "rc",
            };
            write!(f, "{label}{n}")?;
        }
        if let Some(n) = self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = self.dev {
            write!(f, ".dev{n}")?;
        }
        for (i, segment) in self.local.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            match segment {
                LocalSegment::Word(w) => f.write_str(w)?,
                LocalSegment::Num(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ecosystem: Ecosystem, s: &str) -> Version {
        Version::parse(ecosystem, s).expect("a valid version")
    }

    fn py(s: &str) -> Version {
        v(Ecosystem::PyPI, s)
    }

    /// Asserts that each version sorts strictly before the next.
    fn ascending(ecosystem: Ecosystem, versions: &[&str]) {
        for pair in versions.windows(2) {
            let (a, b) = (v(ecosystem, pair[0]), v(ecosystem, pair[1]));
            assert!(a < b, "{} < {} in {}", pair[0], pair[1], ecosystem.as_str());
            assert!(b > a);
            assert_ne!(a, b);
        }
    }

    #[test]
    fn semver_follows_the_precedence_example_of_the_spec() {
        ascending(
            Ecosystem::CratesIo,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.1",
                "1.1.0",
                "2.0.0",
                "10.0.0",
            ],
        );
        // RustSec's "from the very start" bound sorts below every release.
        ascending(
            Ecosystem::CratesIo,
            &["0.0.0-0", "0.0.0", "0.0.1-0", "0.0.1"],
        );
    }

    #[test]
    fn semver_ignores_build_metadata_and_accepts_npm_spellings() {
        assert_eq!(
            v(Ecosystem::Npm, "1.2.3+build.5"),
            v(Ecosystem::Npm, "1.2.3")
        );
        assert_eq!(v(Ecosystem::Npm, "v1.2.3"), v(Ecosystem::Npm, "1.2.3"));
        assert_eq!(v(Ecosystem::Npm, "=1.2.3"), v(Ecosystem::Npm, " 1.2.3 "));
        assert_eq!(v(Ecosystem::Npm, "1.2"), v(Ecosystem::Npm, "1.2.0"));
        assert_eq!(
            v(Ecosystem::Npm, "1.2.3-beta.1").to_string(),
            "1.2.3-beta.1"
        );
        assert!(v(Ecosystem::Npm, "1.2.3-beta.1") < v(Ecosystem::Npm, "1.2.3"));
        for bad in [
            "",
            "v",
            "x.y.z",
            "1.2.3.4",
            "1.2.3-",
            "1.2.3-a..b",
            "1.2.3+",
            "1.2.3-é",
        ] {
            assert!(Version::parse(Ecosystem::Npm, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn go_versions_drop_the_v_and_order_pseudo_versions_as_prereleases() {
        let go = Ecosystem::Go;
        assert_eq!(v(go, "v1.2.3"), v(go, "1.2.3"));
        assert_eq!(v(go, "v2.7.0+incompatible"), v(go, "2.7.0"));
        ascending(
            go,
            &[
                // A pseudo-version with no tag before it.
                "v0.0.0-20210101000000-abcdef123456",
                "v0.0.0-20220101000000-abcdef123456",
                "v0.1.0",
                // Based on a pre-release tag: after it, before the next one.
                "v1.2.0-beta.1",
                "v1.2.0-beta.1.0.20210101000000-abcdefabcdef",
                "v1.2.0-beta.2",
                "v1.2.0",
                // Based on the release v1.2.0: between it and v1.2.1.
                "v1.2.1-0.20210101000000-abcdefabcdef",
                "v1.2.1-0.20210102000000-abcdefabcdef",
                "v1.2.1",
                "v2.7.0-rc.0+incompatible",
                "v2.7.0+incompatible",
            ],
        );
    }

    #[test]
    fn pep440_normalises_spellings() {
        let same = [
            ("1.0", "1.0.0"),
            ("1.0", "1"),
            ("1.0", "V1.0"),
            ("1.0", " 1.0\n"),
            ("0!1.0", "1.0"),
            ("1.0a1", "1.0alpha1"),
            ("1.0a1", "1.0-a1"),
            ("1.0a1", "1.0.a.1"),
            ("1.0a1", "1.0_A_1"),
            ("1.0a0", "1.0a"),
            ("1.0b2", "1.0beta2"),
            ("1.0rc1", "1.0c1"),
            ("1.0rc1", "1.0pre1"),
            ("1.0rc1", "1.0preview1"),
            ("1.0rc0", "1.0-rc"),
            ("1.0.post1", "1.0post1"),
            ("1.0.post1", "1.0-post1"),
            ("1.0.post1", "1.0-1"),
            ("1.0.post1", "1.0.rev1"),
            ("1.0.post1", "1.0r1"),
            ("1.0.post0", "1.0.post"),
            ("1.0.post0", "1.0-r"),
            ("1.0.dev0", "1.0.dev"),
            ("1.0.dev0", "1.0dev"),
            ("1.0.dev2", "1.0-dev2"),
            ("1.0+ubuntu.1", "1.0+ubuntu-1"),
            ("1.0+ubuntu.1", "1.0+UBUNTU_1"),
            ("1.0+ubuntu.1", "1.0+ubuntu.01"),
            ("1.0a1.post2.dev3", "1.0-alpha-1-post-2-dev-3"),
            ("1.0a.post1", "1.0a0.post1"),
        ];
        for (a, b) in same {
            assert_eq!(py(a), py(b), "{a} == {b}");
        }
        assert_eq!(
            py("1.0.0ALPHA.1-POST.DEV").to_string(),
            "1.0.0a1.post0.dev0"
        );
        assert_eq!(py("1!2.0c3+Local.7").to_string(), "1!2.0rc3+local.7");
        assert_eq!(py("v1.0-1").to_string(), "1.0.post1");
    }

    #[test]
    fn pep440_rejects_what_the_grammar_does_not_allow() {
        for bad in [
            "",
            "a",
            "1.",
            "1..0",
            "1.0-",
            "1.0+",
            "1.0+a..b",
            "1.0+é",
            "1.0 a1",
            "1.0foo",
            "!1.0",
            "1!",
            "1.0a1a2",
            "1.0.post1.post2",
            "1.0.dev1.post1",
            "1.0-1-1",
            "-class.-jw.util.version.Version-",
            "2019-09-12x",
        ] {
            assert!(Version::parse(Ecosystem::PyPI, bad).is_err(), "{bad:?}");
        }
    }

    /// The examples PEP 440 gives in its "Summary of permitted suffixes and
    /// relative ordering" and "Version epochs" sections, in order.
    #[test]
    fn pep440_orders_the_examples_of_the_pep() {
        ascending(
            Ecosystem::PyPI,
            &[
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
            ],
        );
        ascending(
            Ecosystem::PyPI,
            &["2013.10", "2014.04", "1!1.0", "1!1.1", "1!2.0"],
        );
        ascending(
            Ecosystem::PyPI,
            &["1.0.dev0", "1.0a0", "1.0", "1.0.post1.dev0", "1.0.post1"],
        );
        ascending(
            Ecosystem::PyPI,
            &[
                "1.0", "1.0+a", "1.0+a.b", "1.0+a.1", "1.0+b", "1.0+1", "1.0+1.a", "1.0+2",
            ],
        );
    }

    #[test]
    fn pep440_ignores_trailing_zeros_but_not_inner_ones() {
        assert_eq!(py("1.0.0.0"), py("1"));
        assert!(py("1.0.1") > py("1.0"));
        assert!(py("1.01") == py("1.1"));
        assert!(py("1.10") > py("1.9"));
        assert!(py("0.0.1.post10035392509") > py("0.0.1.post2080668443"));
        use std::collections::HashSet;
        let set: HashSet<Version> = ["1.0", "1.0.0", "1", "1.0+0"].map(py).into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn orderings_differ_between_ecosystems() {
        // SemVer has no post-releases and reads `-1` as a pre-release.
        assert!(py("1.0-1") > py("1.0"));
        assert!(v(Ecosystem::Npm, "1.0.0-1") < v(Ecosystem::Npm, "1.0.0"));
        assert_eq!(py("1.0.0").to_string(), "1.0.0");
        let e = Version::parse(Ecosystem::Go, "master").expect_err("not a version");
        assert_eq!(
            e.to_string(),
            "`master` is not a Go version: its major.minor.patch are not numbers"
        );
    }
}
