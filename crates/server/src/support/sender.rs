//! How deliveries leave the building: webhooks and Slack through the
//! guarded outbound client (signed when the subscriber gave a key), e-mail
//! through SMTP. What people see of a failure is its class and host, never
//! what the target answered.

use std::sync::Arc;
use std::time::Duration;

use liveops_store::support::notify::{Channel, OutboxRow};

use crate::outbound::{Outbound, OutboundError};
use crate::sealed::{Sealer, redact};

/// How deliveries leave the building.
#[derive(Debug, Clone)]
pub struct Sender {
    outbound: Outbound,
    smtp_url: Option<String>,
    from: String,
    sealer: Arc<Sealer>,
}

impl Sender {
    pub fn new(
        outbound: Outbound,
        smtp_url: Option<String>,
        from: String,
        sealer: Arc<Sealer>,
    ) -> Sender {
        Sender {
            outbound,
            smtp_url,
            from,
            sealer,
        }
    }

    /// Sends one delivery. The error is what people see as `last_error`:
    /// the class of failure and the host, never what the target answered.
    pub(crate) async fn send(&self, d: &OutboxRow) -> std::result::Result<(), String> {
        match d.channel {
            Channel::Webhook | Channel::Slack => {
                let target = self
                    .sealer
                    .open(&d.target)
                    .map_err(|_| "failed: the stored URL could not be opened".to_owned())?;
                // Errors name the host only: the path holds the hook's token.
                let shown = redact(&target);
                let mut headers = vec![
                    ("content-type", "application/json"),
                    ("x-liveops-delivery", d.id.as_str()),
                ];
                let signature = d
                    .signing_key
                    .as_deref()
                    .and_then(|k| self.sealer.open(k).ok())
                    .map(|key| crate::signing::sign(&key, d.payload.as_bytes()));
                if let Some(sig) = &signature {
                    headers.push((crate::signing::SIGNATURE_HEADER, sig.as_str()));
                }
                self.outbound
                    .post(&target, &headers, d.payload.clone().into_bytes())
                    .await
                    .map(|_| ())
                    .map_err(|e| match e {
                        OutboundError::Refused { .. } | OutboundError::Unresolved(_) => {
                            e.to_string()
                        }
                        other => format!("{other} from {shown}"),
                    })
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
            .map_err(|_| "failed: smtp_from is not an address".to_owned())?;
        let to: Mailbox = d
            .target
            .parse()
            .map_err(|_| format!("failed: {} is not an address", d.target))?;
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(d.subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN);
        // A ticket's reply threads: its own Message-ID, the thread before
        // it, and the reply-to address that carries the ticket's token.
        let own: serde_json::Value = d
            .headers
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok())
            .unwrap_or_default();
        let field = |name: &str| own.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(id) = field("Message-ID") {
            builder = builder.message_id(Some(id));
        }
        if let Some(parent) = field("In-Reply-To") {
            builder = builder.in_reply_to(parent);
        }
        if let Some(thread) = field("References") {
            builder = builder.references(thread);
        }
        if let Some(reply_to) = field("Reply-To").and_then(|r| r.parse::<Mailbox>().ok()) {
            builder = builder.reply_to(reply_to);
        }
        let message = builder
            .body(d.payload.clone())
            .map_err(|_| "failed: the message could not be built".to_owned())?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| "failed: smtp_url is not usable".to_owned())?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        // The class and code only: a server's answer can quote the message.
        transport.send(message).await.map_err(|e| {
            if e.is_timeout() {
                "timeout from the mail server".to_owned()
            } else if let Some(code) = e.status() {
                format!("SMTP {code} from the mail server")
            } else {
                "connection to the mail server failed".to_owned()
            }
        })?;
        Ok(())
    }
}
