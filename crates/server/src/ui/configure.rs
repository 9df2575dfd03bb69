//! Every setting of a project in the browser: one form per kind (status
//! components, schedules, tiers, escalation policies, alert integrations,
//! hooks, SLOs, alert rules, capacity, retention, key funnels, release
//! trains and credentials) to add, edit and delete objects, with problems
//! shown beside the field they concern and what was typed kept; and the
//! whole configuration as YAML, to download or to apply (with a dry run).
//!
//! The forms are thin: each builds the object as the configuration
//! document lists it and hands it to `crate::configuration`, the same
//! service `liveops apply` and the API use.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::Permission;
use liveops_core::access::authorize;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::prologue::{load, permitted};
use super::{Frame, UiSession, error_page};
use crate::configuration::{self, Problem, Refusal};
use crate::contract::configuration::{
    Document, LayerSpec, LevelSpec, PlanView, layer_line, layer_text, level_line, level_text,
};
use crate::state::AppState;

/// How a field is typed in and read back.
#[derive(Clone, Copy)]
enum Input {
    Text,
    Number,
    /// A checkbox; on when the object leaves it out.
    Check,
    /// Words separated by commas.
    List,
    /// One per line: schedule layers, policy levels or funnel steps.
    Lines(Lines),
    Choice(&'static [&'static str]),
}

#[derive(Clone, Copy)]
enum Lines {
    Layers,
    Levels,
    Steps,
}

struct Field {
    name: &'static str,
    label: &'static str,
    input: Input,
    help: &'static str,
}

const fn f(name: &'static str, label: &'static str, input: Input, help: &'static str) -> Field {
    Field {
        name,
        label,
        input,
        help,
    }
}

struct Kind {
    key: &'static str,
    title: &'static str,
    one: &'static str,
    /// The field that names an object (`tier`, `kind`, …), or `name`.
    named_by: &'static [&'static str],
    fields: &'static [Field],
}

const SEVERITIES: &[&str] = &["sev1", "sev2", "sev3", "sev4"];

const KINDS: &[Kind] = &[
    Kind {
        key: "components",
        title: "Status components",
        one: "component",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, "As the status page shows it."),
            f("description", "Description", Input::Text, ""),
        ],
    },
    Kind {
        key: "schedules",
        title: "On-call schedules",
        one: "schedule",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, ""),
            f(
                "time_zone",
                "Time zone",
                Input::Text,
                "An IANA zone such as Europe/Berlin.",
            ),
            f(
                "layers",
                "Layers",
                Input::Lines(Lines::Layers),
                "One rotation per line, lowest first: members start=2026-01-05T09:00 shift=1w, optionally days=mon,fri from=09:00 to=17:00.",
            ),
        ],
    },
    Kind {
        key: "tiers",
        title: "Support tiers",
        one: "tier",
        named_by: &["tier"],
        fields: &[
            f("tier", "Tier", Input::Choice(&["l1", "l2", "l3"]), ""),
            f(
                "schedule",
                "Schedule",
                Input::Text,
                "The schedule whose person is on call for this tier, if any.",
            ),
            f(
                "members",
                "Members",
                Input::List,
                "E-mail addresses, comma-separated, when no schedule is given.",
            ),
        ],
    },
    Kind {
        key: "policies",
        title: "Escalation policies",
        one: "policy",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, ""),
            f(
                "levels",
                "Levels",
                Input::Lines(Lines::Levels),
                "One level per line: targets (user:EMAIL, schedule:NAME, tier:l2) and after=5m, the wait before the next level.",
            ),
            f(
                "repeat",
                "Repeat",
                Input::Number,
                "How many more times to run through the levels.",
            ),
            f(
                "ack_timeout_secs",
                "Acknowledgement lapses after (seconds)",
                Input::Number,
                "60 to 86400; empty never.",
            ),
        ],
    },
    Kind {
        key: "integrations",
        title: "Alert integrations",
        one: "integration",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, ""),
            f(
                "kind",
                "Sender",
                Input::Choice(&["alertmanager", "grafana", "generic"]),
                "",
            ),
            f(
                "policy",
                "Escalation policy",
                Input::Text,
                "The policy that pages.",
            ),
            f(
                "component",
                "Status component",
                Input::Text,
                "The component its incidents affect.",
            ),
            f(
                "default_severity",
                "Severity",
                Input::Choice(SEVERITIES),
                "For alerts that carry none.",
            ),
            f(
                "auto_resolve",
                "A resolved alert resolves its incident",
                Input::Check,
                "",
            ),
        ],
    },
    Kind {
        key: "hooks",
        title: "Outgoing hooks and Slack channels",
        one: "hook",
        named_by: &["url"],
        fields: &[
            f(
                "kind",
                "Kind",
                Input::Choice(&["webhook", "slack"]),
                "slack: a Slack incoming-webhook URL.",
            ),
            f("url", "URL", Input::Text, ""),
        ],
    },
    Kind {
        key: "slos",
        title: "SLOs",
        one: "SLO",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, ""),
            f(
                "kind",
                "Kind",
                Input::Choice(&["availability", "latency"]),
                "",
            ),
            f(
                "objective",
                "Objective",
                Input::Number,
                "The share of good requests, like 0.999.",
            ),
            f(
                "latency_ms",
                "Latency (ms)",
                Input::Number,
                "For a latency SLO: faster than this is good.",
            ),
            f(
                "period_days",
                "Period (days)",
                Input::Number,
                "30 when empty.",
            ),
            f("service", "Service", Input::Text, "Empty: every service."),
            f("route", "Route", Input::Text, "Empty: every route."),
            f(
                "integration",
                "Integration",
                Input::Text,
                "Whose policy pages; liveops' own when empty.",
            ),
        ],
    },
    Kind {
        key: "alert_rules",
        title: "Alert rules",
        one: "alert rule",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, ""),
            f(
                "metric",
                "Metric",
                Input::Text,
                "p50_ms, p95_ms, p99_ms, error_rate, requests_per_min, apdex or otel:NAME.",
            ),
            f(
                "comparator",
                "Fires when",
                Input::Choice(&[">", "<"]),
                "above (>) or below (<) the threshold.",
            ),
            f("threshold", "Threshold", Input::Number, ""),
            f("for", "For", Input::Text, "How long it must hold, like 5m."),
            f("window", "Window", Input::Text, "5m when empty."),
            f("service", "Service", Input::Text, ""),
            f("route", "Route", Input::Text, ""),
            f("severity", "Severity", Input::Choice(SEVERITIES), ""),
            f(
                "integration",
                "Integration",
                Input::Text,
                "Whose policy pages; liveops' own when empty.",
            ),
        ],
    },
    Kind {
        key: "capacity",
        title: "Capacity",
        one: "capacity",
        named_by: &["service", "metric"],
        fields: &[
            f("service", "Service", Input::Text, ""),
            f(
                "metric",
                "Metric",
                Input::Text,
                "requests, or an OpenTelemetry metric's name.",
            ),
            f(
                "capacity",
                "Capacity",
                Input::Number,
                "What the replicas together can take.",
            ),
            f("replicas", "Replicas", Input::Number, ""),
            f(
                "target_utilisation",
                "Target utilisation",
                Input::Number,
                "0.7 when empty.",
            ),
        ],
    },
    Kind {
        key: "retention",
        title: "Retention",
        one: "retention",
        named_by: &["kind"],
        fields: &[
            f(
                "kind",
                "Telemetry",
                Input::Choice(&["events", "spans", "metrics", "rollups"]),
                "",
            ),
            f(
                "days",
                "Days kept",
                Input::Number,
                "Empty keeps everything.",
            ),
        ],
    },
    Kind {
        key: "key_funnels",
        title: "Key funnels",
        one: "key funnel",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, ""),
            f(
                "steps",
                "Steps",
                Input::Lines(Lines::Steps),
                "One event per line; a|b means either.",
            ),
            f("window", "Window", Input::Text, "14d when empty."),
        ],
    },
    Kind {
        key: "trains",
        title: "Release trains",
        one: "train",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, ""),
            f(
                "cadence",
                "Cadence",
                Input::Choice(&["weekly", "biweekly", "monthly"]),
                "",
            ),
            f(
                "first_release",
                "First release",
                Input::Text,
                "A date like 2026-12-02.",
            ),
            f(
                "freeze_days",
                "Freeze (days before)",
                Input::Number,
                "2 when empty.",
            ),
        ],
    },
    Kind {
        key: "credentials",
        title: "Credential inventory",
        one: "credential",
        named_by: &["name"],
        fields: &[
            f("name", "Name", Input::Text, ""),
            f(
                "kind",
                "Kind",
                Input::Choice(&[
                    "api_key",
                    "oauth_client_secret",
                    "signing_key",
                    "tls_certificate",
                ]),
                "",
            ),
            f("owner", "Owner", Input::Text, ""),
            f(
                "system",
                "System",
                Input::Text,
                "What it opens, such as stripe.",
            ),
            f(
                "expires_at",
                "Expires",
                Input::Text,
                "A date or RFC 3339 time.",
            ),
        ],
    },
];

/// A JSON value as a person reads it: a string without its quotes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn kind_of(key: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.key == key)
}

/// The name an object has, as the configuration knows it.
fn name_of(kind: &Kind, v: &Value) -> String {
    let parts: Vec<String> = kind
        .named_by
        .iter()
        .map(|f| v.get(*f).map(plain).unwrap_or_default())
        .collect();
    if kind.key == "hooks" {
        return configuration::hook_key(&parts.join("/"));
    }
    parts.join("/")
}

/// What a form shows in each field, from an object.
fn typed(kind: &Kind, v: &Value) -> HashMap<&'static str, String> {
    let mut out = HashMap::new();
    for fl in kind.fields {
        let x = v.get(fl.name).cloned().unwrap_or(Value::Null);
        let text = match (fl.input, &x) {
            (_, Value::Null) => match fl.input {
                Input::Check => "on".into(),
                _ => String::new(),
            },
            (Input::Check, Value::Bool(b)) => if *b { "on" } else { "" }.into(),
            (Input::List, Value::Array(a)) => a.iter().map(plain).collect::<Vec<_>>().join(", "),
            (Input::Lines(Lines::Layers), _) => serde_json::from_value::<Vec<LayerSpec>>(x.clone())
                .map(|ls| ls.iter().map(layer_text).collect::<Vec<_>>().join("\n"))
                .unwrap_or_default(),
            (Input::Lines(Lines::Levels), _) => serde_json::from_value::<Vec<LevelSpec>>(x.clone())
                .map(|ls| ls.iter().map(level_text).collect::<Vec<_>>().join("\n"))
                .unwrap_or_default(),
            (Input::Lines(Lines::Steps), Value::Array(a)) => {
                a.iter().map(plain).collect::<Vec<_>>().join("\n")
            }
            (_, other) => plain(other),
        };
        out.insert(fl.name, text);
    }
    out
}

/// The object a form describes, or the problems of its fields.
fn object(kind: &Kind, form: &HashMap<String, String>) -> Result<Value, Vec<Problem>> {
    let mut out = Map::new();
    let mut problems = Vec::new();
    for fl in kind.fields {
        let raw = form.get(fl.name).map(String::as_str).unwrap_or("").trim();
        let value = match fl.input {
            Input::Check => Some(Value::Bool(!raw.is_empty())),
            _ if raw.is_empty() => None,
            Input::Text | Input::Choice(_) => Some(json!(raw)),
            Input::Number => match raw.parse::<i64>() {
                Ok(n) => Some(json!(n)),
                Err(_) => match raw.parse::<f64>() {
                    Ok(x) if x.is_finite() => Some(json!(x)),
                    _ => {
                        problems.push(Problem {
                            field: fl.name,
                            message: format!("`{raw}` is not a number"),
                        });
                        None
                    }
                },
            },
            Input::List => Some(json!(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            )),
            Input::Lines(lines) => {
                let mut items = Vec::new();
                for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let item = match lines {
                        Lines::Layers => layer_line(line).map(|l| json!(l)),
                        Lines::Levels => level_line(line).map(|l| json!(l)),
                        Lines::Steps => Ok(json!(line)),
                    };
                    match item {
                        Ok(v) => items.push(v),
                        Err(message) => problems.push(Problem {
                            field: fl.name,
                            message,
                        }),
                    }
                }
                Some(Value::Array(items))
            }
        };
        if let Some(v) = value {
            out.insert(fl.name.into(), v);
        }
    }
    if problems.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(problems)
    }
}

/// What to show above the page after an action.
enum Flash {
    Done(PlanView),
    Error(String),
}

fn admin_only(frame: &Frame<'_>, title: &str) -> Response {
    super::page(
        title,
        Some(frame),
        html! {
            h1 { "Configuration" }
            p { "Only the project's admins see and change its configuration." }
        },
    )
    .into_response()
}

fn plan_notice(plan: &PlanView, base: &str) -> Markup {
    html! {
        div.notice role="status" {
            @if plan.changes.is_empty() {
                p { "No changes: the project already matches." }
            } @else {
                p { @if plan.dry_run { "A dry run; nothing was changed. It would:" } @else { "Saved:" } }
                ul.changes {
                    @for c in &plan.changes {
                        li { (c.action) " " (c.kind) " " strong { (c.name) } }
                    }
                }
            }
            @if !plan.kept.is_empty() {
                p { "Left as they are (prune deletes them): "
                    (plan.kept.iter().map(|c| format!("{}/{}", c.kind, c.name)).collect::<Vec<_>>().join(", ")) }
            }
            @for c in plan.changes.iter().filter(|c| c.note.is_some()) {
                @let note = c.note.as_deref().unwrap_or_default();
                @let path = note.split_whitespace().find(|w| w.starts_with("/ingest/alerts/")).unwrap_or_default();
                @let url = format!("{base}{path}");
                @let (am, grafana) = super::start::alert_snippets(&url);
                section.snippet {
                    h3 { "The address of " (c.name) }
                    p { "Copy it now: it is shown only once." }
                    pre { code.secret.integration-url { (url) } }
                    h3 { "Prometheus Alertmanager receiver" }
                    pre { code { (am) } }
                    h3 { "Grafana contact point" }
                    pre { code { (grafana) } }
                }
            }
        }
    }
}

fn base_url(state: &AppState) -> String {
    state
        .config
        .public_base()
        .map(str::to_owned)
        .unwrap_or_default()
}

async fn index(state: &AppState, s: &UiSession, slug: &str, flash: Option<Flash>) -> Response {
    let (projects, idx) = or_page!(load(state, s, slug));
    let (project, role) = &projects[idx];
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: Some(project),
        section: "settings",
    };
    let title = format!("Configuration · {}", project.name);
    if authorize(*role, None, Permission::Administer).is_err() {
        return admin_only(&frame, &title);
    }
    let doc = match configuration::export(state, &project.id, &project.slug).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let all = serde_json::to_value(&doc).unwrap_or(Value::Null);
    let yaml = serde_norway::to_string(&doc).unwrap_or_default();
    let csrf = &s.session.csrf_token;
    let status = if matches!(flash, Some(Flash::Error(_))) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "Configuration" }
        p { a href={"/p/" (project.slug) "/settings"} { "← Settings" } }
        @match &flash {
            Some(Flash::Done(plan)) => { (plan_notice(plan, &base_url(state))) }
            Some(Flash::Error(e)) => { p.error role="alert" { (e) } }
            None => {}
        }
        @for kind in KINDS {
            @let items = all.get(kind.key).and_then(Value::as_array).cloned().unwrap_or_default();
            section.kind id={"kind-" (kind.key)} {
                h2 { (kind.title) }
                @if items.is_empty() {
                    p.empty { "None yet." }
                } @else {
                    table {
                        tbody {
                            @for item in &items {
                                @let name = name_of(kind, item);
                                tr {
                                    td { a href={"/p/" (project.slug) "/settings/configure/" (kind.key) "?name=" (urlencoded(&name))} { (name) } }
                                    td {
                                        form.inline method="post" action={"/p/" (project.slug) "/settings/configure/" (kind.key) "/delete"} {
                                            input type="hidden" name="_csrf" value=(csrf);
                                            input type="hidden" name="name" value=(name);
                                            button type="submit" { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p { a.add href={"/p/" (project.slug) "/settings/configure/" (kind.key)} { "Add " (kind.one) } }
            }
        }
        section #as-a-file {
            h2 { "As a file" }
            p { "The same settings as " code { "liveops apply -f" } " reads them. "
                a href={"/p/" (project.slug) "/settings/configure.yaml"} { "Download" } }
            form.stack.wide method="post" action={"/p/" (project.slug) "/settings/configure/file"} {
                input type="hidden" name="_csrf" value=(csrf);
                label for="yaml" { "Configuration (YAML)" }
                textarea #yaml name="yaml" rows="20" spellcheck="false" { (yaml) }
                label { input type="checkbox" name="prune"; " Delete what the file leaves out" }
                div {
                    button type="submit" name="mode" value="dry_run" { "Dry run" }
                    " "
                    button type="submit" name="mode" value="apply" { "Apply" }
                }
            }
        }
    };
    (status, super::page(&title, Some(&frame), body)).into_response()
}

fn urlencoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn page(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    index(&state, &s, &slug, None).await
}

/// The configuration as a YAML file.
pub async fn download(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    if authorize(*role, None, Permission::Administer).is_err() {
        return error_page(
            StatusCode::FORBIDDEN,
            "Only the project's admins see its configuration.",
        );
    }
    match configuration::export(&state, &project.id, &project.slug).await {
        Ok(doc) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/yaml; charset=utf-8".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.liveops.yaml\"", project.slug),
                ),
            ],
            serde_norway::to_string(&doc).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct NameQuery {
    name: Option<String>,
}

/// The form of one object: filled from the object when `name` names one,
/// or from what was typed, with the problems beside their fields.
#[allow(clippy::too_many_arguments)]
async fn form(
    state: &AppState,
    s: &UiSession,
    slug: &str,
    kind: &'static Kind,
    editing: Option<&str>,
    values: HashMap<&'static str, String>,
    problems: &[Problem],
    status: StatusCode,
) -> Response {
    let (projects, idx) = or_page!(load(state, s, slug));
    let (project, role) = &projects[idx];
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: Some(project),
        section: "settings",
    };
    let title = format!("{} · {}", kind.title, project.name);
    if authorize(*role, None, Permission::Administer).is_err() {
        return admin_only(&frame, &title);
    }
    let general: Vec<&Problem> = problems
        .iter()
        .filter(|p| !kind.fields.iter().any(|f| f.name == p.field))
        .collect();
    let preview = match (kind.key, editing) {
        ("schedules", Some(name)) => two_weeks(state, &project.id, name).await,
        _ => Vec::new(),
    };
    let overrides = match (kind.key, editing) {
        ("schedules", Some(name)) => overrides_of(state, &project.id, name).await,
        _ => Vec::new(),
    };
    let address = match (kind.key, editing) {
        ("integrations", Some(name)) => {
            match crate::support::integrations::address(state, &project.id, name).await {
                Ok(a) => Some(a),
                Err(e) => return e.into_response(),
            }
        }
        _ => None,
    };
    let body = html! {
        h1 { @if let Some(n) = editing { "Edit " (kind.one) " " (n) } @else { "Add " (kind.one) } }
        p { a href={"/p/" (project.slug) "/settings/configure#kind-" (kind.key)} { "← Configuration" } }
        @for p in &general {
            p.error role="alert" { (p.message) }
        }
        form.stack.settings-form method="post" action={"/p/" (project.slug) "/settings/configure/" (kind.key)} {
            input type="hidden" name="_csrf" value=(s.session.csrf_token);
            @if let Some(n) = editing {
                input type="hidden" name="_editing" value=(n);
            }
            @for fl in kind.fields {
                @let id = format!("field-{}", fl.name);
                @let value = values.get(fl.name).cloned().unwrap_or_default();
                @let mine: Vec<&Problem> = problems.iter().filter(|p| p.field == fl.name).collect();
                @let fixed = editing.is_some() && kind.named_by.contains(&fl.name);
                div.field.invalid[!mine.is_empty()] {
                    @match fl.input {
                        Input::Check => {
                            input type="hidden" name=(fl.name) value="";
                            label for=(id) {
                                input id=(id) type="checkbox" name=(fl.name) value="on" checked[!value.is_empty()];
                                " " (fl.label)
                            }
                        }
                        Input::Choice(options) => {
                            label for=(id) { (fl.label) }
                            @if fixed {
                                input id=(id) type="text" name=(fl.name) value=(value) readonly;
                            } @else {
                                select id=(id) name=(fl.name) {
                                    @if !options.contains(&value.as_str()) { option value="" selected { "(default)" } }
                                    @for o in options.iter() {
                                        option value=(o) selected[*o == value] { (o) }
                                    }
                                }
                            }
                        }
                        Input::Lines(_) => {
                            label for=(id) { (fl.label) }
                            textarea id=(id) name=(fl.name) rows="4" spellcheck="false" aria-invalid=[(!mine.is_empty()).then_some("true")] { (value) }
                        }
                        _ => {
                            label for=(id) { (fl.label) }
                            input id=(id) type="text" name=(fl.name) value=(value) readonly[fixed]
                                inputmode=[matches!(fl.input, Input::Number).then_some("decimal")]
                                aria-invalid=[(!mine.is_empty()).then_some("true")];
                        }
                    }
                    @for p in &mine {
                        p.field-error role="alert" id={(id) "-error"} { (p.message) }
                    }
                    @if !fl.help.is_empty() { small.help { (fl.help) } }
                }
            }
            button type="submit" { "Save" }
        }
        @if let (Some(address), Some(name)) = (&address, editing) {
            @let url = format!("{}{}", base_url(state), address.as_ref().map(|a| a.url_path.as_str()).unwrap_or(""));
            section.snippet #integration-address {
                h2 { "Where it takes alerts" }
                @if address.is_some() {
                    pre { code.secret.integration-url { (url) } }
                    @let (am, grafana) = super::start::alert_snippets(&url);
                    h3 { "Prometheus Alertmanager receiver" }
                    pre { code { (am) } }
                    h3 { "Grafana contact point" }
                    pre { code { (grafana) } }
                } @else {
                    p { "This integration was made before addresses were kept; give it a new one to see it." }
                }
                form.inline method="post" action={"/p/" (project.slug) "/settings/configure/integrations/address"} {
                    input type="hidden" name="_csrf" value=(s.session.csrf_token);
                    input type="hidden" name="name" value=(name);
                    button type="submit" { "New address (the old one stops working)" }
                }
            }
        }
        @if let ("schedules", Some(name)) = (kind.key, editing) {
            section #overrides {
                h2 { "Overrides" }
                p { "Someone on call in the schedule's place for a while." }
                @if overrides.is_empty() {
                    p.empty { "None." }
                } @else {
                    table {
                        thead { tr { th { "Who" } th { "From" } th { "To" } th {} } }
                        tbody {
                            @for (id, who, from, to) in &overrides {
                                tr {
                                    td { (who) } td { (from) } td { (to) }
                                    td {
                                        form.inline method="post" action={"/p/" (project.slug) "/settings/configure/schedules/overrides/delete"} {
                                            input type="hidden" name="_csrf" value=(s.session.csrf_token);
                                            input type="hidden" name="name" value=(name);
                                            input type="hidden" name="id" value=(id);
                                            button type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                form.stack #add-override method="post" action={"/p/" (project.slug) "/settings/configure/schedules/overrides"} {
                    input type="hidden" name="_csrf" value=(s.session.csrf_token);
                    input type="hidden" name="name" value=(name);
                    label for="override-user" { "Who (e-mail)" }
                    input #override-user name="user" required;
                    label for="override-start" { "From (local time, like 2026-12-24T18:00)" }
                    input #override-start name="start" required;
                    label for="override-end" { "To" }
                    input #override-end name="end" required;
                    button type="submit" { "Add override" }
                }
            }
        }
        @if !preview.is_empty() {
            section.preview {
                h2 { "The next two weeks" }
                table {
                    thead { tr { th { "From" } th { "To" } th { "On call" } } }
                    tbody {
                        @for (from, to, who) in &preview {
                            tr { td { (from) } td { (to) } td { (who) } }
                        }
                    }
                }
            }
        }
    };
    (status, super::page(&title, Some(&frame), body)).into_response()
}

/// A schedule's overrides: id, who, from and to.
async fn overrides_of(
    state: &AppState,
    project_id: &str,
    name: &str,
) -> Vec<(String, String, String, String)> {
    let Ok(loaded) = state.db.schedule(project_id, name).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for o in &loaded.overrides {
        let who = match state.db.user_by_id(&o.user_id).await {
            Ok(u) => u.email,
            Err(_) => o.user_id.clone(),
        };
        out.push((
            o.id.clone(),
            who,
            crate::state::format_ms(o.start_at),
            crate::state::format_ms(o.end_at),
        ));
    }
    out
}

/// Who is on call in a schedule over the next two weeks.
async fn two_weeks(
    state: &AppState,
    project_id: &str,
    name: &str,
) -> Vec<(String, String, String)> {
    let Ok(loaded) = state.db.schedule(project_id, name).await else {
        return Vec::new();
    };
    let now =
        jiff::Timestamp::from_millisecond(state.now_ms()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let until = now + jiff::SignedDuration::from_hours(14 * 24);
    let mut out = Vec::new();
    for seg in loaded.schedule.final_shifts(now, until) {
        let who = match state.db.user_by_id(&seg.user).await {
            Ok(u) => u.email,
            Err(_) => seg.user.clone(),
        };
        out.push((
            crate::state::format_ms(seg.start.as_millisecond()),
            crate::state::format_ms(seg.end.as_millisecond()),
            who,
        ));
    }
    out
}

pub async fn edit(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, kind)): Path<(String, String)>,
    Query(q): Query<NameQuery>,
) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return error_page(StatusCode::NOT_FOUND, "There is no such kind of setting.");
    };
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let name = q.name.filter(|n| !n.is_empty());
    let mut values = typed(kind, &Value::Null);
    if let Some(n) = &name {
        let doc: Document = match configuration::export(&state, &project.id, &project.slug).await {
            Ok(d) => d,
            Err(e) => return e.into_response(),
        };
        let all = serde_json::to_value(&doc).unwrap_or(Value::Null);
        let found = all
            .get(kind.key)
            .and_then(Value::as_array)
            .and_then(|items| items.iter().find(|i| name_of(kind, i) == *n).cloned());
        match found {
            Some(v) => values = typed(kind, &v),
            None => {
                return error_page(
                    StatusCode::NOT_FOUND,
                    &format!("There is no {} `{n}`.", kind.one),
                );
            }
        }
    }
    form(
        &state,
        &s,
        &slug,
        kind,
        name.as_deref(),
        values,
        &[],
        StatusCode::OK,
    )
    .await
}

/// Saves one object from its form.
pub async fn save(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, kind)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return error_page(StatusCode::NOT_FOUND, "There is no such kind of setting.");
    };
    // A checkbox posts its hidden empty value, then "on" when ticked.
    let mut form_values: HashMap<String, String> = HashMap::new();
    for (k, v) in fields {
        let slot = form_values.entry(k).or_default();
        if slot.is_empty() {
            *slot = v;
        }
    }
    let csrf = form_values.get("_csrf").cloned().unwrap_or_default();
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &csrf,
        Permission::Administer,
        "Only project admins may change its configuration."
    ));
    let editing = form_values
        .get("_editing")
        .cloned()
        .filter(|n| !n.is_empty());
    let kept: HashMap<&'static str, String> = kind
        .fields
        .iter()
        .map(|fl| {
            (
                fl.name,
                form_values.get(fl.name).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let again = |problems: Vec<Problem>| {
        let state = state.clone();
        let s = &s;
        let slug = slug.clone();
        let editing = editing.clone();
        let kept = kept.clone();
        async move {
            form(
                &state,
                s,
                &slug,
                kind,
                editing.as_deref(),
                kept,
                &problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let spec = match object(kind, &form_values) {
        Ok(v) => v,
        Err(problems) => return again(problems).await,
    };
    let name = name_of(kind, &spec);
    if let Some(e) = &editing
        && *e != name
    {
        return again(vec![Problem {
            field: kind.named_by[0],
            message: format!("renaming is not possible here: delete `{e}` and add `{name}`"),
        }])
        .await;
    }
    if editing.is_none() {
        let exists = configuration::export(&state, &project.id, &project.slug)
            .await
            .ok()
            .and_then(|d| serde_json::to_value(d).ok())
            .and_then(|all| all.get(kind.key).and_then(Value::as_array).cloned())
            .is_some_and(|items| items.iter().any(|i| name_of(kind, i) == name));
        if exists {
            return again(vec![Problem {
                field: kind.named_by[0],
                message: format!("there is already a {} `{name}`", kind.one),
            }])
            .await;
        }
    }
    match configuration::put_one_checked(
        &state,
        &s.actor(),
        &project.id,
        &project.slug,
        kind.key,
        None,
        spec,
    )
    .await
    {
        Ok(plan) => index(&state, &s, &slug, Some(Flash::Done(plan))).await,
        Err(Refusal::Invalid(problems)) => {
            again(problems.into_iter().map(|(_, p)| p).collect()).await
        }
        Err(Refusal::Failed(e)) if e.status().is_client_error() => {
            again(vec![Problem {
                field: "",
                message: e.detail().unwrap_or("refused").to_owned(),
            }])
            .await
        }
        Err(Refusal::Failed(e)) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
}

pub async fn delete(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, kind)): Path<(String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return error_page(StatusCode::NOT_FOUND, "There is no such kind of setting.");
    };
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may change its configuration."
    ));
    let flash = match configuration::delete_one(
        &state,
        &s.actor(),
        &project.id,
        &project.slug,
        kind.key,
        &f.name,
    )
    .await
    {
        Ok(plan) => Flash::Done(plan),
        Err(e) if e.status().is_client_error() => {
            Flash::Error(e.detail().unwrap_or("refused").to_owned())
        }
        Err(e) => return e.into_response(),
    };
    index(&state, &s, &slug, Some(flash)).await
}

#[derive(Deserialize)]
pub struct FileForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    yaml: String,
    #[serde(default)]
    prune: Option<String>,
    #[serde(default)]
    mode: String,
}

impl std::fmt::Debug for FileForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileForm").finish_non_exhaustive()
    }
}

/// Applies (or dry-runs) a whole configuration typed or pasted in.
pub async fn apply_file(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<FileForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may change its configuration."
    ));
    let flash = match serde_norway::from_str::<Document>(&f.yaml) {
        Err(e) => Flash::Error(format!("The file does not read: {e}")),
        Ok(doc) => match configuration::apply(
            &state,
            &s.actor(),
            &project.id,
            &project.slug,
            doc,
            f.mode != "apply",
            f.prune.is_some(),
        )
        .await
        {
            Ok(plan) => Flash::Done(plan),
            Err(e) if e.status().is_client_error() => {
                Flash::Error(e.detail().unwrap_or("refused").to_owned())
            }
            Err(e) => return e.into_response(),
        },
    };
    index(&state, &s, &slug, Some(flash)).await
}

/// Gives an integration a new address and shows it, on its form.
pub async fn replace_address(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, kind)): Path<(String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let Some(kind) = kind_of(&kind).filter(|k| k.key == "integrations") else {
        return error_page(StatusCode::NOT_FOUND, "Only integrations have an address.");
    };
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only project admins may change its configuration."
    ));
    if let Err(e) =
        crate::support::integrations::replace(&state, &s.actor(), &project.id, &f.name).await
    {
        return e.into_response();
    }
    Redirect::to(&format!(
        "/p/{}/settings/configure/{}?name={}#integration-address",
        project.slug,
        kind.key,
        urlencoded(&f.name)
    ))
    .into_response()
}

#[derive(Deserialize)]
pub struct OverrideForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    id: String,
}

impl std::fmt::Debug for OverrideForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverrideForm")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Adds an override to a schedule, back on the schedule's form.
pub async fn add_override(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, kind)): Path<(String, String)>,
    Form(f): Form<OverrideForm>,
) -> Response {
    override_action(state, s, slug, kind, "add", f).await
}

/// Removes a schedule's override, back on the schedule's form.
pub async fn delete_override(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, kind)): Path<(String, String)>,
    Form(f): Form<OverrideForm>,
) -> Response {
    override_action(state, s, slug, kind, "delete", f).await
}

async fn override_action(
    state: AppState,
    s: UiSession,
    slug: String,
    kind: String,
    action: &str,
    f: OverrideForm,
) -> Response {
    let Some(kind) = kind_of(&kind).filter(|k| k.key == "schedules") else {
        return error_page(StatusCode::NOT_FOUND, "Only schedules have overrides.");
    };
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Your role cannot change who is on call."
    ));
    let done = match action {
        "add" => crate::support::overrides::add(
            &state,
            &s.actor(),
            &project.id,
            &f.name,
            &f.user,
            &f.start,
            &f.end,
        )
        .await
        .map(|_| ()),
        "delete" => {
            crate::support::overrides::remove(&state, &s.actor(), &project.id, &f.name, &f.id).await
        }
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such action."),
    };
    match done {
        Ok(()) => Redirect::to(&format!(
            "/p/{}/settings/configure/{}?name={}#overrides",
            project.slug,
            kind.key,
            urlencoded(&f.name)
        ))
        .into_response(),
        Err(e) if e.status().is_client_error() => {
            let values = match configuration::export(&state, &project.id, &project.slug).await {
                Ok(doc) => serde_json::to_value(&doc)
                    .ok()
                    .and_then(|all| {
                        all.get(kind.key)
                            .and_then(Value::as_array)
                            .and_then(|items| {
                                items.iter().find(|i| name_of(kind, i) == f.name).cloned()
                            })
                    })
                    .map(|v| typed(kind, &v))
                    .unwrap_or_else(|| typed(kind, &Value::Null)),
                Err(e) => return e.into_response(),
            };
            form(
                &state,
                &s,
                &slug,
                kind,
                Some(&f.name),
                values,
                &[Problem {
                    field: "",
                    message: e.detail().unwrap_or("refused").to_owned(),
                }],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => e.into_response(),
    }
}
