//! OSV advisories: one JSON record read into the core advisory model, and
//! whole databases (a directory of records or an ecosystem's `all.zip`)
//! read one record at a time.
//!
//! Databases hold thousands of records written by many hands. One that does
//! not read is skipped and noted with its file name and the reason, so that a
//! single odd record never stops a scan.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use liveops_core::security::Ecosystem;
use liveops_core::security::advisory::{
    Advisory, Affected, Event, Range, RangeKind, Reference, Severity, SeverityKind,
};
use serde::Deserialize;
use serde_json::Value;

/// Records larger than this are refused unread: the biggest real ones (long
/// PyPI version lists) are a few hundred KiB, and a zip entry can claim any
/// size.
pub const MAX_RECORD_BYTES: u64 = 32 * 1024 * 1024;

/// Why one OSV record does not read.
#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    #[error("not OSV JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the record has no `{0}`")]
    Missing(&'static str),
    #[error("`{field}` is not an RFC 3339 timestamp: `{value}`")]
    Timestamp { field: &'static str, value: String },
    #[error("range type `{0}` is not SEMVER, ECOSYSTEM or GIT")]
    RangeType(String),
    #[error("a range event has {0} of introduced, fixed, last_affected and limit; it needs one")]
    Event(usize),
}

/// Why a database cannot be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{name} is not a zip archive: {source}")]
    Zip {
        name: String,
        source: zip::result::ZipError,
    },
}

// The JSON as OSV writes it. Every field is optional here so that the
// conversion below can say which one is missing; `null` reads as absent.

#[derive(Deserialize)]
struct RawRecord {
    id: Option<String>,
    aliases: Option<Vec<String>>,
    summary: Option<String>,
    details: Option<String>,
    published: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    severity: Option<Vec<RawSeverity>>,
    affected: Option<Vec<RawAffected>>,
    references: Option<Vec<RawReference>>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    ranges: Option<Vec<RawRange>>,
    versions: Option<Vec<String>>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: Option<String>,
    events: Option<Vec<RawEvent>>,
}

#[derive(Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

/// Reads one OSV record.
///
/// Entries of `affected` about ecosystems liveops does not read (Maven,
/// Debian, …) or about no package (a bare repository) are left out, as no
/// lockfile of ours can match them; the rest of the record is kept.
pub fn parse_record(json: &[u8]) -> Result<Advisory, OsvError> {
    let raw: RawRecord = serde_json::from_slice(json)?;
    let id = raw
        .id
        .filter(|id| !id.trim().is_empty())
        .ok_or(OsvError::Missing("id"))?;
    let modified = raw.modified.ok_or(OsvError::Missing("modified"))?;
    let affected = raw
        .affected
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| affected(a).transpose())
        .collect::<Result<_, _>>()?;
    Ok(Advisory {
        id,
        aliases: raw.aliases.unwrap_or_default(),
        summary: raw.summary.filter(|s| !s.trim().is_empty()),
        details: raw.details.unwrap_or_default(),
        published: raw
            .published
            .map(|t| timestamp("published", &t))
            .transpose()?,
        modified: timestamp("modified", &modified)?,
        withdrawn: raw
            .withdrawn
            .map(|t| timestamp("withdrawn", &t))
            .transpose()?,
        severity: raw
            .severity
            .unwrap_or_default()
            .into_iter()
            .map(|s| Severity {
                kind: SeverityKind::parse(&s.kind),
                score: s.score,
            })
            .collect(),
        affected,
        references: raw
            .references
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some(Reference {
                    kind: r.kind.unwrap_or_default(),
                    url: r.url?,
                })
            })
            .collect(),
        database_severity: database_severity(raw.database_specific.as_ref()),
    })
}

/// One `affected` entry, or `None` when it is about no package liveops
/// could hold.
fn affected(raw: RawAffected) -> Result<Option<Affected>, OsvError> {
    let Some(package) = raw.package else {
        return Ok(None);
    };
    let Some(ecosystem) = package.ecosystem.as_deref().and_then(Ecosystem::parse) else {
        return Ok(None);
    };
    let name = package
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or(OsvError::Missing("affected[].package.name"))?;
    let ranges = raw
        .ranges
        .unwrap_or_default()
        .into_iter()
        .map(range)
        .collect::<Result<_, _>>()?;
    Ok(Some(Affected {
        ecosystem,
        name,
        ranges,
        versions: raw.versions.unwrap_or_default(),
        database_severity: database_severity(raw.database_specific.as_ref()),
    }))
}

fn range(raw: RawRange) -> Result<Range, OsvError> {
    let kind = match raw.kind.as_deref() {
        Some("SEMVER") => RangeKind::Semver,
        Some("ECOSYSTEM") => RangeKind::Ecosystem,
        Some("GIT") => RangeKind::Git,
        Some(other) => return Err(OsvError::RangeType(other.to_owned())),
        None => return Err(OsvError::Missing("affected[].ranges[].type")),
    };
    let events = raw
        .events
        .ok_or(OsvError::Missing("affected[].ranges[].events"))?
        .into_iter()
        .map(event)
        .collect::<Result<_, _>>()?;
    Ok(Range { kind, events })
}

fn event(raw: RawEvent) -> Result<Event, OsvError> {
    let mut found = [
        raw.introduced.map(Event::Introduced),
        raw.fixed.map(Event::Fixed),
        raw.last_affected.map(Event::LastAffected),
        raw.limit.map(Event::Limit),
    ]
    .into_iter()
    .flatten();
    match (found.next(), found.count()) {
        (Some(event), 0) => Ok(event),
        (None, _) => Err(OsvError::Event(0)),
        (Some(_), more) => Err(OsvError::Event(more + 1)),
    }
}

/// `database_specific.severity` when it is a string, as GitHub writes it.
fn database_severity(specific: Option<&Value>) -> Option<String> {
    specific?
        .get("severity")?
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// OSV asks for RFC 3339 in UTC; some databases write a space for the `T`,
/// which the parser accepts too.
fn timestamp(field: &'static str, value: &str) -> Result<Timestamp, OsvError> {
    value
        .trim()
        .parse::<Timestamp>()
        .map_err(|_| OsvError::Timestamp {
            field,
            value: value.to_owned(),
        })
}

// ---------------------------------------------------------------- databases

/// A record that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file's path, or its name inside the zip archive.
    pub file: String,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

/// The advisories of a database, read as they are asked for. Files that are
/// not `.json` (a README, directories in a zip) are passed over silently;
/// JSON files that do not read are noted in [`Records::skipped`].
pub struct Records {
    source: Source,
    skipped: Vec<Skipped>,
}

/// What a zip archive is read from: a file, or bytes already in memory.
trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

enum Source {
    Dir(std::vec::IntoIter<PathBuf>),
    Zip {
        archive: Box<zip::ZipArchive<Box<dyn ReadSeek>>>,
        next: usize,
    },
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Dir(files) => format!("directory, {} files to go", files.len()),
            Source::Zip { archive, next } => {
                format!("zip, entry {next} of {}", archive.len())
            }
        };
        f.debug_struct("Records")
            .field("source", &source)
            .field("skipped", &self.skipped.len())
            .finish()
    }
}

impl Records {
    /// Opens a directory of records, or a zip archive of them.
    pub fn open(path: &Path) -> Result<Records, SourceError> {
        if path.is_dir() {
            Records::from_dir(path)
        } else {
            Records::from_zip(path)
        }
    }

    /// The `.json` files directly inside `dir`, in name order.
    pub fn from_dir(dir: &Path) -> Result<Records, SourceError> {
        let io_error = |source| SourceError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error)? {
            let path = entry.map_err(io_error)?.path();
            if path.extension().is_some_and(|e| e == "json") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        Ok(Records {
            source: Source::Dir(files.into_iter()),
            skipped: Vec::new(),
        })
    }

    /// A zip archive such as the `all.zip` OSV publishes per ecosystem.
    pub fn from_zip(path: &Path) -> Result<Records, SourceError> {
        let file = File::open(path).map_err(|source| SourceError::Io {
            path: path.to_owned(),
            source,
        })?;
        Records::from_zip_reader(io::BufReader::new(file), &path.display().to_string())
    }

    /// A zip archive from any reader; `name` is used in errors.
    pub fn from_zip_reader<R: Read + Seek + Send + 'static>(
        reader: R,
        name: &str,
    ) -> Result<Records, SourceError> {
        let reader: Box<dyn ReadSeek> = Box::new(reader);
        let archive = zip::ZipArchive::new(reader).map_err(|source| SourceError::Zip {
            name: name.to_owned(),
            source,
        })?;
        Ok(Records {
            source: Source::Zip {
                archive: Box::new(archive),
                next: 0,
            },
            skipped: Vec::new(),
        })
    }

    /// The records left out so far.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The next JSON file's name and contents, or why it could not be read;
    /// `None` at the end.
    fn next_file(&mut self) -> Option<(String, Result<Vec<u8>, String>)> {
        match &mut self.source {
            Source::Dir(files) => {
                let path = files.next()?;
                let bytes = File::open(&path)
                    .and_then(read_capped)
                    .map_err(|e| e.to_string());
                Some((path.display().to_string(), bytes))
            }
            Source::Zip { archive, next } => loop {
                if *next >= archive.len() {
                    return None;
                }
                let index = *next;
                *next += 1;
                let entry = match archive.by_index(index) {
                    Ok(entry) => entry,
                    Err(e) => return Some((format!("zip entry {index}"), Err(e.to_string()))),
                };
                let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
                if entry.is_dir() || !name.ends_with(".json") {
                    continue;
                }
                return Some((name, read_capped(entry).map_err(|e| e.to_string())));
            },
        }
    }
}

/// Reads all of `reader`, refusing more than [`MAX_RECORD_BYTES`].
fn read_capped(reader: impl Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(io::Error::other(format!(
            "larger than {MAX_RECORD_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

impl Records {
    /// The next advisory with the record's bytes as published, for a store
    /// that keeps the original text.
    pub fn next_with_text(&mut self) -> Option<(Advisory, Vec<u8>)> {
        loop {
            let (file, bytes) = self.next_file()?;
            let parsed = bytes.and_then(|b| match parse_record(&b) {
                Ok(a) => Ok((a, b)),
                Err(e) => Err(e.to_string()),
            });
            match parsed {
                Ok(found) => return Some(found),
                Err(reason) => self.skipped.push(Skipped { file, reason }),
            }
        }
    }
}

impl Iterator for Records {
    type Item = Advisory;

    fn next(&mut self) -> Option<Advisory> {
        self.next_with_text().map(|(a, _)| a)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use liveops_core::security::Package;
    use liveops_core::security::advisory::{
        SeverityLevel, is_vulnerable, matches, smallest_fix, smallest_fix_all,
    };

    use super::*;

    /// The real advisories: `LIVEOPS_OSV_DIR`, or `shared/osv` beside the
    /// checkout (scripts/setup.sh exports the variable when it finds them).
    fn shared_osv() -> PathBuf {
        std::env::var_os("LIVEOPS_OSV_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/osv"))
    }

    fn real(ecosystem: &str, id: &str) -> Advisory {
        let path = shared_osv().join(ecosystem).join(format!("{id}.json"));
        let bytes = std::fs::read(&path).expect("the shared OSV test data");
        parse_record(&bytes).expect("a valid OSV record")
    }

    /// Checks each `version => expected smallest fix` line: `-` means not
    /// affected, `none` affected with no fix.
    fn check(advisory: &Advisory, ecosystem: Ecosystem, name: &str, cases: &[(&str, &str)]) {
        for &(version, expected) in cases {
            let package = Package {
                ecosystem,
                name: name.to_owned(),
                version: version.to_owned(),
            };
            assert!(
                matches(advisory, &package),
                "{} is about {name}",
                advisory.id
            );
            let vulnerable = is_vulnerable(advisory, &package).expect("a valid version");
            let fix = smallest_fix(advisory, &package);
            let got = match (vulnerable, fix) {
                (false, _) => "-".to_owned(),
                (true, None) => "none".to_owned(),
                (true, Some(fix)) => fix,
            };
            assert_eq!(got, expected, "{} at {name} {version}", advisory.id);
        }
    }

    #[test]
    fn rustsec_record_with_several_ranges() {
        let a = real("crates.io", "RUSTSEC-2020-0069");
        assert_eq!(a.aliases, ["CVE-2020-28247", "GHSA-vc2p-r46x-m3vx"]);
        assert_eq!(a.modified.to_string(), "2023-06-13T13:10:24Z");
        assert_eq!(a.cvss3_score(), Some(5.3));
        assert_eq!(a.severity_level(), SeverityLevel::Medium);
        check(
            &a,
            Ecosystem::CratesIo,
            "lettre",
            &[
                ("0.6.2", "-"),
                ("0.7.0", "0.7.1"),
                ("0.7.1", "-"),
                ("0.8.3", "0.8.4"),
                ("0.8.4", "-"),
                ("0.9.4", "0.9.5"),
                ("0.9.5", "-"),
                ("0.10.0-alpha.3", "0.10.0-alpha.4"),
                ("0.10.0-alpha.4", "-"),
                ("0.10.0", "-"),
            ],
        );
        let other = Package {
            ecosystem: Ecosystem::CratesIo,
            name: "lettre_email".to_owned(),
            version: "0.9.0".to_owned(),
        };
        assert!(!matches(&a, &other));
    }

    #[test]
    fn ghsa_npm_record_takes_its_level_from_cvss() {
        let a = real("npm", "GHSA-27h2-hvpr-p74q");
        assert_eq!(a.database_severity.as_deref(), Some("HIGH"));
        assert_eq!(a.cvss3_score(), Some(7.6));
        assert_eq!(a.severity_level(), SeverityLevel::High);
        check(
            &a,
            Ecosystem::Npm,
            "jsonwebtoken",
            &[
                ("0.1.0", "9.0.0"),
                ("8.5.1", "9.0.0"),
                ("9.0.0-beta.1", "9.0.0"),
                ("9.0.0", "-"),
                ("9.0.1", "-"),
            ],
        );
    }

    #[test]
    fn pypa_records_use_pep440_ranges_and_listed_versions() {
        let a = real("PyPI", "PYSEC-2015-11");
        assert_eq!(a.severity_level(), SeverityLevel::Unknown);
        check(
            &a,
            Ecosystem::PyPI,
            "Django",
            &[
                ("1.7.10", "1.7.11"),
                ("1.7.11", "-"),
                ("1.8", "1.8.7"),
                ("1.8.6", "1.8.7"),
                ("1.8.7", "-"),
                ("1.9a1", "1.9rc2"),
                ("1.9rc1", "1.9rc2"),
                ("1.9rc2", "-"),
                ("1.9", "-"),
                ("1.9.0", "-"),
            ],
        );
        let b = real("PyPI", "PYSEC-2012-1");
        check(
            &b,
            Ecosystem::PyPI,
            "Beaker",
            &[
                ("1.6.5", "1.6.5.post1"),
                ("1.6.5.post1.dev0", "1.6.5.post1"),
                ("1.6.5-1", "-"),
                ("1.6.5.post1", "-"),
                ("1.6.6", "-"),
            ],
        );
        // Both Django advisories at once: the one upgrade that clears them.
        let c = real("PyPI", "PYSEC-2016-2");
        let django = |version: &str| Package {
            ecosystem: Ecosystem::PyPI,
            name: "django".to_owned(),
            version: version.to_owned(),
        };
        assert_eq!(
            smallest_fix_all([&a, &c], &django("1.8.6")).as_deref(),
            Some("1.8.14")
        );
        assert_eq!(
            smallest_fix_all([&a, &c], &django("1.8.7")).as_deref(),
            Some("1.8.14")
        );
        assert_eq!(smallest_fix_all([&a, &c], &django("1.8.14")), None);
    }

    #[test]
    fn go_records_with_incompatible_and_pseudo_versions() {
        let a = real("Go", "GO-2021-0072");
        check(
            &a,
            Ecosystem::Go,
            "github.com/docker/distribution",
            &[
                ("v2.6.2+incompatible", "2.7.0-rc.0+incompatible"),
                ("v2.7.0-rc.0+incompatible", "-"),
                ("v2.7.1+incompatible", "-"),
            ],
        );
        let b = real("Go", "GO-2020-0004");
        check(
            &b,
            Ecosystem::Go,
            "github.com/nanobox-io/golang-nanoauth",
            &[
                ("v0.0.0-20160101000000-aaaaaaaaaaaa", "-"),
                (
                    "v0.0.0-20160722212129-ac0cc4484ad4",
                    "0.0.0-20200131131040-063a3fb69896",
                ),
                (
                    "v0.0.0-20190101000000-aaaaaaaaaaaa",
                    "0.0.0-20200131131040-063a3fb69896",
                ),
                ("v0.0.0-20200131131040-063a3fb69896", "-"),
                ("v0.0.0-20210101000000-aaaaaaaaaaaa", "-"),
            ],
        );
        let c = real("Go", "GO-2020-0006");
        check(
            &c,
            Ecosystem::Go,
            "github.com/miekg/dns",
            &[
                ("v1.0.3", "1.0.4-0.20180125103619-43913f2f4fbd"),
                (
                    "v1.0.4-0.20180101000000-aaaaaaaaaaaa",
                    "1.0.4-0.20180125103619-43913f2f4fbd",
                ),
                ("v1.0.4-0.20180125103619-43913f2f4fbd", "-"),
                ("v1.0.4", "-"),
            ],
        );
    }

    #[test]
    fn every_real_record_reads() {
        let mut total = 0;
        let mut read = 0;
        for ecosystem in ["crates.io", "npm", "PyPI", "Go"] {
            let mut records = Records::open(&shared_osv().join(ecosystem)).expect("the folder");
            let mut count = 0;
            let mut unplaced = 0;
            let mut events = 0;
            for advisory in records.by_ref() {
                count += 1;
                for affected in &advisory.affected {
                    for range in affected.ranges.iter().filter(|r| r.kind != RangeKind::Git) {
                        for event in &range.events {
                            events += 1;
                            let v = event.version();
                            let parses = v == "0"
                                || liveops_core::security::version::Version::parse(
                                    affected.ecosystem,
                                    v,
                                )
                                .is_ok();
                            if !parses {
                                unplaced += 1;
                                eprintln!("{}: unparsable event version {v:?}", advisory.id);
                            }
                        }
                    }
                }
            }
            for skipped in records.skipped() {
                eprintln!("skipped {skipped}");
            }
            let skipped = records.skipped().len();
            eprintln!(
                "{ecosystem}: {count} read, {skipped} skipped; {unplaced} of {events} range events unparsable"
            );
            assert!(count > 0, "{ecosystem} has records");
            assert!(
                unplaced * 100 <= events,
                "{ecosystem}: too many bad versions"
            );
            total += count + skipped;
            read += count;
        }
        assert!(read * 100 >= total * 99, "{read} of {total} records read");
    }

    #[test]
    fn zip_archives_yield_records_and_note_the_broken_ones() {
        let good = std::fs::read(shared_osv().join("npm/GHSA-27h2-hvpr-p74q.json"))
            .expect("the shared OSV test data");
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let files: [(&str, &[u8]); 5] = [
            ("GHSA-27h2-hvpr-p74q.json", &good),
            ("README.md", b"not a record"),
            ("broken.json", b"{\"id\": \"X\""),
            ("no-modified.json", b"{\"id\": \"X\", \"affected\": []}"),
            ("again.json", &good),
        ];
        for (name, bytes) in files {
            writer.start_file(name, options).expect("a zip entry");
            writer.write_all(bytes).expect("written");
        }
        let bytes = writer.finish().expect("a zip archive").into_inner();

        let mut records =
            Records::from_zip_reader(Cursor::new(bytes), "all.zip").expect("a zip archive");
        let ids: Vec<String> = records.by_ref().map(|a| a.id).collect();
        assert_eq!(ids, ["GHSA-27h2-hvpr-p74q", "GHSA-27h2-hvpr-p74q"]);
        let skipped: Vec<String> = records.skipped().iter().map(|s| s.to_string()).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(
            skipped[0].starts_with("broken.json: not OSV JSON: EOF"),
            "{skipped:?}"
        );
        assert_eq!(skipped[1], "no-modified.json: the record has no `modified`");

        let not_zip = Records::from_zip_reader(Cursor::new(b"PK nonsense".to_vec()), "x.zip");
        assert!(matches!(not_zip, Err(SourceError::Zip { .. })));
    }

    #[test]
    fn odd_records_are_errors_not_panics() {
        let cases: [(&str, &str); 8] = [
            ("", "not OSV JSON"),
            ("[]", "not OSV JSON"),
            (
                "{\"modified\": \"2024-01-01T00:00:00Z\"}",
                "the record has no `id`",
            ),
            (
                "{\"id\": \"X\", \"modified\": \"yesterday\"}",
                "`modified` is not an RFC 3339 timestamp: `yesterday`",
            ),
            (
                r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"RANGE","events":[]}]}]}"#,
                "range type `RANGE` is not SEMVER, ECOSYSTEM or GIT",
            ),
            (
                r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}"#,
                "a range event has 2 of introduced, fixed, last_affected and limit; it needs one",
            ),
            (
                r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":""}}]}"#,
                "the record has no `affected[].package.name`",
            ),
            ("{\"id\": 5}", "not OSV JSON"),
        ];
        for (json, expected) in cases {
            let e = parse_record(json.as_bytes()).expect_err("an invalid record");
            assert!(e.to_string().starts_with(expected), "{json}: {e}");
        }

        // Other ecosystems and package-less entries are left out; the space
        // some databases write for `T` is accepted, and nulls are absent.
        let a = parse_record(
            br#"{"id":"X","modified":"2024-01-01 10:00:00+00:00","aliases":null,
                "withdrawn":"2024-02-01T00:00:00Z",
                "affected":[{"package":{"ecosystem":"Maven","name":"a:b"}},{"ranges":[]},
                            {"package":{"ecosystem":"PyPI","name":"a"},"database_specific":{"severity":"LOW"}}]}"#,
        )
        .expect("a valid record");
        assert_eq!(a.modified.to_string(), "2024-01-01T10:00:00Z");
        assert!(a.withdrawn.is_some());
        assert_eq!(a.affected.len(), 1);
        assert_eq!(a.severity_level(), SeverityLevel::Low);
    }
}
