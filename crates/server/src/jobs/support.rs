//! Every `job_tick_ms`: due escalation steps and acknowledgement timeouts,
//! SLA warnings, maintenance stages, credential and patch-SLA watches,
//! postmortem drafts, action-item reminders, error spikes, inbound ticket
//! mail from a Maildir, then the notifications due.

use super::warn_on;
use crate::state::AppState;

/// One round.
pub async fn tick(state: &AppState) {
    warn_on(
        "escalation run",
        crate::support::service::run_due(state).await,
    );
    warn_on(
        "SLA watch",
        crate::support::tickets::watch_slas(state).await,
    );
    warn_on(
        "maintenance run",
        crate::support::maintenance::run_due(state).await,
    );
    warn_on(
        "credential expiry watch",
        crate::security::watch::credentials(state).await,
    );
    warn_on(
        "patch SLA watch",
        crate::security::watch::patch_slas(state).await,
    );
    warn_on(
        "postmortem drafting",
        crate::reviews::draft_due(state).await,
    );
    warn_on(
        "action item reminders",
        crate::reviews::remind_overdue(state).await,
    );
    warn_on(
        "error spike watch",
        crate::support::errors::alerts::spikes(state).await,
    );
    warn_on(
        "error votes",
        crate::support::errors::issues::refresh_votes(state).await,
    );
    warn_on(
        "inbound Maildir",
        crate::support::maildir::poll(state).await,
    );
    warn_on(
        "delivery run",
        crate::support::deliver::run_due(state).await,
    );
}
