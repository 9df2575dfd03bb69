//! Documentation freshness: which API paths a docs page mentions, so that a
//! page whose paths changed after it was last edited can be flagged stale.

use regex::Regex;

/// A path template such as `/orders/{id}/export` as a pattern that also
/// matches concrete mentions (`/orders/42/export`) and mentions under a base
/// path (`/api/v1/orders/{id}/export`).
fn pattern(template: &str) -> Option<Regex> {
    let trimmed = template.trim_start_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    let mut re = String::new();
    for segment in trimmed.split('/') {
        re.push('/');
        if segment.starts_with('{') && segment.ends_with('}') {
            re.push_str(r"[^/\s`'\)\]>?#]+");
        } else {
            re.push_str(&regex::escape(segment));
        }
    }
    // The mention ends where the path does, not inside a longer one.
    re.push_str(r"(?:$|[\s`'\)\]>?#.,;:])");
    Regex::new(&re).ok()
}

/// The templates from `paths` that `text` mentions.
pub fn mentioned<'a>(text: &str, paths: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut found: Vec<&str> = paths
        .into_iter()
        .filter(|p| pattern(p).is_some_and(|re| re.is_match(text)))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_literal_concrete_and_prefixed_mentions() {
        let paths = ["/orders/{id}/export", "/orders", "/users/{id}"];
        assert_eq!(
            mentioned("Call `GET /orders/{id}/export` for a CSV.", paths),
            vec!["/orders/{id}/export"]
        );
        assert_eq!(
            mentioned("curl https://shop.example/api/v1/orders/42/export", paths),
            vec!["/orders/{id}/export"]
        );
        assert_eq!(
            mentioned("List them with GET /orders?status=paid.", paths),
            vec!["/orders"]
        );
        assert!(mentioned("Our orders page and /ordersummary", paths).is_empty());
        assert!(mentioned("/users/7/avatar is separate", ["/users/{id}"]).is_empty());
        assert!(mentioned("anything", ["/"]).is_empty());
    }
}
