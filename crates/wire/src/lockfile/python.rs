//! Python's pins: requirements.txt, poetry.lock and Pipfile.lock.
//!
//! A requirements file is a manifest rather than a lockfile: only lines
//! pinned with `==` or `===` name one version, and the rest (ranges, URLs,
//! local paths, `-r`/`-c` includes, which would need other files) are
//! skipped. Continuation lines, comments, extras, environment markers and
//! per-requirement options such as `--hash` are read the way pip reads them.

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::{
    Format, Found, LineIndex, LockfileError, excerpt, found, json_field_lines, line_error,
    line_number, read_json, read_toml, structure,
};

pub(super) fn parse_requirements(text: &str) -> Result<Vec<Found>, LockfileError> {
    const FORMAT: Format = Format::Requirements;
    let mut out = Vec::new();
    for (line, requirement) in logical_lines(text) {
        let requirement = strip_comment(&requirement);
        let requirement = requirement.trim();
        if requirement.is_empty() || requirement.starts_with('-') {
            continue;
        }
        // Options after a requirement are long ones (`--hash=…`).
        let requirement = match requirement.find(" --").or_else(|| requirement.find("\t--")) {
            Some(at) => requirement.get(..at).unwrap_or(requirement),
            None => requirement,
        };
        let requirement = requirement.split(';').next().unwrap_or(requirement);
        match pin(requirement) {
            Ok(Some((name, version))) => out.push(found(FORMAT, name, version, line)),
            Ok(None) => {}
            Err(message) => return Err(line_error(FORMAT, line, message)),
        }
    }
    Ok(out)
}

/// Lines joined where one ends in a backslash, each with the number of its
/// first line. As in pip, a comment line never continues.
fn logical_lines(text: &str) -> Vec<(Option<u32>, String)> {
    let mut lines = Vec::new();
    let mut pending: Option<(Option<u32>, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let (first, mut joined) = pending
            .take()
            .unwrap_or_else(|| (line_number(index), String::new()));
        match raw.strip_suffix('\\') {
            Some(head) if strip_comment(raw).len() == raw.len() => {
                joined.push_str(head);
                pending = Some((first, joined));
            }
            _ => {
                joined.push_str(raw);
                lines.push((first, joined));
            }
        }
    }
    lines.extend(pending);
    lines
}

/// Text before a `#` that starts the line or follows whitespace.
fn strip_comment(line: &str) -> &str {
    let mut previous = None;
    for (at, c) in line.char_indices() {
        if c == '#' && previous.is_none_or(char::is_whitespace) {
            return line.get(..at).unwrap_or(line);
        }
        previous = Some(c);
    }
    line
}

/// The name and version of a `name[extras]==version` requirement; other
/// specifiers are not pins. Errors are for lines that start like a pin and
/// then break off.
fn pin(requirement: &str) -> Result<Option<(&str, &str)>, String> {
    let requirement = requirement.trim();
    let name_end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    let (name, mut rest) = requirement.split_at(name_end);
    if name.is_empty() {
        return Ok(None);
    }
    rest = rest.trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        let Some(close) = extras.find(']') else {
            return Err(format!("the extras of `{name}` are not closed with `]`"));
        };
        rest = extras.get(close + 1..).unwrap_or_default().trim_start();
    }
    let Some(version) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) else {
        return Ok(None);
    };
    let version = version.trim();
    if version.is_empty() {
        return Err(format!("`{name}` is pinned with `==` but no version"));
    }
    // `==1.2.*` is a prefix match and `==1.2,!=1.2.1` a range: not pins.
    if version.ends_with(".*") || version.contains(',') {
        return Ok(None);
    }
    if version.contains(char::is_whitespace) {
        return Err(format!(
            "`{}` is not a version (of `{name}`)",
            excerpt(version)
        ));
    }
    Ok(Some((name, version)))
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
    metadata: Option<PoetryMetadata>,
}

#[derive(Deserialize)]
struct PoetryMetadata {
    /// Written since poetry 1.1; older files have none.
    #[serde(rename = "lock-version")]
    lock_version: Option<String>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: Option<Spanned<String>>,
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub(super) fn parse_poetry(text: &str) -> Result<Vec<Found>, LockfileError> {
    const FORMAT: Format = Format::PoetryLock;
    let lock: PoetryLock = read_toml(FORMAT, text)?;
    if let Some(version) = lock.metadata.and_then(|m| m.lock_version) {
        let major = version.split('.').next().map(str::parse::<u32>);
        if !matches!(major, Some(Ok(1 | 2))) {
            return Err(LockfileError::UnsupportedVersion {
                format: FORMAT,
                field: "lock-version",
                found: version,
                supported: "1.x and 2.x",
            });
        }
    }
    let lines = LineIndex::new(text);
    Ok(lock
        .package
        .iter()
        .filter_map(|package| {
            // Git checkouts, local directories and archives are not the
            // releases advisories name; a `legacy` source is a private index.
            let kind = package.source.as_ref().and_then(|s| s.kind.as_deref());
            if matches!(kind, Some("git" | "directory" | "file" | "url")) {
                return None;
            }
            let version = package.version.as_ref()?;
            let (name, value) = (package.name.trim(), version.get_ref().trim());
            if name.is_empty() || value.is_empty() {
                return None;
            }
            Some(found(FORMAT, name, value, lines.line(version.span().start)))
        })
        .collect())
}

pub(super) fn parse_pipfile(text: &str) -> Result<Vec<Found>, LockfileError> {
    const FORMAT: Format = Format::PipfileLock;
    let root = read_json(FORMAT, text)?;
    if !root.contains_key("default") && !root.contains_key("develop") {
        return Err(structure(
            FORMAT,
            "neither `default` nor `develop`: this is not a Pipfile.lock",
        ));
    }
    let lines = json_field_lines(text, "version");
    let mut out = Vec::new();
    for section in ["default", "develop"] {
        let packages = match root.get(section) {
            None => continue,
            Some(Value::Object(packages)) => packages,
            Some(_) => return Err(structure(FORMAT, format!("`{section}` is not an object"))),
        };
        for (name, entry) in packages {
            let Value::Object(entry) = entry else {
                return Err(structure(
                    FORMAT,
                    format!("`{section}.{name}` is not an object"),
                ));
            };
            // Git, path and editable packages have no `version`.
            let Some(version) = entry.get("version").and_then(Value::as_str) else {
                continue;
            };
            let Some(version) = version
                .strip_prefix("===")
                .or_else(|| version.strip_prefix("=="))
                .map(str::trim)
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            let line = lines.get(&[section.to_owned(), name.clone()][..]).copied();
            out.push(found(FORMAT, name.trim(), version, line));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, check_damaged_samples_never_panic, check_error};
    use super::*;

    const REQUIREMENTS: &str = r#"# Production dependencies
-r base.txt
-c constraints.txt
--index-url https://pypi.org/simple

Django==3.2.4
requests[security]==2.19.1 ; python_version >= "3.6"
urllib3 === 1.24.1  # pinned for requests
cryptography==3.3.2 \
    --hash=sha256:0d7b69674b738068fa6ffade5c962ecd14fcf5612e4d6e0e5e11d3f9e1f0d8e1 \
    --hash=sha256:1eb90b0a8e9c5dd6b6d1a9a6c2c0f5b0b5d0e6e0c5f0b3d9e1a6f0e8c4b2a1d0
Jinja2>=2.10
flask
numpy==1.21.*
pyyaml==5.3.1,!=5.3.0
-e git+https://github.com/psf/black.git#egg=black
https://files.pythonhosted.org/packages/source/s/six/six-1.16.0.tar.gz
./vendor/internal-lib
pillow @ https://files.pythonhosted.org/packages/pillow-8.1.0.tar.gz
"#;

    const POETRY: &str = r#"# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.

[[package]]
name = "django"
version = "3.2.4"
description = "A high-level Python Web framework that encourages rapid development and clean, pragmatic design."
optional = false
python-versions = ">=3.6"
files = [
    {file = "Django-3.2.4-py3-none-any.whl", hash = "sha256:ea735cbbbb3b2fba6d4da4784a0043d84c67c92f1fdf15ad6db69900e792c10f"},
]

[package.dependencies]
asgiref = ">=3.3.2,<4"

[[package]]
name = "requests"
version = "2.19.1"
description = "Python HTTP for Humans."
optional = false
python-versions = "*"
files = []

[[package]]
name = "internal-tools"
version = "0.1.0"
description = ""
optional = false
python-versions = "^3.8"
files = []
develop = true

[package.source]
type = "directory"
url = "../internal-tools"

[[package]]
name = "private-sdk"
version = "2.4.0"
description = ""
optional = false
python-versions = "*"
files = []

[package.source]
type = "legacy"
url = "https://pypi.example.com/simple"
reference = "private"

[metadata]
lock-version = "2.0"
python-versions = "^3.8"
content-hash = "d1b34a8b7f3e2c0d5b4f8f5c1f3e2a7e9a0c5f6d3b2e1f0a9c8d7e6f5a4b3c2d1"
"#;

    const PIPFILE: &str = r#"{
    "_meta": {
        "hash": {
            "sha256": "a1f6e9d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0"
        },
        "pipfile-spec": 6,
        "requires": {
            "python_version": "3.9"
        },
        "sources": [
            {
                "name": "pypi",
                "url": "https://pypi.org/simple",
                "verify_ssl": true
            }
        ]
    },
    "default": {
        "django": {
            "hashes": [
                "sha256:ea735cbbbb3b2fba6d4da4784a0043d84c67c92f1fdf15ad6db69900e792c10f"
            ],
            "index": "pypi",
            "version": "==3.2.4"
        },
        "requests": {
            "extras": [
                "security"
            ],
            "markers": "python_version >= '3.6'",
            "version": "==2.19.1"
        },
        "black": {
            "editable": true,
            "git": "https://github.com/psf/black.git",
            "ref": "e0b1c7f8a9d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6"
        }
    },
    "develop": {
        "pytest": {
            "hashes": [],
            "version": "==6.2.4"
        }
    }
}"#;

    #[test]
    fn requirements_keep_pinned_lines_only() {
        check(
            Format::Requirements,
            REQUIREMENTS,
            "Django 3.2.4 @6
             cryptography 3.3.2 @9
             requests 2.19.1 @7
             urllib3 1.24.1 @8",
        );
    }

    #[test]
    fn requirement_lines_that_break_off_are_refused() {
        check_error(
            Format::Requirements,
            "flask==2.0.1\nDjango==\n",
            "requirements.txt, line 2: `Django` is pinned with `==` but no version",
        );
        check_error(
            Format::Requirements,
            "requests[security==2.19.1\n",
            "requirements.txt, line 1: the extras of `requests` are not closed with `]`",
        );
        check_error(
            Format::Requirements,
            "Django == 3.2 4\n",
            "requirements.txt, line 1: `3.2 4` is not a version (of `Django`)",
        );
    }

    #[test]
    fn a_backslash_in_a_comment_does_not_continue_the_line() {
        check(
            Format::Requirements,
            "# see C:\\\nDjango==3.2.4\n",
            "Django 3.2.4 @2",
        );
    }

    #[test]
    fn poetry_locks_skip_local_sources_and_keep_private_indexes() {
        check(
            Format::PoetryLock,
            POETRY,
            "django 3.2.4 @5
             private-sdk 2.4.0 @39
             requests 2.19.1 @18",
        );
    }

    #[test]
    fn malformed_poetry_locks_are_refused_with_the_reason() {
        check_error(
            Format::PoetryLock,
            "[[package]]\nname = \"django\nversion = \"3.2.4\"\n",
            "poetry.lock is not valid TOML: line 2: invalid basic string",
        );
        check_error(
            Format::PoetryLock,
            "[metadata]\nlock-version = \"3.0\"\n",
            "poetry.lock: lock-version 3.0 is not supported (this reader knows 1.x and 2.x)",
        );
        check_error(
            Format::PoetryLock,
            "[package]\nname = \"django\"\n",
            "poetry.lock: line 1: invalid type: map, expected a sequence",
        );
    }

    #[test]
    fn pipfile_locks_read_default_and_develop() {
        check(
            Format::PipfileLock,
            PIPFILE,
            "django 3.2.4 @24
             pytest 6.2.4 @42
             requests 2.19.1 @31",
        );
    }

    #[test]
    fn malformed_pipfile_locks_are_refused_with_the_reason() {
        check_error(
            Format::PipfileLock,
            "{\"default\": {\"django\": {\"version\": \"==3.2.4\"}}",
            "Pipfile.lock is not valid JSON: EOF while parsing an object at line 1 column 46",
        );
        check_error(
            Format::PipfileLock,
            "{\"_meta\": {}}",
            "Pipfile.lock: neither `default` nor `develop`: this is not a Pipfile.lock",
        );
        check_error(
            Format::PipfileLock,
            "{\"default\": {\"django\": \"==3.2.4\"}}",
            "Pipfile.lock: `default.django` is not an object",
        );
    }

    #[test]
    fn truncated_python_files_never_panic() {
        check_damaged_samples_never_panic(Format::Requirements, REQUIREMENTS);
        check_damaged_samples_never_panic(Format::PoetryLock, POETRY);
        check_damaged_samples_never_panic(Format::PipfileLock, PIPFILE);
    }
}
