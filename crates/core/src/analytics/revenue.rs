//! Revenue and subscriptions: money read from events, converted through a
//! dated rate table the user keeps, and monthly recurring revenue (MRR)
//! with its movements, as ChartMogul defines them.
//!
//! Definitions:
//! - a **revenue event** carries the project's revenue property (PostHog's
//!   `$revenue` unless configured otherwise) or Segment's `revenue`; an
//!   `Order Completed` without `revenue` counts its `total`. Its currency is
//!   its `currency` (Segment) or `$currency` property, else the project's
//!   base currency;
//! - an amount in another currency converts at the **latest rate dated on or
//!   before the event's day**. Without one it is left out and counted as
//!   unconverted, never guessed;
//! - **subscription events** are `subscription_started`,
//!   `subscription_changed` and `subscription_cancelled` (Segment-style
//!   `Subscription Started`, ... too), with `subscription_id` (else one
//!   subscription per customer), `amount`, `currency`, `interval` (`day`,
//!   `week`, `month`, `quarter` or `year`) and `interval_count`;
//! - a subscription's **MRR** is its amount normalised to a month: a year is
//!   twelve months, a quarter three, a week 52/12 of a month's worth, a day
//!   365/12. It converts at the rate of the day the event happened. A
//!   customer's MRR is the sum of their subscriptions';
//! - every change of a customer's MRR is one **movement**, in the month it
//!   happens: **new** (from nothing, the first time), **reactivation** (from
//!   nothing, after an earlier churn), **expansion** (up), **contraction**
//!   (down, not to nothing), **churn** (to nothing). Contraction and churn
//!   are negative, so a month's MRR is the last month's plus its movements;
//! - per month: **customers** are those with MRR at its end, **ARPU** is MRR
//!   over customers, **customer churn rate** is the customers churned in the
//!   month over the customers at its start, **gross MRR churn rate** is
//!   churn and contraction over the MRR at its start, **net MRR churn rate**
//!   subtracts expansion and reactivation from that, and **LTV** is ARPU
//!   over the customer churn rate. A rate over nothing has no value.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Interval;
use super::math::number;

const DAY_MS: i64 = 86_400_000;

/// What is wrong with a currency or a rate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RevenueError {
    #[error("{0:?} is not a currency code: use three letters, as ISO 4217 does (EUR, USD)")]
    Currency(String),
    #[error("the rate of {currency} on {day} must be a positive number, not {rate}")]
    Rate {
        currency: String,
        day: String,
        rate: f64,
    },
    #[error("{0} is the base currency: its rate is 1 by definition")]
    BaseRate(String),
}

/// A three-letter currency code, in capitals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(String);

impl Currency {
    /// Three ASCII letters, in any case.
    pub fn parse(text: &str) -> Result<Currency, RevenueError> {
        let t = text.trim();
        if t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Currency(t.to_ascii_uppercase()))
        } else {
            Err(RevenueError::Currency(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One unit of `currency` is worth `rate` units of the base currency from
/// `day` (days since 1970-01-01, UTC) until the next rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub currency: Currency,
    pub day: i64,
    pub rate: f64,
}

impl Rate {
    /// A rate that is a positive, finite number, for a currency other than
    /// the base.
    pub fn new(
        base: &Currency,
        currency: Currency,
        day: i64,
        rate: f64,
    ) -> Result<Rate, RevenueError> {
        if &currency == base {
            return Err(RevenueError::BaseRate(currency.0));
        }
        if !(rate.is_finite() && rate > 0.0) {
            let (y, m, d) = super::civil_from_days(day);
            return Err(RevenueError::Rate {
                currency: currency.0,
                day: format!("{y:04}-{m:02}-{d:02}"),
                rate,
            });
        }
        Ok(Rate {
            currency,
            day,
            rate,
        })
    }
}

/// The rates a project converts with, into its base currency.
#[derive(Debug, Clone)]
pub struct RateTable {
    base: Currency,
    /// Per currency, (day, rate) by day.
    rates: HashMap<Currency, Vec<(i64, f64)>>,
}

impl RateTable {
    pub fn new(base: Currency, rates: impl IntoIterator<Item = Rate>) -> RateTable {
        let mut by: HashMap<Currency, Vec<(i64, f64)>> = HashMap::new();
        for r in rates {
            by.entry(r.currency).or_default().push((r.day, r.rate));
        }
        for v in by.values_mut() {
            v.sort_by_key(|(day, _)| *day);
            // The last rate given for a day wins.
            v.reverse();
            v.dedup_by_key(|(day, _)| *day);
            v.reverse();
        }
        RateTable { base, rates: by }
    }

    pub fn base(&self) -> &Currency {
        &self.base
    }

    /// `amount` of `currency` at `at_ms` in the base currency: at the
    /// latest rate dated on or before that day, or `None` without one.
    pub fn convert(&self, amount: f64, currency: &Currency, at_ms: i64) -> Option<f64> {
        if currency == &self.base {
            return Some(amount);
        }
        let day = at_ms.div_euclid(DAY_MS);
        let rates = self.rates.get(currency)?;
        let i = rates.partition_point(|(d, _)| *d <= day);
        let (_, rate) = rates.get(i.checked_sub(1)?)?;
        Some(amount * rate)
    }
}

/// The event Segment's e-commerce spec names for a purchase.
pub const ORDER_COMPLETED: &str = "Order Completed";

/// PostHog's revenue property, the default.
pub const DEFAULT_REVENUE_PROPERTY: &str = "$revenue";

/// Where a project's revenue is read from: its revenue property, then
/// Segment's `revenue`, then an `Order Completed`'s `total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueSource {
    property: String,
}

impl Default for RevenueSource {
    fn default() -> Self {
        RevenueSource::new(DEFAULT_REVENUE_PROPERTY)
    }
}

impl RevenueSource {
    /// Reads the amount from `property` first (blank means the default).
    pub fn new(property: &str) -> RevenueSource {
        let p = property.trim();
        RevenueSource {
            property: if p.is_empty() {
                DEFAULT_REVENUE_PROPERTY.to_owned()
            } else {
                p.to_owned()
            },
        }
    }

    pub fn property(&self) -> &str {
        &self.property
    }

    /// Events that carry one of these properties are revenue events.
    pub fn amount_properties(&self) -> Vec<String> {
        let mut keys = vec![self.property.clone()];
        if self.property != "revenue" {
            keys.push("revenue".into());
        }
        keys
    }

    /// The properties [`RevenueSource::read`] takes, in its order.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = self.amount_properties();
        keys.extend(["total", "currency", "$currency"].map(String::from));
        keys
    }

    /// The amount and currency of an event, from the texts of
    /// [`RevenueSource::keys`]; `None` when it has no amount. A currency
    /// that is not a code leaves the amount unconverted (`Err`).
    pub fn read(
        &self,
        event: &str,
        values: &[Option<String>],
    ) -> Option<(f64, Result<Option<Currency>, String>)> {
        // The revenue property, and Segment's `revenue` unless it is that.
        let amounts = if self.property == "revenue" { 1 } else { 2 };
        let value = |i: usize| values.get(i).and_then(|v| v.as_deref());
        let amount = (0..amounts)
            .find_map(|i| value(i).and_then(number))
            .or_else(|| {
                (event == ORDER_COMPLETED)
                    .then(|| value(amounts).and_then(number))
                    .flatten()
            })?;
        let currency = match value(amounts + 1).or(value(amounts + 2)) {
            None => Ok(None),
            Some(c) => Currency::parse(c).map(Some).map_err(|_| c.to_owned()),
        };
        Some((amount, currency))
    }
}

/// A revenue event as read: who paid, when, how much, in what currency
/// (`None` for the base; `Err` for text that is no currency code).
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub who: String,
    pub at_ms: i64,
    pub amount: f64,
    pub currency: Result<Option<Currency>, String>,
}

/// Revenue in one interval, in the base currency.
#[derive(Debug, Clone, PartialEq)]
pub struct RevenuePoint {
    pub start_ms: i64,
    pub revenue: f64,
    pub orders: u64,
    pub payers: u64,
}

/// Revenue over a range: per interval and in all, with the payments left
/// out for want of a rate, by currency.
#[derive(Debug, Clone, PartialEq)]
pub struct RevenueReport {
    pub base: Currency,
    pub points: Vec<RevenuePoint>,
    pub revenue: f64,
    pub orders: u64,
    pub payers: u64,
    /// Payments without a rate on or before their day, by currency as
    /// sent.
    pub unconverted: BTreeMap<String, u64>,
}

/// Revenue per `interval` over `[from_ms, to_ms)`; payments outside are
/// ignored.
pub fn revenue(
    payments: &[Payment],
    rates: &RateTable,
    interval: Interval,
    from_ms: i64,
    to_ms: i64,
) -> RevenueReport {
    let (first, last) = (interval.bucket(from_ms), interval.bucket(to_ms - 1));
    let mut points: Vec<(f64, u64, HashSet<&str>)> = Vec::new();
    let len = usize::try_from(last - first + 1).unwrap_or(0);
    points.resize_with(len, Default::default);
    let mut payers = HashSet::new();
    let mut unconverted = BTreeMap::new();
    for p in payments {
        if p.at_ms < from_ms || p.at_ms >= to_ms {
            continue;
        }
        let converted = match &p.currency {
            Ok(None) => Some(p.amount),
            Ok(Some(c)) => rates.convert(p.amount, c, p.at_ms),
            Err(_) => None,
        };
        let Some(amount) = converted else {
            let name = match &p.currency {
                Ok(Some(c)) => c.to_string(),
                Ok(None) => rates.base().to_string(),
                Err(text) => text.clone(),
            };
            *unconverted.entry(name).or_insert(0) += 1;
            continue;
        };
        let Some(point) = usize::try_from(interval.bucket(p.at_ms) - first)
            .ok()
            .and_then(|i| points.get_mut(i))
        else {
            continue;
        };
        point.0 += amount;
        point.1 += 1;
        point.2.insert(&p.who);
        payers.insert(p.who.as_str());
    }
    let points: Vec<RevenuePoint> = points
        .into_iter()
        .enumerate()
        .map(|(i, (revenue, orders, who))| RevenuePoint {
            start_ms: interval.bucket_start(first + i as i64),
            revenue,
            orders,
            payers: who.len() as u64,
        })
        .collect();
    RevenueReport {
        base: rates.base().clone(),
        revenue: points.iter().map(|p| p.revenue).sum(),
        orders: points.iter().map(|p| p.orders).sum(),
        payers: payers.len() as u64,
        points,
        unconverted,
    }
}

/// What a subscription event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Started,
    Changed,
    Cancelled,
}

impl Change {
    /// The event names for each change, snake case and Segment's title
    /// case, both spellings of cancelled.
    pub const EVENTS: [(&'static str, Change); 8] = [
        ("subscription_started", Change::Started),
        ("Subscription Started", Change::Started),
        ("subscription_changed", Change::Changed),
        ("Subscription Changed", Change::Changed),
        ("subscription_cancelled", Change::Cancelled),
        ("Subscription Cancelled", Change::Cancelled),
        ("subscription_canceled", Change::Cancelled),
        ("Subscription Canceled", Change::Cancelled),
    ];

    pub fn of_event(name: &str) -> Option<Change> {
        Change::EVENTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    pub fn event_names() -> Vec<String> {
        Change::EVENTS
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .collect()
    }
}

/// The properties a subscription event is read for, in the order of
/// [`Subscription::read`].
pub const SUBSCRIPTION_PROPERTIES: [&str; 5] = [
    "subscription_id",
    "amount",
    "currency",
    "interval",
    "interval_count",
];

/// A subscription event as read: whose, which subscription, when, and its
/// amount per month in the base currency from then on (0 once cancelled).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub customer: String,
    pub subscription: String,
    pub at_ms: i64,
    pub change: Change,
    pub monthly: f64,
}

/// Why a subscription event was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skipped {
    /// Started or changed without an amount that is a number ≥ 0.
    NoAmount,
    /// An interval other than day, week, month, quarter or year (or a
    /// count that is no whole number ≥ 1).
    BadInterval,
    /// No rate for its currency on or before its day, or no currency code.
    Unconverted,
}

impl Skipped {
    pub fn as_str(self) -> &'static str {
        match self {
            Skipped::NoAmount => "no_amount",
            Skipped::BadInterval => "bad_interval",
            Skipped::Unconverted => "unconverted",
        }
    }
}

/// Months' worth of one interval.
fn months_per(interval: &str, count: f64) -> Option<f64> {
    let per = match interval.trim().to_ascii_lowercase().as_str() {
        "day" | "daily" => 12.0 / 365.0,
        "week" | "weekly" => 12.0 / 52.0,
        "month" | "monthly" => 1.0,
        "quarter" | "quarterly" => 3.0,
        "year" | "yearly" | "annual" | "annually" => 12.0,
        _ => return None,
    };
    Some(per * count)
}

impl Subscription {
    /// A subscription event from its name, customer, time and the texts of
    /// [`SUBSCRIPTION_PROPERTIES`]; `None` for other events.
    pub fn read(
        event: &str,
        customer: String,
        at_ms: i64,
        values: &[Option<String>],
        rates: &RateTable,
    ) -> Option<Result<Subscription, Skipped>> {
        let change = Change::of_event(event)?;
        let value = |i: usize| values.get(i).and_then(|v| v.as_deref());
        let subscription = value(0)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("")
            .to_owned();
        let mut s = Subscription {
            customer,
            subscription,
            at_ms,
            change,
            monthly: 0.0,
        };
        if change == Change::Cancelled {
            return Some(Ok(s));
        }
        let Some(amount) = value(1).and_then(number).filter(|a| *a >= 0.0) else {
            return Some(Err(Skipped::NoAmount));
        };
        let count = match value(4) {
            None => Some(1.0),
            Some(t) => number(t).filter(|c| *c >= 1.0 && c.fract() == 0.0),
        };
        let Some(months) = count.and_then(|c| months_per(value(3).unwrap_or("month"), c)) else {
            return Some(Err(Skipped::BadInterval));
        };
        let converted = match value(2) {
            None => Some(amount),
            Some(c) => Currency::parse(c)
                .ok()
                .and_then(|c| rates.convert(amount, &c, at_ms)),
        };
        let Some(amount) = converted else {
            return Some(Err(Skipped::Unconverted));
        };
        s.monthly = amount / months;
        Some(Ok(s))
    }
}

/// One month of MRR: its movements, and where it ends.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MrrMonth {
    pub start_ms: i64,
    /// MRR at the month's end.
    pub mrr: f64,
    pub new: f64,
    pub expansion: f64,
    /// Negative, or 0.
    pub contraction: f64,
    /// Negative, or 0.
    pub churn: f64,
    pub reactivation: f64,
    /// Customers with MRR at the month's end.
    pub customers: u64,
    pub new_customers: u64,
    pub churned_customers: u64,
    pub reactivated_customers: u64,
    pub arpu: Option<f64>,
    pub customer_churn_rate: Option<f64>,
    pub gross_mrr_churn_rate: Option<f64>,
    pub net_mrr_churn_rate: Option<f64>,
    pub ltv: Option<f64>,
}

/// `months` calendar months of MRR from the month holding `from_ms`. Events
/// before it set where the first month starts; later ones are ignored.
/// Events apply in time order, ties in the order given.
pub fn mrr(subscriptions: &[Subscription], from_ms: i64, months: usize) -> Vec<MrrMonth> {
    let first = Interval::Month.bucket(from_ms);
    let end_ms = Interval::Month.bucket_start(first + months as i64);
    let mut order: Vec<&Subscription> = subscriptions.iter().filter(|s| s.at_ms < end_ms).collect();
    order.sort_by_key(|s| s.at_ms);

    let mut out: Vec<MrrMonth> = (0..months)
        .map(|i| MrrMonth {
            start_ms: Interval::Month.bucket_start(first + i as i64),
            ..MrrMonth::default()
        })
        .collect();
    // Per customer: each subscription's MRR (a customer has few, so a
    // list), their total, whether they ever had MRR. Customers are
    // numbered once, so each event hashes one name.
    #[derive(Default)]
    struct Customer<'a> {
        subs: Vec<(&'a str, f64)>,
        total: f64,
        ever: bool,
    }
    let mut numbers: HashMap<&str, usize> = HashMap::new();
    let mut customers: Vec<Customer> = Vec::new();
    let mut opening = (0.0, 0u64);
    let mut month = 0usize;
    let mut running = (0.0f64, 0u64);
    let mut started = false;
    for s in order {
        let b = Interval::Month.bucket(s.at_ms);
        if b >= first && !started {
            opening = running;
            started = true;
        }
        let next = customers.len();
        let n = *numbers.entry(&s.customer).or_insert(next);
        if n == next {
            customers.push(Customer::default());
        }
        let Some(c) = customers.get_mut(n) else {
            continue;
        };
        let before = c.total;
        let at = c.subs.iter().position(|(id, _)| *id == s.subscription);
        match (s.change, at) {
            (Change::Cancelled, Some(i)) => {
                c.subs.swap_remove(i);
            }
            (Change::Cancelled, None) => {}
            (Change::Started | Change::Changed, Some(i)) => c.subs[i].1 = s.monthly,
            (Change::Started | Change::Changed, None) => c.subs.push((&s.subscription, s.monthly)),
        }
        let after: f64 = c.subs.iter().map(|(_, v)| v).sum();
        c.total = after;
        let had = c.ever;
        if after > 0.0 {
            c.ever = true;
        }
        let delta = after - before;
        running.0 += delta;
        match (before > 0.0, after > 0.0) {
            (false, true) => running.1 += 1,
            (true, false) => running.1 -= 1,
            _ => {}
        }
        if b < first {
            continue;
        }
        month = usize::try_from(b - first).unwrap_or(month);
        let Some(m) = out.get_mut(month) else {
            continue;
        };
        match (before > 0.0, after > 0.0) {
            (false, true) if had => {
                m.reactivation += delta;
                m.reactivated_customers += 1;
            }
            (false, true) => {
                m.new += delta;
                m.new_customers += 1;
            }
            (true, false) => {
                m.churn += delta;
                m.churned_customers += 1;
            }
            (true, true) if delta > 0.0 => m.expansion += delta,
            (true, true) if delta < 0.0 => m.contraction += delta,
            _ => {}
        }
    }
    if !started {
        opening = running;
    }
    let (mut mrr, mut count) = opening;
    for m in &mut out {
        let (start_mrr, start_count) = (mrr, count);
        mrr += m.new + m.expansion + m.contraction + m.churn + m.reactivation;
        count = count + m.new_customers + m.reactivated_customers - m.churned_customers;
        // Sums of many deltas drift: a month with no customers has none.
        m.mrr = if count == 0 { 0.0 } else { mrr };
        m.customers = count;
        m.arpu = (count > 0).then(|| m.mrr / count as f64);
        m.customer_churn_rate =
            (start_count > 0).then(|| m.churned_customers as f64 / start_count as f64);
        let lost = -(m.churn + m.contraction);
        m.gross_mrr_churn_rate = (start_mrr > 0.0).then(|| lost / start_mrr);
        m.net_mrr_churn_rate =
            (start_mrr > 0.0).then(|| (lost - m.expansion - m.reactivation) / start_mrr);
        m.ltv = match (m.arpu, m.customer_churn_rate) {
            (Some(a), Some(r)) if r > 0.0 => Some(a / r),
            _ => None,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::days_from_civil;

    fn day(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d)
    }

    fn ms(y: i64, m: u32, d: u32) -> i64 {
        day(y, m, d) * DAY_MS + 3_600_000
    }

    fn cur(c: &str) -> Currency {
        Currency::parse(c).expect("currency")
    }

    fn table() -> RateTable {
        let eur = cur("EUR");
        RateTable::new(
            eur.clone(),
            [
                Rate::new(&eur, cur("usd"), day(2026, 1, 1), 0.9).expect("rate"),
                Rate::new(&eur, cur("USD"), day(2026, 2, 1), 0.8).expect("rate"),
                Rate::new(&eur, cur("GBP"), day(2026, 1, 15), 1.2).expect("rate"),
            ],
        )
    }

    #[test]
    fn currencies_and_rates_are_checked() {
        assert_eq!(cur(" usd ").as_str(), "USD");
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("U$D").is_err());
        let eur = cur("EUR");
        assert!(Rate::new(&eur, cur("USD"), 0, 0.0).is_err());
        assert!(Rate::new(&eur, cur("USD"), 0, f64::NAN).is_err());
        assert!(matches!(
            Rate::new(&eur, cur("eur"), 0, 1.0),
            Err(RevenueError::BaseRate(_))
        ));
    }

    #[test]
    fn conversion_takes_the_latest_rate_on_or_before_the_day() {
        let t = table();
        assert_eq!(t.convert(10.0, &cur("EUR"), ms(2020, 1, 1)), Some(10.0));
        assert_eq!(t.convert(10.0, &cur("USD"), ms(2025, 12, 31)), None);
        assert_eq!(t.convert(10.0, &cur("USD"), ms(2026, 1, 1)), Some(9.0));
        assert_eq!(t.convert(10.0, &cur("USD"), ms(2026, 1, 31)), Some(9.0));
        assert_eq!(t.convert(10.0, &cur("USD"), ms(2026, 2, 1)), Some(8.0));
        assert_eq!(t.convert(10.0, &cur("JPY"), ms(2026, 2, 1)), None);
    }

    #[test]
    fn revenue_is_read_from_posthog_and_segment_properties() {
        let src = RevenueSource::default();
        assert_eq!(
            src.keys(),
            ["$revenue", "revenue", "total", "currency", "$currency"]
        );
        let v = |xs: [Option<&str>; 5]| xs.map(|x| x.map(String::from)).to_vec();
        let read = |event: &str, xs| src.read(event, &v(xs));
        assert_eq!(
            read("purchase", [Some("12.5"), None, None, None, None]),
            Some((12.5, Ok(None)))
        );
        assert_eq!(
            read("x", [None, Some("3"), None, Some("usd"), None]),
            Some((3.0, Ok(Some(cur("USD")))))
        );
        assert_eq!(
            read(ORDER_COMPLETED, [None, None, Some("40"), None, Some("GBP")]),
            Some((40.0, Ok(Some(cur("GBP")))))
        );
        // `total` counts only for Order Completed.
        assert_eq!(read("x", [None, None, Some("40"), None, None]), None);
        assert_eq!(
            read("x", [Some("1"), None, None, Some("dollars"), None]),
            Some((1.0, Err("dollars".into())))
        );
        let custom = RevenueSource::new("amount");
        assert_eq!(custom.keys()[..2], ["amount", "revenue"]);
        assert_eq!(RevenueSource::new(" ").property(), "$revenue");
    }

    #[test]
    fn revenue_sums_in_the_base_currency_and_counts_what_it_cannot_convert() {
        let t = table();
        let pay = |who: &str, at_ms, amount, currency: Option<&str>| Payment {
            who: who.into(),
            at_ms,
            amount,
            currency: Ok(currency.map(cur)),
        };
        let payments = vec![
            pay("a", ms(2026, 1, 10), 100.0, None),
            pay("a", ms(2026, 1, 10), 10.0, Some("USD")),
            pay("b", ms(2026, 1, 11), 10.0, Some("GBP")),
            pay("b", ms(2026, 1, 20), 10.0, Some("GBP")),
            pay("c", ms(2026, 2, 2), 10.0, Some("USD")),
            Payment {
                who: "d".into(),
                at_ms: ms(2026, 1, 12),
                amount: 5.0,
                currency: Err("dollars".into()),
            },
            pay("e", ms(2026, 3, 1), 1000.0, None),
        ];
        let r = revenue(
            &payments,
            &t,
            Interval::Month,
            ms(2026, 1, 1) - 3_600_000,
            day(2026, 3, 1) * DAY_MS,
        );
        assert_eq!(r.points.len(), 2);
        assert_eq!(r.points[0].revenue, 100.0 + 9.0 + 12.0);
        assert_eq!((r.points[0].orders, r.points[0].payers), (3, 2));
        assert_eq!(r.points[1].revenue, 8.0);
        assert_eq!((r.revenue, r.orders, r.payers), (129.0, 4, 3));
        assert_eq!(
            r.unconverted,
            BTreeMap::from([("GBP".to_string(), 1), ("dollars".to_string(), 1)])
        );
    }

    fn sub(customer: &str, id: &str, at_ms: i64, change: Change, monthly: f64) -> Subscription {
        Subscription {
            customer: customer.into(),
            subscription: id.into(),
            at_ms,
            change,
            monthly,
        }
    }

    #[test]
    fn subscription_events_normalise_to_a_month_in_the_base_currency() {
        let t = table();
        let v = |xs: [Option<&str>; 5]| xs.map(|x| x.map(String::from)).to_vec();
        let read =
            |event: &str, xs| Subscription::read(event, "c".into(), ms(2026, 2, 3), &v(xs), &t);
        assert_eq!(read("purchase", [None; 5]), None);
        let yearly = read(
            "subscription_started",
            [Some("s1"), Some("120"), None, Some("year"), None],
        );
        assert_eq!(
            yearly,
            Some(Ok(sub("c", "s1", ms(2026, 2, 3), Change::Started, 10.0)))
        );
        let usd = read(
            "Subscription Changed",
            [None, Some("50"), Some("USD"), None, None],
        );
        assert_eq!(
            usd,
            Some(Ok(sub("c", "", ms(2026, 2, 3), Change::Changed, 40.0)))
        );
        let biannual = read(
            "subscription_started",
            [None, Some("60"), None, Some("month"), Some("6")],
        );
        assert_eq!(biannual.and_then(Result::ok).map(|s| s.monthly), Some(10.0));
        let weekly = read(
            "subscription_started",
            [None, Some("12"), None, Some("week"), None],
        );
        assert_eq!(weekly.and_then(Result::ok).map(|s| s.monthly), Some(52.0));
        assert_eq!(
            read("subscription_started", [None, None, None, None, None]),
            Some(Err(Skipped::NoAmount))
        );
        assert_eq!(
            read("subscription_started", [None, Some("-1"), None, None, None]),
            Some(Err(Skipped::NoAmount))
        );
        assert_eq!(
            read(
                "subscription_started",
                [None, Some("1"), None, Some("fortnight"), None]
            ),
            Some(Err(Skipped::BadInterval))
        );
        assert_eq!(
            read(
                "subscription_started",
                [None, Some("1"), None, None, Some("1.5")]
            ),
            Some(Err(Skipped::BadInterval))
        );
        assert_eq!(
            read(
                "subscription_started",
                [None, Some("1"), Some("JPY"), None, None]
            ),
            Some(Err(Skipped::Unconverted))
        );
        assert_eq!(
            read(
                "subscription_canceled",
                [Some("s1"), None, None, None, None]
            ),
            Some(Ok(sub("c", "s1", ms(2026, 2, 3), Change::Cancelled, 0.0)))
        );
    }

    #[test]
    fn mrr_movements_over_three_months() {
        use Change::*;
        let subs = vec![
            // Before the range: a and b pay 100 and 50.
            sub("a", "1", ms(2025, 12, 5), Started, 100.0),
            sub("b", "1", ms(2025, 12, 6), Started, 50.0),
            sub("x", "1", ms(2025, 11, 6), Started, 10.0),
            sub("x", "1", ms(2025, 11, 20), Cancelled, 0.0),
            // January: c new (30); a expands with a second subscription (20);
            // b contracts to 40.
            sub("c", "1", ms(2026, 1, 3), Started, 30.0),
            sub("a", "2", ms(2026, 1, 4), Started, 20.0),
            sub("b", "1", ms(2026, 1, 9), Changed, 40.0),
            // February: b churns; x (churned in November) comes back at 15;
            // d starts and cancels within the month.
            sub("b", "1", ms(2026, 2, 1), Cancelled, 0.0),
            sub("x", "1", ms(2026, 2, 2), Started, 15.0),
            sub("d", "1", ms(2026, 2, 10), Started, 5.0),
            sub("d", "1", ms(2026, 2, 11), Cancelled, 0.0),
            // March: a drops its first subscription (contraction to 20).
            sub("a", "1", ms(2026, 3, 31), Cancelled, 0.0),
            // April: outside.
            sub("e", "1", ms(2026, 4, 1), Started, 999.0),
        ];
        let m = mrr(&subs, ms(2026, 1, 20), 3);
        assert_eq!(m.len(), 3);
        let jan = &m[0];
        assert_eq!(jan.start_ms, day(2026, 1, 1) * DAY_MS);
        assert_eq!(
            (
                jan.new,
                jan.expansion,
                jan.contraction,
                jan.churn,
                jan.reactivation
            ),
            (30.0, 20.0, -10.0, 0.0, 0.0)
        );
        assert_eq!((jan.mrr, jan.customers, jan.new_customers), (190.0, 3, 1));
        assert_eq!(jan.customer_churn_rate, Some(0.0));
        assert_eq!(jan.gross_mrr_churn_rate, Some(10.0 / 150.0));
        assert_eq!(jan.net_mrr_churn_rate, Some((10.0 - 20.0) / 150.0));
        assert_eq!(jan.ltv, None);
        let feb = &m[1];
        assert_eq!(
            (
                feb.new,
                feb.expansion,
                feb.contraction,
                feb.churn,
                feb.reactivation
            ),
            (5.0, 0.0, 0.0, -45.0, 15.0)
        );
        assert_eq!((feb.mrr, feb.customers), (165.0, 3));
        assert_eq!(
            (
                feb.new_customers,
                feb.churned_customers,
                feb.reactivated_customers
            ),
            (1, 2, 1)
        );
        assert_eq!(feb.customer_churn_rate, Some(2.0 / 3.0));
        assert_eq!(feb.arpu, Some(55.0));
        assert_eq!(feb.ltv, Some(55.0 / (2.0 / 3.0)));
        let mar = &m[2];
        assert_eq!((mar.contraction, mar.mrr, mar.customers), (-100.0, 65.0, 3));
        assert_eq!(mar.gross_mrr_churn_rate, Some(100.0 / 165.0));
    }

    #[test]
    fn mrr_without_events_is_empty_and_has_no_rates() {
        let m = mrr(&[], 0, 2);
        assert_eq!(m.len(), 2);
        assert_eq!((m[1].mrr, m[1].customers, m[1].arpu), (0.0, 0, None));
        assert_eq!(m[1].customer_churn_rate, None);
    }
}
