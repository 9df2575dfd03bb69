//! yarn.lock: the classic format of yarn 1 and the YAML of yarn 2 and
//! later ("berry", recognised by its `__metadata` entry).
//!
//! Both are read line by line: an unindented `specifiers:` header opens an
//! entry, and its first level of indented fields holds the version. Classic
//! entries give the installed version as `version "1.2.3"`; berry entries say
//! where it came from in `resolution: "lodash@npm:4.17.21"`, and only `npm:`
//! resolutions are registry packages (not `workspace:`, `patch:`, git, …).

use super::{Format, Found, LockfileError, excerpt, found, line_error, line_number, unquote};

const FORMAT: Format = Format::YarnLock;

/// One entry: its header and the fields this reader needs, with the line
/// of each.
struct Entry<'a> {
    header: &'a str,
    line: Option<u32>,
    version: Option<(&'a str, Option<u32>)>,
    resolution: Option<(&'a str, Option<u32>)>,
}

pub(super) fn parse(text: &str) -> Result<Vec<Found>, LockfileError> {
    let berry = text.lines().any(|l| l.trim_end() == "__metadata:");
    let mut out = Vec::new();
    for entry in entries(text)? {
        let pin = if berry {
            berry_pin(&entry)?
        } else {
            classic_pin(&entry)?
        };
        out.extend(pin.map(|(name, version, line)| found(FORMAT, name, version, line)));
    }
    Ok(out)
}

fn entries(text: &str) -> Result<Vec<Entry<'_>>, LockfileError> {
    let mut entries: Vec<Entry<'_>> = Vec::new();
    let mut field_indent = None;
    for (index, raw) in text.lines().enumerate() {
        let line = line_number(index);
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        let trimmed = trimmed.trim_end();
        if indent == 0 {
            let Some(header) = trimmed.strip_suffix(':') else {
                return Err(line_error(
                    FORMAT,
                    line,
                    format!(
                        "expected an entry header such as `lodash@^4.17.21:`, found `{}`",
                        excerpt(trimmed)
                    ),
                ));
            };
            entries.push(Entry {
                header,
                line,
                version: None,
                resolution: None,
            });
            field_indent = None;
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            return Err(line_error(
                FORMAT,
                line,
                "an indented line comes before the first entry",
            ));
        };
        // Deeper lines belong to nested maps such as `dependencies`.
        if indent != *field_indent.get_or_insert(indent) {
            continue;
        }
        let key_end = trimmed.find([' ', ':']).unwrap_or(trimmed.len());
        let (key, rest) = trimmed.split_at(key_end);
        let value = unquote(rest.trim_start().strip_prefix(':').unwrap_or(rest).trim());
        match key {
            "version" => entry.version = Some((value, line)),
            "resolution" => entry.resolution = Some((value, line)),
            _ => {}
        }
    }
    Ok(entries)
}

type Pin<'a> = Option<(&'a str, &'a str, Option<u32>)>;

fn classic_pin<'a>(entry: &Entry<'a>) -> Result<Pin<'a>, LockfileError> {
    let first = entry.header.split(',').next().unwrap_or(entry.header);
    let (name, range) = split_spec(first.trim().trim_matches('"'));
    // An alias (`string-width-cjs@npm:string-width@^4.2.0`) installs the
    // package it names after `npm:`.
    let (name, range) = match range.strip_prefix("npm:").map(split_spec) {
        Some((real, real_range)) if !real_range.is_empty() => (real, real_range),
        Some(_) => (name, range.get(4..).unwrap_or_default()),
        None => (name, range),
    };
    let Some((version, line)) = entry.version else {
        return Err(line_error(
            FORMAT,
            entry.line,
            format!("entry `{}` has no version", excerpt(entry.header)),
        ));
    };
    if version.is_empty() {
        return Err(line_error(FORMAT, line, "empty version"));
    }
    // Git, file and URL specifiers carry the version from their own
    // package.json, which says nothing about the registry's releases.
    if name.is_empty() || range.contains([':', '/']) {
        return Ok(None);
    }
    Ok(Some((name, version, line)))
}

fn berry_pin<'a>(entry: &Entry<'a>) -> Result<Pin<'a>, LockfileError> {
    if entry.header == "__metadata" {
        return Ok(None);
    }
    let Some((resolution, resolution_line)) = entry.resolution else {
        return Err(line_error(
            FORMAT,
            entry.line,
            format!("entry `{}` has no resolution", excerpt(entry.header)),
        ));
    };
    let (name, source) = split_spec(resolution);
    let Some(version) = source.strip_prefix("npm:") else {
        return Ok(None);
    };
    if name.is_empty() || version.is_empty() || version.contains([':', '/']) {
        return Ok(None);
    }
    let line = entry.version.map_or(resolution_line, |(_, line)| line);
    Ok(Some((name, version, line)))
}

/// `@scope/name@range` into name and range; the first `@` of a scoped name
/// is part of the name.
fn split_spec(spec: &str) -> (&str, &str) {
    match spec.get(1..).and_then(|rest| rest.find('@')) {
        Some(at) => (
            spec.get(..=at).unwrap_or(spec),
            spec.get(at + 2..).unwrap_or_default(),
        ),
        None => (spec, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, check_damaged_samples_never_panic, check_error};
    use super::*;

    const CLASSIC: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/traverse@^7.20.0", "@babel/traverse@^7.22.5":
  version "7.22.5"
  resolved "https://registry.yarnpkg.com/@babel/traverse/-/traverse-7.22.5.tgz#44bd276690db6f4940fdb84e1cb4abd2f729ccd1"
  integrity sha512-7DuIjPgERaNo6r+PZwItpjCZEa5vyw4eJGufeLxrPdBXBoLcCJCIasvK6pK/9DVNrLZTLFhUGqaC6X/PA007TQ==
  dependencies:
    debug "^4.1.0"
    globals "^11.1.0"

debug@^4.1.0:
  version "4.3.4"
  resolved "https://registry.yarnpkg.com/debug/-/debug-4.3.4.tgz#1319f6579357f2338d3337d2cdd4914bb5dcc865"
  dependencies:
    ms "2.1.2"

left-pad@stevemao/left-pad#master:
  version "1.3.0"
  resolved "https://codeload.github.com/stevemao/left-pad/tar.gz/5fc7a3b3e4e9a1e4e3e2f1a0b9c8d7e6f5a4b3c2"

lodash@^4.17.11, lodash@^4.17.15:
  version "4.17.15"
  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.15.tgz#b447f6670a0455bbfeedd11392eff330ea097548"
  integrity sha512-8xOcRHvCjnocdS5cpwXQXVzmmh5e5+saE2QGoeQmbKmRS6J3VQppPOIt0MnmE+4xlZoumy0GPG0D0MVIQbNA1A==

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz#269c7117d27b05ad2e536830a8ec895ef9c6d010"
"#;

    const BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 6
  cacheKey: 8

"@babel/traverse@npm:^7.22.5":
  version: 7.22.5
  resolution: "@babel/traverse@npm:7.22.5"
  dependencies:
    debug: ^4.1.0
  languageName: node
  linkType: hard

"lodash@npm:^4.17.11, lodash@npm:^4.17.21":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"
  checksum: eb835a2e51d381e561e508ce932ea50a8e5a68f4ebdd771ea240d3048244a8d13658acbd502cd4829768c56f2e16bdd4340b9ea141297d472517b83868e677f7
  languageName: node
  linkType: hard

"resolve@patch:resolve@npm%3A^1.22.1#~builtin<compat/resolve>":
  version: 1.22.2
  resolution: "resolve@patch:resolve@npm%3A1.22.2#~builtin<compat/resolve>::version=1.22.2&hash=c3c19d"
  languageName: node
  linkType: hard

"shop@workspace:.":
  version: 0.0.0-use.local
  resolution: "shop@workspace:."
  languageName: unknown
  linkType: soft
"#;

    #[test]
    fn classic_entries_give_name_version_and_line() {
        check(
            FORMAT,
            CLASSIC,
            "@babel/traverse 7.22.5 @6
             debug 4.3.4 @14
             lodash 4.17.15 @24
             string-width 4.2.3 @29",
        );
    }

    #[test]
    fn berry_entries_are_read_from_npm_resolutions() {
        check(
            FORMAT,
            BERRY,
            "@babel/traverse 7.22.5 @9
             lodash 4.17.21 @17",
        );
    }

    #[test]
    fn malformed_yarn_locks_are_refused_with_the_reason() {
        check_error(
            FORMAT,
            "{\"lockfileVersion\": 3}",
            "yarn.lock, line 1: expected an entry header such as `lodash@^4.17.21:`, found `{\"lockfileVersion\": 3}`",
        );
        check_error(
            FORMAT,
            "  version \"1.0.0\"\n",
            "yarn.lock, line 1: an indented line comes before the first entry",
        );
        check_error(
            FORMAT,
            "lodash@^4.17.11:\n  resolved \"https://registry.yarnpkg.com/lodash/-/lodash-4.17.15.tgz\"\n",
            "yarn.lock, line 1: entry `lodash@^4.17.11` has no version",
        );
        check_error(
            FORMAT,
            "__metadata:\n  version: 6\n\n\"lodash@npm:^4.17.11\":\n  version: 4.17.21\n",
            "yarn.lock, line 4: entry `\"lodash@npm:^4.17.11\"` has no resolution",
        );
    }

    #[test]
    fn truncated_yarn_locks_never_panic() {
        check_damaged_samples_never_panic(FORMAT, CLASSIC);
        check_damaged_samples_never_panic(FORMAT, BERRY);
    }
}
