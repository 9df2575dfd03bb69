//! The outbox sender: delivers queued notifications by webhook, Slack-style
//! webhook or e-mail, retrying with backoff. Deliveries are written before
//! they are sent, so a restart resends what was due and loses nothing.

use liveops_store::Result;

use crate::state::AppState;

/// Attempts before a delivery is given up.
const MAX_ATTEMPTS: i64 = 8;
/// How long a sender holds a delivery it claimed.
const LEASE_MS: i64 = 60_000;

/// Sends what is due; returns how many were delivered.
pub async fn run_due(state: &AppState) -> Result<usize> {
    let (db, sender) = (&state.db, &state.sender);
    let due = db.due_deliveries(state.now_ms(), 50).await?;
    let mut sent = 0;
    for d in due {
        // Longer than a send can take (two 10-second timeouts).
        if !db.claim_delivery(&d, state.now_ms() + LEASE_MS).await? {
            continue;
        }
        match sender.send(&d).await {
            Ok(()) => {
                db.mark_sent(&d.id, state.now_ms()).await?;
                sent += 1;
            }
            Err(e) => {
                let attempts = d.attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS).then(|| {
                    // 5 s, 10 s, 20 s, … capped at an hour.
                    let backoff = 5_000_i64
                        .saturating_mul(1 << attempts.min(10))
                        .min(3_600_000);
                    state.now_ms() + backoff
                });
                tracing::warn!(delivery = %d.id, error = %e, "delivery failed");
                db.mark_failed(&d.id, &e, retry_at).await?;
            }
        }
    }
    Ok(sent)
}
