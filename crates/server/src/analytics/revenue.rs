//! Revenue and subscriptions: the project's base currency, revenue
//! property and dated currency rates (kept in the state store), revenue per
//! interval and MRR with its movements (computed by the core over the
//! events the telemetry store gives).

use std::collections::BTreeMap;

use liveops_core::analytics::Interval;
use liveops_core::analytics::revenue::{
    self as core_revenue, Change, Currency, MrrMonth, Payment, Rate, RateTable, RevenueReport,
    RevenueSource, SUBSCRIPTION_PROPERTIES, Skipped, Subscription,
};
use liveops_store::analytics::{self as store, RateRow, RevenueSettings};
use liveops_store::audit::Actor;
use liveops_telemetry::analytics::RowsQuery;

use super::cohorts::CohortChoice;
use super::{AnalyticsError, Result, telemetry};
use crate::state::AppState;
use crate::work::{Audit, Work};

const DAY_MS: i64 = 86_400_000;

/// The most months an MRR report covers.
pub const MAX_MONTHS: usize = 120;

/// The most rates one import may hold.
pub const MAX_RATES: usize = 100_000;

/// A project's revenue settings and rates, ready to convert with.
#[derive(Debug, Clone)]
pub struct Money {
    pub source: RevenueSource,
    pub rates: RateTable,
    pub rate_rows: Vec<RateRow>,
}

/// The settings and rates of a project. Rows that no longer parse (none
/// should) are left out rather than failing every report.
pub async fn money(state: &AppState, project_id: &str) -> Result<Money> {
    let settings = state.db.revenue_settings(project_id).await?;
    let rate_rows = state.db.currency_rates(project_id).await?;
    let base = Currency::parse(&settings.base_currency)
        .map_err(|e| AnalyticsError::internal(e.to_string()))?;
    let rates = RateTable::new(
        base.clone(),
        rate_rows.iter().filter_map(|r| {
            let c = Currency::parse(&r.currency).ok()?;
            Rate::new(&base, c, r.day, r.rate).ok()
        }),
    );
    Ok(Money {
        source: RevenueSource::new(&settings.revenue_property),
        rates,
        rate_rows,
    })
}

/// Sets the base currency and the revenue property. The base cannot change
/// while rates (which are against it) are kept.
pub async fn put_settings(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    base_currency: &str,
    revenue_property: &str,
) -> Result<RevenueSettings> {
    let base =
        Currency::parse(base_currency).map_err(|e| AnalyticsError::invalid(e.to_string()))?;
    let property = revenue_property.trim();
    if property.chars().count() > 200 {
        return Err(AnalyticsError::invalid(
            "revenue_property: at most 200 characters",
        ));
    }
    let settings = RevenueSettings {
        base_currency: base.to_string(),
        revenue_property: RevenueSource::new(property).property().to_owned(),
    };
    let before = state.db.revenue_settings(project_id).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if before.base_currency != settings.base_currency
        && store::count_rates(w.conn(), project_id).await? > 0
    {
        return Err(AnalyticsError::conflict(format!(
            "the rates are against {}: delete them before changing the base currency to {}",
            before.base_currency, settings.base_currency
        )));
    }
    let now = w.now();
    store::put_revenue_settings(w.conn(), project_id, &settings, now).await?;
    w.commit(
        Audit::new("analytics.revenue.settings", &settings.base_currency).detail(
            serde_json::json!({
                "base_currency": settings.base_currency,
                "revenue_property": settings.revenue_property,
            }),
        ),
    )
    .await?;
    Ok(settings)
}

/// One rate as given: a currency code, a date (`YYYY-MM-DD`) and how much
/// of the base currency one unit is worth.
#[derive(Debug, Clone, PartialEq)]
pub struct RateInput {
    pub currency: String,
    pub date: String,
    pub rate: f64,
}

/// A date (`YYYY-MM-DD`) as a day number.
pub fn day_of(date: &str) -> Option<i64> {
    let d: jiff::civil::Date = date.trim().parse().ok()?;
    let ms = d
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp()
        .as_millisecond();
    Some(ms.div_euclid(DAY_MS))
}

/// Adds or replaces rates, all or none: the first bad one is named and
/// nothing is kept.
pub async fn import_rates(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    input: &[RateInput],
) -> Result<usize> {
    if input.is_empty() {
        return Err(AnalyticsError::invalid("rates: give at least one rate"));
    }
    if input.len() > MAX_RATES {
        return Err(AnalyticsError::invalid(format!(
            "rates: at most {MAX_RATES} in one import"
        )));
    }
    let settings = state.db.revenue_settings(project_id).await?;
    let base = Currency::parse(&settings.base_currency)
        .map_err(|e| AnalyticsError::internal(e.to_string()))?;
    let mut rows = Vec::with_capacity(input.len());
    for (i, r) in input.iter().enumerate() {
        let bad = |m: String| AnalyticsError::invalid(format!("rates[{i}]: {m}"));
        let currency = Currency::parse(&r.currency).map_err(|e| bad(e.to_string()))?;
        let day = day_of(&r.date)
            .ok_or_else(|| bad(format!("{:?} is not a date: use YYYY-MM-DD", r.date)))?;
        let rate = Rate::new(&base, currency, day, r.rate).map_err(|e| bad(e.to_string()))?;
        rows.push(RateRow {
            currency: rate.currency.to_string(),
            day: rate.day,
            rate: rate.rate,
        });
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    store::put_rates(w.conn(), project_id, &rows).await?;
    let currencies: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.currency.as_str()).collect();
    w.commit(
        Audit::new("analytics.revenue.rates", &settings.base_currency)
            .detail(serde_json::json!({ "imported": rows.len(), "currencies": currencies })),
    )
    .await?;
    Ok(rows.len())
}

/// Deletes one currency's rates, or all; how many went. Nothing to delete
/// is a not-found, and leaves no audit entry.
pub async fn delete_rates(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    currency: Option<&str>,
) -> Result<u64> {
    let currency = currency
        .map(Currency::parse)
        .transpose()
        .map_err(|e| AnalyticsError::invalid(e.to_string()))?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let gone = store::delete_rates(
        w.conn(),
        project_id,
        currency.as_ref().map(Currency::as_str),
    )
    .await?;
    if gone == 0 {
        return Err(AnalyticsError::not_found(match &currency {
            Some(c) => format!("there are no {c} rates"),
            None => "there are no rates".to_owned(),
        }));
    }
    w.commit(
        Audit::new(
            "analytics.revenue.rates.delete",
            currency.as_ref().map_or("all", Currency::as_str),
        )
        .detail(serde_json::json!({ "deleted": gone })),
    )
    .await?;
    Ok(gone)
}

/// The payments of `[from_ms, to_ms)`, each with the distinct id it came
/// with, and the project's money settings to sum them with.
pub async fn payments(
    state: &AppState,
    project_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Vec<(String, Payment)>, Money)> {
    let money = money(state, project_id).await?;
    let q = RowsQuery {
        from_ms,
        to_ms,
        names: vec![core_revenue::ORDER_COMPLETED.to_owned()],
        carrying: money.source.amount_properties(),
        keys: money.source.keys(),
    };
    let id = project_id.to_owned();
    let source = money.source.clone();
    let payments = telemetry(state, move |a| {
        let rows = a.property_rows(&id, &q)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let (amount, currency) = source.read(&r.event, &r.values)?;
                Some((
                    r.distinct_id,
                    Payment {
                        who: r.who,
                        at_ms: r.at_ms,
                        amount,
                        currency,
                    },
                ))
            })
            .collect())
    })
    .await?;
    Ok((payments, money))
}

/// Revenue per `interval` over `[from_ms, to_ms)`, in the base currency:
/// what the persons of the choice's filter cohort paid (everyone without
/// one), and what each breakdown cohort's persons within it paid, named.
pub async fn revenue(
    state: &AppState,
    project_id: &str,
    interval: Interval,
    (from_ms, to_ms): (i64, i64),
    choice: &CohortChoice,
) -> Result<(RevenueReport, Vec<(String, RevenueReport)>)> {
    let resolved = super::cohorts::resolve_choice(state, project_id, choice).await?;
    let (payments, money) = payments(state, project_id, from_ms, to_ms).await?;
    let payments: Vec<Payment> = payments
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| resolved.filter.as_ref().is_none_or(|m| m.contains(&p.who)))
        .collect();
    let sum = |ps: &[Payment]| core_revenue::revenue(ps, &money.rates, interval, from_ms, to_ms);
    let each = resolved
        .breakdown
        .iter()
        .map(|(name, m)| {
            let theirs: Vec<Payment> = payments
                .iter()
                .filter(|p| m.contains(&p.who))
                .cloned()
                .collect();
            (name.clone(), sum(&theirs))
        })
        .collect();
    Ok((sum(&payments), each))
}

/// MRR with its movements, per month, and the subscription events left
/// out and why.
#[derive(Debug, Clone)]
pub struct MrrReport {
    pub base: Currency,
    pub months: Vec<MrrMonth>,
    pub skipped: BTreeMap<Skipped, u64>,
}

/// `months` months of MRR ending with the month that holds `to_ms`.
pub async fn mrr(
    state: &AppState,
    project_id: &str,
    to_ms: i64,
    months: usize,
) -> Result<MrrReport> {
    if months == 0 || months > MAX_MONTHS {
        return Err(AnalyticsError::invalid(format!(
            "months: from 1 to {MAX_MONTHS}"
        )));
    }
    let last = Interval::Month.bucket(to_ms);
    let first_ms = Interval::Month.bucket_start(last + 1 - months as i64);
    let end_ms = Interval::Month.bucket_start(last + 1);
    let money = money(state, project_id).await?;
    let q = RowsQuery {
        // Everything before the range sets where it starts.
        from_ms: i64::MIN,
        to_ms: end_ms,
        names: Change::event_names(),
        carrying: Vec::new(),
        keys: SUBSCRIPTION_PROPERTIES.map(String::from).to_vec(),
    };
    let id = project_id.to_owned();
    telemetry(state, move |a| {
        let rows = a.property_rows(&id, &q)?;
        let mut skipped = BTreeMap::new();
        let mut subs = Vec::with_capacity(rows.len());
        for r in rows {
            match Subscription::read(&r.event, r.who, r.at_ms, &r.values, &money.rates) {
                Some(Ok(s)) => subs.push(s),
                Some(Err(why)) => *skipped.entry(why).or_insert(0) += 1,
                None => {}
            }
        }
        Ok(MrrReport {
            base: money.rates.base().clone(),
            months: core_revenue::mrr(&subs, first_ms, months),
            skipped,
        })
    })
    .await
}

/// The first millisecond of a day number, for showing rates.
pub fn day_ms(day: i64) -> i64 {
    day * DAY_MS
}
