//! Detectors that turn spans into findings, after Sentry's performance
//! issues: N+1 queries, slow queries, large payloads, and reads repeated
//! within one request (cache candidates).

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    NPlusOne,
    SlowQuery,
    LargePayload,
    CacheCandidate,
    Regression,
}

impl FindingKind {
    pub const ALL: [FindingKind; 5] = [
        FindingKind::NPlusOne,
        FindingKind::SlowQuery,
        FindingKind::LargePayload,
        FindingKind::CacheCandidate,
        FindingKind::Regression,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::NPlusOne => "n_plus_one",
            FindingKind::SlowQuery => "slow_query",
            FindingKind::LargePayload => "large_payload",
            FindingKind::CacheCandidate => "cache_candidate",
            FindingKind::Regression => "regression",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            FindingKind::NPlusOne => "N+1 queries",
            FindingKind::SlowQuery => "Slow query",
            FindingKind::LargePayload => "Large payload",
            FindingKind::CacheCandidate => "Repeated identical read",
            FindingKind::Regression => "Release regression",
        }
    }

    pub fn parse(s: &str) -> Option<FindingKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Sentry's thresholds.
pub const N_PLUS_ONE_MIN_REPEATS: usize = 5;
pub const N_PLUS_ONE_MIN_TOTAL_NS: i64 = 50_000_000;
pub const SLOW_QUERY_NS: i64 = 500_000_000;
pub const LARGE_PAYLOAD_BYTES: u64 = 300_000;
/// The same read this many times in one request makes a cache candidate.
pub const REPEATED_READS: usize = 3;

/// A database call, as the detectors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    pub span_id: &'a str,
    pub start_ns: i64,
    pub duration_ns: i64,
    pub fingerprint: u64,
    /// The statement as sent (literals and all); empty when unknown.
    pub statement: &'a str,
    pub operation: Option<&'a str>,
}

impl Call<'_> {
    /// Agents cut long statements and mark the cut with an ellipsis; a cut
    /// statement cannot be compared.
    pub fn truncated(&self) -> bool {
        let s = self.statement.trim_end();
        s.ends_with("...") || s.ends_with('…')
    }

    fn is_read(&self) -> bool {
        self.operation
            .is_some_and(|o| o.eq_ignore_ascii_case("SELECT"))
    }
}

/// An N+1 pattern under one parent: `source` is the call before the
/// repeats; `repeats` are the indexes of the repeated calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NPlusOne {
    pub source: usize,
    pub repeats: std::ops::Range<usize>,
    pub fingerprint: u64,
    pub total_ns: i64,
}

/// The N+1 patterns among one parent's database calls, ordered by start:
/// a call followed by at least five calls of one other query, which took
/// 50 ms or more together.
pub fn n_plus_one(calls: &[Call<'_>]) -> Vec<NPlusOne> {
    let mut out = Vec::new();
    let mut i = 1;
    while i < calls.len() {
        let fp = calls[i].fingerprint;
        let mut end = i;
        while end < calls.len() && calls[end].fingerprint == fp && !calls[end].truncated() {
            end += 1;
        }
        let source = &calls[i - 1];
        if end - i >= N_PLUS_ONE_MIN_REPEATS && source.fingerprint != fp && !source.truncated() {
            let total_ns: i64 = calls[i..end].iter().map(|c| c.duration_ns).sum();
            if total_ns >= N_PLUS_ONE_MIN_TOTAL_NS {
                out.push(NPlusOne {
                    source: i - 1,
                    repeats: i..end,
                    fingerprint: fp,
                    total_ns,
                });
            }
        }
        i = end.max(i + 1);
    }
    out
}

/// A read that took 500 ms or more.
pub fn slow_query(call: &Call<'_>) -> bool {
    call.is_read() && call.duration_ns >= SLOW_QUERY_NS
}

/// A request or response body of 300 KB or more.
pub fn large_payload(request_bytes: Option<u64>, response_bytes: Option<u64>) -> bool {
    request_bytes.unwrap_or(0).max(response_bytes.unwrap_or(0)) >= LARGE_PAYLOAD_BYTES
}

/// Whether a statement takes bound parameters (`?`, `$1`, `%s`,
/// `%(name)s`, `:name`) outside its quoted strings: then the same text may
/// read different rows, so it says nothing about repeated reads.
pub fn has_bind_parameters(statement: &str) -> bool {
    let b = statement.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        let next = b.get(i + 1).copied().unwrap_or(0);
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'?' => return true,
                b'$' if next.is_ascii_digit() => return true,
                b'%' if next == b's' || next == b'(' => return true,
                b':' if next.is_ascii_alphabetic() && b.get(i.wrapping_sub(1)) != Some(&b':') => {
                    return true;
                }
                _ => {}
            },
        }
    }
    false
}

/// Reads of one trace sent with the very same text, literals and all, three
/// times or more: the answer could have been kept. Statements with bound
/// parameters are left out (their values are not known). Gives each
/// statement's fingerprint and how often it ran, most first.
pub fn repeated_reads(calls: &[Call<'_>]) -> Vec<(u64, usize)> {
    let mut seen: std::collections::HashMap<&str, (u64, usize)> = std::collections::HashMap::new();
    for c in calls.iter().filter(|c| {
        c.is_read()
            && !c.statement.is_empty()
            && !c.truncated()
            && !has_bind_parameters(c.statement)
    }) {
        seen.entry(c.statement).or_insert((c.fingerprint, 0)).1 += 1;
    }
    let mut out: Vec<(u64, usize)> = seen
        .into_values()
        .filter(|(_, n)| *n >= REPEATED_READS)
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(fp: u64, ms: i64, stmt: &'static str) -> Call<'static> {
        Call {
            span_id: "s",
            start_ns: 0,
            duration_ns: ms * 1_000_000,
            fingerprint: fp,
            statement: stmt,
            operation: Some("SELECT"),
        }
    }

    #[test]
    fn n_plus_one_needs_a_source_five_repeats_and_fifty_ms() {
        let mut calls = vec![call(1, 5, "SELECT * FROM orders")];
        calls.extend((0..6).map(|_| call(2, 10, "SELECT * FROM items WHERE order_id = ?")));
        let found = n_plus_one(&calls);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].source, 0);
        assert_eq!(found[0].repeats, 1..7);
        assert_eq!(found[0].total_ns, 60_000_000);
        // Four repeats are not enough; nor are fast ones; nor without a source.
        assert!(n_plus_one(&calls[..5]).is_empty());
        let fast: Vec<Call> = calls
            .iter()
            .map(|c| Call {
                duration_ns: 1_000_000,
                ..c.clone()
            })
            .collect();
        assert!(n_plus_one(&fast).is_empty());
        assert!(n_plus_one(&calls[1..]).is_empty());
        // Truncated statements are not compared.
        let mut cut = calls.clone();
        cut[3].statement = "SELECT * FROM items WHERE order_id = ...";
        assert!(n_plus_one(&cut).is_empty());
    }

    #[test]
    fn slow_reads_large_payloads_and_repeats() {
        assert!(slow_query(&call(1, 500, "SELECT pg_sleep(1)")));
        assert!(!slow_query(&call(1, 499, "SELECT 1")));
        let mut write = call(1, 900, "UPDATE t SET a = 1");
        write.operation = Some("UPDATE");
        assert!(!slow_query(&write));
        assert!(large_payload(None, Some(300_000)));
        assert!(large_payload(Some(400_000), None));
        assert!(!large_payload(Some(299_999), Some(10)));
        let calls = vec![
            call(7, 1, "SELECT * FROM settings WHERE id = 1"),
            call(8, 1, "SELECT * FROM users WHERE id = 2"),
            call(7, 1, "SELECT * FROM settings WHERE id = 1"),
            call(7, 1, "SELECT * FROM settings WHERE id = 1"),
            call(7, 1, "SELECT * FROM settings WHERE id = 3"),
        ];
        assert_eq!(repeated_reads(&calls), vec![(7, 3)]);
        let bound = vec![call(9, 1, "SELECT * FROM items WHERE order_id = ?"); 4];
        assert!(repeated_reads(&bound).is_empty());
        for s in ["a = ?", "a = $1", "a = %s", "a = %(x)s", "a = :id"] {
            assert!(has_bind_parameters(s), "{s}");
        }
        for s in ["a = 'what?'", "a::text = 1", "a = 1", "x = \"$1\""] {
            assert!(!has_bind_parameters(s), "{s}");
        }
    }
}
