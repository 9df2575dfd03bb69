//! Customer feedback: what people tell the team (bugs, requests, questions,
//! praise), the spam signals that keep bots out, and the product backlog it
//! feeds.

pub mod backlog;
pub mod similar;

/// What a piece of feedback is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeedbackKind {
    Bug,
    Enhancement,
    Question,
    Praise,
}

impl FeedbackKind {
    pub const ALL: [FeedbackKind; 4] = [
        FeedbackKind::Bug,
        FeedbackKind::Enhancement,
        FeedbackKind::Question,
        FeedbackKind::Praise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackKind::Bug => "bug",
            FeedbackKind::Enhancement => "enhancement",
            FeedbackKind::Question => "question",
            FeedbackKind::Praise => "praise",
        }
    }

    /// Reads a kind, accepting the words people and exports use for them.
    pub fn parse(s: &str) -> Option<FeedbackKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bug" | "defect" | "problem" | "issue" => Some(FeedbackKind::Bug),
            "enhancement" | "feature" | "feature_request" | "feature request" | "idea"
            | "request" | "suggestion" => Some(FeedbackKind::Enhancement),
            "question" | "help" | "how-to" => Some(FeedbackKind::Question),
            "praise" | "compliment" | "kudos" | "thanks" => Some(FeedbackKind::Praise),
            _ => None,
        }
    }

    /// The backlog item a piece of feedback of this kind becomes.
    pub fn item_kind(self) -> backlog::ItemKind {
        match self {
            FeedbackKind::Bug => backlog::ItemKind::Bug,
            _ => backlog::ItemKind::Enhancement,
        }
    }
}

/// Where a piece of feedback sits: new until someone triages it, linked once
/// it feeds a backlog item, closed when answered, spam when a bot sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedbackState {
    New,
    Linked,
    Closed,
    Spam,
}

impl FeedbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackState::New => "new",
            FeedbackState::Linked => "linked",
            FeedbackState::Closed => "closed",
            FeedbackState::Spam => "spam",
        }
    }

    pub fn parse(s: &str) -> Option<FeedbackState> {
        match s {
            "new" => Some(FeedbackState::New),
            "linked" => Some(FeedbackState::Linked),
            "closed" => Some(FeedbackState::Closed),
            "spam" => Some(FeedbackState::Spam),
            _ => None,
        }
    }
}

/// Why a public submission looks like spam, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpamSignal {
    /// The hidden field only bots fill in had a value.
    Honeypot,
    /// Sent back faster than a person could read and type.
    TooFast,
    /// More links than feedback usually carries.
    Links,
    /// One character or word repeated over and over.
    Repetition,
}

impl SpamSignal {
    pub fn as_str(self) -> &'static str {
        match self {
            SpamSignal::Honeypot => "honeypot",
            SpamSignal::TooFast => "too_fast",
            SpamSignal::Links => "links",
            SpamSignal::Repetition => "repetition",
        }
    }
}

/// The fewest milliseconds a person takes from opening the form to sending it.
pub const MIN_FILL_MS: i64 = 1500;
/// The most links a genuine message carries.
pub const MAX_LINKS: usize = 3;

/// Checks a public submission for the signs of a bot. `honeypot` is the
/// hidden field's value; `fill_ms` how long the form was open, when known.
pub fn spam_signal(text: &str, honeypot: &str, fill_ms: Option<i64>) -> Option<SpamSignal> {
    if !honeypot.trim().is_empty() {
        return Some(SpamSignal::Honeypot);
    }
    if fill_ms.is_some_and(|ms| (0..MIN_FILL_MS).contains(&ms)) {
        return Some(SpamSignal::TooFast);
    }
    let lower = text.to_ascii_lowercase();
    let links = lower.matches("http://").count()
        + lower.matches("https://").count()
        + lower.matches("[url=").count();
    if links > MAX_LINKS {
        return Some(SpamSignal::Links);
    }
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() >= 20 {
        let mut counts = std::collections::HashMap::new();
        for c in &chars {
            *counts.entry(c).or_insert(0usize) += 1;
        }
        let top = counts.values().copied().max().unwrap_or(0);
        if top * 10 >= chars.len() * 6 {
            return Some(SpamSignal::Repetition);
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() >= 8 {
        let distinct: std::collections::HashSet<String> =
            words.iter().map(|w| w.to_lowercase()).collect();
        if distinct.len() * 5 <= words.len() {
            return Some(SpamSignal::Repetition);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_the_words_exports_use() {
        assert_eq!(
            FeedbackKind::parse("Feature Request"),
            Some(FeedbackKind::Enhancement)
        );
        assert_eq!(FeedbackKind::parse("BUG"), Some(FeedbackKind::Bug));
        assert_eq!(FeedbackKind::parse("kudos"), Some(FeedbackKind::Praise));
        assert_eq!(FeedbackKind::parse("rant"), None);
        for k in FeedbackKind::ALL {
            assert_eq!(FeedbackKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn people_pass_and_bots_do_not() {
        let msg =
            "Exporting a report to CSV loses the currency column, see https://shop.example/r/1";
        assert_eq!(spam_signal(msg, "", Some(30_000)), None);
        assert_eq!(spam_signal(msg, "", None), None);
        assert_eq!(
            spam_signal(msg, "http://casino", Some(30_000)),
            Some(SpamSignal::Honeypot)
        );
        assert_eq!(spam_signal(msg, "", Some(300)), Some(SpamSignal::TooFast));
        let links = "buy http://a http://b https://c https://d now";
        assert_eq!(spam_signal(links, "", None), Some(SpamSignal::Links));
        assert_eq!(
            spam_signal("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "", None),
            Some(SpamSignal::Repetition)
        );
        assert_eq!(
            spam_signal(
                "cheap cheap cheap cheap cheap cheap cheap cheap cheap cheap",
                "",
                None
            ),
            Some(SpamSignal::Repetition)
        );
    }
}
