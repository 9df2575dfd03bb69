//! Setting up on-call from the command line (client): schedules with their
//! layers and overrides (and a two-week preview), tiers, escalation
//! policies, alert integrations (with the Alertmanager and Grafana
//! settings to paste) and status components.
//!
//! Layers and levels are written the way people say them:
//! `--layer "ann@example.com,bob@example.com start=2026-01-05T09:00 shift=1w days=mon,tue,wed,thu,fri from=09:00 to=17:00"`
//! and `--level "tier:l1,user:ann@example.com after=5m"`.

use anyhow::{Context, bail};
use clap::Subcommand;
use liveops_server::contract::support::{
    ComponentView, CreatedIntegration, IntegrationView, LevelBody, PolicyView, ScheduleView,
    TierView,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Format, Global};
use crate::client::{Client, esc, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// The project's schedules and who is on call on each now.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Make a schedule of one or more layers (later layers win).
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        /// An IANA time zone, e.g. Europe/Berlin.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// A layer: members (comma-separated, in rotation order), then
        /// `start=` (local time of the first hand-off), `shift=` (12h, 1d,
        /// 1w…), and optionally `days=` (mon,tue…), `from=` and `to=`.
        #[arg(long = "layer", required = true)]
        layers: Vec<String>,
    },
    /// One schedule, and who is on call for the next two weeks.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        /// How many days to preview.
        #[arg(long, default_value_t = 14)]
        days: i64,
    },
    /// Put someone on call instead, from one time to another (local times
    /// in the schedule's zone, e.g. 2026-12-24T18:00).
    Override {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        #[arg(long, value_name = "EMAIL")]
        user: String,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
    },
    /// Take an override out (its id is in `schedule show`).
    RemoveOverride {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TierCommand {
    /// L1, L2 and L3: their schedule and members.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Set a tier's members (comma-separated) and, optionally, the
    /// schedule that says which of them is on call.
    Set {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// l1, l2 or l3.
        tier: String,
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
        #[arg(long)]
        schedule: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Escalation policies and their levels.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Make a policy: levels in order, each `targets after=DELAY`.
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        /// A level: targets (comma-separated: user:EMAIL, schedule:NAME,
        /// tier:l1…), then `after=` how long to wait for an
        /// acknowledgement before the next level (5m, 1h…).
        #[arg(long = "level", required = true)]
        levels: Vec<String>,
        /// How many more times to run through all levels.
        #[arg(long, default_value_t = 0)]
        repeat: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// Where alerts come in.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Make an alert integration and print its address and secret (shown
    /// once), with the Alertmanager receiver and Grafana contact point.
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        /// alertmanager, grafana or generic.
        #[arg(long, default_value = "alertmanager")]
        kind: String,
        /// The escalation policy for the incidents it opens.
        #[arg(long)]
        policy: Option<String>,
        /// The status component those incidents affect.
        #[arg(long)]
        component: Option<String>,
    },
    /// Print an integration's address again (admins), with the settings to
    /// paste; --new replaces it, and the old one stops working.
    Address {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        #[arg(long)]
        new: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Status-page components and their status.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// Add a component to the status page.
    Create {
        #[arg(long, value_name = "SLUG")]
        project: String,
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
}

/// A layer as `--layer` writes it, as the API's JSON.
pub fn layer(spec: &str) -> anyhow::Result<Value> {
    let l =
        liveops_server::contract::configuration::layer_line(spec).map_err(anyhow::Error::msg)?;
    Ok(serde_json::to_value(l)?)
}

/// A level as `--level` writes it, as the API's JSON.
pub fn level(spec: &str) -> anyhow::Result<Value> {
    let l =
        liveops_server::contract::configuration::level_line(spec).map_err(anyhow::Error::msg)?;
    Ok(serde_json::to_value(l)?)
}

pub async fn schedule(g: &Global, cmd: ScheduleCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let row = |s: &ScheduleView| {
        vec![
            s.name.clone(),
            s.time_zone.clone(),
            s.layers.len().to_string(),
            s.on_call_now.clone().unwrap_or_else(|| "-".into()),
        ]
    };
    let headers = ["SCHEDULE", "ZONE", "LAYERS", "ON CALL NOW"];
    match cmd {
        ScheduleCommand::List { project } => {
            let path = format!("/api/v1/projects/{project}/support/schedules");
            let v = c.call(Method::GET, &path, None).await?;
            let list: Vec<ScheduleView> = read_as(&path, &v)?;
            output::table(
                g.format,
                &v,
                &headers,
                &list.iter().map(row).collect::<Vec<_>>(),
            );
        }
        ScheduleCommand::Create {
            project,
            name,
            time_zone,
            layers,
        } => {
            let layers = layers
                .iter()
                .map(|l| layer(l))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let path = format!("/api/v1/projects/{project}/support/schedules");
            let v = c
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"name": name, "time_zone": time_zone, "layers": layers})),
                )
                .await?;
            let s: ScheduleView = read_as(&path, &v)?;
            output::table(g.format, &v, &headers, &[row(&s)]);
        }
        ScheduleCommand::Show {
            project,
            name,
            days,
        } => {
            if !(1..=90).contains(&days) {
                bail!("--days must be 1 to 90");
            }
            let path = format!(
                "/api/v1/projects/{project}/support/schedules/{}",
                esc(&name)
            );
            let v = c.call(Method::GET, &path, None).await?;
            let s: ScheduleView = read_as(&path, &v)?;
            // The preview: the schedule's own calendar feed (which also
            // holds the past week), read as shifts that have not ended.
            let ics = c.text(&format!("{path}/calendar.ics?days={days}")).await?;
            let now = jiff::Timestamp::now()
                .strftime("%Y%m%dT%H%M%SZ")
                .to_string();
            let shifts: Vec<_> = shifts(&ics)
                .into_iter()
                .filter(|(_, _, end)| *end > now)
                .collect();
            if g.format == Format::Json {
                let mut out = v.clone();
                out["preview"] = json!(
                    shifts
                        .iter()
                        .map(|(who, from, to)| json!({"user": who, "start": from, "end": to}))
                        .collect::<Vec<_>>()
                );
                println!("{out}");
                return Ok(());
            }
            output::table(g.format, &v, &headers, &[row(&s)]);
            println!();
            let rows: Vec<Vec<String>> = shifts
                .into_iter()
                .map(|(who, from, to)| vec![from, to, who])
                .collect();
            output::table(g.format, &v, &["FROM", "TO", "ON CALL"], &rows);
        }
        ScheduleCommand::Override {
            project,
            name,
            user,
            start,
            end,
        } => {
            let path = format!(
                "/api/v1/projects/{project}/support/schedules/{}/overrides",
                esc(&name)
            );
            let v = c
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"user": user, "start": start, "end": end})),
                )
                .await?;
            let s: ScheduleView = read_as(&path, &v)?;
            output::table(g.format, &v, &headers, &[row(&s)]);
        }
        ScheduleCommand::RemoveOverride { project, name, id } => {
            c.call(
                Method::DELETE,
                &format!(
                    "/api/v1/projects/{project}/support/schedules/{}/overrides/{}",
                    esc(&name),
                    esc(&id)
                ),
                None,
            )
            .await?;
            output::record(
                g.format,
                &[("schedule", json!(name)), ("override_removed", json!(id))],
            );
        }
    }
    Ok(())
}

/// The shifts of an iCalendar feed: (who, start, end), in order.
fn shifts(ics: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let (mut who, mut from, mut to) = (String::new(), String::new(), String::new());
    for line in ics.lines().map(str::trim_end) {
        if line == "BEGIN:VEVENT" {
            who.clear();
            from.clear();
            to.clear();
        } else if let Some(v) = line.strip_prefix("SUMMARY:") {
            let v = v.strip_prefix("On call: ").unwrap_or(v);
            who = v.replace("\\,", ",");
        } else if let Some((_, v)) = line
            .split_once("DTSTART")
            .and_then(|(_, r)| r.split_once(':'))
        {
            from = v.to_owned();
        } else if let Some((_, v)) = line
            .split_once("DTEND")
            .and_then(|(_, r)| r.split_once(':'))
        {
            to = v.to_owned();
        } else if line == "END:VEVENT" {
            out.push((who.clone(), from.clone(), to.clone()));
        }
    }
    out
}

pub async fn tier(g: &Global, cmd: TierCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let row = |t: &TierView| {
        vec![
            t.tier.to_uppercase(),
            t.schedule.clone().unwrap_or_else(|| "-".into()),
            t.members.join(", "),
        ]
    };
    let headers = ["TIER", "SCHEDULE", "MEMBERS"];
    match cmd {
        TierCommand::List { project } => {
            let path = format!("/api/v1/projects/{project}/scaling/tiers");
            let v = c.call(Method::GET, &path, None).await?;
            let list: Vec<TierView> = read_as(&path, &v)?;
            output::table(
                g.format,
                &v,
                &headers,
                &list.iter().map(row).collect::<Vec<_>>(),
            );
        }
        TierCommand::Set {
            project,
            tier,
            members,
            schedule,
        } => {
            let path = format!("/api/v1/projects/{project}/scaling/tiers/{}", esc(&tier));
            let v = c
                .call(
                    Method::PUT,
                    &path,
                    Some(json!({"members": members, "schedule": schedule})),
                )
                .await?;
            let t: TierView = read_as(&path, &v)?;
            output::table(g.format, &v, &headers, &[row(&t)]);
        }
    }
    Ok(())
}

fn level_text(l: &LevelBody) -> String {
    format!("{} after {} s", l.notify.join(", "), l.delay_secs)
}

pub async fn policy(g: &Global, cmd: PolicyCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let row = |p: &PolicyView| {
        vec![
            p.name.clone(),
            p.levels
                .iter()
                .map(level_text)
                .collect::<Vec<_>>()
                .join("; then "),
            p.repeat.to_string(),
        ]
    };
    let headers = ["POLICY", "LEVELS", "REPEAT"];
    let path = |p: &str| format!("/api/v1/projects/{p}/support/policies");
    match cmd {
        PolicyCommand::List { project } => {
            let v = c.call(Method::GET, &path(&project), None).await?;
            let list: Vec<PolicyView> = read_as("the policies", &v)?;
            output::table(
                g.format,
                &v,
                &headers,
                &list.iter().map(row).collect::<Vec<_>>(),
            );
        }
        PolicyCommand::Create {
            project,
            name,
            levels,
            repeat,
        } => {
            let levels = levels
                .iter()
                .map(|l| level(l))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let v = c
                .call(
                    Method::POST,
                    &path(&project),
                    Some(json!({"name": name, "levels": levels, "repeat": repeat})),
                )
                .await?;
            let p: PolicyView = read_as("the policy", &v)?;
            output::table(g.format, &v, &headers, &[row(&p)]);
        }
    }
    Ok(())
}

pub async fn integration(g: &Global, cmd: IntegrationCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let path = |p: &str| format!("/api/v1/projects/{p}/support/integrations");
    match cmd {
        IntegrationCommand::List { project } => {
            let v = c.call(Method::GET, &path(&project), None).await?;
            let list: Vec<IntegrationView> = read_as("the integrations", &v)?;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|i| {
                    vec![
                        i.name.clone(),
                        i.kind.clone(),
                        i.default_severity.clone(),
                        i.created_at.clone(),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &["INTEGRATION", "KIND", "SEVERITY", "SINCE"],
                &rows,
            );
        }
        IntegrationCommand::Create {
            project,
            name,
            kind,
            policy,
            component,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &path(&project),
                    Some(json!({"name": name, "kind": kind, "policy": policy, "component": component})),
                )
                .await?;
            let made: CreatedIntegration = read_as("the integration", &v)?;
            let url = format!("{}{}", c.server(), made.url_path);
            print_address(
                g,
                v.clone(),
                &[
                    ("integration", json!(made.integration.name)),
                    ("kind", json!(made.integration.kind)),
                ],
                &url,
            );
        }
        IntegrationCommand::Address { project, name, new } => {
            let at = format!("{}/{}/address", path(&project), esc(&name));
            let method = if new { Method::POST } else { Method::GET };
            let v = c.call(method, &at, None).await?;
            let a: liveops_server::contract::support::IntegrationAddressView =
                read_as("the address", &v)?;
            let url = format!("{}{}", c.server(), a.url_path);
            print_address(g, v, &[("integration", json!(name))], &url);
        }
    }
    Ok(())
}

/// An integration's address with the Alertmanager and Grafana settings.
fn print_address(g: &Global, mut raw: Value, fields: &[(&str, Value)], url: &str) {
    if g.format == Format::Json {
        raw["url"] = json!(url);
        println!("{raw}");
        return;
    }
    let mut all = fields.to_vec();
    all.push(("url", json!(url)));
    output::record(g.format, &all);
    println!("\nThe address holds the secret: keep it out of sight.\n");
    println!(
        "Alertmanager (alertmanager.yml):\n  receivers:\n    - name: liveops\n      webhook_configs:\n        - url: {url}\n          send_resolved: true\n"
    );
    println!("Grafana: Alerting → Contact points → Webhook, URL {url}, method POST.");
}

pub async fn component(g: &Global, cmd: ComponentCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let path = |p: &str| format!("/api/v1/projects/{p}/support/components");
    let row = |x: &ComponentView| vec![x.name.clone(), x.status.clone()];
    match cmd {
        ComponentCommand::List { project } => {
            let v = c.call(Method::GET, &path(&project), None).await?;
            let list: Vec<ComponentView> = read_as("the components", &v)?;
            output::table(
                g.format,
                &v,
                &["COMPONENT", "STATUS"],
                &list.iter().map(row).collect::<Vec<_>>(),
            );
        }
        ComponentCommand::Create {
            project,
            name,
            description,
        } => {
            let v = c
                .call(
                    Method::POST,
                    &path(&project),
                    Some(json!({"name": name, "description": description})),
                )
                .await
                .context("adding the component")?;
            let x: ComponentView = read_as("the component", &v)?;
            output::table(g.format, &v, &["COMPONENT", "STATUS"], &[row(&x)]);
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Your rules.
    List,
    /// Reach you at ADDRESS (an e-mail address, or a webhook or Slack URL)
    /// for incidents at least --min-severity, after --after.
    Add {
        /// email, webhook or slack.
        kind: String,
        address: String,
        /// sev1 to sev4 (sev4, the default, is every incident).
        #[arg(long)]
        min_severity: Option<String>,
        /// How long after being paged, like 5m; at once by default.
        #[arg(long)]
        after: Option<String>,
    },
    /// Remove a rule by its id.
    Delete { id: String },
}

pub async fn notify(g: &Global, cmd: NotifyCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = "/api/v1/me/notification-rules";
    match cmd {
        NotifyCommand::List => {
            let v = c.call(Method::GET, base, None).await?;
            let rules: Vec<liveops_server::contract::support::ContactRuleView> = read_as(base, &v)?;
            let rows: Vec<Vec<String>> = rules
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.kind.clone(),
                        r.address.clone(),
                        r.min_severity.clone(),
                        format!("{}s", r.delay_secs),
                    ]
                })
                .collect();
            output::table(
                g.format,
                &v,
                &["ID", "KIND", "ADDRESS", "FROM", "AFTER"],
                &rows,
            );
        }
        NotifyCommand::Add {
            kind,
            address,
            min_severity,
            after,
        } => {
            let delay = match after.as_deref() {
                Some(a) => {
                    let span: liveops_core::TimeSpan = a.parse().map_err(|e| {
                        crate::Exit::bad_input(anyhow::anyhow!("--after `{a}`: {e}"))
                    })?;
                    span.seconds()
                }
                None => 0,
            };
            let v = c
                .call(
                    Method::POST,
                    base,
                    Some(json!({"kind": kind, "address": address,
                        "min_severity": min_severity, "delay_secs": delay})),
                )
                .await?;
            let r: liveops_server::contract::support::ContactRuleView = read_as(base, &v)?;
            output::record(
                g.format,
                &[
                    ("id", Value::from(r.id)),
                    ("kind", Value::from(r.kind)),
                    ("address", Value::from(r.address)),
                    ("min_severity", Value::from(r.min_severity)),
                    ("delay_secs", Value::from(r.delay_secs)),
                ],
            );
        }
        NotifyCommand::Delete { id } => {
            c.call(Method::DELETE, &format!("{base}/{}", esc(&id)), None)
                .await?;
            output::record(g.format, &[("deleted", Value::from(id))]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_levels_read_as_people_write_them() {
        assert_eq!(
            layer("ann@x.example,bob@x.example start=2026-01-05T09:00 shift=1w days=mon,fri from=09:00 to=17:00")
                .expect("layer"),
            json!({"members": ["ann@x.example", "bob@x.example"], "start": "2026-01-05T09:00",
                   "shift": "1w", "days": ["mon", "fri"], "from": "09:00", "to": "17:00"})
        );
        assert!(layer("start=2026-01-05T09:00 shift=1w").is_err());
        assert!(layer("ann@x.example shift=1w").is_err());
        assert!(layer("ann@x.example start=x shift=1w colour=red").is_err());
        assert_eq!(
            level("tier:l1,user:ann@x.example after=5m").expect("level"),
            json!({"notify": ["tier:l1", "user:ann@x.example"], "delay_secs": 300})
        );
        assert!(level("after=5m").is_err());
        assert!(level("tier:l1 after=soon").is_err());
        assert!(level("tier:l1 wait=5m").is_err());
    }

    #[test]
    fn a_calendar_feed_reads_as_shifts() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:ann@x.example\r\nDTSTART:20261207T090000Z\r\nDTEND:20261214T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            shifts(ics),
            vec![(
                "ann@x.example".to_owned(),
                "20261207T090000Z".to_owned(),
                "20261214T090000Z".to_owned()
            )]
        );
    }
}
