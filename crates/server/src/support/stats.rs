//! Support statistics over a time range: how fast incidents are
//! acknowledged and resolved by severity, and how tickets keep their SLAs.

use liveops_core::support::incident::Severity;
use liveops_core::support::sla::{self, Standing};
use liveops_store::support::incidents::IncidentRow;

use crate::contract::support::{SeverityStats, SupportStats};
use crate::state::{AppState, format_ms};
use crate::support::Result;
use crate::support::tickets;

/// MTTA and MTTR by severity, and ticket SLA attainment, over `[from, to)`.
pub async fn stats(state: &AppState, project_id: &str, from: i64, to: i64) -> Result<SupportStats> {
    let now = state.now_ms();
    let incidents = state
        .db
        .incidents(project_id, false, Some(from), Some(to), i64::MAX)
        .await?;
    let secs = |d: jiff::SignedDuration| d.as_secs();
    let by_severity = Severity::ALL
        .into_iter()
        .map(|sev| {
            let of: Vec<&IncidentRow> = incidents.iter().filter(|i| i.severity == sev).collect();
            let tta = sla::duration_stats(
                of.iter()
                    .filter_map(|i| {
                        i.acknowledged_at
                            .map(|a| jiff::SignedDuration::from_millis(a - i.created_at))
                    })
                    .collect(),
            );
            let ttr = sla::duration_stats(
                of.iter()
                    .filter_map(|i| {
                        i.resolved_at
                            .map(|r| jiff::SignedDuration::from_millis(r - i.created_at))
                    })
                    .collect(),
            );
            SeverityStats {
                severity: sev.as_str().into(),
                incidents: of.len(),
                mtta_secs: tta.map(|s| secs(s.mean)),
                mttr_secs: ttr.map(|s| secs(s.mean)),
                median_tta_secs: tta.map(|s| secs(s.median)),
                median_ttr_secs: ttr.map(|s| secs(s.median)),
            }
        })
        .collect();
    let tickets = state
        .db
        .tickets(project_id, false, Some(from), Some(to), i64::MAX)
        .await?;
    let standings: Vec<(i64, Standing, Standing)> = tickets
        .iter()
        .map(|t| {
            let (a, b) = tickets::standings(t, now);
            (t.number, a, b)
        })
        .collect();
    let fr: Vec<Standing> = standings.iter().map(|s| s.1).collect();
    let res: Vec<Standing> = standings.iter().map(|s| s.2).collect();
    Ok(SupportStats {
        from: format_ms(from),
        to: format_ms(to),
        by_severity,
        tickets: tickets.len(),
        first_response_attainment: sla::attainment(&fr),
        resolution_attainment: sla::attainment(&res),
        breached_tickets: standings
            .iter()
            .filter(|s| s.1 == Standing::Breached || s.2 == Standing::Breached)
            .map(|s| s.0)
            .collect(),
        at_risk_tickets: standings
            .iter()
            .filter(|s| s.1 == Standing::AtRisk || s.2 == Standing::AtRisk)
            .map(|s| s.0)
            .collect(),
    })
}
