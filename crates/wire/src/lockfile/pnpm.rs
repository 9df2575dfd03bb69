//! pnpm-lock.yaml, lockfileVersion 5.x, 6.x and 9.x.
//!
//! Each version writes the package and version into the keys of
//! `packages` (and, from 9.0, of `snapshots`), differently:
//!
//! - 5.x: `/lodash/4.17.15`, `/@scope/pkg/1.2.3_peer@1.0.0`
//! - 6.x: `/lodash@4.17.15`, `/react-dom@17.0.2(react@17.0.2)`
//! - 9.x: `lodash@4.17.15`, `react-dom@17.0.2(react@17.0.2)`
//!
//! Keys that are not a registry name and version (git, tarball, `file:`
//! and `link:` packages) are skipped. pnpm 10 may put a second YAML
//! document in the file for its own configuration dependencies; the last
//! document is the project's lockfile.

use std::collections::HashMap;

use serde::Deserialize;
use serde_norway::Value;

use super::{Format, Found, LockfileError, found, line_number, structure, unquote};

const FORMAT: Format = Format::PnpmLock;

#[derive(Clone, Copy)]
enum KeyStyle {
    /// `/name/version_peers`, lockfileVersion 5.x.
    Slash,
    /// `/name@version(peers)` or `name@version(peers)`, 6.x and 9.x.
    At,
}

pub(super) fn parse(text: &str) -> Result<Vec<Found>, LockfileError> {
    let doc = last_document(text)?;
    let Some(version) = doc.get("lockfileVersion") else {
        return Err(structure(
            FORMAT,
            "no `lockfileVersion`: this is not a pnpm lockfile",
        ));
    };
    let version = match version {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    };
    let style = match version.split('.').next().map(str::parse::<u32>) {
        Some(Ok(5)) => KeyStyle::Slash,
        Some(Ok(6 | 9)) => KeyStyle::At,
        _ => {
            return Err(LockfileError::UnsupportedVersion {
                format: FORMAT,
                field: "lockfileVersion",
                found: version,
                supported: "5.x, 6.x and 9.x",
            });
        }
    };
    let lines = key_lines(text);
    let mut out = Vec::new();
    for section in ["packages", "snapshots"] {
        let entries = match doc.get(section) {
            None | Some(Value::Null) => continue,
            Some(Value::Mapping(entries)) => entries,
            Some(_) => return Err(structure(FORMAT, format!("`{section}` is not a mapping"))),
        };
        for key in entries.keys() {
            if let Value::String(key) = key
                && let Some((name, version)) = parse_key(style, key)
            {
                out.push(found(FORMAT, name, version, lines.get(key).copied()));
            }
        }
    }
    Ok(out)
}

fn last_document(text: &str) -> Result<Value, LockfileError> {
    let mut last = Value::Null;
    // On a syntax error the iterator keeps yielding the same failure, so
    // the first error must end the loop.
    for document in serde_norway::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|e| LockfileError::Syntax {
            format: FORMAT,
            syntax: "YAML",
            message: e.to_string(),
        })?;
        if value.get("lockfileVersion").is_some() || last.is_null() {
            last = value;
        }
    }
    if !last.is_mapping() && !last.is_null() {
        return Err(structure(FORMAT, "the top level is not a mapping"));
    }
    Ok(last)
}

/// The name and registry version a package key stands for.
fn parse_key(style: KeyStyle, key: &str) -> Option<(&str, &str)> {
    let (name, version) = match style {
        KeyStyle::Slash => {
            let rest = key.strip_prefix('/')?;
            let rest = rest.split('(').next()?;
            let name_end = if rest.starts_with('@') {
                let scope_end = rest.find('/')?;
                scope_end + 1 + rest.get(scope_end + 1..)?.find('/')?
            } else {
                rest.find('/')?
            };
            let version = rest.get(name_end + 1..)?;
            (rest.get(..name_end)?, version.split('_').next()?)
        }
        KeyStyle::At => {
            let rest = key.strip_prefix('/').unwrap_or(key);
            let rest = rest.split('(').next()?;
            let at = rest.get(1..)?.find('@')? + 1;
            (rest.get(..at)?, rest.get(at + 1..)?)
        }
    };
    // Registry versions start with a digit; URLs, `file:` and `link:` don't.
    let registry = version.starts_with(|c: char| c.is_ascii_digit())
        && !version.contains([':', '/'])
        && !name.is_empty()
        && !name.ends_with('/');
    registry.then_some((name, version))
}

/// The line of each key under `packages:` and `snapshots:` in the last
/// document, as pnpm writes them: two spaces in, maybe quoted.
fn key_lines(text: &str) -> HashMap<String, u32> {
    let mut section = "";
    let mut lines = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed == "---" {
            lines.clear();
            section = "";
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if indent == 0 {
            section = trimmed;
            continue;
        }
        if indent != 2 || !matches!(section, "packages:" | "snapshots:") {
            continue;
        }
        let key = trimmed
            .strip_suffix(':')
            .or_else(|| trimmed.strip_suffix(": {}"));
        if let Some(key) = key
            && let Some(number) = line_number(index)
        {
            lines.entry(unquote(key).to_owned()).or_insert(number);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, check_damaged_samples_never_panic, check_error};
    use super::*;

    const V5: &str = r#"lockfileVersion: 5.4

specifiers:
  '@babel/traverse': ^7.22.5
  lodash: ^4.17.15
  react-dom: ^17.0.2

dependencies:
  '@babel/traverse': 7.22.5
  lodash: 4.17.15
  react-dom: 17.0.2_react@17.0.2

packages:

  /@babel/traverse/7.22.5:
    resolution: {integrity: sha512-7DuIjPgERaNo6r+PZwItpjCZEa5vyw4eJGufeLxrPdBXBoLcCJCIasvK6pK/9DVNrLZTLFhUGqaC6X/PA007TQ==}
    engines: {node: '>=6.9.0'}
    dev: false

  /lodash/4.17.15:
    resolution: {integrity: sha512-8xOcRHvCjnocdS5cpwXQXVzmmh5e5+saE2QGoeQmbKmRS6J3VQppPOIt0MnmE+4xlZoumy0GPG0D0MVIQbNA1A==}
    dev: false

  /react-dom/17.0.2_react@17.0.2:
    resolution: {integrity: sha512-s4h96KtLDUQlsENhMn1ar8t2bEa+q/YAtj8pPPdIjPDGBDIVNsrD9aXNWqspUe6AzKCIG0C1HZZLqLV7qpOBGA==}
    peerDependencies:
      react: 17.0.2
    dependencies:
      react: 17.0.2
    dev: false

  /react/17.0.2:
    resolution: {integrity: sha512-gnhPt75i/dq/z3/6q/0asP78D0u592D5L1pd7M8P+dck6Fu/jJeL6iVVK23fptSUZj8Vjf++7wXA8UNclGQcbA==}
    engines: {node: '>=0.10.0'}
    dev: false

  github.com/stevemao/left-pad/5fc7a3b3e4e9a1e4e3e2f1a0b9c8d7e6f5a4b3c2:
    resolution: {tarball: https://codeload.github.com/stevemao/left-pad/tar.gz/5fc7a3b3e4e9a1e4e3e2f1a0b9c8d7e6f5a4b3c2}
    name: left-pad
    version: 1.3.0
    dev: false
"#;

    const V6: &str = r#"lockfileVersion: '6.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

dependencies:
  '@babel/traverse':
    specifier: ^7.22.5
    version: 7.22.5
  lodash:
    specifier: ^4.17.15
    version: 4.17.15
  react-dom:
    specifier: ^17.0.2
    version: 17.0.2(react@17.0.2)

packages:

  /@babel/traverse@7.22.5:
    resolution: {integrity: sha512-7DuIjPgERaNo6r+PZwItpjCZEa5vyw4eJGufeLxrPdBXBoLcCJCIasvK6pK/9DVNrLZTLFhUGqaC6X/PA007TQ==}
    engines: {node: '>=6.9.0'}
    dev: false

  /lodash@4.17.15:
    resolution: {integrity: sha512-8xOcRHvCjnocdS5cpwXQXVzmmh5e5+saE2QGoeQmbKmRS6J3VQppPOIt0MnmE+4xlZoumy0GPG0D0MVIQbNA1A==}
    dev: false

  /react-dom@17.0.2(react@17.0.2):
    resolution: {integrity: sha512-s4h96KtLDUQlsENhMn1ar8t2bEa+q/YAtj8pPPdIjPDGBDIVNsrD9aXNWqspUe6AzKCIG0C1HZZLqLV7qpOBGA==}
    peerDependencies:
      react: 17.0.2
    dependencies:
      react: 17.0.2
    dev: false

  /react@17.0.2:
    resolution: {integrity: sha512-gnhPt75i/dq/z3/6q/0asP78D0u592D5L1pd7M8P+dck6Fu/jJeL6iVVK23fptSUZj8Vjf++7wXA8UNclGQcbA==}
    engines: {node: '>=0.10.0'}
    dev: false

  '@registry.example.com/left-pad/-/left-pad-1.3.0.tgz':
    resolution: {tarball: https://registry.example.com/left-pad/-/left-pad-1.3.0.tgz}
    name: left-pad
    version: 1.3.0
    dev: false
"#;

    const V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      '@babel/traverse':
        specifier: ^7.22.5
        version: 7.22.5
      left-pad:
        specifier: github:stevemao/left-pad
        version: https://codeload.github.com/stevemao/left-pad/tar.gz/5fc7a3b
      lodash:
        specifier: ^4.17.15
        version: 4.17.15
      react-dom:
        specifier: ^17.0.2
        version: 17.0.2(react@17.0.2)

packages:

  '@babel/traverse@7.22.5':
    resolution: {integrity: sha512-7DuIjPgERaNo6r+PZwItpjCZEa5vyw4eJGufeLxrPdBXBoLcCJCIasvK6pK/9DVNrLZTLFhUGqaC6X/PA007TQ==}
    engines: {node: '>=6.9.0'}

  left-pad@https://codeload.github.com/stevemao/left-pad/tar.gz/5fc7a3b:
    resolution: {tarball: https://codeload.github.com/stevemao/left-pad/tar.gz/5fc7a3b}
    version: 1.3.0

  lodash@4.17.15:
    resolution: {integrity: sha512-8xOcRHvCjnocdS5cpwXQXVzmmh5e5+saE2QGoeQmbKmRS6J3VQppPOIt0MnmE+4xlZoumy0GPG0D0MVIQbNA1A==}

  react-dom@17.0.2:
    resolution: {integrity: sha512-s4h96KtLDUQlsENhMn1ar8t2bEa+q/YAtj8pPPdIjPDGBDIVNsrD9aXNWqspUe6AzKCIG0C1HZZLqLV7qpOBGA==}
    peerDependencies:
      react: 17.0.2

  react@17.0.2:
    resolution: {integrity: sha512-gnhPt75i/dq/z3/6q/0asP78D0u592D5L1pd7M8P+dck6Fu/jJeL6iVVK23fptSUZj8Vjf++7wXA8UNclGQcbA==}
    engines: {node: '>=0.10.0'}

snapshots:

  '@babel/traverse@7.22.5': {}

  left-pad@https://codeload.github.com/stevemao/left-pad/tar.gz/5fc7a3b: {}

  lodash@4.17.15: {}

  react-dom@17.0.2(react@17.0.2):
    dependencies:
      react: 17.0.2

  react@17.0.2: {}
"#;

    #[test]
    fn version_5_keys_are_slash_separated() {
        check(
            FORMAT,
            V5,
            "@babel/traverse 7.22.5 @15
             lodash 4.17.15 @20
             react 17.0.2 @32
             react-dom 17.0.2 @24",
        );
    }

    #[test]
    fn version_6_keys_carry_peers_in_parentheses() {
        check(
            FORMAT,
            V6,
            "@babel/traverse 7.22.5 @20
             lodash 4.17.15 @25
             react 17.0.2 @37
             react-dom 17.0.2 @29",
        );
    }

    #[test]
    fn version_9_reads_packages_and_snapshots() {
        check(
            FORMAT,
            V9,
            "@babel/traverse 7.22.5 @26
             lodash 4.17.15 @34
             react 17.0.2 @42
             react-dom 17.0.2 @37",
        );
    }

    #[test]
    fn the_last_document_is_the_lockfile() {
        let two = "lockfileVersion: '9.0'\nimporters:\n  .:\n    configDependencies: {}\npackages:\n  pnpm-plugin@1.0.0:\n    resolution: {}\n---\nlockfileVersion: '9.0'\npackages:\n  lodash@4.17.15:\n    resolution: {}\n";
        check(FORMAT, two, "lodash 4.17.15 @11");
    }

    #[test]
    fn malformed_pnpm_locks_are_refused_with_the_reason() {
        check_error(
            FORMAT,
            "lockfileVersion: '9.0'\npackages: [unclosed\n",
            "pnpm-lock.yaml is not valid YAML: did not find expected ',' or ']' at line 3 column 1, while parsing a flow sequence at line 2 column 11",
        );
        check_error(
            FORMAT,
            "packages:\n  lodash@4.17.15: {}\n",
            "pnpm-lock.yaml: no `lockfileVersion`: this is not a pnpm lockfile",
        );
        check_error(
            FORMAT,
            "lockfileVersion: '7.0'\n",
            "pnpm-lock.yaml: lockfileVersion 7.0 is not supported (this reader knows 5.x, 6.x and 9.x)",
        );
        check_error(
            FORMAT,
            "lockfileVersion: '9.0'\npackages: [lodash@4.17.15]\n",
            "pnpm-lock.yaml: `packages` is not a mapping",
        );
        check_error(
            FORMAT,
            "- lockfileVersion\n",
            "pnpm-lock.yaml: the top level is not a mapping",
        );
    }

    #[test]
    fn truncated_pnpm_locks_never_panic() {
        check_damaged_samples_never_panic(FORMAT, V5);
        check_damaged_samples_never_panic(FORMAT, V6);
        check_damaged_samples_never_panic(FORMAT, V9);
    }
}
