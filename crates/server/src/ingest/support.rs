//! Support intake from machines: alerts from Alertmanager, Grafana and
//! generic webhooks (by the integration's secret), inbound e-mail that
//! opens or continues tickets (by the mail key, or a Mailgun signature),
//! and Slack's buttons on pages (by Slack's signature).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_store::StoreError;
use liveops_store::support::intake::IntegrationKind;
use serde_json::json;

use crate::auth::keys;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::support::service;

/// Answers Alertmanager, Grafana and generic webhooks.
pub async fn alerts_by_path(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    ingest(&state, &secret, &body).await
}

/// The same, with the secret in `Authorization: Bearer …`.
pub async fn alerts_by_header(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthorized("send the integration secret in the path or as a bearer token")
        })?;
    ingest(&state, secret.trim(), &body).await
}

async fn ingest(state: &AppState, secret: &str, body: &[u8]) -> ApiResult<Response> {
    let integration = match state.db.integration_by_secret(&keys::hash(secret)).await {
        Ok(i) => i,
        Err(StoreError::NotFound) => {
            return Err(ApiError::unauthorized("unknown integration secret"));
        }
        Err(e) => return Err(e.into()),
    };
    let parsed = match integration.kind {
        IntegrationKind::Alertmanager | IntegrationKind::Grafana => {
            liveops_wire::alerts::parse_alertmanager(body)
        }
        IntegrationKind::Generic => liveops_wire::alerts::parse_generic(body),
    };
    let group = match parsed {
        Ok(g) => g,
        Err(e) => {
            state
                .metrics
                .ingest_rejected
                .get_or_create(&crate::metrics::KindLabels {
                    kind: "alert".into(),
                })
                .inc();
            return Err(ApiError::bad_request(e.to_string()));
        }
    };
    let intake = service::ingest_alerts(state, &integration, &group).await?;
    state
        .metrics
        .ingested
        .get_or_create(&crate::metrics::KindLabels {
            kind: "alert".into(),
        })
        .inc_by(group.alerts.len() as u64);
    Ok(Json(json!({
        "status": "ok",
        "incident": intake.incident,
        "opened": intake.opened,
        "resolved": intake.resolved,
    }))
    .into_response())
}

/// An inbound e-mail as a mail provider's inbound webhook posts it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundEmail {
    pub from: String,
    pub subject: String,
    pub text: String,
    /// The mail's own `Message-ID`.
    #[serde(default)]
    pub message_id: Option<String>,
    /// Its `In-Reply-To` and `References` headers, which thread it.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    #[serde(default)]
    pub references: Option<String>,
    /// The address it was sent to (a ticket's reply-to carries its token).
    #[serde(default)]
    pub to: Option<String>,
}

/// How far Mailgun's signature timestamp may be from now.
const MAILGUN_WINDOW_SECS: i64 = 300;

/// The inbound mail secret: a bearer token, basic auth's password (for
/// providers that can only put it in the URL's user part) or the path.
fn mail_secret(headers: &HeaderMap, path: Option<&str>) -> Option<String> {
    if let Some(p) = path {
        return Some(p.to_owned());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(b) = auth.strip_prefix("Bearer ") {
        return Some(b.trim().to_owned());
    }
    let b = auth.strip_prefix("Basic ")?;
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':').unwrap_or((&text, ""));
    Some(if pass.is_empty() { user } else { pass }.to_owned())
}

/// The mail in a body: liveops' JSON, or a provider's form fields
/// (Mailgun's `sender`/`from`, `subject`, `stripped-text`/`body-plain`,
/// `Message-Id`, `In-Reply-To`, `References`, `recipient`/`To`, with
/// `timestamp`, `token` and `signature`).
struct Mail {
    mail: crate::support::mail::Inbound,
    mailgun: Option<(String, String, String)>,
}

fn read_mail(headers: &HeaderMap, body: &[u8]) -> ApiResult<Mail> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !form {
        let m: InboundEmail = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the body is not an inbound e-mail: {e}"))
        })?;
        return Ok(Mail {
            mail: crate::support::mail::Inbound {
                from: m.from,
                subject: m.subject,
                text: m.text,
                message_id: m.message_id,
                in_reply_to: m.in_reply_to,
                references: m.references,
                to: m.to,
            },
            mailgun: None,
        });
    }
    let fields: std::collections::HashMap<String, String> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    let get = |names: &[&str]| names.iter().find_map(|n| fields.get(*n).cloned());
    let from = get(&["from", "sender"])
        .ok_or_else(|| ApiError::unprocessable("the mail has no `from` or `sender` field"))?;
    let signed = match (get(&["timestamp"]), get(&["token"]), get(&["signature"])) {
        (Some(ts), Some(token), Some(sig)) => Some((ts, token, sig)),
        _ => None,
    };
    Ok(Mail {
        mail: crate::support::mail::Inbound {
            from,
            subject: get(&["subject"]).unwrap_or_default(),
            // The full plain text: liveops trims quotes and signatures of
            // an answer itself, and keeps a first message whole.
            text: get(&["body-plain", "text", "stripped-text"]).unwrap_or_default(),
            message_id: get(&["message-id"]),
            in_reply_to: get(&["in-reply-to"]),
            references: get(&["references"]),
            to: get(&["recipient", "to"]),
        },
        mailgun: signed,
    })
}

/// Opens a ticket from an inbound e-mail, authenticated by the project's
/// inbound mail secret (never the public browser key, which web pages
/// carry). When the project has a Mailgun signing key, Mailgun's signature
/// must match and be at most five minutes old.
pub async fn inbound_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    take_mail(&state, mail_secret(&headers, None), &headers, &body).await
}

/// The same, with the secret in the path, for providers that post to a URL
/// and nothing more.
pub async fn inbound_email_by_path(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    take_mail(&state, Some(secret), &headers, &body).await
}

async fn take_mail(
    state: &AppState,
    secret: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let secret =
        secret.ok_or_else(|| ApiError::unauthorized("send the project's inbound mail secret"))?;
    let project_id = crate::analytics::project_for_key(
        state,
        &secret,
        liveops_store::projects::KeyPurpose::Mail,
    )
    .await?;
    let mail = read_mail(headers, body)?;
    if let Some(sealed) = state.db.mail_signing_key(&project_id).await? {
        let key = state
            .sealer
            .open(&sealed)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let Some((ts, token, sig)) = &mail.mailgun else {
            return Err(ApiError::unauthorized(
                "this project checks Mailgun's signature: timestamp, token and signature are missing",
            ));
        };
        let fresh = ts
            .parse::<i64>()
            .is_ok_and(|t| (t - state.now_ms() / 1000).abs() <= MAILGUN_WINDOW_SECS);
        let msg = format!("{ts}{token}");
        if !fresh || !crate::signing::verify(&key, msg.as_bytes(), sig) {
            return Err(ApiError::unauthorized(
                "Mailgun's signature does not match, or is older than five minutes",
            ));
        }
    }
    let actor = liveops_store::audit::Actor {
        kind: liveops_store::audit::ActorKind::System,
        name: "inbound-email".into(),
        ip: None,
    };
    let got = crate::support::mail::receive(state, &project_id, &actor, &mail.mail).await?;
    let status = if got.threaded {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({ "ticket": got.ticket, "threaded": got.threaded, "reopened": got.reopened })),
    )
        .into_response())
}

/// Slack's interactivity requests: a button pressed on a page (acknowledge,
/// escalate, resolve), checked against the project's Slack signing secret.
/// A refusal of the button itself (used, expired) answers only the person
/// who pressed it.
pub async fn slack_actions(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let answer = crate::support::links::slack(
        &state,
        &project,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &body,
    )
    .await?;
    Ok(Json(json!({
        "response_type": if answer.ephemeral { "ephemeral" } else { "in_channel" },
        "replace_original": false,
        "text": answer.text,
    }))
    .into_response())
}
