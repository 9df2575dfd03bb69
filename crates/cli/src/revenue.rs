//! Revenue client commands (`liveops analytics revenue ...`): revenue per
//! interval, MRR with its movements, the revenue settings, and the
//! currency rates, imported from a CSV file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use liveops_server::contract::revenue::{
    MrrView, RateView, RatesBody, RatesDeleted, RatesImported, RevenueSettingsView, RevenueView,
};

use crate::cli::{Format, Global};
use crate::client::{Client, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum RevenueCommand {
    /// Revenue per interval in the base currency, with orders and payers.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// hour, day, week or month.
        #[arg(long, default_value = "day")]
        interval: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Only what this cohort's persons paid (its id or name).
        #[arg(long, value_name = "COHORT")]
        in_cohort: Option<String>,
        /// Compare what these cohorts paid (ids or names, separated by
        /// commas).
        #[arg(long, value_name = "COHORTS")]
        by_cohort: Option<String>,
    },
    /// MRR per month with its movements, customers, ARPU, churn and LTV.
    Mrr {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// How many months.
        #[arg(long, default_value_t = 12)]
        months: usize,
        /// A date in the last month shown; this month by default.
        #[arg(long)]
        to: Option<String>,
    },
    /// Show, or set, the base currency and the revenue property.
    Settings {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// A three-letter code such as EUR.
        #[arg(long)]
        base_currency: Option<String>,
        /// The property revenue is read from first ($revenue by default).
        #[arg(long)]
        property: Option<String>,
    },
    /// The currency rates.
    Rates {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Imports rates from a CSV file of `currency,date,rate` rows (a header
    /// row is allowed): one unit of the currency is worth `rate` of the
    /// base currency from that date on. All rows or none are kept.
    ImportRates {
        #[arg(long, value_name = "SLUG")]
        project: String,
        file: PathBuf,
    },
    /// Deletes one currency's rates, or all of them.
    DeleteRates {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long)]
        currency: Option<String>,
    },
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

fn maybe(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_owned(), f)
}

pub async fn run(g: &Global, cmd: RevenueCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/analytics/revenue");
    match cmd {
        RevenueCommand::Show {
            project,
            interval,
            from,
            to,
            in_cohort,
            by_cohort,
        } => {
            let q = crate::analytics::query(&[
                ("interval", &Some(interval)),
                ("from", &from),
                ("to", &to),
                ("in_cohort", &in_cohort),
                (
                    "breakdown_type",
                    &by_cohort.as_ref().map(|_| "cohort".to_owned()),
                ),
                ("breakdown", &by_cohort),
            ]);
            let path = format!("{}{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let r: RevenueView = read_as(&path, &v)?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            output::record(
                g.format,
                &[
                    ("range", json!(format!("{} to {}", r.from, r.to))),
                    (
                        "revenue",
                        json!(format!("{} {}", money(r.revenue), r.base_currency)),
                    ),
                    ("orders", json!(r.orders)),
                    ("payers", json!(r.payers)),
                    ("per payer", json!(maybe(r.per_payer, money))),
                ],
            );
            for u in &r.unconverted {
                eprintln!(
                    "note: {} payment(s) in {} left out: no rate on or before their day",
                    u.payments, u.currency
                );
            }
            println!();
            let rows: Vec<Vec<String>> = r
                .points
                .into_iter()
                .map(|p| {
                    vec![
                        p.start,
                        money(p.revenue),
                        p.orders.to_string(),
                        p.payers.to_string(),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &["START", "REVENUE", "ORDERS", "PAYERS"],
                &rows,
            );
            if !r.breakdown.is_empty() {
                println!();
                let rows: Vec<Vec<String>> = r
                    .breakdown
                    .iter()
                    .map(|b| {
                        vec![
                            b.value.clone(),
                            money(b.revenue),
                            b.orders.to_string(),
                            b.payers.to_string(),
                            maybe(b.per_payer, money),
                        ]
                    })
                    .collect();
                output::table(
                    g.format,
                    &v,
                    &["COHORT", "REVENUE", "ORDERS", "PAYERS", "PER PAYER"],
                    &rows,
                );
            }
        }
        RevenueCommand::Mrr {
            project,
            months,
            to,
        } => {
            let q = crate::analytics::query(&[("months", &Some(months.to_string())), ("to", &to)]);
            let path = format!("{}/mrr{q}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let r: MrrView = read_as(&path, &v)?;
            for s in &r.skipped {
                eprintln!(
                    "note: {} subscription event(s) left out: {}",
                    s.events, s.reason
                );
            }
            let pct = |f: f64| format!("{:.1}%", f * 100.0);
            let rows: Vec<Vec<String>> = r
                .months
                .into_iter()
                .map(|m| {
                    vec![
                        m.month,
                        money(m.mrr),
                        money(m.new),
                        money(m.expansion),
                        money(m.contraction),
                        money(m.churn),
                        money(m.reactivation),
                        m.customers.to_string(),
                        maybe(m.arpu, money),
                        maybe(m.customer_churn_rate, pct),
                        maybe(m.gross_mrr_churn_rate, pct),
                        maybe(m.ltv, money),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &[
                    "MONTH",
                    &format!("MRR ({})", r.base_currency),
                    "NEW",
                    "EXPANSION",
                    "CONTRACTION",
                    "CHURN",
                    "REACTIVATION",
                    "CUSTOMERS",
                    "ARPU",
                    "CUSTOMER CHURN",
                    "MRR CHURN",
                    "LTV",
                ],
                &rows,
            );
        }
        RevenueCommand::Settings {
            project,
            base_currency,
            property,
        } => {
            let path = format!("{}/settings", base(&project));
            let v = if base_currency.is_none() && property.is_none() {
                c.call(Method::GET, &path, None).await?
            } else {
                let now = c.call(Method::GET, &path, None).await?;
                let now: RevenueSettingsView = read_as(&path, &now)?;
                let body = RevenueSettingsView {
                    base_currency: base_currency.unwrap_or(now.base_currency),
                    revenue_property: property.unwrap_or(now.revenue_property),
                };
                c.call(Method::PUT, &path, Some(json!(body))).await?
            };
            let s: RevenueSettingsView = read_as(&path, &v)?;
            output::record(
                g.format,
                &[
                    ("base currency", json!(s.base_currency)),
                    ("revenue property", json!(s.revenue_property)),
                ],
            );
        }
        RevenueCommand::Rates { project } => {
            let path = format!("{}/rates", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let rates: Vec<RateView> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = rates
                .into_iter()
                .map(|r| vec![r.currency, r.date, r.rate.to_string()])
                .collect();
            output::table(g.format, &v, &["CURRENCY", "FROM", "RATE"], &rows);
        }
        RevenueCommand::ImportRates { project, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let rates = liveops_wire::rates::parse_rates_csv(&text)
                .with_context(|| format!("in {}", file.display()))?
                .into_iter()
                .map(|r| RateView {
                    currency: r.currency,
                    date: r.date,
                    rate: r.rate,
                })
                .collect();
            let path = format!("{}/rates", base(&project));
            let v = c
                .call(Method::POST, &path, Some(json!(RatesBody { rates })))
                .await?;
            let r: RatesImported = read_as(&path, &v)?;
            output::record(g.format, &[("imported", json!(r.imported))]);
        }
        RevenueCommand::DeleteRates { project, currency } => {
            let q = crate::analytics::query(&[("currency", &currency)]);
            let path = format!("{}/rates{q}", base(&project));
            let v = c.call(Method::DELETE, &path, None).await?;
            let r: RatesDeleted = read_as(&path, &v)?;
            output::record(g.format, &[("deleted", json!(r.deleted))]);
        }
    }
    Ok(())
}
