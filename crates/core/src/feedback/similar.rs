//! Full-text similarity for duplicate suggestions: Okapi BM25 over a small
//! in-memory index of a project's backlog items.

use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// The share of its best possible score a match needs to be suggested as a
/// duplicate.
pub const SUGGEST_AT: f64 = 0.3;

const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "get", "got", "had",
    "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just",
    "me", "my", "no", "not", "of", "on", "or", "our", "please", "she", "so", "some", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "too", "us",
    "very", "was", "we", "were", "what", "when", "which", "while", "who", "why", "will", "with",
    "would", "you", "your",
];

/// Lower-cased word stems, without stop words.
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 1 && !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// A light suffix stripper, enough for "exports", "exported" and
/// "exporting" to meet.
fn stem(w: &str) -> String {
    for suffix in ["ing", "ed", "es", "s", "ly"] {
        if let Some(base) = w.strip_suffix(suffix)
            && base.chars().count() >= 3
            && !(suffix == "s" && base.ends_with('s'))
        {
            return base.to_owned();
        }
    }
    w.to_owned()
}

#[derive(Debug)]
struct Doc<K> {
    key: K,
    tf: HashMap<String, u32>,
    len: f64,
}

/// An index of documents keyed by `K`.
#[derive(Debug)]
pub struct Corpus<K> {
    docs: Vec<Doc<K>>,
    df: HashMap<String, u32>,
    avg_len: f64,
}

/// A document that resembles the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Match<K> {
    pub key: K,
    /// The BM25 score.
    pub score: f64,
    /// The score over the query's score against itself, 0 to 1.
    pub similarity: f64,
}

fn counts(terms: Vec<String>) -> (HashMap<String, u32>, f64) {
    let len = terms.len() as f64;
    let mut tf = HashMap::new();
    for t in terms {
        *tf.entry(t).or_insert(0) += 1;
    }
    (tf, len)
}

impl<K: Clone> Corpus<K> {
    pub fn new(docs: impl IntoIterator<Item = (K, String)>) -> Corpus<K> {
        let mut df: HashMap<String, u32> = HashMap::new();
        let docs: Vec<Doc<K>> = docs
            .into_iter()
            .map(|(key, text)| {
                let (tf, len) = counts(terms(&text));
                for t in tf.keys() {
                    *df.entry(t.clone()).or_insert(0) += 1;
                }
                Doc { key, tf, len }
            })
            .collect();
        let avg_len = if docs.is_empty() {
            1.0
        } else {
            (docs.iter().map(|d| d.len).sum::<f64>() / docs.len() as f64).max(1.0)
        };
        Corpus { docs, df, avg_len }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Lucene's BM25 idf. A query word no document has weighs as much as
    /// one that a single document has: feedback is full of words the
    /// backlog never uses ("want", "please", "once"), and letting them
    /// outweigh the shared ones would hide every duplicate.
    fn idf(&self, term: &str) -> f64 {
        let n = self.docs.len() as f64;
        let df = f64::from(self.df.get(term).copied().unwrap_or(0).max(1));
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    fn score(&self, query: &HashMap<String, u32>, tf: &HashMap<String, u32>, len: f64) -> f64 {
        query
            .keys()
            .map(|t| {
                let f = f64::from(tf.get(t).copied().unwrap_or(0));
                if f == 0.0 {
                    return 0.0;
                }
                self.idf(t) * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len / self.avg_len))
            })
            .sum()
    }

    /// The documents that share words with `query`, best first, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Match<K>> {
        let (q, q_len) = counts(terms(query));
        if q.is_empty() {
            return Vec::new();
        }
        let best = self.score(&q, &q, q_len);
        let mut found: Vec<Match<K>> = self
            .docs
            .iter()
            .filter_map(|d| {
                let score = self.score(&q, &d.tf, d.len);
                (score > 0.0).then(|| Match {
                    key: d.key.clone(),
                    score,
                    similarity: if best > 0.0 {
                        (score / best).min(1.0)
                    } else {
                        0.0
                    },
                })
            })
            .collect();
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        found.truncate(limit);
        found
    }

    /// The likely duplicates of `query`: matches at or above [`SUGGEST_AT`].
    pub fn duplicates(&self, query: &str, limit: usize) -> Vec<Match<K>> {
        let mut m = self.search(query, limit);
        m.retain(|m| m.similarity >= SUGGEST_AT);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlog() -> Corpus<i64> {
        Corpus::new([
            (
                1,
                "Export orders to CSV with the currency column".to_owned(),
            ),
            (2, "Dark mode for the dashboard".to_owned()),
            (3, "Password reset email never arrives".to_owned()),
            (4, "Filter orders by date range".to_owned()),
            (5, "Two-factor login with an authenticator app".to_owned()),
        ])
    }

    #[test]
    fn stems_and_stopwords_let_wordings_meet() {
        assert_eq!(terms("Exporting the orders"), vec!["export", "order"]);
        assert_eq!(terms("exported"), vec!["export"]);
        assert_eq!(terms("a b"), Vec::<String>::new());
        assert_eq!(stem("class"), "class");
    }

    #[test]
    fn the_same_request_in_other_words_is_a_duplicate() {
        let c = backlog();
        let d = c.duplicates("Please let me export my orders as a CSV file", 3);
        assert_eq!(d.first().map(|m| m.key), Some(1), "{d:?}");
        let d = c.duplicates("The reset password e-mail does not arrive", 3);
        assert_eq!(d.first().map(|m| m.key), Some(3), "{d:?}");
        // In a backlog of one, words it lacks do not drown the shared ones.
        let one = Corpus::new([(1, "Bulk refunds for orders".to_owned())]);
        let d = one.duplicates("I want to refund many orders at once", 3);
        assert_eq!(d.first().map(|m| m.key), Some(1), "{d:?}");
    }

    #[test]
    fn unrelated_feedback_has_no_duplicate() {
        let c = backlog();
        assert!(c.duplicates("Love the new onboarding tour!", 3).is_empty());
        assert!(c.duplicates("", 3).is_empty());
        // Sharing one common word is not enough.
        let d = c.duplicates("Sort the product catalogue by price and orders", 3);
        assert!(d.is_empty(), "{d:?}");
        assert!(Corpus::<i64>::new([]).duplicates("anything", 3).is_empty());
    }

    #[test]
    fn rarer_words_weigh_more() {
        let c = backlog();
        let m = c.search("orders currency", 5);
        assert_eq!(m.first().map(|m| m.key), Some(1));
        assert!(m.iter().any(|m| m.key == 4));
    }
}
