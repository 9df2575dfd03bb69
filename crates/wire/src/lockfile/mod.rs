//! Lockfiles and manifests read into the packages a project pins, for
//! matching against vulnerability advisories.
//!
//! These are the files osv-scanner reads: Cargo.lock, package-lock.json,
//! yarn.lock, pnpm-lock.yaml, requirements.txt, poetry.lock, Pipfile.lock and
//! go.mod. One module per family does the reading; [`parse`] dispatches on a
//! [`Format`], usually found from the file name with [`Format::detect`].
//!
//! A parser reports every package it can pin to one exact version and skips
//! what has no registry version to compare (git, path and link dependencies,
//! unpinned requirements). Text that is not the format it claims to be is an
//! error saying what is wrong; no input makes a parser panic. Line numbers
//! come from a cheap scan of the text and are left out when that scan cannot
//! find them (minified JSON, for one).

mod cargo;
mod go;
mod npm;
mod pnpm;
mod python;
mod yarn;

use std::collections::HashMap;
use std::fmt;

use liveops_core::security::{Ecosystem, Package};
use serde::de::DeserializeOwned;

/// A lockfile or manifest format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    CargoLock,
    PackageLock,
    YarnLock,
    PnpmLock,
    Requirements,
    PoetryLock,
    PipfileLock,
    GoMod,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::CargoLock,
        Format::PackageLock,
        Format::YarnLock,
        Format::PnpmLock,
        Format::Requirements,
        Format::PoetryLock,
        Format::PipfileLock,
        Format::GoMod,
    ];

    /// The format a file is in, from its name; a path is accepted and only
    /// its last component is looked at.
    pub fn detect(file_name: &str) -> Option<Format> {
        let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        Some(match name {
            "Cargo.lock" => Format::CargoLock,
            "package-lock.json" | "npm-shrinkwrap.json" => Format::PackageLock,
            "yarn.lock" => Format::YarnLock,
            "pnpm-lock.yaml" => Format::PnpmLock,
            "poetry.lock" => Format::PoetryLock,
            "Pipfile.lock" => Format::PipfileLock,
            "go.mod" => Format::GoMod,
            _ if name.starts_with("requirements") && name.ends_with(".txt") => Format::Requirements,
            _ => return None,
        })
    }

    /// The usual name of a file in this format, used in messages.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::CargoLock => "Cargo.lock",
            Format::PackageLock => "package-lock.json",
            Format::YarnLock => "yarn.lock",
            Format::PnpmLock => "pnpm-lock.yaml",
            Format::Requirements => "requirements.txt",
            Format::PoetryLock => "poetry.lock",
            Format::PipfileLock => "Pipfile.lock",
            Format::GoMod => "go.mod",
        }
    }

    /// The ecosystem every package in such a file belongs to.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            Format::CargoLock => Ecosystem::CratesIo,
            Format::PackageLock | Format::YarnLock | Format::PnpmLock => Ecosystem::Npm,
            Format::Requirements | Format::PoetryLock | Format::PipfileLock => Ecosystem::PyPI,
            Format::GoMod => Ecosystem::Go,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// A package a lockfile pins, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub package: Package,
    /// The 1-based line where the version is pinned, when a cheap scan of
    /// the text can tell.
    pub line: Option<u32>,
}

/// The packages of one lockfile: each package once (at its first line),
/// sorted by package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lockfile {
    pub packages: Vec<Found>,
}

impl Lockfile {
    fn new(mut packages: Vec<Found>) -> Lockfile {
        packages.sort_by(|a, b| {
            (&a.package, a.line.is_none(), a.line).cmp(&(&b.package, b.line.is_none(), b.line))
        });
        packages.dedup_by(|later, first| later.package == first.package);
        Lockfile { packages }
    }
}

/// Why a lockfile could not be read; each message names the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockfileError {
    /// The text is not in the syntax the format is written in.
    #[error("{format} is not valid {syntax}: {message}")]
    Syntax {
        format: Format,
        syntax: &'static str,
        message: String,
    },
    /// The file declares a format version this reader does not know.
    #[error("{format}: {field} {found} is not supported (this reader knows {supported})")]
    UnsupportedVersion {
        format: Format,
        field: &'static str,
        found: String,
        supported: &'static str,
    },
    /// The syntax is fine but the structure is not the format's.
    #[error("{format}: {message}")]
    Structure { format: Format, message: String },
    /// A line of a line-oriented format cannot be read.
    #[error("{format}, line {line}: {message}")]
    Line {
        format: Format,
        line: u32,
        message: String,
    },
}

/// Reads a lockfile's text into the packages it pins, each once, sorted; a
/// leading byte-order mark is ignored.
pub fn parse(format: Format, text: &str) -> Result<Lockfile, LockfileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let found = match format {
        Format::CargoLock => cargo::parse(text)?,
        Format::PackageLock => npm::parse(text)?,
        Format::YarnLock => yarn::parse(text)?,
        Format::PnpmLock => pnpm::parse(text)?,
        Format::Requirements => python::parse_requirements(text)?,
        Format::PoetryLock => python::parse_poetry(text)?,
        Format::PipfileLock => python::parse_pipfile(text)?,
        Format::GoMod => go::parse(text)?,
    };
    Ok(Lockfile::new(found))
}

fn found(format: Format, name: &str, version: &str, line: Option<u32>) -> Found {
    Found {
        package: Package {
            ecosystem: format.ecosystem(),
            name: name.to_owned(),
            version: version.to_owned(),
        },
        line,
    }
}

fn structure(format: Format, message: impl Into<String>) -> LockfileError {
    LockfileError::Structure {
        format,
        message: message.into(),
    }
}

fn line_error(format: Format, line: Option<u32>, message: impl Into<String>) -> LockfileError {
    match line {
        Some(line) => LockfileError::Line {
            format,
            line,
            message: message.into(),
        },
        None => structure(format, message),
    }
}

/// A 1-based line number from a 0-based index; `None` past `u32::MAX`.
fn line_number(index: usize) -> Option<u32> {
    u32::try_from(index).ok()?.checked_add(1)
}

/// Byte offsets to line numbers, for parsers that know where a value was.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> Option<u32> {
        let index = self.starts.partition_point(|&start| start <= offset);
        line_number(index.checked_sub(1)?)
    }
}

/// Reads TOML into `T`. Text that is not TOML and TOML of the wrong shape
/// are told apart, because "not valid TOML" would mislead about the second.
fn read_toml<T: DeserializeOwned>(format: Format, text: &str) -> Result<T, LockfileError> {
    let lines = LineIndex::new(text);
    let describe = |e: toml::de::Error| {
        let message = e.message().trim_end().replace('\n', "; ");
        match e.span().and_then(|s| lines.line(s.start)) {
            Some(line) => format!("line {line}: {message}"),
            None => message,
        }
    };
    text.parse::<toml::Table>()
        .map_err(|e| LockfileError::Syntax {
            format,
            syntax: "TOML",
            message: describe(e),
        })?;
    toml::from_str(text).map_err(|e| structure(format, describe(e)))
}

/// Reads JSON that must be an object at the top.
fn read_json(
    format: Format,
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, LockfileError> {
    let value = serde_json::from_str(text).map_err(|e| LockfileError::Syntax {
        format,
        syntax: "JSON",
        message: e.to_string(),
    })?;
    match value {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(structure(format, "the top level is not a JSON object")),
    }
}

/// For pretty-printed JSON (one key per line, nested objects indented, as
/// npm and pipenv write it): the line of each `"<field>": ` entry, keyed by
/// the keys of the objects around it. Minified JSON yields nothing, which
/// only costs the line numbers.
fn json_field_lines(text: &str, field: &str) -> HashMap<Vec<String>, u32> {
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut lines = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some((key, rest)) = json_key(trimmed) else {
            continue;
        };
        let indent = line.len() - trimmed.len();
        while open.last().is_some_and(|(at, _)| *at >= indent) {
            open.pop();
        }
        let rest = rest.trim();
        if rest.starts_with('{') && !rest.contains('}') {
            open.push((indent, key));
        } else if key == field
            && let Some(number) = line_number(index)
        {
            let path = open.iter().map(|(_, key)| key.clone()).collect();
            lines.entry(path).or_insert(number);
        }
    }
    lines
}

/// The key of a `"key": value` line, unescaped, and what follows the colon.
fn json_key(line: &str) -> Option<(String, &str)> {
    let bytes = line.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    let end = loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => break i,
            _ => i += 1,
        }
    };
    let raw = line.get(..=end)?;
    let key = if raw.contains('\\') {
        serde_json::from_str(raw).ok()?
    } else {
        raw.get(1..end)?.to_owned()
    };
    let rest = line.get(end + 1..)?.trim_start().strip_prefix(':')?;
    Some((key, rest))
}

/// The start of an unreadable line, short enough to quote in a message.
fn excerpt(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", s.get(..cut).unwrap_or(s)),
        None => s.to_owned(),
    }
}

/// Strips one pair of matching single or double quotes.
fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per package, `name version line`: the form every family's
    /// tests compare against.
    pub(super) fn check(format: Format, text: &str, expected: &str) {
        let lockfile = parse(format, text).expect("the sample parses");
        for f in &lockfile.packages {
            assert_eq!(f.package.ecosystem, format.ecosystem());
        }
        let got: Vec<String> = lockfile
            .packages
            .iter()
            .map(|f| match f.line {
                Some(line) => format!("{} {} @{line}", f.package.name, f.package.version),
                None => format!("{} {}", f.package.name, f.package.version),
            })
            .collect();
        let want: Vec<&str> = expected
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(got, want, "packages read from {format}");
    }

    pub(super) fn check_error(format: Format, text: &str, expected: &str) {
        match parse(format, text) {
            Ok(lockfile) => panic!("{format} sample parsed, expected an error: {lockfile:?}"),
            Err(e) => assert_eq!(e.to_string(), expected),
        }
    }

    /// Every prefix of a sample, cut at any character, must give a result
    /// rather than a panic (a cut-off download is the commonest bad input),
    /// and so must the sample with any one character swapped for one that
    /// means something to some parser, and the sample read as every format.
    pub(super) fn check_damaged_samples_never_panic(format: Format, sample: &str) {
        for (at, c) in sample.char_indices() {
            let prefix = sample.get(..at).expect("cut at a char boundary");
            let _ = parse(format, prefix);
            let rest = sample
                .get(at + c.len_utf8()..)
                .expect("cut at a char boundary");
            for swap in ["\"", "'", ":", "@", "/", "(", "\n", " ", "é"] {
                let _ = parse(format, &format!("{prefix}{swap}{rest}"));
            }
        }
        for format in Format::ALL {
            let _ = parse(format, sample);
        }
    }

    #[test]
    fn formats_are_detected_from_file_names() {
        let cases = [
            ("Cargo.lock", Some(Format::CargoLock)),
            ("app/package-lock.json", Some(Format::PackageLock)),
            ("npm-shrinkwrap.json", Some(Format::PackageLock)),
            ("yarn.lock", Some(Format::YarnLock)),
            ("pnpm-lock.yaml", Some(Format::PnpmLock)),
            ("requirements.txt", Some(Format::Requirements)),
            ("requirements-dev.txt", Some(Format::Requirements)),
            ("C:\\src\\requirements_test.txt", Some(Format::Requirements)),
            ("poetry.lock", Some(Format::PoetryLock)),
            ("Pipfile.lock", Some(Format::PipfileLock)),
            ("go.mod", Some(Format::GoMod)),
            ("go.sum", None),
            ("package.json", None),
            ("requirements.in", None),
            ("cargo.lock", None),
            ("", None),
        ];
        for (name, format) in cases {
            assert_eq!(Format::detect(name), format, "{name}");
        }
        for format in Format::ALL {
            assert_eq!(Format::detect(format.file_name()), Some(format));
        }
    }

    #[test]
    fn duplicates_collapse_to_their_first_line() {
        let lockfile = Lockfile::new(vec![
            found(Format::GoMod, "b", "v1", Some(9)),
            found(Format::GoMod, "a", "v1", None),
            found(Format::GoMod, "b", "v1", Some(3)),
            found(Format::GoMod, "a", "v1", Some(5)),
        ]);
        let got: Vec<_> = lockfile
            .packages
            .iter()
            .map(|f| (f.package.name.as_str(), f.line))
            .collect();
        assert_eq!(got, [("a", Some(5)), ("b", Some(3))]);
    }

    #[test]
    fn pretty_json_lines_follow_nesting() {
        let text = r#"{
  "packages": {
    "": {
      "version": "1.0.0"
    },
    "node_modules/a": {
      "engines": {"node": ">=4"},
      "version": "2.0.0",
      "dependencies": {
        "version": "^1"
      }
    },
    "node_modules/\"odd\"": {
      "version": "3.0.0"
    }
  }
}"#;
        let lines = json_field_lines(text, "version");
        let at = |path: &[&str]| {
            let path: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
            lines.get(&path).copied()
        };
        assert_eq!(at(&["packages", ""]), Some(4));
        assert_eq!(at(&["packages", "node_modules/a"]), Some(8));
        assert_eq!(
            at(&["packages", "node_modules/a", "dependencies"]),
            Some(10)
        );
        assert_eq!(at(&["packages", "node_modules/\"odd\""]), Some(14));
    }

    #[test]
    fn line_index_maps_offsets() {
        let index = LineIndex::new("a\nbc\n\nd");
        assert_eq!(index.line(0), Some(1));
        assert_eq!(index.line(2), Some(2));
        assert_eq!(index.line(3), Some(2));
        assert_eq!(index.line(5), Some(3));
        assert_eq!(index.line(6), Some(4));
    }
}
