//! The scaling page: per service and metric, the history and its forecast
//! charted with their prediction intervals and the capacity, the model, the
//! values 30, 60 and 90 days ahead, when the capacity is reached, the
//! replicas to plan for, and the backtest's error.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use liveops_core::Area;
use maud::{Markup, html};

use super::charts::{self, Band, significant};
use super::prologue::load;
use super::{Frame, UiSession, api_error, page};
use crate::contract::scaling::{CapacityForecast, Step};
use crate::scaling::{Ask, forecasts};
use crate::state::AppState;

/// A value with its unit, to three significant digits.
fn amount(v: f64, unit: &str) -> String {
    let n = significant(v);
    match unit {
        "" | "1" => n,
        u => format!("{n} {u}"),
    }
}

/// The date part of an RFC 3339 time.
fn day(at: &str) -> &str {
    at.get(..10).unwrap_or(at)
}

fn replicas(r: Option<u32>) -> String {
    r.map_or_else(|| "–".into(), |r| r.to_string())
}

fn chart(f: &CapacityForecast) -> Markup {
    let history: Vec<(i64, f64)> = f.history.iter().map(|p| (p.at_ms, p.value)).collect();
    let bands: Vec<Band> = f
        .forecast
        .iter()
        .map(|b| Band {
            at_ms: b.at_ms,
            value: b.value,
            lo80: b.lo80,
            hi80: b.hi80,
            lo95: b.lo95,
            hi95: b.hi95,
        })
        .collect();
    let label = format!(
        "{} of {}: {} days of history and a 90-day forecast",
        f.metric, f.service, f.history_days
    );
    charts::forecast(
        &label,
        &history,
        &bands,
        f.capacity.as_ref().map(|c| c.capacity),
    )
}

fn metric_section(f: &CapacityForecast) -> Markup {
    let unit = f.unit.as_str();
    html! {
        article.forecast data-service=(f.service) data-metric=(f.metric) {
            h3 { code { (f.metric) } }
            p.meta {
                "Model: " strong.model { (f.model.description) } ". "
                (f.history_days) " days of history in " (if f.step == Step::Day { "daily" } else { "hourly" }) " steps"
                @if f.gaps_filled > 0 { ", " (f.gaps_filled) " empty buckets interpolated" }
                "; latest " (amount(f.latest, unit)) "."
            }
            (chart(f))
            table.horizons {
                thead { tr {
                    th { "Ahead" } th { "Forecast" } th { "80 % interval" } th { "95 % interval" }
                    @if f.capacity.is_some() { th { "Replicas for the peak" } th { "…for the 95 % bound" } }
                } }
                tbody {
                    @for h in &f.horizons {
                        tr {
                            td { (h.days) " days (" (day(&h.at)) ")" }
                            td { (amount(h.value, unit)) }
                            td { (amount(h.lo80, unit)) " – " (amount(h.hi80, unit)) }
                            td { (amount(h.lo95, unit)) " – " (amount(h.hi95, unit)) }
                            @if f.capacity.is_some() {
                                td { (replicas(h.replicas)) " (peak " (amount(h.peak, unit)) ")" }
                                td { (replicas(h.replicas_hi95)) " (peak " (amount(h.peak_hi95, unit)) ")" }
                            }
                        }
                    }
                }
            }
            @if let Some(c) = &f.capacity {
                p.capacity {
                    "Capacity " (amount(c.capacity, unit)) " over " (c.replicas) " replicas ("
                    (amount(c.per_replica, unit)) " each), scaled for "
                    (format!("{:.0}", c.target_utilisation * 100.0)) " % utilisation; now at "
                    (format!("{:.0}", c.utilisation * 100.0)) " %, for which the HPA wants "
                    (replicas(c.replicas_now)) " replicas. "
                    @match (&c.crossing, &c.earliest_crossing) {
                        (Some(at), Some(early)) => { "Forecast to reach the capacity on " strong.crossing { (day(at)) } " (at the earliest " (day(early)) "). " }
                        (None, Some(early)) => { "Not forecast to reach it within 90 days, though it could by " (day(early)) ". " }
                        _ => { "Not forecast to reach it within 90 days. " }
                    }
                    @if c.utilisation >= c.target_utilisation {
                        "Already above the target utilisation."
                    } @else if let Some(at) = &c.target_crossing {
                        "Scale before " (day(at)) ", when the forecast passes the target utilisation."
                    }
                }
            } @else {
                p.meta { "No capacity set: " code { "liveops capacity set " (f.service) " " (f.metric) " --capacity N --replicas R" } " adds crossing dates and replica advice." }
            }
            @if let Some(b) = &f.backtest {
                p.backtest {
                    "Backtest over the last " (b.holdout) " " (f.step.as_str()) "s (from " (day(&b.from)) "): "
                    "MAPE " (b.mape.map_or_else(|| "–".into(), |m| format!("{} %", significant(m)))) ", "
                    "MAE " (amount(b.mae, unit)) ", RMSE " (amount(b.rmse, unit)) "; "
                    (format!("{:.0}", b.coverage80 * 100.0)) " % inside the 80 % interval, "
                    (format!("{:.0}", b.coverage95 * 100.0)) " % inside the 95 %."
                }
            } @else {
                p.meta { "Too little history to hold some back for a backtest." }
            }
        }
    }
}

pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let all = match forecasts(&state, &project.id, Ask::default()).await {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Scaling);
    page(
        &format!("{} · {}", Area::Scaling.title(), project.name),
        Some(&frame),
        html! {
            h1 { (Area::Scaling.title()) }
            p.lede { (Area::Scaling.summary()) }
            @if all.is_empty() {
                div.empty data-area="scaling" {
                    p { strong { "No load history is recorded for this project, so there is nothing to forecast." } }
                    p { "Forecasts are drawn from request rates (send traces to " code { "/v1/traces" } ") and load metrics such as "
                        code { "process.cpu.utilization" } " (send them to " code { "/v1/metrics" } ") once they arrive. "
                        "At least 8 days are needed; set a capacity with " code { "liveops capacity set" } "." }
                }
            } @else {
                p.meta { "Forecasts look 90 days ahead with exponential smoothing (Holt-Winters: a weekly season in daily steps, or a daily one in hourly steps with under 14 days of history), with 80 % and 95 % prediction intervals. Replica advice follows the Kubernetes HPA formula, ceil(load ÷ (capacity per replica × target utilisation))." }
                @for (service, metrics) in &all {
                    section.service data-service=(service) {
                        h2 { (service) }
                        @for (metric, f) in metrics {
                            @match f {
                                Ok(f) => { (metric_section(f)) }
                                Err(e) => {
                                    article.forecast data-service=(service) data-metric=(metric) {
                                        h3 { code { (metric) } }
                                        p.notice { (e.to_string()) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}
