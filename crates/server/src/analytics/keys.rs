//! Ingest keys seen recently, and each project's token bucket: kept in
//! memory so that intake does not ask the state store for every batch.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use liveops_store::projects::KeyPurpose;

/// How long a resolved ingest key is trusted before it is looked up again.
const KEY_TTL: Duration = Duration::from_secs(10);

/// Project keys seen recently (by purpose and hash), and each project's
/// token bucket.
#[derive(Debug, Default)]
pub struct IngestKeys {
    known: Mutex<HashMap<(KeyPurpose, String), (String, Instant)>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl IngestKeys {
    /// The project a key of `purpose` with this hash was found to belong
    /// to, if that was less than ten seconds ago.
    pub fn recall(&self, purpose: KeyPurpose, hash: &str, now: Instant) -> Option<String> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(&(purpose, hash.to_owned()))
            .filter(|(_, at)| now.duration_since(*at) < KEY_TTL)
            .map(|(project, _)| project.clone())
    }

    /// Remembers the project a key belongs to.
    pub fn remember(&self, purpose: KeyPurpose, hash: String, project: &str, now: Instant) {
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((purpose, hash), (project.to_owned(), now));
    }

    /// Forgets every cached key, so that a rotated key stops working at once.
    pub fn forget_all(&self) {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Takes `n` events from the key's bucket, which refills at `rate` per
    /// second up to twice that; `Err(seconds)` when it has too few.
    pub fn take(&self, project_id: &str, n: u64, rate: u64, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let cap = (rate as f64) * 2.0;
        let b = buckets.entry(project_id.to_owned()).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate as f64).min(cap);
        b.at = now;
        let want = n as f64;
        if want > cap {
            return Err(1);
        }
        if b.tokens >= want {
            b.tokens -= want;
            Ok(())
        } else {
            let wait = ((want - b.tokens) / rate as f64).ceil() as u64;
            Err(wait.max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_at_the_rate() {
        let keys = IngestKeys::default();
        let t0 = Instant::now();
        assert_eq!(keys.take("p", 150, 100, t0), Ok(()));
        assert_eq!(keys.take("p", 100, 100, t0), Err(1));
        assert_eq!(keys.take("p", 50, 100, t0), Ok(()));
        assert_eq!(
            keys.take("p", 100, 100, t0 + Duration::from_secs(1)),
            Ok(())
        );
        assert_eq!(keys.take("q", 201, 100, t0), Err(1));
    }
}
