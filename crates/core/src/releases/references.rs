//! What a commit message says about other work: the incidents and tickets
//! it fixes ("fixes incident #12", "closes ticket 34"), and the commit a
//! revert undoes (Git's "This reverts commit <sha>.").

use std::sync::LazyLock;

use regex::Regex;

/// Something a commit says it fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fixes {
    Incident(i64),
    Ticket(i64),
}

static FIXES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:fix(?:e[sd])?|close[sd]?|resolve[sd]?)\s*:?\s+(incident|ticket)\s*#?\s*(\d{1,12})\b",
    )
    .ok()
});

static REVERTS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\bthis reverts commit ([0-9a-f]{7,64})\b").ok());

/// The incidents and tickets a message says it fixes, each once, in the
/// order they are named.
pub fn fixes(message: &str) -> Vec<Fixes> {
    let Some(re) = FIXES.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in re.captures_iter(message) {
        let Some(n) = c.get(2).and_then(|m| m.as_str().parse::<i64>().ok()) else {
            continue;
        };
        let f = if c[1].eq_ignore_ascii_case("incident") {
            Fixes::Incident(n)
        } else {
            Fixes::Ticket(n)
        };
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The commit a revert undoes, lower-cased, when the message is Git's
/// revert message (or carries its "This reverts commit" line).
pub fn reverts(message: &str) -> Option<String> {
    REVERTS
        .as_ref()?
        .captures(message)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_are_read_in_their_usual_spellings() {
        assert_eq!(
            fixes("Retry the payment call\n\nFixes incident #12, closes ticket 34."),
            vec![Fixes::Incident(12), Fixes::Ticket(34)]
        );
        assert_eq!(fixes("fix: incident #7"), vec![Fixes::Incident(7)]);
        assert_eq!(
            fixes("Resolved Incident 3; resolves incident #3"),
            vec![Fixes::Incident(3)]
        );
        assert_eq!(fixes("FIXED TICKET#9"), vec![Fixes::Ticket(9)]);
    }

    #[test]
    fn mentions_without_a_fixing_verb_are_not_fixes() {
        assert!(fixes("see incident #12").is_empty());
        assert!(fixes("fixes #12").is_empty());
        assert!(fixes("prefixes incident 4").is_empty());
        assert!(fixes("fixes incident").is_empty());
        assert!(fixes("fixes incidents 12").is_empty());
    }

    #[test]
    fn a_revert_names_the_commit_it_undoes() {
        let msg = "Revert \"Cache the cart\"\n\nThis reverts commit 4F9A1C2D3E4B5A6978877665544332211AABBCCD.\n";
        assert_eq!(
            reverts(msg).as_deref(),
            Some("4f9a1c2d3e4b5a6978877665544332211aabbccd")
        );
        assert_eq!(reverts("Revert the cache"), None);
        assert_eq!(reverts("this reverts commit xyz"), None);
    }
}
