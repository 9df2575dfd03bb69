//! Conventional Commits 1.0.0: `type(scope)!: description`, a body, and
//! footers such as `BREAKING CHANGE: …`; and the semver bump a set of them
//! calls for, with the spec's rules before 1.0.0.

use std::fmt;

/// A commit message read as a Conventional Commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionalCommit {
    /// Lower-cased: `feat`, `fix`, `docs`, …
    pub kind: String,
    pub scope: Option<String>,
    /// `!` after the type or scope, or a `BREAKING CHANGE` footer.
    pub breaking: bool,
    pub description: String,
    pub body: Option<String>,
    /// (token, value) in order; `BREAKING-CHANGE` reads as `BREAKING CHANGE`.
    pub footers: Vec<(String, String)>,
}

/// Why a message is not a Conventional Commit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotConventional {
    #[error("the first line has no `type: description`")]
    NoType,
    #[error("the type `{0}` is not a word")]
    BadType(String),
    #[error("the scope is not closed with `)`")]
    OpenScope,
    #[error("the description is empty")]
    NoDescription,
}

impl std::str::FromStr for ConventionalCommit {
    type Err = NotConventional;

    fn from_str(message: &str) -> Result<Self, NotConventional> {
        let message = message.trim_start();
        let (header, rest) = message.split_once('\n').unwrap_or((message, ""));
        let (head, description) = header.split_once(':').ok_or(NotConventional::NoType)?;
        let description = description.trim();
        if description.is_empty() {
            return Err(NotConventional::NoDescription);
        }
        let (head, bang) = match head.strip_suffix('!') {
            Some(h) => (h, true),
            None => (head, false),
        };
        let (kind, scope) = match head.split_once('(') {
            Some((k, s)) => {
                let s = s.strip_suffix(')').ok_or(NotConventional::OpenScope)?;
                (k, Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
            }
            None => (head, None),
        };
        let kind = kind.trim();
        if kind.is_empty()
            || !kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(if kind.is_empty() {
                NotConventional::NoType
            } else {
                NotConventional::BadType(kind.to_owned())
            });
        }
        let (body, footers) = split_footers(rest);
        let breaking = bang || footers.iter().any(|(t, _)| t == "BREAKING CHANGE");
        Ok(ConventionalCommit {
            kind: kind.to_ascii_lowercase(),
            scope,
            breaking,
            description: description.to_owned(),
            body,
            footers,
        })
    }
}

/// A footer line: `Token: value` or `Token #value`, where a token has no
/// spaces except `BREAKING CHANGE`.
fn footer_start(line: &str) -> Option<(String, String)> {
    for sep in [": ", " #"] {
        if let Some((token, value)) = line.split_once(sep) {
            let token = token.trim_end();
            let ok = token == "BREAKING CHANGE"
                || (!token.is_empty()
                    && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            if ok {
                let token = if token == "BREAKING-CHANGE" {
                    "BREAKING CHANGE".to_owned()
                } else {
                    token.to_owned()
                };
                return Some((token, value.trim().to_owned()));
            }
        }
    }
    None
}

/// The body and the footers: footers start at the last paragraph whose
/// first line is a footer, and run to the end (continuation lines join the
/// footer before them).
fn split_footers(rest: &str) -> (Option<String>, Vec<(String, String)>) {
    let paragraphs: Vec<&str> = rest
        .trim()
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .collect();
    let Some(last) = paragraphs.last() else {
        return (None, Vec::new());
    };
    let first_line = last.lines().next().unwrap_or("");
    if footer_start(first_line).is_none() {
        let body = paragraphs.join("\n\n");
        return (Some(body), Vec::new());
    }
    let mut footers: Vec<(String, String)> = Vec::new();
    for line in last.lines() {
        match footer_start(line) {
            Some(f) => footers.push(f),
            None => {
                if let Some(prev) = footers.last_mut() {
                    prev.1.push('\n');
                    prev.1.push_str(line.trim());
                }
            }
        }
    }
    let body = paragraphs[..paragraphs.len() - 1].join("\n\n");
    ((!body.is_empty()).then_some(body), footers)
}

/// How far a version moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    None,
    Patch,
    Minor,
    Major,
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        })
    }
}

impl ConventionalCommit {
    /// What this commit alone calls for, on a 1.0.0-or-later version.
    pub fn bump(&self) -> Bump {
        if self.breaking {
            Bump::Major
        } else if self.kind == "feat" {
            Bump::Minor
        } else if self.kind == "fix" {
            Bump::Patch
        } else {
            Bump::None
        }
    }
}

/// The bump a set of commits calls for from `current`: before 1.0.0 a
/// breaking change bumps the minor version and a feature the patch version,
/// as the spec allows and most tools do.
pub fn suggest(current: &semver::Version, commits: &[ConventionalCommit]) -> Bump {
    let most = commits
        .iter()
        .map(ConventionalCommit::bump)
        .max()
        .unwrap_or(Bump::None);
    if current.major == 0 {
        match most {
            Bump::Major => Bump::Minor,
            Bump::Minor => Bump::Patch,
            other => other,
        }
    } else {
        most
    }
}

/// `current` moved by `bump` (pre-release and build metadata dropped).
pub fn bumped(current: &semver::Version, bump: Bump) -> semver::Version {
    let (ma, mi, pa) = (current.major, current.minor, current.patch);
    let (ma, mi, pa) = match bump {
        Bump::Major => (ma + 1, 0, 0),
        Bump::Minor => (ma, mi + 1, 0),
        Bump::Patch => (ma, mi, pa + 1),
        Bump::None => (ma, mi, pa),
    };
    semver::Version::new(ma, mi, pa)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(m: &str) -> ConventionalCommit {
        m.parse().expect("test input")
    }

    #[test]
    fn headers_scopes_and_bangs() {
        let x = c("feat(api)!: send an email to the customer when a product is shipped");
        assert_eq!(x.kind, "feat");
        assert_eq!(x.scope.as_deref(), Some("api"));
        assert!(x.breaking);
        assert_eq!(x.bump(), Bump::Major);
        let y = c("Fix: prevent racing of requests");
        assert_eq!(
            (y.kind.as_str(), y.breaking, y.bump()),
            ("fix", false, Bump::Patch)
        );
        assert_eq!(c("docs: correct spelling of CHANGELOG").bump(), Bump::None);
        assert_eq!(
            "update stuff".parse::<ConventionalCommit>(),
            Err(NotConventional::NoType)
        );
        assert_eq!(
            "feat(api: x".parse::<ConventionalCommit>(),
            Err(NotConventional::OpenScope)
        );
        assert_eq!(
            "feat: ".parse::<ConventionalCommit>(),
            Err(NotConventional::NoDescription)
        );
        assert!(matches!(
            "fe at: x".parse::<ConventionalCommit>(),
            Err(NotConventional::BadType(_))
        ));
    }

    /// The spec's examples: a body, and footers including BREAKING CHANGE.
    #[test]
    fn bodies_and_footers() {
        let m = "fix: prevent racing of requests\n\nIntroduce a request id and a reference to latest request. Dismiss\nincoming responses other than from latest request.\n\nRemove timeouts which were used to mitigate the racing issue but are\nobsolete now.\n\nReviewed-by: Z\nRefs: #123";
        let x = c(m);
        assert_eq!(
            x.footers,
            vec![
                ("Reviewed-by".into(), "Z".into()),
                ("Refs".into(), "#123".into())
            ]
        );
        assert!(
            x.body
                .as_deref()
                .is_some_and(|b| b.starts_with("Introduce") && b.ends_with("obsolete now."))
        );
        let b = c(
            "feat: allow provided config object to extend other configs\n\nBREAKING CHANGE: `extends` key in config file is now used for extending other config files",
        );
        assert!(b.breaking);
        assert_eq!(b.body, None);
        let h = c(
            "chore: drop Node 6\n\nBREAKING-CHANGE: use JavaScript features\nnot available in Node 6.",
        );
        assert!(h.breaking);
        assert_eq!(
            h.footers[0].1,
            "use JavaScript features\nnot available in Node 6."
        );
        let fixes = c("fix: a\n\nFixes #42");
        assert_eq!(fixes.footers, vec![("Fixes".into(), "42".into())]);
    }

    #[test]
    fn bumps_follow_the_spec_and_its_pre_1_0_rules() {
        let one = semver::Version::new(1, 4, 2);
        let zero = semver::Version::new(0, 9, 1);
        let feat = vec![c("fix: a"), c("feat: b")];
        let breaking = vec![c("fix: a"), c("refactor!: c")];
        assert_eq!(suggest(&one, &feat), Bump::Minor);
        assert_eq!(suggest(&one, &breaking), Bump::Major);
        assert_eq!(suggest(&zero, &feat), Bump::Patch);
        assert_eq!(suggest(&zero, &breaking), Bump::Minor);
        assert_eq!(suggest(&one, &[c("docs: x")]), Bump::None);
        assert_eq!(bumped(&one, Bump::Major).to_string(), "2.0.0");
        assert_eq!(bumped(&zero, Bump::Minor).to_string(), "0.10.0");
        let pre: semver::Version = "1.2.3-rc.1".parse().expect("test input");
        assert_eq!(bumped(&pre, Bump::Patch).to_string(), "1.2.4");
    }
}
