//! A captured product event, as every ingest format turns into it.

/// One event ready to store. Property documents are carried as the text the
/// wire layer wrote (a JSON object); the core never looks inside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event's own id (PostHog `uuid`, Segment `messageId`), used to
    /// drop a resent copy.
    pub uuid: String,
    /// 1 to 200 characters.
    pub name: String,
    /// 1 to 200 characters.
    pub distinct_id: String,
    /// When it happened, milliseconds since the epoch, UTC.
    pub at_ms: i64,
    pub properties: String,
    /// Person properties to set (`$set`, Segment traits).
    pub set: Option<String>,
    /// Person properties to set only when not set yet (`$set_once`).
    pub set_once: Option<String>,
    /// Another distinct id that belongs to the same person (`$identify`'s
    /// anonymous id, an alias, Segment's `anonymousId` or `previousId`).
    pub merge_with: Option<String>,
}

/// The longest event name or distinct id kept.
pub const MAX_ID_CHARS: usize = 200;

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the event has no name")]
    NoName,
    #[error("the event has no distinct id")]
    NoDistinctId,
    #[error("the event's timestamp `{0}` is not an ISO 8601 time")]
    BadTimestamp(String),
    #[error("the event is {0} bytes, over the {1}-byte limit")]
    TooLarge(usize, usize),
    #[error("{0}")]
    Malformed(String),
}

/// Trims an id or name to [`MAX_ID_CHARS`] characters; empty becomes `None`.
pub fn clip(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    // Short ids, nearly all of them, need no counting of characters.
    if t.len() <= MAX_ID_CHARS {
        return Some(t.to_owned());
    }
    Some(t.chars().take(MAX_ID_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_clipped() {
        assert_eq!(clip("  "), None);
        assert_eq!(clip(" a "), Some("a".into()));
        assert_eq!(clip(&"x".repeat(300)).map(|s| s.len()), Some(200));
    }
}
