//! The revenue contract: revenue per interval, MRR with its movements, the
//! base currency and revenue property, and the dated currency rates, as the
//! API shows and takes them.

use liveops_core::analytics::Interval;
use liveops_core::analytics::revenue::{MrrMonth, RevenueReport};
use liveops_store::analytics::{RateRow, RevenueSettings};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::analytics::revenue::{MrrReport, RateInput, day_ms};
use crate::state::format_ms;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevenueParams {
    /// hour, day (default), week or month.
    pub interval: Option<String>,
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; the end of today by default.
    pub to: Option<String>,
    /// Only what the persons of this cohort (its id or name) paid.
    pub in_cohort: Option<String>,
    /// `cohort` to compare named cohorts (the only breakdown here).
    pub breakdown_type: Option<String>,
    /// With `breakdown_type=cohort`: cohorts (ids or names) separated by
    /// commas, each one's revenue in `breakdown`.
    pub breakdown: Option<String>,
}

/// Revenue in one interval, in the base currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevenuePointView {
    pub start: String,
    pub revenue: f64,
    /// Revenue events.
    pub orders: u64,
    /// Distinct persons who paid.
    pub payers: u64,
}

/// Payments left out: no rate for their currency on or before their day.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnconvertedView {
    pub currency: String,
    pub payments: u64,
}

/// Revenue over a range. A revenue event carries the revenue property
/// (`$revenue` by default) or Segment's `revenue`, or is an `Order
/// Completed` with a `total`; its `currency` (or `$currency`) converts at
/// the latest rate dated on or before its day.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevenueView {
    pub base_currency: String,
    pub interval: String,
    pub from: String,
    pub to: String,
    pub revenue: f64,
    pub orders: u64,
    pub payers: u64,
    /// Revenue per paying person, when anyone paid.
    pub per_payer: Option<f64>,
    pub points: Vec<RevenuePointView>,
    pub unconverted: Vec<UnconvertedView>,
    /// With a cohort breakdown: what each cohort's persons paid (within
    /// `in_cohort`, if set), in the order asked.
    #[serde(default)]
    pub breakdown: Vec<RevenueLineView>,
}

/// One cohort's revenue over the range.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevenueLineView {
    /// The cohort's name.
    pub value: String,
    pub revenue: f64,
    pub orders: u64,
    pub payers: u64,
    pub per_payer: Option<f64>,
    pub points: Vec<RevenuePointView>,
}

fn points(r: &RevenueReport) -> Vec<RevenuePointView> {
    r.points
        .iter()
        .map(|p| RevenuePointView {
            start: format_ms(p.start_ms),
            revenue: p.revenue,
            orders: p.orders,
            payers: p.payers,
        })
        .collect()
}

impl RevenueLineView {
    pub fn new(value: String, r: &RevenueReport) -> RevenueLineView {
        RevenueLineView {
            value,
            revenue: r.revenue,
            orders: r.orders,
            payers: r.payers,
            per_payer: (r.payers > 0).then(|| r.revenue / r.payers as f64),
            points: points(r),
        }
    }
}

impl RevenueView {
    pub fn new(interval: Interval, from_ms: i64, to_ms: i64, r: RevenueReport) -> RevenueView {
        RevenueView {
            points: points(&r),
            base_currency: r.base.to_string(),
            interval: interval.as_str().into(),
            from: format_ms(from_ms),
            to: format_ms(to_ms),
            per_payer: (r.payers > 0).then(|| r.revenue / r.payers as f64),
            revenue: r.revenue,
            orders: r.orders,
            payers: r.payers,
            unconverted: r
                .unconverted
                .into_iter()
                .map(|(currency, payments)| UnconvertedView { currency, payments })
                .collect(),
            breakdown: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MrrParams {
    /// How many months (12 by default, at most 120).
    pub months: Option<usize>,
    /// A date in the last month shown; this month by default.
    pub to: Option<String>,
}

/// One month of MRR, as ChartMogul defines it. Movements are the changes
/// of each customer's MRR in the month; contraction and churn are
/// negative, so `mrr` is last month's plus `net_new`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MrrMonthView {
    /// `YYYY-MM`.
    pub month: String,
    /// MRR at the month's end.
    pub mrr: f64,
    pub net_new: f64,
    pub new: f64,
    pub expansion: f64,
    pub contraction: f64,
    pub churn: f64,
    pub reactivation: f64,
    /// Customers with MRR at the month's end.
    pub customers: u64,
    pub new_customers: u64,
    pub churned_customers: u64,
    pub reactivated_customers: u64,
    /// MRR per customer.
    pub arpu: Option<f64>,
    /// Customers churned in the month ÷ customers at its start.
    pub customer_churn_rate: Option<f64>,
    /// (churn + contraction) ÷ MRR at the month's start.
    pub gross_mrr_churn_rate: Option<f64>,
    /// (churn + contraction − expansion − reactivation) ÷ MRR at its start.
    pub net_mrr_churn_rate: Option<f64>,
    /// ARPU ÷ customer churn rate.
    pub ltv: Option<f64>,
}

impl MrrMonthView {
    fn new(m: &MrrMonth) -> MrrMonthView {
        MrrMonthView {
            month: format_ms(m.start_ms).chars().take(7).collect(),
            mrr: m.mrr,
            net_new: m.new + m.expansion + m.contraction + m.churn + m.reactivation,
            new: m.new,
            expansion: m.expansion,
            contraction: m.contraction,
            churn: m.churn,
            reactivation: m.reactivation,
            customers: m.customers,
            new_customers: m.new_customers,
            churned_customers: m.churned_customers,
            reactivated_customers: m.reactivated_customers,
            arpu: m.arpu,
            customer_churn_rate: m.customer_churn_rate,
            gross_mrr_churn_rate: m.gross_mrr_churn_rate,
            net_mrr_churn_rate: m.net_mrr_churn_rate,
            ltv: m.ltv,
        }
    }
}

/// Subscription events left out, and why: `no_amount`, `bad_interval` or
/// `unconverted`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SkippedView {
    pub reason: String,
    pub events: u64,
}

/// MRR per month from `subscription_started`, `subscription_changed` and
/// `subscription_cancelled` events (`amount`, `currency`, `interval`,
/// `interval_count`, `subscription_id`), in the base currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MrrView {
    pub base_currency: String,
    pub months: Vec<MrrMonthView>,
    pub skipped: Vec<SkippedView>,
}

impl MrrView {
    pub fn new(r: &MrrReport) -> MrrView {
        MrrView {
            base_currency: r.base.to_string(),
            months: r.months.iter().map(MrrMonthView::new).collect(),
            skipped: r
                .skipped
                .iter()
                .map(|(why, n)| SkippedView {
                    reason: why.as_str().into(),
                    events: *n,
                })
                .collect(),
        }
    }
}

/// What revenue is counted in, and read from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevenueSettingsView {
    /// A three-letter code (EUR by default). It cannot change while rates
    /// are kept.
    pub base_currency: String,
    /// The event property revenue is read from first (`$revenue` by
    /// default); Segment's `revenue` is read after it.
    pub revenue_property: String,
}

impl From<RevenueSettings> for RevenueSettingsView {
    fn from(s: RevenueSettings) -> Self {
        RevenueSettingsView {
            base_currency: s.base_currency,
            revenue_property: s.revenue_property,
        }
    }
}

/// One unit of `currency` is worth `rate` of the base currency from `date`
/// on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RateView {
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub rate: f64,
}

impl From<&RateRow> for RateView {
    fn from(r: &RateRow) -> Self {
        RateView {
            currency: r.currency.clone(),
            date: format_ms(day_ms(r.day)).chars().take(10).collect(),
            rate: r.rate,
        }
    }
}

impl From<&RateView> for RateInput {
    fn from(r: &RateView) -> Self {
        RateInput {
            currency: r.currency.clone(),
            date: r.date.clone(),
            rate: r.rate,
        }
    }
}

/// Rates to add; one for a currency and date already kept replaces it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RatesBody {
    pub rates: Vec<RateView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RatesImported {
    pub imported: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RatesDeleteParams {
    /// Only this currency's rates; all of them when absent.
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RatesDeleted {
    pub deleted: u64,
}
