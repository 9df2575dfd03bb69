//! go.mod: the modules `require` pins, after `replace`, and the Go
//! toolchain itself as the `stdlib` package.
//!
//! Module versions are kept as the file writes them (`v1.2.3`,
//! pseudo-versions, `+incompatible`). A `replace` with a version on its
//! left applies to that version only, one without to every version; a
//! module replaced by a local directory has no version to match and is
//! left out. The standard library's version comes from `toolchain` when
//! there is one, else from `go`, written the way OSV writes Go releases:
//! `go1.21` is `1.21.0` and `go1.21rc2` is `1.21.0-rc.2`.

use super::{Format, Found, LockfileError, excerpt, found, line_error, line_number, structure};

const FORMAT: Format = Format::GoMod;

struct Require<'a> {
    path: &'a str,
    version: &'a str,
    line: Option<u32>,
}

struct Replace<'a> {
    old: &'a str,
    old_version: Option<&'a str>,
    new: &'a str,
    /// `None` for a local directory.
    new_version: Option<&'a str>,
    line: Option<u32>,
}

pub(super) fn parse(text: &str) -> Result<Vec<Found>, LockfileError> {
    let mut requires = Vec::new();
    let mut replaces = Vec::new();
    let mut go = None;
    let mut toolchain = None;
    let mut has_module = false;
    let mut block: Option<(&str, Option<u32>)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = line_number(index);
        let tokens = tokens(raw);
        if tokens.is_empty() {
            continue;
        }
        let (verb, args) = match block {
            Some(_) if tokens == [")"] => {
                block = None;
                continue;
            }
            Some((verb, _)) => (verb, &tokens[..]),
            None => {
                let (verb, args) = tokens.split_at(1);
                let verb = verb.first().copied().unwrap_or_default();
                if !verb.bytes().all(|b| b.is_ascii_lowercase()) {
                    return Err(line_error(
                        FORMAT,
                        line,
                        format!(
                            "expected a directive such as `require`, found `{}`",
                            excerpt(raw.trim())
                        ),
                    ));
                }
                match args {
                    ["("] => {
                        block = Some((verb, line));
                        continue;
                    }
                    ["()"] | ["(", ")"] => continue,
                    _ => (verb, args),
                }
            }
        };
        let expected = |shape: &str| {
            line_error(
                FORMAT,
                line,
                format!("expected `{verb} {shape}`, found `{}`", excerpt(raw.trim())),
            )
        };
        match verb {
            "module" => has_module = true,
            "go" => match args {
                [version] => go = Some((*version, line)),
                _ => return Err(expected("1.21.3")),
            },
            "toolchain" => match args {
                [name] => toolchain = Some((*name, line)),
                _ => return Err(expected("go1.22.1")),
            },
            "require" => match args {
                [path, version] => requires.push(Require {
                    path,
                    version,
                    line,
                }),
                _ => return Err(expected("module/path v1.2.3")),
            },
            "replace" => {
                let arrow = args.iter().position(|t| *t == "=>");
                let (left, right) = match arrow {
                    Some(at) => args.split_at(at),
                    None => return Err(expected("old [version] => new [version]")),
                };
                let right = right.get(1..).unwrap_or_default();
                let (Some((old, old_version)), Some((new, new_version))) =
                    (module_and_version(left), module_and_version(right))
                else {
                    return Err(expected("old [version] => new [version]"));
                };
                replaces.push(Replace {
                    old,
                    old_version,
                    new,
                    new_version,
                    line,
                });
            }
            // exclude, retract, godebug, tool and directives newer than
            // this reader say nothing about what is built.
            _ => {}
        }
    }
    if let Some((verb, line)) = block {
        return Err(line_error(
            FORMAT,
            line,
            format!("the `{verb} (` block is not closed"),
        ));
    }
    if !has_module {
        return Err(structure(
            FORMAT,
            "no `module` directive: this is not a go.mod file",
        ));
    }

    let mut out = Vec::new();
    for require in &requires {
        let same = |r: &&Replace<'_>| r.old == require.path;
        let replace = replaces
            .iter()
            .rev()
            .filter(same)
            .find(|r| r.old_version == Some(require.version))
            .or_else(|| {
                replaces
                    .iter()
                    .rev()
                    .filter(same)
                    .find(|r| r.old_version.is_none())
            });
        match replace {
            Some(r) => {
                if let Some(version) = r.new_version {
                    out.push(found(FORMAT, r.new, version, r.line));
                }
            }
            None => out.push(found(FORMAT, require.path, require.version, require.line)),
        }
    }
    let release = |(name, line): (&str, Option<u32>), prefix: &str| {
        match name.strip_prefix(prefix).and_then(go_release) {
            Some(version) => Ok(version),
            None => Err(line_error(
                FORMAT,
                line,
                format!("`{}` is not a Go release", excerpt(name)),
            )),
        }
        .map(|version| (version, line))
    };
    let go = go.map(|go| release(go, "")).transpose()?;
    let toolchain = toolchain.map(|t| release(t, "go")).transpose()?;
    if let Some((version, line)) = toolchain.or(go) {
        out.push(found(FORMAT, "stdlib", &version, line));
    }
    Ok(out)
}

/// A line's tokens, comments dropped and quoted module paths unquoted.
fn tokens(line: &str) -> Vec<&str> {
    let code = line
        .find("//")
        .map_or(line, |at| line.get(..at).unwrap_or(line));
    code.split_whitespace()
        .map(|token| {
            for q in ['"', '`'] {
                if let Some(inner) = token.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
                    return inner;
                }
            }
            token
        })
        .collect()
}

/// One side of a `replace`: a module path or directory, maybe a version.
fn module_and_version<'a>(side: &[&'a str]) -> Option<(&'a str, Option<&'a str>)> {
    match side {
        [path] => Some((path, None)),
        [path, version] => Some((path, Some(version))),
        _ => None,
    }
}

/// A Go release (`1.21`, `1.21.3`, `1.21rc2`) in OSV's form; a toolchain
/// name's own suffix (`go1.22.1-custom`) is dropped.
fn go_release(name: &str) -> Option<String> {
    let name = name.split(['-', '+']).next()?;
    let (numbers, pre) = name.split_at(
        name.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(name.len()),
    );
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (major, minor, patch) = match numbers.split('.').collect::<Vec<_>>()[..] {
        [major, minor] => (major, minor, "0"),
        [major, minor, patch] => (major, minor, patch),
        _ => return None,
    };
    if ![major, minor, patch].into_iter().all(digits) {
        return None;
    }
    let pre = if pre.is_empty() {
        String::new()
    } else {
        let (kind, n) = ["rc", "beta"]
            .into_iter()
            .find_map(|kind| Some((kind, pre.strip_prefix(kind)?)))?;
        if !digits(n) {
            return None;
        }
        format!("-{kind}.{n}")
    };
    Some(format!("{major}.{minor}.{patch}{pre}"))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, check_damaged_samples_never_panic, check_error};
    use super::*;

    const GO_MOD: &str = "module github.com/acme/shop

go 1.21.3

toolchain go1.22.1

require (
\tgithub.com/gin-gonic/gin v1.6.3
\tgithub.com/golang/protobuf v1.5.2 // indirect
\tgolang.org/x/net v0.0.0-20210226172049-e18ecbb05110 // indirect
\tgithub.com/docker/docker v20.10.7+incompatible
\tgopkg.in/yaml.v2 v2.2.8
\tgithub.com/acme/internal v0.3.0
)

require golang.org/x/text v0.3.5 // indirect

replace gopkg.in/yaml.v2 v2.2.8 => gopkg.in/yaml.v2 v2.4.0

replace github.com/acme/internal => ../internal

replace golang.org/x/text => golang.org/x/text v0.3.8

replace github.com/gin-gonic/gin v1.5.0 => github.com/gin-gonic/gin v1.7.7

exclude golang.org/x/crypto v0.0.0-20200622213623-75b288015ac9

retract [v0.1.0, v0.1.5] // published by mistake
";

    #[test]
    fn requires_replaces_and_the_toolchain_are_read() {
        check(
            FORMAT,
            GO_MOD,
            "github.com/docker/docker v20.10.7+incompatible @11
             github.com/gin-gonic/gin v1.6.3 @8
             github.com/golang/protobuf v1.5.2 @9
             golang.org/x/net v0.0.0-20210226172049-e18ecbb05110 @10
             golang.org/x/text v0.3.8 @22
             gopkg.in/yaml.v2 v2.4.0 @18
             stdlib 1.22.1 @5",
        );
    }

    #[test]
    fn the_go_directive_gives_stdlib_without_a_toolchain() {
        check(
            FORMAT,
            "module example.com/m\n\ngo 1.21\n",
            "stdlib 1.21.0 @3",
        );
        check(
            FORMAT,
            "module example.com/m\ngo 1.21rc2\nrequire \"golang.org/x/net\" v0.17.0\n",
            "golang.org/x/net v0.17.0 @3
             stdlib 1.21.0-rc.2 @2",
        );
        check(FORMAT, "module example.com/m\nrequire ()\n", "");
    }

    #[test]
    fn malformed_go_mods_are_refused_with_the_reason() {
        check_error(
            FORMAT,
            "{\"module\": \"x\"}\n",
            "go.mod, line 1: expected a directive such as `require`, found `{\"module\": \"x\"}`",
        );
        check_error(
            FORMAT,
            "module x\nrequire github.com/gin-gonic/gin\n",
            "go.mod, line 2: expected `require module/path v1.2.3`, found `require github.com/gin-gonic/gin`",
        );
        check_error(
            FORMAT,
            "module x\nreplace github.com/gin-gonic/gin v1.7.7\n",
            "go.mod, line 2: expected `replace old [version] => new [version]`, found `replace github.com/gin-gonic/gin v1.7.7`",
        );
        check_error(
            FORMAT,
            "module x\ngo one.two\n",
            "go.mod, line 2: `one.two` is not a Go release",
        );
        check_error(
            FORMAT,
            "module x\ntoolchain 1.22.1\n",
            "go.mod, line 2: `1.22.1` is not a Go release",
        );
        check_error(
            FORMAT,
            "module x\nrequire (\n\tgithub.com/gin-gonic/gin v1.6.3\n",
            "go.mod, line 2: the `require (` block is not closed",
        );
        check_error(
            FORMAT,
            "require github.com/gin-gonic/gin v1.6.3\n",
            "go.mod: no `module` directive: this is not a go.mod file",
        );
    }

    #[test]
    fn truncated_go_mods_never_panic() {
        check_damaged_samples_never_panic(FORMAT, GO_MOD);
    }
}
