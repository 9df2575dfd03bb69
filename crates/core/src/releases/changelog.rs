//! Keep a Changelog 1.0.0: releases newest first, `[Unreleased]` on top,
//! each with its date, and changes under Added, Changed, Deprecated,
//! Removed, Fixed and Security.

use std::fmt::Write;

use super::commits::ConventionalCommit;

/// The sections, in the order the format lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Added,
    Changed,
    Deprecated,
    Removed,
    Fixed,
    Security,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Added,
        Section::Changed,
        Section::Deprecated,
        Section::Removed,
        Section::Fixed,
        Section::Security,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Added => "Added",
            Section::Changed => "Changed",
            Section::Deprecated => "Deprecated",
            Section::Removed => "Removed",
            Section::Fixed => "Fixed",
            Section::Security => "Security",
        }
    }

    /// Where a commit belongs, or `None` for housekeeping (docs, tests,
    /// chores, CI, builds, style) that users need not read about — unless
    /// it breaks something.
    pub fn of(c: &ConventionalCommit) -> Option<Section> {
        if c.scope.as_deref() == Some("security") || c.kind == "security" {
            return Some(Section::Security);
        }
        match c.kind.as_str() {
            "feat" => Some(Section::Added),
            "fix" => Some(Section::Fixed),
            "deprecate" => Some(Section::Deprecated),
            "remove" | "revert" => Some(Section::Removed),
            "perf" | "refactor" => Some(Section::Changed),
            _ if c.breaking => Some(Section::Changed),
            _ => None,
        }
    }
}

/// One line of a release's notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: Section,
    pub text: String,
    pub breaking: bool,
}

impl Entry {
    /// The entry a commit makes, if any: its description, with its scope.
    pub fn from_commit(c: &ConventionalCommit) -> Option<Entry> {
        let section = Section::of(c)?;
        let text = match &c.scope {
            Some(s) if s != "security" => format!("{s}: {}", c.description),
            _ => c.description.clone(),
        };
        Some(Entry {
            section,
            text,
            breaking: c.breaking,
        })
    }
}

/// One release of the changelog; `version: None` is `[Unreleased]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    pub entries: Vec<Entry>,
}

/// The changelog as Markdown, releases in the order given (newest first).
pub fn render(releases: &[Release]) -> String {
    let mut out = String::from(
        "# Changelog\n\nAll notable changes to this project are documented in this file.\n\n\
         The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.0.0/),\n\
         and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n",
    );
    for r in releases {
        out.push('\n');
        match (&r.version, &r.date) {
            (None, _) => out.push_str("## [Unreleased]\n"),
            (Some(v), Some(d)) => {
                let _ = writeln!(out, "## [{v}] - {d}");
            }
            (Some(v), None) => {
                let _ = writeln!(out, "## [{v}]");
            }
        }
        for section in Section::ALL {
            let mut lines = r.entries.iter().filter(|e| e.section == section).peekable();
            if lines.peek().is_none() {
                continue;
            }
            let _ = writeln!(out, "\n### {}\n", section.title());
            for e in lines {
                let mark = if e.breaking { "**Breaking:** " } else { "" };
                let _ = writeln!(out, "- {mark}{}", e.text.replace('\n', " "));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(messages: &[&str]) -> Vec<Entry> {
        messages
            .iter()
            .filter_map(|m| m.parse::<ConventionalCommit>().ok())
            .filter_map(|c| Entry::from_commit(&c))
            .collect()
    }

    #[test]
    fn commits_land_in_their_sections() {
        let e = entries(&[
            "feat(cart): keep the cart across devices",
            "fix: totals round to the cent",
            "docs: typo",
            "perf!: drop the v1 cache format",
            "fix(security): escape search terms",
            "chore!: require Rust 1.85",
            "not conventional at all",
        ]);
        let got: Vec<(Section, &str, bool)> = e
            .iter()
            .map(|e| (e.section, e.text.as_str(), e.breaking))
            .collect();
        assert_eq!(
            got,
            vec![
                (Section::Added, "cart: keep the cart across devices", false),
                (Section::Fixed, "totals round to the cent", false),
                (Section::Changed, "drop the v1 cache format", true),
                (Section::Security, "escape search terms", false),
                (Section::Changed, "require Rust 1.85", true),
            ]
        );
    }

    #[test]
    fn the_changelog_reads_newest_first_with_unreleased_on_top() {
        let md = render(&[
            Release {
                version: None,
                date: None,
                entries: entries(&["feat: dark mode"]),
            },
            Release {
                version: Some("1.1.0".into()),
                date: Some("2026-11-28".into()),
                entries: entries(&["fix: login loop", "feat!: new API"]),
            },
        ]);
        let unreleased = md.find("## [Unreleased]").expect("unreleased");
        let release = md.find("## [1.1.0] - 2026-11-28").expect("release");
        assert!(unreleased < release);
        let added = md
            .find("### Added\n\n- **Breaking:** new API")
            .expect("added");
        let fixed = md.find("### Fixed\n\n- login loop").expect("fixed");
        assert!(release < added && added < fixed, "{md}");
        assert!(md.starts_with("# Changelog\n"));
    }
}
