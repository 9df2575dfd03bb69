//! SQL fingerprints: a statement with its literals replaced by `?` and its
//! `IN (…)` lists collapsed, so that the same query with other values groups
//! together. Statements sqlparser can read are rewritten from their syntax
//! tree; anything else is scrubbed token by token, as pt-fingerprint does.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, InTarget, Value, visit_expressions_mut};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// A normalised statement and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub text: String,
    /// A stable 64-bit hash of `text` (FNV-1a), the same on every machine.
    pub hash: u64,
}

/// Statements longer than this are scrubbed rather than parsed.
const PARSE_LIMIT: usize = 20_000;

pub fn fingerprint(statement: &str) -> Fingerprint {
    let text = parsed(statement).unwrap_or_else(|| scrub(statement));
    let hash = fnv1a(text.as_bytes());
    Fingerprint { text, hash }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn parsed(statement: &str) -> Option<String> {
    if statement.len() > PARSE_LIMIT {
        return None;
    }
    let mut statements = Parser::parse_sql(&GenericDialect {}, statement).ok()?;
    if statements.is_empty() {
        return None;
    }
    let _ = visit_expressions_mut(&mut statements, |e| {
        match e {
            Expr::Value(v) => v.value = Value::Placeholder("?".into()),
            Expr::In {
                target: InTarget::List(list),
                ..
            } => {
                *list = vec![Expr::Identifier(Ident::new("..."))];
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    Some(
        statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The fallback: comments dropped, quoted strings, numbers and placeholders
/// (`?`, `$1`, `%s`, `:name`) replaced by `?`, keywords upper-cased, spaces
/// collapsed and `IN (?, ?, …)` lists collapsed.
pub fn scrub(statement: &str) -> String {
    let chars: Vec<char> = statement.chars().collect();
    let mut out = String::with_capacity(statement.len());
    let mut i = 0;
    let push_space = |out: &mut String| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') || c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            push_space(&mut out);
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            push_space(&mut out);
        } else if c == '\'' || c == '"' && !is_identifier_quote(&chars, i) {
            i += 1;
            while i < chars.len() {
                if chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push('?');
        } else if c.is_whitespace() {
            push_space(&mut out);
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '-' || c == '.')
                && next.is_some_and(|n| n.is_ascii_digit())
                && !prev_is_word(&out)
        {
            if c == '-' || c == '.' {
                i += 1;
            }
            // Digits inside names, like `t1`, never get here: words take them.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push('?');
        } else if (c == '$' || c == ':')
            && next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '_')
            && !(c == ':' && out.ends_with(':'))
        {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push('?');
        } else if c == '%' && next == Some('s') {
            i += 2;
            out.push('?');
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if KEYWORDS.contains(&word.to_ascii_uppercase().as_str()) {
                out.push_str(&word.to_ascii_uppercase());
            } else {
                out.push_str(&word);
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    collapse_in_lists(out.trim())
}

fn prev_is_word(out: &str) -> bool {
    out.chars()
        .last()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// A double quote opens an identifier in standard SQL when it follows a
/// word boundary that names something: treat `"x"` after `FROM`, `.`, `,`
/// or `(` as an identifier; elsewhere (MySQL) it is a string.
fn is_identifier_quote(chars: &[char], at: usize) -> bool {
    let before: String = chars[..at]
        .iter()
        .rev()
        .skip_while(|c| c.is_whitespace())
        .take(6)
        .collect();
    let before: String = before
        .chars()
        .rev()
        .collect::<String>()
        .to_ascii_uppercase();
    before.ends_with('.')
        || before.ends_with("FROM")
        || before.ends_with("JOIN")
        || before.ends_with("UPDATE")
        || before.ends_with("INTO")
        || before.ends_with("SELECT")
        || before.ends_with(',')
}

fn collapse_in_lists(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = find_in_list(rest) {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        // tail starts with "IN (" or "IN(".
        let open = tail.find('(').unwrap_or(0);
        let close = tail[open..].find(')').map_or(tail.len(), |c| open + c);
        let inner = &tail[open + 1..close];
        if inner.split(',').all(|p| p.trim() == "?") {
            out.push_str("IN (...)");
            rest = tail.get(close + 1..).unwrap_or("");
        } else {
            out.push_str(&tail[..open + 1]);
            rest = &tail[open + 1..];
        }
    }
    out.push_str(rest);
    out
}

fn find_in_list(s: &str) -> Option<usize> {
    let upper = s.to_ascii_uppercase();
    let mut from = 0;
    while let Some(at) = upper[from..].find("IN") {
        let at = from + at;
        let before_ok = at == 0 || !upper.as_bytes()[at - 1].is_ascii_alphanumeric();
        let after = upper[at + 2..].trim_start();
        if before_ok && after.starts_with('(') {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "ON",
    "AS",
    "ORDER",
    "BY",
    "GROUP",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "UNION",
    "ALL",
    "DISTINCT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "RETURNING",
    "BETWEEN",
    "EXISTS",
    "ASC",
    "DESC",
    "WITH",
];

/// The statement's operation: `db.operation.name` when given, else the
/// first keyword of the statement, upper-cased.
pub fn operation(given: Option<&str>, statement: Option<&str>) -> Option<String> {
    if let Some(op) = given.map(str::trim).filter(|o| !o.is_empty()) {
        return Some(op.to_ascii_uppercase());
    }
    let first = statement?
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()?;
    (!first.is_empty()).then(|| first.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders() {
        let a = fingerprint("SELECT * FROM users WHERE id = 42 AND name = 'ann'");
        let b = fingerprint("select *   from users where id = 7 and name = 'bob'");
        assert_eq!(a, b);
        assert_eq!(a.text, "SELECT * FROM users WHERE id = ? AND name = ?");
    }

    #[test]
    fn in_lists_collapse_whatever_their_length() {
        let a = fingerprint("SELECT id FROM t WHERE id IN (1, 2, 3)");
        let b = fingerprint("SELECT id FROM t WHERE id IN (9)");
        assert_eq!(a, b);
        assert!(a.text.contains("IN (...)"), "{}", a.text);
    }

    #[test]
    fn placeholders_of_every_driver_read_the_same() {
        let pg = fingerprint("SELECT * FROM items WHERE order_id = $1");
        let qm = fingerprint("SELECT * FROM items WHERE order_id = ?");
        assert_eq!(pg, qm);
        assert_eq!(
            scrub("SELECT * FROM items WHERE order_id = %s"),
            "SELECT * FROM items WHERE order_id = ?"
        );
        assert_eq!(
            scrub("SELECT * FROM items WHERE order_id = :oid"),
            "SELECT * FROM items WHERE order_id = ?"
        );
    }

    #[test]
    fn unparseable_statements_are_scrubbed() {
        let s = "SELEC broken 'x''y' -- note\n FROM t1 WHERE a IN (1,2, 3) AND b = -4.5 /* c */";
        let f = fingerprint(s);
        assert_eq!(f.text, "SELEC broken ? FROM t1 WHERE a IN (...) AND b = ?");
        assert_eq!(fingerprint(s).hash, f.hash);
        assert_ne!(
            fingerprint("SELECT 1 FROM a").hash,
            fingerprint("SELECT 1 FROM b").hash
        );
    }

    #[test]
    fn operations_come_from_the_attribute_or_the_text() {
        assert_eq!(operation(Some("select"), None).as_deref(), Some("SELECT"));
        assert_eq!(
            operation(None, Some("  (SELECT 1)")).as_deref(),
            Some("SELECT")
        );
        assert_eq!(
            operation(None, Some("update t set a = 1")).as_deref(),
            Some("UPDATE")
        );
        assert_eq!(operation(None, None), None);
    }
}
