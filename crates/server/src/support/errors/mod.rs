//! Error tracking, the bug-fixing half of production support: each
//! project's Sentry DSN, the intake that groups error events into issues
//! (raw events to telemetry, issues and their counts to the state store),
//! and what an event does to its issue's state: a new issue, a regression
//! of a resolved one, the end of an ignore. The DSN, alert settings and
//! grouping rules are in [`settings`]; reads and state changes by people
//! in [`issues`]; alerts in [`alerts`].

pub mod alerts;
pub mod cache;
pub mod intake;
pub mod issues;
pub mod settings;
pub mod sourcemaps;
pub mod spool;

pub use settings::*;

use std::collections::BTreeMap;
use std::time::Instant;

use liveops_core::support::errors::{self as grouping, Grouped};
use liveops_core::support::issues::{self as lifecycle, Status};
use liveops_store::StoreError;
use liveops_store::projects::KeyPurpose;
use liveops_store::support::errors::{self as store, IssueRow, Sighting, StateChange};
use liveops_telemetry::errors::ErrorEvent;
use liveops_wire::sentry::Event;
use sha2::{Digest, Sha256};

use super::{Result, SupportError};
use crate::auth::keys;
use crate::state::AppState;
use spool::{Prepared, Spooled};

/// Runs a telemetry read or write in the blocking pool.
pub(crate) async fn on_telemetry<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn liveops_telemetry::TelemetryStore) -> liveops_telemetry::Result<T>
    + Send
    + 'static,
) -> Result<T> {
    let t = state.telemetry.clone();
    Ok(tokio::task::spawn_blocking(move || f(&*t)).await??)
}

/// The project a DSN's number and public key name.
pub async fn project_for_dsn(state: &AppState, number: &str, key: &str) -> Result<String> {
    let refused =
        || SupportError::unauthorized("unknown DSN: check the project number and public key");
    let number: i64 = number.parse().map_err(|_| refused())?;
    let cache_key = keys::hash(&format!("sentry:{number}:{key}"));
    let now = Instant::now();
    if let Some(p) = state
        .ingest_keys
        .recall(KeyPurpose::Browser, &cache_key, now)
    {
        return Ok(p);
    }
    let settings = state
        .db
        .error_settings_by_number(number)
        .await?
        .ok_or_else(refused)?;
    if settings.public_key != key {
        return Err(refused());
    }
    state
        .ingest_keys
        .remember(KeyPurpose::Browser, cache_key, &settings.project_id, now);
    Ok(settings.project_id)
}

/// Takes `n` events from the project's ingest allowance, or says how long
/// to wait.
pub fn take_allowance(state: &AppState, project_id: &str, n: usize) -> Result<()> {
    state
        .ingest_keys
        .take(
            &format!("errors:{project_id}"),
            n as u64,
            state.config.ingest_events_per_sec,
            Instant::now(),
        )
        .map_err(|wait| {
            SupportError::limited(
                "this project is sending error events faster than its limit",
                wait,
            )
        })
}

/// An error event as it arrived: read, and the payload as sent.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub event: Event,
    pub payload: String,
}

impl Incoming {
    /// An event from a payload in Sentry's shape (one made for an
    /// exception that came another way).
    pub fn from_payload(payload: Vec<u8>) -> Option<Incoming> {
        let event = liveops_wire::sentry::parse_event_summary(&payload).ok()?;
        Some(Incoming {
            event,
            payload: String::from_utf8(payload).ok()?,
        })
    }
}

/// Files exceptions that came with other telemetry (OpenTelemetry span
/// events, PostHog `$exception`s) as error events. The telemetry they came
/// with is stored already, so a failure here is logged rather than
/// answered: a resend would store that telemetry twice.
pub async fn take_alongside(state: &AppState, project_id: &str, incoming: Vec<Incoming>) {
    if incoming.is_empty() {
        return;
    }
    if let Err(e) = take(state, project_id, incoming).await {
        tracing::warn!(project = project_id, error = %e, "exceptions could not be filed as errors");
    }
}

/// What one intake stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    /// Event ids, in the order given (a resent event keeps its id).
    pub ids: Vec<String>,
}

/// A fingerprint's parts as one short key: the first 16 bytes of their
/// SHA-256, in hex.
pub fn fingerprint_key(f: &grouping::Fingerprint) -> String {
    let digest = Sha256::digest(f.canonical().as_bytes());
    hex::encode(&digest[..16])
}

fn clean_id(id: Option<&str>) -> String {
    match id {
        Some(s) => {
            let s: String = s
                .chars()
                .filter(|c| *c != '-')
                .collect::<String>()
                .to_ascii_lowercase();
            if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                s
            } else {
                liveops_store::new_id()
            }
        }
        None => liveops_store::new_id(),
    }
}

fn prepare(inc: Incoming, rules: &[grouping::Rule], now: i64) -> Prepared {
    let e = &inc.event;
    let exceptions: Vec<grouping::Exception> = e.exceptions.iter().map(|x| x.to_core()).collect();
    let grouped = Grouped {
        exceptions: &exceptions,
        message: e.message.as_deref(),
        fingerprint: e.fingerprint.as_deref(),
    };
    let fp = grouping::fingerprint(&grouped, rules);
    let user = e
        .user_id
        .clone()
        .or_else(|| e.user_email.clone())
        .or_else(|| e.user_ip.clone())
        .unwrap_or_default();
    // An event from the future (a wrong clock) counts as now.
    let ts = e.timestamp_ms.map_or(now, |t| t.min(now + 60_000));
    Prepared {
        stored: ErrorEvent {
            event_id: clean_id(e.event_id.as_deref()),
            fingerprint: fingerprint_key(&fp),
            ts_ms: ts,
            level: if e.level.is_empty() {
                "error".into()
            } else {
                e.level.clone()
            },
            release: e.release.clone().unwrap_or_default(),
            environment: e.environment.clone().unwrap_or_default(),
            user,
            distinct_id: e.user_id.clone().unwrap_or_default(),
            tags: e.tags.clone(),
            payload: inc.payload,
        },
        title: grouping::title(&exceptions, e.message.as_deref()),
        culprit: grouping::culprit(&exceptions).or_else(|| e.transaction.clone()),
    }
}

/// Takes error events in: each is read and grouped here, and the intake
/// is answered once they are durable in this node's spool. The filer
/// ([`intake::run_filer`]) then stores them in telemetry and files them
/// into issues ([`file_batch`]): each fingerprint's issue made or counted,
/// regressions and the ends of ignores included, alerts after the commit.
pub async fn take(
    state: &AppState,
    project_id: &str,
    mut incoming: Vec<Incoming>,
) -> Result<Taken> {
    sourcemaps::symbolicate(state, project_id, &mut incoming).await;
    let now = state.now_ms();
    let rules = match state.errors_cache.rules(project_id, Instant::now()) {
        Some(r) => r,
        None => {
            let read: Vec<grouping::Rule> = state
                .db
                .grouping_rules(project_id)
                .await?
                .into_iter()
                .map(|r| r.rule)
                .collect();
            state
                .errors_cache
                .keep_rules(project_id, read, Instant::now())
        }
    };
    let mut ids = Vec::with_capacity(incoming.len());
    let mut fresh = Vec::with_capacity(incoming.len());
    for inc in incoming {
        let p = prepare(inc, &rules, now);
        ids.push(p.stored.event_id.clone());
        if !state.errors_cache.seen(project_id, &p.stored.event_id)
            && !fresh
                .iter()
                .any(|f: &Prepared| f.stored.event_id == p.stored.event_id)
        {
            fresh.push(p);
        }
    }
    if fresh.is_empty() {
        return Ok(Taken { ids });
    }
    // Answered once durable in the spool; the filer stores and files them.
    let records = fresh
        .iter()
        .map(|p| spool::encode(project_id, now, p))
        .collect();
    state.errors_intake.append(records).await.map_err(|why| {
        tracing::error!(error = %why, "error events could not be spooled");
        SupportError::Unavailable(
            "error events could not be stored just now; send them again".to_owned(),
        )
    })?;
    state
        .errors_cache
        .note(project_id, fresh.into_iter().map(|p| p.stored.event_id));
    Ok(Taken { ids })
}

/// Stores a batch of spooled events in telemetry and files them into
/// issues, in one state transaction that also records the spool position
/// after them (`position`); then files the alerts. With `replay`, events
/// telemetry holds already (a crash came between the two) are not stored
/// again, but are filed.
pub(crate) async fn file_batch(
    state: &AppState,
    batch: Vec<Spooled>,
    position: Option<u64>,
    replay: bool,
) -> Result<()> {
    let mut by_project: BTreeMap<String, (i64, Vec<Prepared>)> = BTreeMap::new();
    let mut ids = std::collections::HashSet::new();
    for s in batch {
        if !ids.insert((s.project.clone(), s.event.stored.event_id.clone())) {
            continue;
        }
        let slot = by_project.entry(s.project).or_insert((0, Vec::new()));
        slot.0 = slot.0.max(s.now);
        slot.1.push(s.event);
    }
    drop(ids);
    let mut projects = Vec::with_capacity(by_project.len());
    for (project, (now, events)) in by_project {
        let events = store_events(state, &project, events, replay).await?;
        projects.push((project, now, events));
    }
    let filed = file_all(state, &projects, position).await?;
    for ((project, _, events), f) in projects.into_iter().zip(filed) {
        if !replay && !f.new_prints.is_empty() {
            // A fingerprint that had no issue had no events stored before
            // this batch (after a crash, `replay`, it may have had): its
            // events here are all it has, so telemetry may keep counts of
            // them from now on rather than read them from its table when
            // first asked.
            let first: Vec<ErrorEvent> = events
                .into_iter()
                .filter(|p| f.new_prints.contains(&p.stored.fingerprint))
                .map(|p| p.stored)
                .collect();
            let p = project.clone();
            on_telemetry(state, move |t| {
                t.errors().first_events(&p, &first);
                Ok(())
            })
            .await?;
        }
        alerts::after_intake(state, &project, &f.new, &f.regressed).await;
    }
    Ok(())
}

/// Stores a project's events in telemetry, durably (with `replay`, only
/// those it does not hold yet). The payloads are moved into the store, not
/// copied; the events come back without them.
async fn store_events(
    state: &AppState,
    project_id: &str,
    mut events: Vec<Prepared>,
    replay: bool,
) -> Result<Vec<Prepared>> {
    let project = project_id.to_owned();
    let events = on_telemetry(state, move |t| {
        let mut stored = std::collections::HashSet::new();
        if replay {
            let ids: Vec<String> = events.iter().map(|p| p.stored.event_id.clone()).collect();
            stored.extend(t.errors().stored(&project, &ids)?);
        }
        let rows: Vec<ErrorEvent> = events
            .iter_mut()
            .filter(|p| !stored.contains(&p.stored.event_id))
            .map(|p| ErrorEvent {
                payload: std::mem::take(&mut p.stored.payload),
                ..p.stored.clone()
            })
            .collect();
        if !rows.is_empty() {
            t.errors().ingest(&project, &rows)?;
        }
        Ok(events)
    })
    .await?;
    Ok(events)
}

/// Files stored events into issues, every project's in one transaction
/// with the spool position; again after a conflict with another node
/// (twice at most).
async fn file_all(
    state: &AppState,
    projects: &[(String, i64, Vec<Prepared>)],
    position: Option<u64>,
) -> Result<Vec<Filed>> {
    for attempt in 0..3 {
        let mut tx = state.db.begin().await?;
        let mut filed = Vec::with_capacity(projects.len());
        let mut failed = None;
        for (project, now, events) in projects {
            match file(state, &mut tx, project, events, *now).await {
                Ok(f) => filed.push(f),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let done = match failed {
            Some(e) => Err(e),
            None => match position {
                Some(at) => liveops_store::nodes::set_spool_position(
                    &mut tx,
                    &state.node,
                    spool::STREAM,
                    at,
                )
                .await
                .map_err(SupportError::from),
                None => Ok(()),
            },
        };
        let done = match done {
            Ok(()) => tx
                .commit()
                .await
                .map_err(|e| SupportError::from(StoreError::from(e))),
            Err(e) => Err(e),
        };
        match done {
            Ok(()) => return Ok(filed),
            Err(SupportError::Store(StoreError::Conflict(_))) if attempt < 2 => continue,
            Err(e) => return Err(e),
        }
    }
    Err(SupportError::internal("the events could not be filed"))
}

/// What filing a round of events changed.
struct Filed {
    new: Vec<IssueRow>,
    /// The fingerprints of the new issues.
    new_prints: Vec<String>,
    /// Issues that came back, with the release that brought them.
    regressed: Vec<(IssueRow, Option<String>)>,
}

/// Per fingerprint: its events' sighting, and per release and environment
/// their counts.
struct Group<'a> {
    first: &'a Prepared,
    count: i64,
    from: i64,
    to: i64,
    releases: Vec<&'a str>,
    by_release: BTreeMap<(&'a str, &'a str), (i64, i64, i64)>,
    events: Vec<&'a Prepared>,
}

async fn file(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    project_id: &str,
    events: &[Prepared],
    now: i64,
) -> Result<Filed> {
    let mut groups: BTreeMap<&str, Group<'_>> = BTreeMap::new();
    for p in events {
        let e = &p.stored;
        let g = groups
            .entry(e.fingerprint.as_str())
            .or_insert_with(|| Group {
                first: p,
                count: 0,
                from: e.ts_ms,
                to: e.ts_ms,
                releases: Vec::new(),
                by_release: BTreeMap::new(),
                events: Vec::new(),
            });
        g.count += 1;
        g.from = g.from.min(e.ts_ms);
        g.to = g.to.max(e.ts_ms);
        if !e.release.is_empty() {
            g.releases.push(&e.release);
        }
        let slot = g
            .by_release
            .entry((&e.release, &e.environment))
            .or_insert((0, e.ts_ms, e.ts_ms));
        slot.0 += 1;
        slot.1 = slot.1.min(e.ts_ms);
        slot.2 = slot.2.max(e.ts_ms);
        g.events.push(p);
    }
    let mut filed = Filed {
        new: Vec::new(),
        new_prints: Vec::new(),
        regressed: Vec::new(),
    };
    let prints: Vec<&str> = groups.keys().copied().collect();
    let known = store::issues_of_fingerprints_in(&mut *tx, project_id, &prints).await?;
    let mut seen: Vec<(&IssueRow, Sighting<'_>)> = Vec::with_capacity(known.len());
    let mut releases: Vec<store::ReleaseSighting<'_>> = Vec::new();
    for (fingerprint, g) in &groups {
        let sighting = Sighting {
            fingerprint,
            title: &g.first.title,
            culprit: g.first.culprit.as_deref(),
            level: &g.first.stored.level,
            count: g.count,
            first: g.from,
            last: g.to,
            release: lifecycle::newest(g.releases.iter().copied()),
        };
        match known.get(*fingerprint) {
            None => {
                let issue = store::insert_issue(&mut *tx, project_id, &sighting, now).await?;
                store::add_activity(
                    &mut *tx,
                    &issue,
                    "created",
                    sighting.release,
                    "liveops",
                    None,
                    now,
                )
                .await?;
                filed.new.push(issue);
                filed.new_prints.push((*fingerprint).to_owned());
            }
            Some(issue) => {
                if let Some(release) = comes_back(state, project_id, issue, g, now).await? {
                    let (kind, change) = match issue.status {
                        Status::Resolved => ("regressed", StateChange::Regress(now)),
                        _ => ("unignored", StateChange::Unresolve),
                    };
                    store::set_state(&mut *tx, &issue.id, &change).await?;
                    store::add_activity(
                        &mut *tx,
                        issue,
                        kind,
                        release.as_deref(),
                        "liveops",
                        None,
                        now,
                    )
                    .await?;
                    if issue.status == Status::Resolved {
                        filed.regressed.push((issue.clone(), release));
                    }
                }
                seen.push((issue, sighting));
            }
        }
        releases.extend(
            g.by_release
                .iter()
                .map(
                    |((release, environment), (n, from, to))| store::ReleaseSighting {
                        fingerprint,
                        release,
                        environment,
                        count: *n,
                        first: *from,
                        last: *to,
                    },
                ),
        );
    }
    store::add_sightings(&mut *tx, project_id, &seen).await?;
    store::add_release_sightings(&mut *tx, project_id, &releases).await?;
    Ok(filed)
}

/// Whether the group's events bring a resolved or ignored issue back, and
/// the release that did (`Some(None)`: back, in no release).
async fn comes_back(
    state: &AppState,
    project_id: &str,
    issue: &IssueRow,
    g: &Group<'_>,
    now: i64,
) -> Result<Option<Option<String>>> {
    match issue.status {
        Status::Unresolved => Ok(None),
        Status::Resolved => {
            let (Some(resolution), Some(at)) = (&issue.resolution, issue.resolved_at) else {
                return Ok(None);
            };
            Ok(g.events
                .iter()
                .map(|p| &p.stored)
                .find(|e| {
                    let release = (!e.release.is_empty()).then_some(e.release.as_str());
                    // Received after the resolve, by this server's clock:
                    // an SDK's clock may differ from it.
                    lifecycle::regresses(resolution, at, release, now)
                })
                .map(|e| (!e.release.is_empty()).then(|| e.release.clone())))
        }
        Status::Ignored => {
            let since = issue.ignored_at.unwrap_or(0);
            let events_since =
                u64::try_from(issue.times_seen + g.count - issue.ignored_count.unwrap_or(0))
                    .unwrap_or(0);
            let users_since = if issue.ignore.users.is_some() {
                let prints: Vec<String> = state.db.issue_prints(&issue.id).await?;
                let project = project_id.to_owned();
                on_telemetry(state, move |t| t.errors().users(&project, &prints, since)).await?
            } else {
                0
            };
            Ok(issue
                .ignore
                .ended(events_since, users_since, now)
                .then(|| lifecycle::newest(g.releases.iter().copied()).map(str::to_owned)))
        }
    }
}
