//! The scaling API: capacity forecasts per service and metric, with their
//! crossing dates, replica advice and backtests, and the capacities they are
//! read against.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_core::TimeSpan;
use liveops_core::scaling::retention::RetentionError;
use liveops_store::scaling::Capacity;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Access, need};
use crate::contract::scaling::{
    CapacityBody, CapacityForecast, CapacitySettingView, RetentionBody, RetentionView,
    ServiceCapacity, Step,
};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::scaling::{self as plan, Ask};
use crate::state::{AppState, format_ms};
use crate::work::{Audit, Work};

/// The most replicas a capacity may name.
const MAX_REPLICAS: i64 = 10_000;

/// Every service with load data: its metrics, their latest values, 30, 60
/// and 90-day forecasts, configured capacities and crossing dates.
#[utoipa::path(get, path = "/api/v1/projects/{project}/scaling/capacity", tag = "scaling",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Services and their metrics", body = Vec<ServiceCapacity>)))]
pub async fn list_capacity(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<ServiceCapacity>>> {
    Ok(Json(plan::summary(&state, &access.project.id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastParams {
    /// `requests` (the request rate per second, the default) or an OTLP
    /// metric name such as `process.cpu.utilization`.
    pub metric: Option<String>,
    /// How much history to fit, like `56d` (the default) or `12w`: 8 to 730 days.
    pub history: Option<String>,
    /// `day` or `hour`; by default daily with a weekly season when there
    /// are 14 days of history, else hourly with a daily season.
    pub step: Option<String>,
}

impl ForecastParams {
    /// The forecast asked for.
    pub fn ask(&self) -> ApiResult<Ask> {
        let history_days = match self.history.as_deref().map(str::trim) {
            None | Some("") => plan::DEFAULT_HISTORY_DAYS,
            Some(h) => {
                let span = match h.parse::<i64>() {
                    Ok(days) => TimeSpan::from_seconds(days.saturating_mul(86_400)),
                    Err(_) => h.parse::<TimeSpan>().ok(),
                };
                match span {
                    Some(s) if s.seconds() % 86_400 == 0 => s.seconds() / 86_400,
                    _ => {
                        return Err(ApiError::unprocessable(format!(
                            "`history` is a whole number of days or weeks, like `56d` or `8w`, not `{h}`"
                        )));
                    }
                }
            }
        };
        let step = match self.step.as_deref().map(str::trim) {
            None | Some("") | Some("auto") => None,
            Some(s) => Some(Step::parse(s).ok_or_else(|| {
                ApiError::unprocessable(format!("`step` is `day` or `hour`, not `{s}`"))
            })?),
        };
        Ok(Ask { history_days, step })
    }
}

/// One metric of a service: its history, the model fitted, the forecast
/// 90 days ahead with 80 % and 95 % intervals, the values at 30, 60 and 90
/// days, the dates it reaches its capacity, the replicas the HPA formula
/// calls for, and how the model did on the last stretch of history.
#[utoipa::path(get, path = "/api/v1/projects/{project}/scaling/capacity/{service}", tag = "scaling",
    params(("project" = String, Path, description = "Project slug"),
           ("service" = String, Path, description = "Service name"), ForecastParams),
    responses((status = 200, description = "The forecast", body = CapacityForecast)))]
pub async fn get_forecast(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, service)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<ForecastParams>,
) -> ApiResult<Json<CapacityForecast>> {
    let ask = p.ask()?;
    let metric = p
        .metric
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .unwrap_or(plan::REQUESTS);
    Ok(Json(
        plan::forecast(&state, &access.project.id, &service, metric, ask).await?,
    ))
}

/// The utilisation scaled for when none is given.
pub const DEFAULT_TARGET: f64 = 0.7;

/// Checks a capacity setting.
pub fn checked(body: &CapacityBody) -> ApiResult<f64> {
    if !(body.capacity.is_finite() && body.capacity > 0.0) {
        return Err(ApiError::unprocessable(
            "`capacity` must be a number above 0",
        ));
    }
    if !(1..=MAX_REPLICAS).contains(&body.replicas) {
        return Err(ApiError::unprocessable(format!(
            "`replicas` must be 1 to {MAX_REPLICAS}"
        )));
    }
    let target = body.target_utilisation.unwrap_or(DEFAULT_TARGET);
    if !(target > 0.0 && target <= 1.0) {
        return Err(ApiError::unprocessable(
            "`target_utilisation` is a share above 0 and at most 1, like 0.7",
        ));
    }
    Ok(target)
}

/// Sets what a service can take on one metric: the capacity of its current
/// replicas and the utilisation to scale for. Forecasts read against it.
#[utoipa::path(put, path = "/api/v1/projects/{project}/scaling/capacity/{service}/{metric}", tag = "scaling",
    params(("project" = String, Path, description = "Project slug"),
           ("service" = String, Path, description = "Service name"),
           ("metric" = String, Path, description = "`requests` or an OTLP metric name")),
    request_body = CapacityBody,
    responses((status = 200, description = "The capacity", body = CapacitySettingView)))]
pub async fn put_capacity(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, service, metric)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<CapacityBody>,
) -> ApiResult<Json<CapacitySettingView>> {
    plan::check_name("service", &service)?;
    plan::check_name("metric", &metric)?;
    let target = checked(&body)?;
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let now = w.now();
    let c = Capacity {
        service: service.clone(),
        metric: metric.clone(),
        capacity: body.capacity,
        replicas: body.replicas,
        target_utilisation: target,
        updated_at: now,
    };
    liveops_store::scaling::put_capacity(w.conn(), &access.project.id, &c).await?;
    w.commit(
        Audit::new("scaling.capacity.set", format!("{service}/{metric}")).detail(
            serde_json::json!({
                "capacity": c.capacity,
                "replicas": c.replicas,
                "target_utilisation": c.target_utilisation,
            }),
        ),
    )
    .await?;
    Ok(Json(CapacitySettingView {
        per_replica: c.capacity / c.replicas as f64,
        service: c.service,
        metric: c.metric,
        capacity: c.capacity,
        replicas: c.replicas,
        target_utilisation: c.target_utilisation,
        updated_at: format_ms(c.updated_at),
    }))
}

/// Removes a service metric's capacity.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/scaling/capacity/{service}/{metric}", tag = "scaling",
    params(("project" = String, Path, description = "Project slug"),
           ("service" = String, Path, description = "Service name"),
           ("metric" = String, Path, description = "`requests` or an OTLP metric name")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_capacity(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, service, metric)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    if !liveops_store::scaling::delete_capacity(w.conn(), &access.project.id, &service, &metric)
        .await?
    {
        return Err(ApiError::not_found(format!(
            "no capacity is set for `{metric}` of {service}"
        )));
    }
    w.commit(Audit::new(
        "scaling.capacity.delete",
        format!("{service}/{metric}"),
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How long the project keeps each kind of telemetry: events, spans and
/// metrics, with the defaults for kinds it has not set.
#[utoipa::path(get, path = "/api/v1/projects/{project}/scaling/retention", tag = "scaling",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The retention of each kind", body = RetentionView)))]
pub async fn get_retention(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<RetentionView>> {
    Ok(Json(
        plan::retention::settings(&state, &access.project.id).await?,
    ))
}

/// Sets how long the project keeps one kind of telemetry; what is older
/// goes at the next housekeeping round, a whole day at a time.
#[utoipa::path(put, path = "/api/v1/projects/{project}/scaling/retention/{kind}", tag = "scaling",
    params(("project" = String, Path, description = "Project slug"),
           ("kind" = String, Path, description = "`events`, `spans` or `metrics`")),
    request_body = RetentionBody,
    responses((status = 200, description = "The retention of each kind", body = RetentionView)))]
pub async fn put_retention(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, kind)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RetentionBody>,
) -> ApiResult<Json<RetentionView>> {
    Ok(Json(
        plan::retention::set(
            &state,
            &access.actor(),
            &access.project.id,
            kind.parse()
                .map_err(|e: RetentionError| ApiError::unprocessable(e.to_string()))?,
            body.days,
        )
        .await?,
    ))
}
