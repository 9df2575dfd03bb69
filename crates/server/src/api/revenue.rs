//! Revenue over the API: revenue per interval, MRR with its movements, the
//! revenue settings and the currency rates.

use axum::Json;
use axum::extract::State;

use crate::analytics::revenue::{self as service, RateInput};
use crate::auth::{Access, need};
use crate::contract::revenue::*;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::timerange::parse_when;

/// Revenue per interval in the base currency, with orders, payers and the
/// payments that could not be converted.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/revenue", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), RevenueParams),
    responses((status = 200, description = "Revenue", body = RevenueView)))]
pub async fn revenue(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<RevenueParams>,
) -> ApiResult<Json<RevenueView>> {
    Ok(Json(
        crate::contract::answers::revenue(&state, &access.project.id, &p).await?,
    ))
}

/// MRR per month with its movements (new, expansion, contraction, churn,
/// reactivation), customers, ARPU, churn rates and LTV.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/revenue/mrr", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), MrrParams),
    responses((status = 200, description = "MRR", body = MrrView)))]
pub async fn mrr(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<MrrParams>,
) -> ApiResult<Json<MrrView>> {
    let to_ms = match p.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => parse_when("to", t)?,
        None => state.now_ms(),
    };
    let months = p.months.unwrap_or(12);
    let r = service::mrr(&state, &access.project.id, to_ms, months).await?;
    Ok(Json(MrrView::new(&r)))
}

/// The base currency and the revenue property.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/revenue/settings", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Revenue settings", body = RevenueSettingsView)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<RevenueSettingsView>> {
    Ok(Json(
        state.db.revenue_settings(&access.project.id).await?.into(),
    ))
}

/// Sets the base currency (not while rates are kept) and the revenue
/// property.
#[utoipa::path(put, path = "/api/v1/projects/{project}/analytics/revenue/settings", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = RevenueSettingsView,
    responses((status = 200, description = "Revenue settings", body = RevenueSettingsView),
        (status = 409, description = "Rates are kept against the old base currency")))]
pub async fn put_settings(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<RevenueSettingsView>,
) -> ApiResult<Json<RevenueSettingsView>> {
    let s = service::put_settings(
        &state,
        &access.actor(),
        &access.project.id,
        &body.base_currency,
        &body.revenue_property,
    )
    .await?;
    Ok(Json(s.into()))
}

/// The currency rates, by currency and date.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/revenue/rates", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Rates", body = Vec<RateView>)))]
pub async fn rates(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<RateView>>> {
    let rows = state.db.currency_rates(&access.project.id).await?;
    Ok(Json(rows.iter().map(RateView::from).collect()))
}

/// Imports rates, all or none.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/revenue/rates", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = RatesBody,
    responses((status = 200, description = "Imported", body = RatesImported)))]
pub async fn import_rates(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<RatesBody>,
) -> ApiResult<Json<RatesImported>> {
    let input: Vec<RateInput> = body.rates.iter().map(RateInput::from).collect();
    let imported =
        service::import_rates(&state, &access.actor(), &access.project.id, &input).await?;
    Ok(Json(RatesImported { imported }))
}

/// Deletes one currency's rates, or all of them.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/revenue/rates", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"), RatesDeleteParams),
    responses((status = 200, description = "Deleted", body = RatesDeleted),
        (status = 404, description = "There were no such rates")))]
pub async fn delete_rates(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiQuery(p): ApiQuery<RatesDeleteParams>,
) -> ApiResult<Json<RatesDeleted>> {
    let deleted = service::delete_rates(
        &state,
        &access.actor(),
        &access.project.id,
        p.currency.as_deref(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(Json(RatesDeleted { deleted }))
}
