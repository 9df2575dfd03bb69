//! Ticket e-mail both ways.
//!
//! - An agent's reply is mailed to the requester through the outbox with a
//!   `Message-ID` of its own, `In-Reply-To` and `References` naming the
//!   thread so far, and a `Reply-To` address that carries the ticket's
//!   token. Internal notes are never mailed.
//! - Inbound mail threads into the ticket its address's token, its
//!   `In-Reply-To` or its `References` name; the answer is stored without
//!   the history quoted below it or the signature, and a solved ticket
//!   reopens. Mail that threads nowhere (or into a closed ticket) opens a
//!   new ticket.

use liveops_core::support::mail::{
    bare_address, message_ids, reply_address, strip_reply, token_in,
};
use liveops_store::StoreError;
use liveops_store::audit::Actor;
use liveops_store::support::notify::{self, Channel, NewDelivery};
use liveops_store::support::tickets::{self as tk, Ticket};
use serde_json::json;
use sqlx::AnyConnection;

use super::Result;
use super::tickets::{self, TicketFields, TicketRequest};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// The domain of the server's own address (`smtp_from`), for Message-IDs.
fn domain(state: &AppState) -> String {
    bare_address(&state.config.smtp_from)
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "liveops.invalid".into())
}

/// Queues an agent's reply for the requester, threaded, when the server
/// can send mail and the requester has an address.
pub(crate) async fn queue_reply(
    conn: &mut AnyConnection,
    state: &AppState,
    t: &Ticket,
    author: &str,
    body: &str,
    now: i64,
) -> std::result::Result<(), StoreError> {
    if state.config.smtp_url.is_none() || !t.requester.contains('@') {
        return Ok(());
    }
    let token = tk::mail_token(conn, &t.id, &crate::auth::keys::random_string(20)).await?;
    let thread = tk::thread(conn, &t.id).await?;
    let message_id = format!(
        "ticket-{}-{}@{}",
        t.number,
        crate::auth::keys::random_string(16),
        domain(state)
    );
    let bracket = |id: &String| format!("<{id}>");
    let mut headers = json!({ "Message-ID": bracket(&message_id) });
    if let Some(last) = thread.last() {
        headers["In-Reply-To"] = json!(bracket(last));
        headers["References"] = json!(thread.iter().map(bracket).collect::<Vec<_>>().join(" "));
    }
    if let Some(reply_to) = reply_address(&state.config.smtp_from, &token) {
        headers["Reply-To"] = json!(reply_to);
    }
    let subject = format!("Re: [#{}] {}", t.number, t.subject);
    let text = format!(
        "{body}\n\n-- \n{author}, for ticket #{}.\nAnswer this e-mail to reply.\n",
        t.number
    );
    notify::enqueue_with(
        conn,
        &NewDelivery {
            project_id: &t.project_id,
            incident_id: None,
            channel: Channel::Email,
            target: &t.requester,
            subject: &subject,
            payload: &text,
            due_at: now,
            signing_key: None,
        },
        Some(&headers.to_string()),
        now,
    )
    .await?;
    tk::add_message(conn, &t.id, &message_id, "out", now).await
}

/// An e-mail that came in.
#[derive(Debug, Clone, Default)]
pub struct Inbound {
    /// `Name <address>` or a bare address.
    pub from: String,
    pub subject: String,
    pub text: String,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    /// The address(es) it was sent to.
    pub to: Option<String>,
}

/// What became of an inbound e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub ticket: i64,
    /// It answered an existing ticket rather than opening one.
    pub threaded: bool,
    /// The ticket was solved and is open again.
    pub reopened: bool,
}

/// The ticket an inbound mail answers: by its address's token, then by the
/// messages it replies to or references.
async fn thread_of(state: &AppState, project_id: &str, m: &Inbound) -> Result<Option<Ticket>> {
    if let Some(token) = m.to.as_deref().and_then(token_in) {
        match state.db.ticket_by_mail_token(project_id, &token).await {
            Ok(t) => return Ok(Some(t)),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut ids = Vec::new();
    for h in [&m.references, &m.in_reply_to].into_iter().flatten() {
        ids.extend(message_ids(h));
    }
    Ok(state.db.ticket_by_message(project_id, &ids).await?)
}

/// Takes an inbound e-mail: an answer threads into its ticket (reopening
/// it when solved); anything else opens a ticket.
pub async fn receive(
    state: &AppState,
    project_id: &str,
    actor: &Actor,
    m: &Inbound,
) -> Result<Received> {
    let from = bare_address(&m.from).to_owned();
    let message_id = m
        .message_id
        .as_deref()
        .and_then(|h| message_ids(h).into_iter().next());
    // The same message again (a provider's retry, a mailbox read twice)
    // is taken once.
    if let Some(id) = &message_id
        && let Some(t) = state
            .db
            .ticket_by_message(project_id, std::slice::from_ref(id))
            .await?
    {
        return Ok(Received {
            ticket: t.number,
            threaded: true,
            reopened: false,
        });
    }
    let found = thread_of(state, project_id, m)
        .await?
        .filter(|t| t.status != "closed");
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let received = match found {
        Some(t) => {
            let body = tickets::clean_text("text", &strip_reply(&m.text), 20_000)
                .map_err(super::SupportError::invalid)?;
            tk::add_comment(w.conn(), &t.id, &from, true, false, &body, now).await?;
            let reopened = t.status == "solved";
            if reopened {
                tk::set_status(w.conn(), &t.id, "open", now).await?;
                tk::add_comment(
                    w.conn(),
                    &t.id,
                    "liveops",
                    false,
                    false,
                    "reopened: the requester answered by e-mail",
                    now,
                )
                .await?;
            }
            if let Some(id) = &message_id {
                tk::add_message(w.conn(), &t.id, id, "in", now).await?;
            }
            w.commit(
                Audit::new("ticket.email_reply", t.number.to_string())
                    .detail(json!({ "reopened": reopened })),
            )
            .await?;
            Received {
                ticket: t.number,
                threaded: true,
                reopened,
            }
        }
        None => {
            let req = TicketRequest::parse(&TicketFields {
                subject: &m.subject,
                requester: &from,
                body: &m.text,
                ..TicketFields::default()
            })
            .map_err(super::SupportError::invalid)?;
            let t = tickets::open_in(&mut w, project_id, &req, "email").await?;
            if let Some(id) = &message_id {
                tk::add_message(w.conn(), &t.id, id, "in", now).await?;
            }
            w.commit(Audit::new("ticket.open", t.number.to_string()))
                .await?;
            Received {
                ticket: t.number,
                threaded: false,
                reopened: false,
            }
        }
    };
    Ok(received)
}
