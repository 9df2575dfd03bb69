//! Recently read rollup buckets, kept encoded (a few hundred bytes a row)
//! so that the ranges dashboards ask for again and again skip SQL. The
//! cache holds whole buckets (every series in them), is bounded in bytes
//! and drops the least recently used buckets first. A bucket is forgotten
//! whenever its stored rows are rewritten.

use std::collections::HashMap;
use std::sync::Arc;

use super::rollups::{Grain, Packed, Piece};

/// The most the cache holds, roughly, in bytes.
pub(crate) const CACHE_BYTES: usize = 32 << 20;

type Key = (String, Grain, i64);

#[derive(Debug)]
struct Entry {
    rows: Arc<[Packed]>,
    bytes: usize,
    used: u64,
}

/// Stored rollup buckets by project, grain and bucket.
#[derive(Debug)]
pub(crate) struct Cache {
    entries: HashMap<Key, Entry>,
    bytes: usize,
    limit: usize,
    tick: u64,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::with_limit(CACHE_BYTES)
    }
}

impl Cache {
    pub(crate) fn with_limit(limit: usize) -> Cache {
        Cache {
            entries: HashMap::new(),
            bytes: 0,
            limit,
            tick: 0,
        }
    }

    pub(crate) fn has(&self, project: &str, grain: Grain, bucket: i64) -> bool {
        self.entries
            .contains_key(&(project.to_owned(), grain, bucket))
    }

    /// A bucket's rows (none when it is not cached or holds nothing).
    pub(crate) fn get(&mut self, project: &str, grain: Grain, bucket: i64) -> Arc<[Packed]> {
        self.tick += 1;
        match self.entries.get_mut(&(project.to_owned(), grain, bucket)) {
            Some(e) => {
                e.used = self.tick;
                e.rows.clone()
            }
            None => Arc::from(Vec::new()),
        }
    }

    /// Keeps the rows read for `pieces`: every bucket in them, including
    /// those that held nothing.
    pub(crate) fn fill(&mut self, project: &str, pieces: &[Piece], rows: Vec<Packed>) {
        let mut by: HashMap<(Grain, i64), Vec<Packed>> = HashMap::new();
        for r in rows {
            by.entry((r.grain, r.bucket)).or_default().push(r);
        }
        self.tick += 1;
        for p in pieces {
            for b in p.from..p.to {
                let rows = by.remove(&(p.grain, b)).unwrap_or_default();
                let bytes = 64 + rows.iter().map(Packed::bytes).sum::<usize>();
                let old = self.entries.insert(
                    (project.to_owned(), p.grain, b),
                    Entry {
                        rows: Arc::from(rows),
                        bytes,
                        used: self.tick,
                    },
                );
                self.bytes += bytes;
                if let Some(old) = old {
                    self.bytes -= old.bytes;
                }
            }
        }
        self.trim();
    }

    /// Forgets one bucket, about to be rewritten.
    pub(crate) fn forget(&mut self, project: &str, grain: Grain, bucket: i64) {
        if let Some(e) = self.entries.remove(&(project.to_owned(), grain, bucket)) {
            self.bytes -= e.bytes;
        }
    }

    /// Forgets everything (after rows are dropped).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Drops the least recently used buckets until three quarters of the
    /// limit are left.
    fn trim(&mut self) {
        if self.bytes <= self.limit {
            return;
        }
        let mut ages: Vec<(u64, Key)> = self
            .entries
            .iter()
            .map(|(k, e)| (e.used, k.clone()))
            .collect();
        ages.sort_by_key(|(used, _)| *used);
        for (_, k) in ages {
            if self.bytes <= self.limit / 4 * 3 {
                break;
            }
            self.forget(&k.0, k.1, k.2);
        }
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buckets that held nothing are kept too; the least recently used go
    /// first once the limit is passed.
    #[test]
    fn the_cache_keeps_empty_buckets_and_stays_within_its_limit() {
        let mut c = Cache::with_limit(64 * 10);
        let run = |from, to| Piece {
            grain: Grain::Hour,
            from,
            to,
        };
        c.fill("p", &[run(0, 4)], Vec::new());
        assert!(c.has("p", Grain::Hour, 3) && !c.has("p", Grain::Minute, 3));
        assert!(!c.has("q", Grain::Hour, 3));
        assert_eq!(c.bytes(), 4 * 64);
        // Bucket 0 is used again, so 1 and 2 are the oldest.
        let _ = c.get("p", Grain::Hour, 0);
        c.fill("p", &[run(10, 17)], Vec::new());
        assert!(c.bytes() <= 64 * 10);
        assert!(c.has("p", Grain::Hour, 16));
        assert!(!c.has("p", Grain::Hour, 1));
        c.forget("p", Grain::Hour, 16);
        assert!(!c.has("p", Grain::Hour, 16));
        c.clear();
        assert_eq!(c.bytes(), 0);
    }
}
