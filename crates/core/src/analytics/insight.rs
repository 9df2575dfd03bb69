//! Saved insights: a question asked of the analytics (a trend, a funnel,
//! retention, stickiness, lifecycle, active users, the web overview or
//! revenue), kept under a name so that anyone in the project can open it
//! again by its link and see it answered for today.

use std::fmt;
use std::str::FromStr;

/// The longest name an insight may have, in characters.
pub const MAX_NAME: usize = 120;

/// What kind of question an insight asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsightKind {
    Trends,
    Funnel,
    Retention,
    Stickiness,
    Lifecycle,
    Active,
    Web,
    Revenue,
}

impl InsightKind {
    pub const ALL: [InsightKind; 8] = [
        InsightKind::Trends,
        InsightKind::Funnel,
        InsightKind::Retention,
        InsightKind::Stickiness,
        InsightKind::Lifecycle,
        InsightKind::Active,
        InsightKind::Web,
        InsightKind::Revenue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InsightKind::Trends => "trends",
            InsightKind::Funnel => "funnel",
            InsightKind::Retention => "retention",
            InsightKind::Stickiness => "stickiness",
            InsightKind::Lifecycle => "lifecycle",
            InsightKind::Active => "active",
            InsightKind::Web => "web",
            InsightKind::Revenue => "revenue",
        }
    }
}

impl fmt::Display for InsightKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An insight kind that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an insight kind: trends, funnel, retention, stickiness, lifecycle, active, web or revenue"
)]
pub struct UnknownKind(pub String);

impl FromStr for InsightKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        InsightKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| UnknownKind(s.trim().to_owned()))
    }
}

/// Checks an insight's name: trimmed, 1 to [`MAX_NAME`] printable
/// characters.
pub fn insight_name(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty() && name.chars().count() <= MAX_NAME && !name.chars().any(char::is_control))
        .then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_they_print() {
        for k in InsightKind::ALL {
            assert_eq!(k.as_str().parse::<InsightKind>(), Ok(k));
        }
        assert_eq!(
            "paths".parse::<InsightKind>(),
            Err(UnknownKind("paths".into()))
        );
        assert_eq!(
            insight_name("  Weekly revenue "),
            Some("Weekly revenue".into())
        );
        assert_eq!(insight_name(" "), None);
        assert_eq!(insight_name("a\nb"), None);
    }
}
