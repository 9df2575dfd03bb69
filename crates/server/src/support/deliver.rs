//! The outbox sender: delivers queued notifications by webhook, Slack-style
//! webhook or e-mail, retrying with backoff. Deliveries are written before
//! they are sent, so a restart resends what was due and loses nothing.

use std::sync::Arc;
use std::time::Duration;

use liveops_store::support::notify::{Channel, OutboxRow};
use liveops_store::{Db, Result};

use crate::security::sealed::{Sealer, redact};
use crate::state::now_ms;

/// Attempts before a delivery is given up.
const MAX_ATTEMPTS: i64 = 8;
/// How long a sender holds a delivery it claimed.
const LEASE_MS: i64 = 60_000;

/// How deliveries leave the building.
#[derive(Debug, Clone)]
pub struct Sender {
    http: reqwest::Client,
    smtp_url: Option<String>,
    from: String,
    sealer: Arc<Sealer>,
}

impl Sender {
    pub fn new(smtp_url: Option<String>, from: String, sealer: Arc<Sealer>) -> Sender {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("liveops/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Sender {
            http,
            smtp_url,
            from,
            sealer,
        }
    }

    async fn send(&self, d: &OutboxRow) -> std::result::Result<(), String> {
        match d.channel {
            Channel::Webhook | Channel::Slack => {
                let target = self.sealer.open(&d.target).map_err(|e| e.to_string())?;
                // Errors name the host only: the path holds the hook's token.
                let shown = redact(&target);
                let resp = self
                    .http
                    .post(&target)
                    .header("content-type", "application/json")
                    .header("x-liveops-delivery", &d.id)
                    .body(d.payload.clone())
                    .send()
                    .await
                    .map_err(|e| format!("could not reach {shown}: {}", e.without_url()))?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("{shown} answered {}", resp.status()))
                }
            }
            Channel::Email => self.email(d).await,
        }
    }

    async fn email(&self, d: &OutboxRow) -> std::result::Result<(), String> {
        use lettre::message::Mailbox;
        use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
        let url = self
            .smtp_url
            .as_deref()
            .ok_or("no SMTP server is configured (smtp_url)")?;
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| format!("bad smtp_from: {e}"))?;
        let to: Mailbox = d
            .target
            .parse()
            .map_err(|e| format!("bad address {}: {e}", d.target))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(d.subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(d.payload.clone())
            .map_err(|e| e.to_string())?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("bad smtp_url: {e}"))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        transport.send(message).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Sends what is due; returns how many were delivered.
pub async fn run_due(db: &Db, sender: &Sender) -> Result<usize> {
    let due = db.due_deliveries(now_ms(), 50).await?;
    let mut sent = 0;
    for d in due {
        // Longer than a send can take (two 10-second timeouts).
        if !db.claim_delivery(&d, now_ms() + LEASE_MS).await? {
            continue;
        }
        match sender.send(&d).await {
            Ok(()) => {
                db.mark_sent(&d.id, now_ms()).await?;
                sent += 1;
            }
            Err(e) => {
                let attempts = d.attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS).then(|| {
                    // 5 s, 10 s, 20 s, … capped at an hour.
                    let backoff = 5_000_i64
                        .saturating_mul(1 << attempts.min(10))
                        .min(3_600_000);
                    now_ms() + backoff
                });
                tracing::warn!(delivery = %d.id, error = %e, "delivery failed");
                db.mark_failed(&d.id, &e, retry_at).await?;
            }
        }
    }
    Ok(sent)
}
