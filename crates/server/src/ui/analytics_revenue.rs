//! The revenue page: revenue per day over a range, MRR for twelve months
//! with its movements, and, for admins, the base currency, the revenue
//! property and the currency rates (imported as CSV text). The numbers come
//! from the same services the API answers with.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::analytics::Interval;
use liveops_core::{Area, Permission};
use maud::{Markup, html};
use serde::Deserialize;

use super::charts::lines;
use super::prologue::{load, permitted};
use super::{Frame, UiSession, api_error, csrf_field, error_page, page};
use crate::analytics::revenue::{self as service, RateInput};
use crate::contract::revenue::{MrrView, RateView};
use crate::state::{AppState, format_ms};
use crate::timerange::query_range;

#[derive(Debug, Default, Deserialize)]
pub struct RangeForm {
    from: Option<String>,
    to: Option<String>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

fn maybe(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "–".to_owned(), f)
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// The MRR table: one row per month.
fn mrr_table(m: &MrrView) -> Markup {
    html! {
        table.mrr {
            thead { tr {
                th { "Month" } th { "MRR" } th { "New" } th { "Expansion" } th { "Contraction" }
                th { "Churn" } th { "Reactivation" } th { "Customers" } th { "ARPU" }
                th { "Customer churn" } th { "MRR churn (gross)" } th { "LTV" }
            } }
            tbody { @for r in &m.months { tr {
                td { (r.month) } td.mrr-value { (money(r.mrr)) } td { (money(r.new)) }
                td { (money(r.expansion)) } td { (money(r.contraction)) } td { (money(r.churn)) }
                td { (money(r.reactivation)) } td { (r.customers) } td { (maybe(r.arpu, money)) }
                td { (maybe(r.customer_churn_rate, pct)) } td { (maybe(r.gross_mrr_churn_rate, pct)) }
                td { (maybe(r.ltv, money)) }
            } } }
        }
    }
}

pub async fn page_view(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(f): Query<RangeForm>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let admin = authorize(*role, None, Permission::Administer).is_ok();
    let now = state.now_ms();
    let (from, to) = match query_range(
        blank(&f.from),
        blank(&f.to),
        30,
        400,
        Some(Interval::Day),
        now,
    ) {
        Ok(r) => (r.from_ms(), r.to_ms()),
        Err(e) => return api_error(e),
    };
    let choice = crate::analytics::cohorts::CohortChoice::default();
    let r = match service::revenue(&state, &project.id, Interval::Day, (from, to), &choice).await {
        Ok((r, _)) => r,
        Err(e) => return api_error(e),
    };
    let m = match service::mrr(&state, &project.id, to - 1, 12).await {
        Ok(m) => MrrView::new(&m),
        Err(e) => return api_error(e),
    };
    let money_set = match service::money(&state, &project.id).await {
        Ok(m) => m,
        Err(e) => return api_error(e),
    };
    let rates: Vec<RateView> = money_set.rate_rows.iter().map(RateView::from).collect();
    let base_currency = r.base.to_string();
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let base = format!("/p/{}/analytics", project.slug);
    let days: Vec<String> = r
        .points
        .iter()
        .map(|p| format_ms(p.start_ms)[5..10].to_owned())
        .collect();
    let revenue_line = vec![(
        format!("revenue ({base_currency})"),
        r.points.iter().map(|p| p.revenue).collect::<Vec<f64>>(),
    )];
    let months: Vec<String> = m.months.iter().map(|x| x.month.clone()).collect();
    let mrr_line = vec![(
        format!("MRR ({base_currency})"),
        m.months.iter().map(|x| x.mrr).collect::<Vec<f64>>(),
    )];
    let body = html! {
        p { a href=(base) { "← Analytics" } }
        h1 { "Revenue" }
        form.inline method="get" {
            label { "From " input type="date" name="from" value=(format_ms(from)[..10]); }
            " " label { "to " input type="date" name="to" value=(format_ms(to)[..10]); }
            " " button type="submit" { "Show" }
        }
        p.lede {
            "Revenue is read from each event's " code { (money_set.source.property()) } " property, or Segment's "
            code { "revenue" } ", or an " code { "Order Completed" } "'s " code { "total" } ", in its "
            code { "currency" } " (else " (base_currency) "). Other currencies convert at the latest rate dated on or before the event's day."
        }
        dl.revenue-summary {
            dt { "Revenue" } dd #revenue-total { (money(r.revenue)) " " (base_currency) }
            dt { "Orders" } dd #revenue-orders { (r.orders) }
            dt { "Payers" } dd #revenue-payers { (r.payers) }
            dt { "Per payer" } dd { (maybe((r.payers > 0).then(|| r.revenue / r.payers as f64), money)) }
        }
        @for (currency, n) in &r.unconverted {
            p.warning.unconverted { (n) " payment(s) in " (currency) " are left out: there is no rate for them on or before their day." }
        }
        (lines(&days, &revenue_line))
        h2 { "Monthly recurring revenue" }
        p.lede {
            "From " code { "subscription_started" } ", " code { "subscription_changed" } " and " code { "subscription_cancelled" }
            " events with " code { "amount" } ", " code { "currency" } ", " code { "interval" } " and " code { "subscription_id" }
            ". Each change of a customer's MRR is new, expansion, contraction, churn or reactivation, as ChartMogul defines them."
        }
        @for sk in &m.skipped {
            p.warning { (sk.events) " subscription event(s) left out: " (sk.reason) }
        }
        (lines(&months, &mrr_line))
        (mrr_table(&m))
        h2 { "Currency" }
        p { "Base currency " strong #base-currency { (base_currency) } ", revenue property " code { (money_set.source.property()) } "." }
        @if rates.is_empty() {
            p.empty { "No rates: payments in other currencies are left out." }
        } @else {
            table.rates {
                thead { tr { th { "Currency" } th { "From" } th { "Rate" } } }
                tbody { @for x in &rates { tr { td { (x.currency) } td { (x.date) } td { (x.rate) } } } }
            }
        }
        @if admin {
            form.stack method="post" action=(format!("{base}/revenue/settings")) {
                (csrf_field(&s))
                label { "Base currency " input name="base_currency" value=(base_currency) size="4" required; }
                label { "Revenue property " input name="revenue_property" value=(money_set.source.property()); }
                button type="submit" { "Save" }
            }
            form.stack method="post" action=(format!("{base}/revenue/rates")) {
                (csrf_field(&s))
                label { "Rates, one " code { "currency,date,rate" } " per line"
                    textarea name="rates" rows="4" placeholder="USD,2026-01-01,0.92" {} }
                button type="submit" { "Import rates" }
            }
        }
    };
    page(&format!("Revenue · {}", project.name), Some(&frame), body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    base_currency: String,
    revenue_property: String,
}

pub async fn save_settings(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<SettingsForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may change the revenue settings."
    ));
    match service::put_settings(
        &state,
        &s.actor(),
        &project.id,
        &f.base_currency,
        &f.revenue_property,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/p/{slug}/analytics/revenue")).into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct RatesForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    rates: String,
}

pub async fn import_rates(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<RatesForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may import currency rates."
    ));
    let rates: Vec<RateInput> = match liveops_wire::rates::parse_rates_csv(&f.rates) {
        Ok(r) => r
            .into_iter()
            .map(|r| RateInput {
                currency: r.currency,
                date: r.date,
                rate: r.rate,
            })
            .collect(),
        Err(e) => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("The rates could not be read: {e}."),
            );
        }
    };
    match service::import_rates(&state, &s.actor(), &project.id, &rates).await {
        Ok(_) => Redirect::to(&format!("/p/{slug}/analytics/revenue")).into_response(),
        Err(e) => api_error(e),
    }
}
