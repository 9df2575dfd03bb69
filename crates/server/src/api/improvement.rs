//! The continuous-improvement API: the DORA four keys over a range, per
//! project and optionally per service, with their performance levels, and
//! lead time in its stages; and
//! the weekly report, on demand or kept as history, with its recipients.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_core::reviews::postmortem::{Change, suspects};
use liveops_store::improvement as store;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, need};
use crate::contract::improvement::{RecipientBody, SavedReportView, StoredReportView};
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::improvement::{self as report, WeeklyReport};
use crate::improvement::{DoraView, LeadTimeView, LinkSuggestion, compute, compute_periods};
use crate::state::{AppState, format_ms};
use crate::timerange::parse_when;
use crate::work::{Audit, Work};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoraQuery {
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; now by default.
    pub to: Option<String>,
    pub service: Option<String>,
    /// production by default.
    pub environment: Option<String>,
}

/// The DORA four keys over a range.
#[utoipa::path(get, path = "/api/v1/projects/{project}/improvement/dora", tag = "improvement",
    params(("project" = String, Path, description = "Project slug"), DoraQuery),
    responses((status = 200, description = "The four keys", body = DoraView)))]
pub async fn dora(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<DoraQuery>,
) -> ApiResult<Json<DoraView>> {
    let (from, to) = dora_range(q.from.as_deref(), q.to.as_deref(), 30, state.now_ms())?;
    Ok(Json(
        compute(
            &state,
            &access.project.id,
            q.environment.as_deref().unwrap_or("production"),
            q.service.as_deref().filter(|s| !s.is_empty()),
            from,
            to,
        )
        .await?,
    ))
}

fn dora_range(
    from: Option<&str>,
    to: Option<&str>,
    default_days: i64,
    now: i64,
) -> ApiResult<(i64, i64)> {
    let to = match to {
        Some(t) => parse_when("to", t)?,
        None => now,
    };
    let from = match from {
        Some(f) => parse_when("from", f)?,
        None => to - default_days * DAY_MS,
    };
    if from >= to || to - from > 731 * DAY_MS {
        return Err(ApiError::unprocessable(
            "`from` must come before `to`, at most two years apart",
        ));
    }
    Ok((from, to))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// Start (date or RFC 3339); 12 weeks before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; now by default.
    pub to: Option<String>,
    /// week (default) or day: the length of each period.
    pub interval: Option<String>,
    pub service: Option<String>,
    /// production by default.
    pub environment: Option<String>,
}

/// The four keys period by period, to see them move.
#[utoipa::path(get, path = "/api/v1/projects/{project}/improvement/dora/trends", tag = "improvement",
    params(("project" = String, Path, description = "Project slug"), TrendQuery),
    responses((status = 200, description = "The keys per period, oldest first", body = [DoraView])))]
pub async fn dora_trends(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<TrendQuery>,
) -> ApiResult<Json<Vec<DoraView>>> {
    let step = match q.interval.as_deref().unwrap_or("week") {
        "week" => 7 * DAY_MS,
        "day" => DAY_MS,
        other => {
            return Err(ApiError::unprocessable(format!(
                "interval `{other}` is not one of: week, day"
            )));
        }
    };
    let (from, to) = dora_range(q.from.as_deref(), q.to.as_deref(), 12 * 7, state.now_ms())?;
    if (to - from) / step > 200 {
        return Err(ApiError::unprocessable(
            "at most 200 periods: shorten the range or use a longer interval",
        ));
    }
    let env = q.environment.as_deref().unwrap_or("production");
    let service = q.service.as_deref().filter(|s| !s.is_empty());
    Ok(Json(
        compute_periods(&state, &access.project.id, env, service, from, to, step).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadTimeQuery {
    /// Deployed from (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; now by default.
    pub to: Option<String>,
    pub service: Option<String>,
}

/// Lead time for changes in its stages: coding (first commit to pull
/// request), review (opened to merged) and deploy (merged to production),
/// per service, from the pull requests Git hosts reported.
#[utoipa::path(get, path = "/api/v1/projects/{project}/improvement/dora/lead-time", tag = "improvement",
    params(("project" = String, Path, description = "Project slug"), LeadTimeQuery),
    responses((status = 200, description = "The stages", body = LeadTimeView)))]
pub async fn lead_time(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<LeadTimeQuery>,
) -> ApiResult<Json<LeadTimeView>> {
    let (from, to) = dora_range(q.from.as_deref(), q.to.as_deref(), 30, state.now_ms())?;
    let service = q.service.as_deref().filter(|s| !s.is_empty());
    Ok(Json(
        report::lead_time(&state, &access.project.id, service, from, to).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionQuery {
    /// Incidents started from (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; now by default.
    pub to: Option<String>,
    /// How long after a deployment an incident counts as its failure, in
    /// hours (24 by default).
    pub window_hours: Option<i64>,
}

/// Incidents without a linked deployment that started within the window
/// after a production deployment, with the deployment to link: the change
/// failure rate counts only linked ones.
#[utoipa::path(get, path = "/api/v1/projects/{project}/improvement/dora/suggestions", tag = "improvement",
    params(("project" = String, Path, description = "Project slug"), SuggestionQuery),
    responses((status = 200, description = "Suggested links, newest incident first", body = [LinkSuggestion])))]
pub async fn dora_suggestions(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<SuggestionQuery>,
) -> ApiResult<Json<Vec<LinkSuggestion>>> {
    let hours = q.window_hours.unwrap_or(24);
    if !(1..=24 * 14).contains(&hours) {
        return Err(ApiError::unprocessable("window_hours must be 1 to 336"));
    }
    let window = hours * 3_600_000;
    let (from, to) = dora_range(q.from.as_deref(), q.to.as_deref(), 30, state.now_ms())?;
    let pid = &access.project.id;
    let incidents = state
        .db
        .incidents(pid, false, Some(from), Some(to), 1000)
        .await?;
    let deployments = state
        .db
        .deployments_between(pid, "production", from - window, to)
        .await?;
    let changes: Vec<Change> = deployments
        .iter()
        .map(|d| Change {
            service: d.service.clone(),
            at: d.deployed_at,
        })
        .collect();
    let mut out = Vec::new();
    for i in incidents {
        let links = state.db.incident_links(&i.id).await?;
        if links.iter().any(|l| l.kind == "deployment") {
            continue;
        }
        let services = state.db.incident_services(&i.id).await?;
        let Some(best) = suspects(&changes, i.created_at, window, &services)
            .into_iter()
            .next()
        else {
            continue;
        };
        let Some(d) = deployments.get(best.index) else {
            continue;
        };
        out.push(LinkSuggestion {
            incident: i.number,
            title: i.title,
            started_at: format_ms(i.created_at),
            deployment: d.id.clone(),
            service: d.service.clone(),
            version: d.version.clone(),
            deployed_at: format_ms(d.deployed_at),
            after_secs: best.before / 1000,
            same_service: best.same_service,
        });
    }
    Ok(Json(out))
}

// ------------------------------------------------------------ weekly reports

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WeekQuery {
    /// Any day of the week (date or RFC 3339); the report covers Monday
    /// 00:00 UTC to the next Monday. The last complete week by default.
    pub week: Option<String>,
}

/// The Monday starting the week that holds `week`, or the last complete week.
fn week_of(week: Option<&str>, now: i64) -> ApiResult<i64> {
    let start = match week.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => report::week_start_of(parse_when("week", w)?),
        None => report::last_complete_week(now),
    };
    report::check_week(start, now)?;
    Ok(start)
}

/// A project's weekly report, computed now and not kept: DORA, SLO
/// budgets, slow routes, feedback, ticket SLAs, action items and security
/// SLA breaches. A week still running is reported so far.
#[utoipa::path(get, path = "/api/v1/projects/{project}/improvement/reports/weekly", tag = "improvement",
    params(("project" = String, Path, description = "Project slug"), WeekQuery),
    responses((status = 200, description = "The week's report", body = WeeklyReport)))]
pub async fn weekly_report(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<WeekQuery>,
) -> ApiResult<Json<WeeklyReport>> {
    let week = week_of(q.week.as_deref(), state.now_ms())?;
    Ok(Json(
        report::generate(&state, &access.project.id, week).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyBody {
    /// Any day of the week; the last complete week by default.
    pub week: Option<String>,
    /// Send the report to the project's recipients too.
    #[serde(default)]
    pub deliver: bool,
}

/// Generates a week's report and keeps it in the history, replacing the
/// week's earlier one; with `deliver`, also sends it to the recipients.
/// Every field is optional: `{}` keeps the last complete week's report.
#[utoipa::path(post, path = "/api/v1/projects/{project}/improvement/reports/weekly", tag = "improvement",
    params(("project" = String, Path, description = "Project slug")),
    request_body = WeeklyBody,
    responses((status = 201, description = "Kept, the week's first", body = SavedReportView),
        (status = 200, description = "Kept, replacing the week's earlier report", body = SavedReportView)))]
pub async fn save_weekly_report(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<WeeklyBody>,
) -> ApiResult<(StatusCode, Json<SavedReportView>)> {
    let week = week_of(body.week.as_deref(), state.now_ms())?;
    let r = report::generate(&state, &access.project.id, week).await?;
    let now = state.now_ms();
    let stored = report::store(
        &state,
        &access.project.id,
        week,
        &r,
        body.deliver,
        Some(&access.actor()),
        now,
    )
    .await?;
    let status = if stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(SavedReportView {
            created: stored.created,
            deliveries: stored.deliveries,
            report: r,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Weeks to list, 1 to 520; 52 by default.
    pub limit: Option<i64>,
}

/// The kept weekly reports, newest week first, each with its report, so
/// that weeks can be compared.
#[utoipa::path(get, path = "/api/v1/projects/{project}/improvement/reports", tag = "improvement",
    params(("project" = String, Path, description = "Project slug"), HistoryQuery),
    responses((status = 200, description = "Kept reports", body = [StoredReportView])))]
pub async fn list_reports(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<StoredReportView>>> {
    let limit = q.limit.unwrap_or(52);
    if !(1..=520).contains(&limit) {
        return Err(ApiError::unprocessable("`limit` must be 1 to 520"));
    }
    let rows = state.db.reports(&access.project.id, limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        // Bodies are the server's own JSON; one that does not read back is
        // a fault here, not the caller's.
        let report = serde_json::from_str(&r.body).map_err(ApiError::internal)?;
        out.push(StoredReportView {
            week: report::format_day(r.week_start),
            stored_at: format_ms(r.created_at),
            report,
        });
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientQuery {
    /// email or webhook.
    pub channel: String,
    pub target: String,
}

/// Checks a recipient: a known channel and a target that suits it.
fn recipient(channel: &str, target: &str) -> ApiResult<RecipientBody> {
    let target = target.trim();
    let target = match channel.trim() {
        "email" => liveops_core::Email::parse(target)
            .map_err(|_| ApiError::unprocessable(format!("`{target}` is not an e-mail address")))?
            .as_str()
            .to_owned(),
        "webhook" => {
            let u = url::Url::parse(target)
                .map_err(|e| ApiError::unprocessable(format!("`{target}` is not a URL: {e}")))?;
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(ApiError::unprocessable(
                    "a webhook must be an http or https URL",
                ));
            }
            if target.len() > 2000 {
                return Err(ApiError::unprocessable(
                    "a webhook URL takes up to 2000 characters",
                ));
            }
            u.to_string()
        }
        other => {
            return Err(ApiError::unprocessable(format!(
                "channel `{other}` is not one of: email, webhook"
            )));
        }
    };
    Ok(RecipientBody {
        channel: channel.trim().to_owned(),
        target,
    })
}

/// Who receives the project's weekly report.
#[utoipa::path(get, path = "/api/v1/projects/{project}/improvement/reports/recipients", tag = "improvement",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Recipients", body = [RecipientBody])))]
pub async fn list_report_recipients(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<RecipientBody>>> {
    Ok(Json(
        state
            .db
            .recipients(&access.project.id)
            .await?
            .into_iter()
            .map(|(channel, target)| RecipientBody {
                target: state.sealer.shown(&target),
                channel,
            })
            .collect(),
    ))
}

/// Adds a recipient of the weekly report (adding one twice changes nothing).
#[utoipa::path(post, path = "/api/v1/projects/{project}/improvement/reports/recipients", tag = "improvement",
    params(("project" = String, Path, description = "Project slug")),
    request_body = RecipientBody,
    responses((status = 201, description = "The recipient", body = RecipientBody)))]
pub async fn add_report_recipient(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<RecipientBody>,
) -> ApiResult<(StatusCode, Json<RecipientBody>)> {
    let r = recipient(&body.channel, &body.target)?;
    if r.channel == "webhook" {
        super::support::check_url(&state, &r.target).await?;
    }
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let now = w.now();
    store::add_recipient(
        w.conn(),
        &access.project.id,
        &r.channel,
        &stored_target(&state, &r),
        now,
    )
    .await?;
    let shown = RecipientBody {
        channel: r.channel.clone(),
        target: crate::sealed::redact(&r.target),
    };
    w.commit(Audit::new("report.recipient.add", recipient_name(&shown)))
        .await?;
    Ok((StatusCode::CREATED, Json(shown)))
}

/// Removes a recipient of the weekly report, named in the query string.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/improvement/reports/recipients", tag = "improvement",
    params(("project" = String, Path, description = "Project slug"), RecipientQuery),
    responses((status = 204, description = "Removed")))]
pub async fn remove_report_recipient(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiQuery(q): ApiQuery<RecipientQuery>,
) -> ApiResult<StatusCode> {
    let r = recipient(&q.channel, &q.target)?;
    let shown = RecipientBody {
        channel: r.channel.clone(),
        target: crate::sealed::redact(&r.target),
    };
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    if !store::remove_recipient(
        w.conn(),
        &access.project.id,
        &r.channel,
        &stored_target(&state, &r),
    )
    .await?
    {
        return Err(ApiError::not_found(format!(
            "{} {} does not receive the weekly report",
            shown.channel, shown.target
        )));
    }
    w.commit(Audit::new(
        "report.recipient.remove",
        recipient_name(&shown),
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Webhook URLs are stored sealed (equal URLs seal equal, so lookups
/// still match); e-mail addresses as they are.
fn stored_target(state: &AppState, r: &RecipientBody) -> String {
    if r.channel == "webhook" {
        state.sealer.seal(&r.target)
    } else {
        r.target.clone()
    }
}

fn recipient_name(r: &RecipientBody) -> String {
    format!("{}:{}", r.channel, r.target)
}
