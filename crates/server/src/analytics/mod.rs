//! Product analytics in the server: the PostHog and Segment ingest
//! endpoints, ingest-key lookup and per-key rate limits, and the retention
//! job.

pub mod ingest;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use liveops_store::StoreError;
use liveops_store::projects::KeyPurpose;

use crate::auth::keys;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

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

/// The project a key of `purpose` belongs to. A key of another purpose
/// is refused like an unknown one, but says which key to use.
pub async fn project_for_key(
    state: &AppState,
    key: &str,
    purpose: KeyPurpose,
) -> ApiResult<String> {
    let key = key.trim();
    if key.is_empty() {
        return Err(ApiError::unauthorized(match purpose {
            KeyPurpose::Browser => {
                "send the project's ingest key (api_key, token, writeKey or basic auth)"
            }
            KeyPurpose::Server => {
                "send the project's server key (Authorization: Bearer, basic auth, x-liveops-key)"
            }
            KeyPurpose::Mail => "send the project's inbound mail secret",
        }));
    }
    let hash = keys::hash(key);
    let now = Instant::now();
    let cache_key = (purpose, hash);
    if let Some((project, at)) = state
        .ingest_keys
        .known
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&cache_key)
        && now.duration_since(*at) < KEY_TTL
    {
        return Ok(project.clone());
    }
    let project = match state.db.project_by_key(purpose, &cache_key.1).await {
        Ok(p) => p.id,
        Err(StoreError::NotFound) => {
            return Err(ApiError::unauthorized(match purpose {
                KeyPurpose::Browser => "unknown ingest key",
                KeyPurpose::Server => {
                    "unknown server key: OTLP takes the project's server key, not its public \
                     browser key (Settings, or POST /api/v1/projects/{slug}/keys/server)"
                }
                KeyPurpose::Mail => "unknown inbound mail secret",
            }));
        }
        Err(e) => return Err(e.into()),
    };
    state
        .ingest_keys
        .known
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(cache_key, (project.clone(), now));
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
