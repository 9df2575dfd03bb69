//! Architecture decision records: the Markdown files adr-tools (Nygard's
//! template) and MADR write, read into number, title, status, date and the
//! decision itself.

use jiff::civil::Date;

/// One decision record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adr {
    pub number: u32,
    pub title: String,
    /// accepted, proposed, deprecated, superseded, rejected, … (lower case).
    pub status: String,
    pub date: Option<Date>,
    /// The first paragraph of the Decision section, when there is one.
    pub decision: Option<String>,
}

/// Why a file is not a decision record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnAdr {
    #[error("it has no `# Title` heading")]
    NoTitle,
    #[error("neither its file name nor its title starts with a number")]
    NoNumber,
}

fn leading_number(s: &str) -> Option<u32> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn date_in(s: &str) -> Option<Date> {
    let s = s.trim().trim_matches(['"', '\'']);
    s.get(..10).and_then(|d| d.parse().ok())
}

/// Reads one record from its file name (`0007-use-postgres.md`) and text.
pub fn parse(file_name: &str, text: &str) -> Result<Adr, NotAnAdr> {
    let mut body = text.trim_start_matches('\u{feff}');
    let mut status = None;
    let mut date = None;
    // MADR's YAML front matter.
    if let Some(rest) = body.strip_prefix("---\n").or(body.strip_prefix("---\r\n"))
        && let Some(end) = rest.find("\n---")
    {
        for line in rest[..end].lines() {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim() {
                    "status" => status = Some(v.trim().trim_matches(['"', '\'']).to_lowercase()),
                    "date" => date = date_in(v),
                    _ => {}
                }
            }
        }
        body = rest[end + 4..].trim_start_matches(['-', '\r', '\n']);
    }
    let lines: Vec<&str> = body.lines().collect();
    let heading = lines
        .iter()
        .find_map(|l| l.strip_prefix("# "))
        .map(str::trim)
        .ok_or(NotAnAdr::NoTitle)?;
    let number = leading_number(file_name)
        .or_else(|| leading_number(heading))
        .ok_or(NotAnAdr::NoNumber)?;
    let title = heading
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start_matches(['.', ':', '-', ' '])
        .trim()
        .to_owned();
    let section = |name: &str| -> Option<Vec<&str>> {
        let start = lines.iter().position(|l| {
            l.strip_prefix("## ")
                .is_some_and(|h| h.trim().eq_ignore_ascii_case(name))
        })?;
        Some(
            lines[start + 1..]
                .iter()
                .take_while(|l| !l.starts_with("## "))
                .copied()
                .collect(),
        )
    };
    let first_paragraph = |ls: Vec<&str>| -> Option<String> {
        let p: Vec<&str> = ls
            .iter()
            .map(|l| l.trim())
            .skip_while(|l| l.is_empty())
            .take_while(|l| !l.is_empty())
            .collect();
        (!p.is_empty()).then(|| p.join(" "))
    };
    if status.is_none() {
        status = section("Status")
            .and_then(first_paragraph)
            .or_else(|| {
                lines.iter().find_map(|l| {
                    l.trim()
                        .strip_prefix("Status:")
                        .or_else(|| l.trim().strip_prefix("* Status:"))
                        .map(|s| s.trim().to_owned())
                })
            })
            .map(|s| {
                s.split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            });
    }
    if date.is_none() {
        date = lines.iter().find_map(|l| {
            let l = l.trim().trim_start_matches("* ");
            l.strip_prefix("Date:")
                .or_else(|| l.strip_prefix("date:"))
                .and_then(date_in)
        });
    }
    Ok(Adr {
        number,
        title,
        status: status
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "proposed".into()),
        date,
        decision: section("Decision")
            .or_else(|| section("Decision Outcome"))
            .and_then(first_paragraph),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn reads_adr_tools_records() {
        let text = "# 2. Keep state in PostgreSQL\n\nDate: 2026-10-02\n\n## Status\n\nAccepted\n\n\
                    Supersedes [1. Use SQLite](0001-use-sqlite.md)\n\n## Context\n\nWe grew.\n\n\
                    ## Decision\n\nWe will keep state in PostgreSQL\nwhen a URL is set.\n\nMore.\n\n\
                    ## Consequences\n\nTwo engines to test.\n";
        let a = parse("0002-keep-state-in-postgresql.md", text).expect("adr");
        assert_eq!(a.number, 2);
        assert_eq!(a.title, "Keep state in PostgreSQL");
        assert_eq!(a.status, "accepted");
        assert_eq!(a.date, Some(date(2026, 10, 2)));
        assert_eq!(
            a.decision.as_deref(),
            Some("We will keep state in PostgreSQL when a URL is set.")
        );
    }

    #[test]
    fn reads_madr_front_matter() {
        let text = "---\nstatus: superseded\ndate: 2026-09-15\ndeciders: ops\n---\n\
                    # Use DuckDB for telemetry\n\n## Decision Outcome\n\nChosen option: DuckDB.\n";
        let a = parse("0005-use-duckdb.md", text).expect("adr");
        assert_eq!((a.number, a.status.as_str()), (5, "superseded"));
        assert_eq!(a.title, "Use DuckDB for telemetry");
        assert_eq!(a.date, Some(date(2026, 9, 15)));
        assert_eq!(a.decision.as_deref(), Some("Chosen option: DuckDB."));
    }

    #[test]
    fn files_that_are_not_records_say_why() {
        assert_eq!(parse("README.md", "Just notes"), Err(NotAnAdr::NoTitle));
        assert_eq!(
            parse("template.md", "# Title\n\n## Status\n\nproposed\n"),
            Err(NotAnAdr::NoNumber)
        );
        let a = parse("x.md", "# 12. Numbered in the title\n").expect("adr");
        assert_eq!(
            (a.number, a.status.as_str(), a.date),
            (12, "proposed", None)
        );
    }
}
