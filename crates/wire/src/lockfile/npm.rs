//! package-lock.json and npm-shrinkwrap.json, lockfileVersion 1 to 3.
//!
//! Version 1 nests packages under `dependencies`, recursively. Versions 2
//! and 3 list them flat under `packages`, keyed by install path
//! (`node_modules/a/node_modules/@scope/b`), and version 2 repeats the
//! version 1 tree for old npms; `packages` is read when it is there. The
//! package's name is the path after its last `node_modules/`, unless a
//! `name` field says otherwise (an alias installed under another name).

use serde_json::{Map, Value};

use super::{Format, Found, LockfileError, found, json_field_lines, read_json, structure};

const FORMAT: Format = Format::PackageLock;

pub(super) fn parse(text: &str) -> Result<Vec<Found>, LockfileError> {
    let root = read_json(FORMAT, text)?;
    let version = match root.get("lockfileVersion") {
        None => 1,
        Some(v) => v.as_u64().filter(|v| (1..=3).contains(v)).ok_or_else(|| {
            LockfileError::UnsupportedVersion {
                format: FORMAT,
                field: "lockfileVersion",
                found: v.to_string(),
                supported: "1, 2 and 3",
            }
        })?,
    };
    let lines = json_field_lines(text, "version");
    let mut out = Vec::new();
    if let Some(packages) = root.get("packages").filter(|_| version >= 2) {
        let packages = object(packages, "packages")?;
        for (path, entry) in packages {
            let entry = object(entry, &format!("packages.\"{path}\""))?;
            // The root "" and workspace folders are the project itself, and
            // a link points at one of those: no registry version to match.
            let Some((_, installed_as)) = path.rsplit_once("node_modules/") else {
                continue;
            };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(installed_as);
            let Some(version) = entry.get("version").and_then(Value::as_str) else {
                continue;
            };
            if let Some((name, version)) = registry_pin(name, version) {
                let line = lines
                    .get(&["packages".to_owned(), path.clone()][..])
                    .copied();
                out.push(found(FORMAT, name, version, line));
            }
        }
    } else if let Some(dependencies) = root.get("dependencies") {
        let mut path = vec!["dependencies".to_owned()];
        walk_v1(
            object(dependencies, "dependencies")?,
            &mut path,
            &lines,
            &mut out,
        )?;
    } else if version == 3 {
        return Err(structure(FORMAT, "lockfileVersion 3 but no `packages`"));
    } else if root.get("lockfileVersion").is_none() {
        return Err(structure(
            FORMAT,
            "no `lockfileVersion`, `packages` or `dependencies`: this is not a lockfile",
        ));
    }
    Ok(out)
}

/// Version 1's tree: `path` holds the keys down to `dependencies`, so that
/// each entry's version line can be looked up.
fn walk_v1(
    dependencies: &Map<String, Value>,
    path: &mut Vec<String>,
    lines: &std::collections::HashMap<Vec<String>, u32>,
    out: &mut Vec<Found>,
) -> Result<(), LockfileError> {
    for (name, entry) in dependencies {
        path.push(name.clone());
        let entry = object(entry, &path.join("."))?;
        if let Some(version) = entry.get("version").and_then(Value::as_str)
            && let Some((name, version)) = registry_pin(name, version)
        {
            out.push(found(FORMAT, name, version, lines.get(path).copied()));
        }
        if let Some(nested) = entry.get("dependencies") {
            path.push("dependencies".to_owned());
            let nested = object(nested, &path.join("."))?;
            walk_v1(nested, path, lines, out)?;
            path.pop();
        }
        path.pop();
    }
    Ok(())
}

/// The registry package behind a lockfile version: an alias
/// (`npm:string-width@4.2.3`, version 1's form) names the real package, and
/// git, file and URL versions (`github:user/repo#sha`) have none.
fn registry_pin<'a>(name: &'a str, version: &'a str) -> Option<(&'a str, &'a str)> {
    let (name, version) = match version.strip_prefix("npm:") {
        Some(alias) => {
            let at = alias.get(1..)?.find('@')? + 1;
            (alias.get(..at)?, alias.get(at + 1..)?)
        }
        None => (name, version),
    };
    let (name, version) = (name.trim(), version.trim());
    (!name.is_empty() && !version.is_empty() && !version.contains([':', '/']))
        .then_some((name, version))
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, LockfileError> {
    value
        .as_object()
        .ok_or_else(|| structure(FORMAT, format!("`{at}` is not an object")))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, check_damaged_samples_never_panic, check_error};
    use super::*;

    const V1: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "@babel/traverse": {
      "version": "7.22.5",
      "resolved": "https://registry.npmjs.org/@babel/traverse/-/traverse-7.22.5.tgz",
      "integrity": "sha512-7DuIjPgERaNo6r+PZwItpjCZEa5vyw4eJGufeLxrPdBXBoLcCJCIasvK6pK/9DVNrLZTLFhUGqaC6X/PA007TQ==",
      "dev": true,
      "requires": {
        "debug": "^4.1.0"
      },
      "dependencies": {
        "debug": {
          "version": "4.3.4",
          "resolved": "https://registry.npmjs.org/debug/-/debug-4.3.4.tgz",
          "dev": true
        }
      }
    },
    "lodash": {
      "version": "4.17.15",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz"
    },
    "mkdirp": {
      "version": "0.5.1",
      "requires": {
        "minimist": "0.0.8"
      },
      "dependencies": {
        "minimist": {
          "version": "0.0.8",
          "resolved": "https://registry.npmjs.org/minimist/-/minimist-0.0.8.tgz"
        }
      }
    },
    "minimist": {
      "version": "1.2.0",
      "resolved": "https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz"
    },
    "left-pad": {
      "version": "github:stevemao/left-pad#5fc7a3b3e4e9a1e4e3e2f1a0b9c8d7e6f5a4b3c2",
      "from": "github:stevemao/left-pad"
    },
    "string-width-cjs": {
      "version": "npm:string-width@4.2.3",
      "resolved": "https://registry.npmjs.org/string-width/-/string-width-4.2.3.tgz"
    }
  }
}"#;

    const V3: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop",
      "version": "1.0.0",
      "workspaces": ["packages/ui"],
      "dependencies": {
        "lodash": "^4.17.15",
        "minimist": "^1.2.0"
      }
    },
    "node_modules/@babel/traverse": {
      "version": "7.22.5",
      "resolved": "https://registry.npmjs.org/@babel/traverse/-/traverse-7.22.5.tgz",
      "dev": true,
      "dependencies": {
        "debug": "^4.1.0"
      },
      "engines": {
        "node": ">=6.9.0"
      }
    },
    "node_modules/@babel/traverse/node_modules/debug": {
      "version": "4.3.4",
      "dev": true
    },
    "node_modules/lodash": {
      "version": "4.17.15",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz"
    },
    "node_modules/minimist": {
      "version": "1.2.0",
      "resolved": "https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz"
    },
    "node_modules/mkdirp/node_modules/minimist": {
      "version": "0.0.8"
    },
    "node_modules/string-width-cjs": {
      "name": "string-width",
      "version": "4.2.3"
    },
    "node_modules/@shop/ui": {
      "resolved": "packages/ui",
      "link": true
    },
    "packages/ui": {
      "name": "@shop/ui",
      "version": "0.3.0"
    }
  }
}"#;

    #[test]
    fn version_1_walks_nested_dependencies() {
        check(
            FORMAT,
            V1,
            "@babel/traverse 7.22.5 @8
             debug 4.3.4 @17
             lodash 4.17.15 @24
             minimist 0.0.8 @34
             minimist 1.2.0 @40
             mkdirp 0.5.1 @28
             string-width 4.2.3 @48",
        );
    }

    #[test]
    fn version_3_reads_paths_aliases_and_skips_links_and_the_root() {
        check(
            FORMAT,
            V3,
            "@babel/traverse 7.22.5 @17
             debug 4.3.4 @28
             lodash 4.17.15 @32
             minimist 0.0.8 @40
             minimist 1.2.0 @36
             string-width 4.2.3 @44",
        );
    }

    #[test]
    fn version_2_prefers_packages_over_the_legacy_tree() {
        let v2 = r#"{"name":"shop","lockfileVersion":2,"requires":true,
"packages":{"":{"name":"shop"},"node_modules/lodash":{"version":"4.17.15"}},
"dependencies":{"lodash":{"version":"4.17.15"},"left-pad":{"version":"1.3.0"}}}"#;
        check(FORMAT, v2, "lodash 4.17.15");
    }

    #[test]
    fn malformed_package_locks_are_refused_with_the_reason() {
        check_error(
            FORMAT,
            "{\"lockfileVersion\": 3,",
            "package-lock.json is not valid JSON: EOF while parsing a value at line 1 column 22",
        );
        check_error(
            FORMAT,
            "[1, 2]",
            "package-lock.json: the top level is not a JSON object",
        );
        check_error(
            FORMAT,
            r#"{"lockfileVersion": 4, "packages": {}}"#,
            "package-lock.json: lockfileVersion 4 is not supported (this reader knows 1, 2 and 3)",
        );
        check_error(
            FORMAT,
            r#"{"lockfileVersion": 3, "packages": {"node_modules/lodash": "4.17.15"}}"#,
            "package-lock.json: `packages.\"node_modules/lodash\"` is not an object",
        );
        check_error(
            FORMAT,
            r#"{"lockfileVersion": 3}"#,
            "package-lock.json: lockfileVersion 3 but no `packages`",
        );
        check_error(
            FORMAT,
            r#"{"name": "shop", "dependencies": {"lodash": "^4.17.15"}}"#,
            "package-lock.json: `dependencies.lodash` is not an object",
        );
        check_error(
            FORMAT,
            r#"{"name": "shop"}"#,
            "package-lock.json: no `lockfileVersion`, `packages` or `dependencies`: this is not a lockfile",
        );
    }

    #[test]
    fn truncated_package_locks_never_panic() {
        check_damaged_samples_never_panic(FORMAT, V1);
        check_damaged_samples_never_panic(FORMAT, V3);
    }
}
