//! The security watches the jobs run: credentials nearing expiry raise a
//! ticket at 30, 14 and 7 days and an incident at 1 day and at expiry, once
//! each; open findings past their patch SLA raise a ticket once.

use liveops_core::Email;
use liveops_core::support::incident::Severity;
use liveops_core::support::sla::Priority;
use liveops_store::Result;
use liveops_store::audit::Actor;

use crate::state::AppState;
use crate::state::format_ms;
use crate::support::service::{self, ManualIncident};
use crate::support::tickets::{self, TicketFields, TicketRequest};

const DAY_MS: i64 = 86_400_000;

/// The warning stages, in days before expiry.
pub const STAGES: [i64; 5] = [30, 14, 7, 1, 0];

/// The stage a credential expiring in `ms_left` is at: the smallest stage
/// not below the days left (0 once expired).
pub fn stage(ms_left: i64) -> Option<i64> {
    if ms_left <= 0 {
        return Some(0);
    }
    let days_left = (ms_left + DAY_MS - 1) / DAY_MS;
    STAGES
        .iter()
        .copied()
        .filter(|s| *s > 0 && days_left <= *s)
        .min()
}

fn clock() -> Actor {
    Actor::system()
}

fn requester(owner: &str) -> String {
    match Email::parse(owner) {
        Ok(e) => e.as_str().to_owned(),
        Err(_) => "security@liveops.invalid".into(),
    }
}

async fn ticket(
    state: &AppState,
    project_id: &str,
    owner: &str,
    subject: &str,
    body: &str,
    priority: &str,
) -> Result<()> {
    let req = TicketRequest::parse(&TicketFields {
        subject,
        requester: &requester(owner),
        body,
        priority: Some(priority),
        tier: Some("l2"),
        ..TicketFields::default()
    })
    .map_err(liveops_store::StoreError::Other)?;
    tickets::open(state, project_id, &clock(), &req, "api").await?;
    Ok(())
}

/// Warns about credentials at a new stage before expiry; returns how many.
pub async fn credentials(state: &AppState) -> Result<usize> {
    let db = &state.db;
    let now = state.now_ms();
    let mut warned = 0;
    for (project_id, c) in db.credentials_expiring(now + 30 * DAY_MS).await? {
        let Some(expires) = c.expires_at else {
            continue;
        };
        let Some(stage) = stage(expires - now) else {
            continue;
        };
        if !db.claim_credential_warning(&c.id, stage).await? {
            continue;
        }
        let when = format_ms(expires);
        let what = format!(
            "{} `{}` ({}, owner {})",
            c.kind.replace('_', " "),
            c.name,
            c.system,
            c.owner
        );
        let body = if stage == 0 {
            format!("The {what} expired at {when}. Replace it and update the inventory.")
        } else {
            format!(
                "The {what} expires at {when}, in {stage} day{}. Rotate it before then and update the inventory.",
                if stage == 1 { "" } else { "s" }
            )
        };
        match stage {
            0 | 1 => {
                let title = if stage == 0 {
                    format!("Expired: {}", c.name)
                } else {
                    format!("Expires tomorrow: {}", c.name)
                };
                service::open_incident(
                    state,
                    &clock(),
                    &project_id,
                    &ManualIncident {
                        title: &title,
                        severity: if stage == 0 {
                            Severity::Sev2
                        } else {
                            Severity::Sev3
                        },
                        policy_id: None,
                        assignee_id: None,
                        commander_id: None,
                        services: &[],
                        components: &[],
                        body: Some(&body),
                    },
                )
                .await?;
            }
            _ => {
                let priority = match stage {
                    7 => Priority::Urgent,
                    14 => Priority::High,
                    _ => Priority::Normal,
                };
                ticket(
                    state,
                    &project_id,
                    &c.owner,
                    &format!(
                        "{} expires in {stage} days: {}",
                        c.kind.replace('_', " "),
                        c.name
                    ),
                    &body,
                    priority.as_str(),
                )
                .await?;
            }
        }
        warned += 1;
    }
    Ok(warned)
}

/// Announces open findings past their patch SLA, once each; acceptances
/// that ran out reopen first.
pub async fn patch_slas(state: &AppState) -> Result<usize> {
    let db = &state.db;
    let now = state.now_ms();
    db.expire_acceptances(now).await?;
    let mut announced = 0;
    let mut slas: std::collections::HashMap<String, Vec<(String, i64)>> = Default::default();
    for (project_id, f) in db.findings_for_sla_watch(500).await? {
        if !slas.contains_key(&project_id) {
            let s = db.security_slas(&project_id).await?;
            slas.insert(project_id.clone(), s);
        }
        let Some(days) = slas
            .get(&project_id)
            .and_then(|s| s.iter().find(|(sev, _)| *sev == f.severity))
            .map(|(_, d)| *d)
        else {
            continue;
        };
        let due = f.opened_at + days * DAY_MS;
        if due > now || !db.claim_sla_warning(&f.id, now).await? {
            continue;
        }
        ticket(
            state,
            &project_id,
            "",
            &format!("Patch SLA breached: finding #{} ({})", f.number, f.severity),
            &format!(
                "{}\n\nService {}, opened {}, due within {days} days ({}). {}",
                f.title,
                f.service,
                format_ms(f.opened_at),
                format_ms(due),
                match &f.fixed_version {
                    Some(v) => format!("Upgrading to {v} fixes it."),
                    None => "No fixed version is known yet.".into(),
                }
            ),
            if f.severity == "critical" {
                "urgent"
            } else {
                "high"
            },
        )
        .await?;
        announced += 1;
    }
    Ok(announced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_follow_the_days_left() {
        assert_eq!(stage(40 * DAY_MS), None);
        assert_eq!(stage(30 * DAY_MS), Some(30));
        assert_eq!(stage(10 * DAY_MS), Some(14));
        assert_eq!(stage(10 * DAY_MS - 1), Some(14));
        assert_eq!(stage(7 * DAY_MS), Some(7));
        assert_eq!(stage(3 * DAY_MS), Some(7));
        assert_eq!(stage(DAY_MS / 2), Some(1));
        assert_eq!(stage(0), Some(0));
        assert_eq!(stage(-5), Some(0));
    }
}
