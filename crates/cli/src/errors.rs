//! Error tracking client commands: the project's DSN, the issue list, an
//! issue in full with its newest stack trace, and resolving, ignoring,
//! reopening, merging and unmerging issues.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use liveops_server::contract::errors::{
    BacklogFromIssue, DsnView, GroupingRuleView, IssueDetail, IssueSummary,
};

use crate::cli::{Format, Global};
use crate::client::{Client, esc, read_as};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// The DSN the Sentry SDKs take (`--rotate` gives it a new key).
    Dsn {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// Replace the public key; SDKs with the old DSN are refused.
        #[arg(long)]
        rotate: bool,
    },
    /// Issues, most recently seen first.
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// unresolved, resolved or ignored.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        release: Option<String>,
        #[arg(long)]
        environment: Option<String>,
        /// key:value, like browser:Chrome.
        #[arg(long)]
        tag: Option<String>,
        /// last_seen, first_seen, events or users.
        #[arg(long, default_value = "last_seen")]
        sort: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// An issue: counts, releases, tags and its newest stack trace.
    Show {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Resolve an issue now, in the next release, or in a release.
    Resolve {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        /// Fixed in this release: only later ones bring it back.
        #[arg(long, value_name = "RELEASE", conflicts_with = "next_release")]
        in_release: Option<String>,
        /// Fixed in the release after the newest it was seen in.
        #[arg(long)]
        next_release: bool,
    },
    /// Ignore an issue, for good or until more events, users or a time.
    Ignore {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        #[arg(long, value_name = "N")]
        events: Option<u64>,
        #[arg(long, value_name = "N")]
        users: Option<u64>,
        /// RFC 3339, like 2027-01-01T00:00:00Z.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
    },
    /// Make a resolved or ignored issue unresolved again.
    Reopen {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// Fold other issues into one.
    Merge {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// The issue that stays.
        number: i64,
        /// The issues folded into it.
        #[arg(required = true)]
        others: Vec<i64>,
    },
    /// Link an issue to an incident or a ticket.
    Link {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        /// incident or ticket.
        kind: String,
        target: i64,
    },
    /// Make a backlog bug from an issue.
    Backlog {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
    },
    /// What new issues, regressions and spikes do.
    Alerts {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// The alert integration incidents open through; without it, no
        /// incidents are opened.
        #[arg(long)]
        integration: Option<String>,
        /// Tell the on-call people of this tier (l1, l2 or l3) through
        /// their own notification rules.
        #[arg(long, value_name = "TIER")]
        notify: Option<String>,
        /// Severities by level, like `fatal=sev1,error=sev3` (`fatal=sev2`
        /// unless given).
        #[arg(long, value_name = "LEVEL=SEV,…")]
        severities: Option<String>,
        #[arg(long)]
        on_new: bool,
        /// Leave regressions unalerted.
        #[arg(long)]
        no_regression: bool,
        /// Alert when one issue has this many events…
        #[arg(long, value_name = "N")]
        spike_events: Option<i64>,
        /// …within this many minutes (60 unless given).
        #[arg(long, value_name = "MINUTES")]
        spike_minutes: Option<i64>,
        /// Alert when one issue's events within those minutes are at least
        /// this share (%) of its route's requests.
        #[arg(long, value_name = "PERCENT")]
        spike_percent: Option<f64>,
    },
    /// Grouping rules: events whose type, message or module matches group
    /// under a fixed fingerprint.
    #[command(subcommand)]
    Rule(RuleCommand),
    /// Split a fingerprint off an issue into an issue of its own.
    Unmerge {
        #[arg(long, value_name = "SLUG")]
        project: String,
        number: i64,
        fingerprint: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
    },
    /// e.g. `add --project shop type 'Timeout*' timeouts`.
    Add {
        #[arg(long, value_name = "SLUG")]
        project: String,
        /// type, message or module.
        matcher: String,
        /// With * as any run of characters.
        pattern: String,
        /// The fingerprint's parts.
        #[arg(required = true)]
        fingerprint: Vec<String>,
    },
    Delete {
        #[arg(long, value_name = "SLUG")]
        project: String,
        id: String,
    },
}

fn rule_rows(rules: &[GroupingRuleView]) -> Vec<Vec<String>> {
    rules
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.matcher.clone(),
                r.pattern.clone(),
                r.fingerprint.join(", "),
            ]
        })
        .collect()
}

const HEADERS: [&str; 7] = [
    "#",
    "STATUS",
    "EVENTS",
    "USERS",
    "LAST SEEN",
    "RELEASE",
    "TITLE",
];

fn row(i: &IssueSummary) -> Vec<String> {
    let status = match (&i.regressed_at, i.status.as_str()) {
        (Some(_), "unresolved") => "regressed".to_owned(),
        _ => i.status.clone(),
    };
    vec![
        i.number.to_string(),
        status,
        i.events.to_string(),
        i.users.to_string(),
        i.last_seen.clone(),
        i.last_release.clone().unwrap_or_default(),
        i.title.clone(),
    ]
}

fn show_one(format: Format, v: &Value, i: &IssueSummary) {
    output::table(format, v, &HEADERS, &[row(i)]);
}

pub async fn run(g: &Global, cmd: ErrorsCommand) -> anyhow::Result<()> {
    let c = Client::new(g)?;
    let base = |p: &str| format!("/api/v1/projects/{p}/support/errors");
    match cmd {
        ErrorsCommand::Dsn { project, rotate } => {
            let path = format!("{}/dsn", base(&project));
            let method = if rotate { Method::POST } else { Method::GET };
            let v = c.call(method, &path, None).await?;
            let d: DsnView = read_as(&path, &v)?;
            match g.format {
                Format::Json => println!("{v}"),
                _ => println!("{}", d.dsn),
            }
        }
        ErrorsCommand::List {
            project,
            status,
            release,
            environment,
            tag,
            sort,
            limit,
        } => {
            let mut q = vec![format!("sort={}", esc(&sort)), format!("limit={limit}")];
            for (k, v) in [
                ("status", status),
                ("release", release),
                ("environment", environment),
                ("tag", tag),
            ] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", esc(&v)));
                }
            }
            let path = format!("{}/issues?{}", base(&project), q.join("&"));
            let v = c.call(Method::GET, &path, None).await?;
            let issues: Vec<IssueSummary> = read_as(&path, &v)?;
            let rows: Vec<Vec<String>> = issues.iter().map(row).collect();
            output::table(g.format, &v, &HEADERS, &rows);
        }
        ErrorsCommand::Show { project, number } => {
            let path = format!("{}/issues/{number}", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let d: IssueDetail = read_as(&path, &v)?;
            if g.format == Format::Json {
                println!("{v}");
                return Ok(());
            }
            let i = &d.issue;
            let releases: Vec<String> = d
                .releases
                .iter()
                .map(|r| {
                    format!(
                        "{} ({}): {}",
                        or_dash(&r.release),
                        or_dash(&r.environment),
                        r.events
                    )
                })
                .collect();
            let tags: Vec<String> = d
                .tags
                .iter()
                .map(|t| format!("{}={} ({})", t.key, t.value, t.events))
                .collect();
            output::record(
                g.format,
                &[
                    ("issue", json!(format!("#{} {}", i.number, i.title))),
                    ("culprit", json!(i.culprit)),
                    ("status", json!(row(i)[1])),
                    ("events", json!(i.events)),
                    ("users", json!(i.users)),
                    ("first seen", json!(i.first_seen)),
                    ("last seen", json!(i.last_seen)),
                    ("releases", json!(releases.join(", "))),
                    ("tags", json!(tags.join(", "))),
                    (
                        "introduced",
                        json!(d.introduced.as_ref().map(|x| format!(
                            "{} {} ({}) at {}",
                            x.service, x.version, x.environment, x.deployed_at
                        ))),
                    ),
                ],
            );
            if let Some(e) = d.events.first() {
                println!();
                println!("newest event {} at {}", e.event_id, e.at);
                for x in &e.exceptions {
                    println!("{}: {}", x.ty, x.value.clone().unwrap_or_default());
                    for f in x.frames.iter().rev() {
                        println!(
                            "  {} {} in {} line {}",
                            if f.in_app { "*" } else { " " },
                            f.filename
                                .clone()
                                .or_else(|| f.module.clone())
                                .unwrap_or_default(),
                            f.function.clone().unwrap_or_else(|| "?".into()),
                            f.lineno
                                .map(|l| l.to_string())
                                .unwrap_or_else(|| "?".into())
                        );
                    }
                }
                if e.exceptions.is_empty()
                    && let Some(m) = &e.message
                {
                    println!("{m}");
                }
            }
        }
        ErrorsCommand::Resolve {
            project,
            number,
            in_release,
            next_release,
        } => {
            let path = format!("{}/issues/{number}", base(&project));
            let body = json!({"status": "resolved", "in_release": in_release, "in_next_release": next_release});
            let v = c.call(Method::PATCH, &path, Some(body)).await?;
            show_one(g.format, &v, &read_as(&path, &v)?);
        }
        ErrorsCommand::Ignore {
            project,
            number,
            events,
            users,
            until,
        } => {
            let path = format!("{}/issues/{number}", base(&project));
            let body = json!({"status": "ignored", "ignore_events": events, "ignore_users": users, "ignore_until": until});
            let v = c.call(Method::PATCH, &path, Some(body)).await?;
            show_one(g.format, &v, &read_as(&path, &v)?);
        }
        ErrorsCommand::Reopen { project, number } => {
            let path = format!("{}/issues/{number}", base(&project));
            let v = c
                .call(Method::PATCH, &path, Some(json!({"status": "unresolved"})))
                .await?;
            show_one(g.format, &v, &read_as(&path, &v)?);
        }
        ErrorsCommand::Merge {
            project,
            number,
            others,
        } => {
            let path = format!("{}/issues/{number}/merge", base(&project));
            let v = c
                .call(Method::POST, &path, Some(json!({"issues": others})))
                .await?;
            show_one(g.format, &v, &read_as(&path, &v)?);
        }
        ErrorsCommand::Link {
            project,
            number,
            kind,
            target,
        } => {
            let path = format!("{}/issues/{number}/links", base(&project));
            let v = c
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"kind": kind, "number": target})),
                )
                .await?;
            let d: IssueDetail = read_as(&path, &v)?;
            show_one(g.format, &v, &d.issue);
        }
        ErrorsCommand::Backlog { project, number } => {
            let path = format!("{}/issues/{number}/backlog", base(&project));
            let v = c.call(Method::POST, &path, None).await?;
            let made: BacklogFromIssue = read_as(&path, &v)?;
            output::record(g.format, &[("backlog item", json!(made.item))]);
        }
        ErrorsCommand::Alerts {
            project,
            integration,
            on_new,
            no_regression,
            spike_events,
            spike_minutes,
            spike_percent,
            notify,
            severities,
        } => {
            let path = format!("{}/alerts", base(&project));
            let body = json!({"integration": integration, "on_new": on_new, "on_regression": !no_regression,
                              "spike_events": spike_events, "spike_minutes": spike_minutes,
                              "spike_percent": spike_percent, "notify": notify, "severities": severities});
            let v = c.call(Method::PUT, &path, Some(body)).await?;
            let d: DsnView = read_as(&path, &v)?;
            output::record(
                g.format,
                &[
                    ("integration", json!(d.alert_integration)),
                    ("new issues", json!(d.alert_new)),
                    ("regressions", json!(d.alert_regression)),
                    (
                        "spike",
                        json!(
                            d.spike_events
                                .map(|n| format!("{n} events in {} min", d.spike_minutes))
                        ),
                    ),
                    (
                        "route spike",
                        json!(d.spike_percent.map(|p| format!(
                            "{p} % of a route's requests in {} min",
                            d.spike_minutes
                        ))),
                    ),
                    (
                        "notify",
                        json!(d.notify.map(|t| format!("tier {t} on call"))),
                    ),
                    ("severities", json!(d.severities)),
                ],
            );
        }
        ErrorsCommand::Rule(RuleCommand::List { project }) => {
            let path = format!("{}/grouping-rules", base(&project));
            let v = c.call(Method::GET, &path, None).await?;
            let rules: Vec<GroupingRuleView> = read_as(&path, &v)?;
            output::table(
                g.format,
                &v,
                &["ID", "MATCHES", "PATTERN", "FINGERPRINT"],
                &rule_rows(&rules),
            );
        }
        ErrorsCommand::Rule(RuleCommand::Add {
            project,
            matcher,
            pattern,
            fingerprint,
        }) => {
            let path = format!("{}/grouping-rules", base(&project));
            let body = json!({"matcher": matcher, "pattern": pattern, "fingerprint": fingerprint});
            let v = c.call(Method::POST, &path, Some(body)).await?;
            let rule: GroupingRuleView = read_as(&path, &v)?;
            output::table(
                g.format,
                &v,
                &["ID", "MATCHES", "PATTERN", "FINGERPRINT"],
                &rule_rows(&[rule]),
            );
        }
        ErrorsCommand::Rule(RuleCommand::Delete { project, id }) => {
            let path = format!("{}/grouping-rules/{}", base(&project), esc(&id));
            c.call(Method::DELETE, &path, None).await?;
            output::record(g.format, &[("deleted", json!(id))]);
        }
        ErrorsCommand::Unmerge {
            project,
            number,
            fingerprint,
        } => {
            let path = format!("{}/issues/{number}/unmerge", base(&project));
            let v = c
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"fingerprint": fingerprint})),
                )
                .await?;
            show_one(g.format, &v, &read_as(&path, &v)?);
        }
    }
    Ok(())
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}
