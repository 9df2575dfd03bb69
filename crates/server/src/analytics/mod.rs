//! Product analytics in the server: the PostHog and Segment ingest
//! endpoints, ingest-key lookup and per-key rate limits, and the retention
//! job.

pub mod ingest;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use liveops_store::StoreError;

use crate::auth::keys;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long a resolved ingest key is trusted before it is looked up again.
const KEY_TTL: Duration = Duration::from_secs(10);

/// Ingest keys seen recently, and each key's token bucket.
#[derive(Debug, Default)]
pub struct IngestKeys {
    known: Mutex<HashMap<String, (String, Instant)>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl IngestKeys {
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

/// The project an ingest key belongs to.
pub async fn project_for_key(state: &AppState, key: &str) -> ApiResult<String> {
    let key = key.trim();
    if key.is_empty() {
        return Err(ApiError::unauthorized(
            "send the project's ingest key (api_key, token, writeKey or basic auth)",
        ));
    }
    let hash = keys::hash(key);
    let now = Instant::now();
    if let Some((project, at)) = state
        .ingest_keys
        .known
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&hash)
        && now.duration_since(*at) < KEY_TTL
    {
        return Ok(project.clone());
    }
    let project = match state.db.project_by_ingest_hash(&hash).await {
        Ok(p) => p.id,
        Err(StoreError::NotFound) => return Err(ApiError::unauthorized("unknown ingest key")),
        Err(e) => return Err(e.into()),
    };
    state
        .ingest_keys
        .known
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(hash, (project.clone(), now));
    Ok(project)
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
