//! Release planning shared by the API, the web UI and the public changelog:
//! trains, releases through planned, frozen and shipped, scheduling backlog
//! items against capacity, hotfixes for incidents, and release notes built
//! from items, fixed incidents, deployed commits and the OpenAPI diff.

pub mod deploy;
pub mod hooks;

use jiff::civil::Date;
use liveops_core::docs::api_diff::{Change, Level, VersionProblem};
use liveops_core::feedback::backlog::{ItemKind, ItemStatus};
use liveops_core::releases::changelog::{Entry, Release, Section};
use liveops_core::releases::commits::ConventionalCommit;
use liveops_core::releases::plan::{
    Cadence, OverCapacity, ReleaseKind, ReleaseState, Train, capacity_check,
};
use liveops_store::StoreError;
use liveops_store::audit::Actor;
use liveops_store::feedback::{Item, ItemFilter};
use liveops_store::releases::{self as store, NewRelease, ReleaseRow, Shipped, TrainRow};
use semver::Version;

use crate::state::{AppState, format_ms};
use crate::work::{Audit, Work};

crate::area_error!(
    /// What went wrong in release planning.
    ReleasesError
);

pub type Result<T, E = ReleasesError> = std::result::Result<T, E>;

crate::area_error_from!(crate::docs::DocsError => ReleasesError);

/// A train as the core knows it.
pub fn train_of(t: &TrainRow) -> Result<Train> {
    let cadence = Cadence::parse(&t.cadence)
        .ok_or_else(|| ReleasesError::internal(format!("stored cadence `{}`", t.cadence)))?;
    let first: Date = t
        .first_release
        .parse()
        .map_err(|_| ReleasesError::internal(format!("stored date `{}`", t.first_release)))?;
    Train::new(cadence, first, t.freeze_days.clamp(0, 255) as u8)
        .map_err(|e| ReleasesError::internal(e.to_string()))
}

pub async fn create_train(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    name: &str,
    cadence: &str,
    first_release: &str,
    freeze_days: i64,
) -> Result<TrainRow> {
    let name =
        crate::support::tickets::clean_text("name", name, 100).map_err(ReleasesError::invalid)?;
    let c = Cadence::parse(cadence).ok_or_else(|| {
        ReleasesError::invalid(format!(
            "`{cadence}` is not a cadence: weekly, biweekly or monthly"
        ))
    })?;
    let first: Date = first_release.parse().map_err(|_| {
        ReleasesError::invalid(format!("`{first_release}` is not a date like 2026-12-02"))
    })?;
    let freeze = u8::try_from(freeze_days)
        .map_err(|_| ReleasesError::invalid("`freeze_days` must be 0 or more"))?;
    Train::new(c, first, freeze).map_err(|e| ReleasesError::invalid(e.to_string()))?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let t = store::insert_train(
        w.conn(),
        project_id,
        &name,
        c.as_str(),
        &first.to_string(),
        i64::from(freeze),
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict(_) => ReleasesError::conflict(format!("a train `{name}` exists")),
        other => other.into(),
    })?;
    w.commit(Audit::new("release.train.create", &t.name))
        .await?;
    Ok(t)
}

pub async fn find_release(state: &AppState, project_id: &str, version: &str) -> Result<ReleaseRow> {
    match state.db.release(project_id, version).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound) => {
            Err(ReleasesError::not_found(format!("no release `{version}`")))
        }
        Err(e) => Err(e.into()),
    }
}

fn state_of(r: &ReleaseRow) -> Result<ReleaseState> {
    ReleaseState::parse(&r.state)
        .ok_or_else(|| ReleasesError::internal(format!("stored release state `{}`", r.state)))
}

/// The highest version released or planned before, to check a new one
/// against.
fn latest(releases: &[ReleaseRow]) -> Option<Version> {
    releases
        .iter()
        .filter_map(|r| Version::parse(&r.version).ok())
        .max()
}

/// What a new release asks for.
#[derive(Debug, Clone, Default)]
pub struct ReleasePlan {
    pub version: Option<String>,
    pub kind: String,
    pub train: Option<String>,
    pub planned_for: Option<String>,
    pub capacity: Option<f64>,
}

/// Plans a release. Without a version, the next one for its kind; with a
/// train and no date, the train's next departure.
pub async fn create_release(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    plan: &ReleasePlan,
) -> Result<ReleaseRow> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let r = create_release_in(&mut w, state, project_id, plan, None).await?;
    w.commit(
        Audit::new("release.create", &r.version).detail(serde_json::json!({ "kind": r.kind })),
    )
    .await?;
    Ok(r)
}

/// Plans a release as part of a change (for an incident's hotfix, with
/// the incident).
pub async fn create_release_in(
    w: &mut Work,
    state: &AppState,
    project_id: &str,
    plan: &ReleasePlan,
    incident_id: Option<&str>,
) -> Result<ReleaseRow> {
    let kind = ReleaseKind::parse(&plan.kind).ok_or_else(|| {
        ReleasesError::invalid(format!(
            "`{}` is not a release type: major, minor, patch or hotfix",
            plan.kind
        ))
    })?;
    let existing = state.db.releases(project_id).await?;
    let previous = latest(&existing);
    let version = match plan.version.as_deref().map(str::trim) {
        Some(v) => {
            let parsed = Version::parse(v.trim_start_matches('v')).map_err(|e| {
                ReleasesError::invalid(format!("`{v}` is not a semver version: {e}"))
            })?;
            if let Some(prev) = &previous {
                kind.check_version(prev, &parsed)
                    .map_err(ReleasesError::invalid)?;
            }
            parsed
        }
        None => kind.next_version(previous.as_ref().unwrap_or(&Version::new(0, 0, 0))),
    };
    if let Some(c) = plan.capacity
        && (!c.is_finite() || c <= 0.0)
    {
        return Err(ReleasesError::invalid(
            "`capacity` is person-weeks, more than zero",
        ));
    }
    let train = match plan.train.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(match state.db.train(project_id, t).await {
            Ok(t) => t,
            Err(StoreError::NotFound) => {
                return Err(ReleasesError::invalid(format!("no release train `{t}`")));
            }
            Err(e) => return Err(e.into()),
        }),
        None => None,
    };
    let planned_for =
        match plan.planned_for.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => Some(d.parse::<Date>().map_err(|_| {
                ReleasesError::invalid(format!("`{d}` is not a date like 2026-12-02"))
            })?),
            None => match &train {
                Some(t) => {
                    let today = crate::clock::today(state.now_ms());
                    // The first departure no other release of the train has taken.
                    let taken: Vec<&str> = existing
                        .iter()
                        .filter(|r| r.train_id.as_deref() == Some(t.id.as_str()))
                        .filter_map(|r| r.planned_for.as_deref())
                        .collect();
                    train_of(t)?
                        .calendar(today, 60)
                        .into_iter()
                        .map(|d| d.release)
                        .find(|d| !taken.contains(&d.to_string().as_str()))
                }
                None => None,
            },
        };
    let version = version.to_string();
    let now = w.now();
    let by = w.actor().name.clone();
    let row = store::insert_release(
        w.conn(),
        project_id,
        &NewRelease {
            version: &version,
            kind: kind.as_str(),
            train_id: train.as_ref().map(|t| t.id.as_str()),
            planned_for: planned_for.map(|d| d.to_string()).as_deref(),
            capacity: plan.capacity,
            incident_id,
            created_by: &by,
        },
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict(_) => ReleasesError::conflict(format!("release {version} exists")),
        other => other.into(),
    })?;
    Ok(row)
}

/// Opens a hotfix release for an incident, taking up its hotfix requests.
pub async fn hotfix(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    incident: &str,
    version: Option<String>,
) -> Result<ReleaseRow> {
    let n: i64 = incident
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ReleasesError::invalid(format!("`{incident}` is not an incident number")))?;
    let i = match state.db.incident_by_number(project_id, n).await {
        Ok(i) => i,
        Err(StoreError::NotFound) => {
            return Err(ReleasesError::invalid(format!("no incident #{n}")));
        }
        Err(e) => return Err(e.into()),
    };
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let r = create_release_in(
        &mut w,
        state,
        project_id,
        &ReleasePlan {
            version,
            kind: "hotfix".into(),
            ..ReleasePlan::default()
        },
        Some(&i.id),
    )
    .await?;
    w.commit(
        Audit::new("release.hotfix", &r.version)
            .detail(serde_json::json!({ "incident": i.number })),
    )
    .await?;
    Ok(r)
}

/// Whether an item may join a release: open or done items only; a frozen
/// release takes only bugs and security fixes, a shipped one nothing.
pub fn check_schedulable(item: &Item, release: &ReleaseRow) -> Result<()> {
    if !item.status.is_open() && item.status != ItemStatus::Done {
        return Err(ReleasesError::conflict(format!(
            "item #{} is {}; only open or done items are scheduled",
            item.number,
            item.status.as_str()
        )));
    }
    match state_of(release)? {
        ReleaseState::Shipped => Err(ReleasesError::conflict(format!(
            "release {} has shipped; schedule the item into a later one",
            release.version
        ))),
        ReleaseState::Frozen if !item.kind.allowed_after_freeze() => {
            Err(ReleasesError::conflict(format!(
                "release {} is frozen: only bugs and security fixes join it now",
                release.version
            )))
        }
        _ => Ok(()),
    }
}

/// Schedules an item into a release (or out of any, with `None`), as part
/// of a change.
pub async fn schedule_in(w: &mut Work, item: Item, release: Option<&ReleaseRow>) -> Result<Item> {
    let mut item = item;
    if let Some(r) = release {
        check_schedulable(&item, r)?;
        if item.status == ItemStatus::Triage {
            item.status = ItemStatus::Planned;
        }
    }
    item.release_id = release.map(|r| r.id.clone());
    let now = w.now();
    liveops_store::feedback::save_item(w.conn(), &item, now).await?;
    Ok(liveops_store::feedback::item_by_id_in(w.conn(), &item.id).await?)
}

/// Schedules items into a release, all or none.
pub async fn schedule(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    release: &ReleaseRow,
    items: Vec<Item>,
) -> Result<()> {
    for i in &items {
        check_schedulable(i, release)?;
    }
    let numbers: Vec<i64> = items.iter().map(|i| i.number).collect();
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    for i in items {
        schedule_in(&mut w, i, Some(release)).await?;
    }
    w.commit(
        Audit::new("release.schedule", &release.version)
            .detail(serde_json::json!({ "items": numbers })),
    )
    .await?;
    Ok(())
}

/// A release with its items and its capacity check.
#[derive(Debug, Clone)]
pub struct ReleaseDetail {
    pub release: ReleaseRow,
    pub items: Vec<Item>,
    pub over_capacity: Option<OverCapacity>,
    /// The open effort, in person-weeks.
    pub planned_effort: f64,
    /// The train it departs with, by name.
    pub train: Option<String>,
    /// The incident a hotfix release is for, by number.
    pub incident: Option<i64>,
}

pub async fn detail(
    state: &AppState,
    project_id: &str,
    release: ReleaseRow,
) -> Result<ReleaseDetail> {
    let items = state
        .db
        .items(
            project_id,
            &ItemFilter {
                release_id: Some(&release.id),
                ..ItemFilter::default()
            },
            10_000,
        )
        .await?;
    let efforts: Vec<Option<f64>> = items
        .iter()
        .filter(|i| i.status.is_open())
        .map(|i| i.score.and_then(|s| s.effort()))
        .collect();
    let train = match &release.train_id {
        Some(id) => state
            .db
            .trains(project_id)
            .await?
            .into_iter()
            .find(|t| &t.id == id)
            .map(|t| t.name),
        None => None,
    };
    let incident = match &release.incident_id {
        Some(id) => {
            let mut conn = state.db.pool().acquire().await?;
            Some(
                liveops_store::support::incidents::get(&mut conn, id)
                    .await?
                    .number,
            )
        }
        None => None,
    };
    Ok(ReleaseDetail {
        over_capacity: capacity_check(release.capacity, &efforts),
        planned_effort: efforts.iter().flatten().sum(),
        release,
        items,
        train,
        incident,
    })
}

/// Freezes, thaws or ships a release.
pub async fn move_to(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    release: &ReleaseRow,
    to: &str,
) -> Result<Option<Shipped>> {
    let to = ReleaseState::parse(to).ok_or_else(|| {
        ReleasesError::invalid(format!(
            "`{to}` is not a release state: planned, frozen or shipped"
        ))
    })?;
    let from = state_of(release)?;
    if !from.can_move_to(to) {
        return Err(ReleasesError::conflict(format!(
            "release {} is {} and cannot become {}",
            release.version,
            from.as_str(),
            to.as_str()
        )));
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let (shipped, action) = match to {
        ReleaseState::Shipped => (
            Some(
                store::ship_release(w.conn(), release, &actor.name, now)
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => ReleasesError::conflict(format!(
                            "release {} has shipped",
                            release.version
                        )),
                        other => other.into(),
                    })?,
            ),
            "release.ship",
        ),
        ReleaseState::Frozen | ReleaseState::Planned => {
            let frozen = to == ReleaseState::Frozen;
            store::set_release_frozen(w.conn(), &release.id, frozen, now).await?;
            (
                None,
                if frozen {
                    "release.freeze"
                } else {
                    "release.thaw"
                },
            )
        }
    };
    w.commit(Audit::new(action, &release.version)).await?;
    Ok(shipped)
}

/// Stores the OpenAPI document a release ships, after checking it parses.
pub async fn set_openapi(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    release: &ReleaseRow,
    spec: &[u8],
) -> Result<()> {
    liveops_wire::openapi::parse(spec)
        .map_err(|e| ReleasesError::invalid(format!("the OpenAPI document is not usable: {e}")))?;
    let text = std::str::from_utf8(spec)
        .map_err(|_| ReleasesError::invalid("the OpenAPI document is not UTF-8"))?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    store::set_release_openapi(w.conn(), &release.id, text).await?;
    w.commit(Audit::new("release.openapi", &release.version))
        .await?;
    Ok(())
}

/// A release's notes, with the API changes behind them.
#[derive(Debug, Clone)]
pub struct Notes {
    pub release: Release,
    pub markdown: String,
    pub api_changes: Vec<Change>,
    /// The release the API was compared with.
    pub api_base: Option<String>,
    /// Breaking API changes without the version step they call for.
    pub version_problem: Option<VersionProblem>,
    pub fixed_incidents: Vec<i64>,
    /// Error issues resolved in it.
    pub fixed_issues: Vec<i64>,
}

fn section_of(kind: ItemKind) -> Section {
    match kind {
        ItemKind::Enhancement => Section::Added,
        ItemKind::Bug => Section::Fixed,
        ItemKind::TechDebt => Section::Changed,
        ItemKind::Security => Section::Security,
    }
}

fn api_entry(c: &Change) -> Entry {
    let section = match c.id {
        "endpoint-added" => Section::Added,
        "endpoint-deprecated" => Section::Deprecated,
        id if id.contains("removed") => Section::Removed,
        _ => Section::Changed,
    };
    Entry {
        section,
        text: format!("API: `{} {}` {}", c.method, c.path, c.text),
        breaking: c.level == Level::Err,
    }
}

/// Builds a release's notes: its items, the incidents it fixed, the
/// commits its deployments carried, and the changes in its OpenAPI document
/// since the release before it that had one.
pub async fn notes(state: &AppState, project_id: &str, release: &ReleaseRow) -> Result<Notes> {
    let d = detail(state, project_id, release.clone()).await?;
    let mut entries: Vec<Entry> = Vec::new();
    for i in &d.items {
        let counts = matches!(i.status, ItemStatus::Done | ItemStatus::Released)
            || release.state != "shipped";
        if counts && i.status != ItemStatus::WontDo {
            entries.push(Entry {
                section: section_of(i.kind),
                text: format!("{} (#{})", i.title, i.number),
                breaking: false,
            });
        }
    }
    let incidents = state
        .db
        .incidents_linked_to(project_id, "release", &release.version)
        .await?;
    for i in &incidents {
        entries.push(Entry {
            section: Section::Fixed,
            text: format!("Incident #{}: {}", i.number, i.title),
            breaking: false,
        });
    }
    let issues = state
        .db
        .issues_resolved_in(project_id, &release.version)
        .await?;
    for (number, title) in &issues {
        entries.push(Entry {
            section: Section::Fixed,
            text: format!("Error issue #{number}: {title}"),
            breaking: false,
        });
    }
    for m in state
        .db
        .deployed_commit_messages(project_id, &release.version)
        .await?
    {
        if let Ok(c) = m.parse::<ConventionalCommit>()
            && let Some(e) = Entry::from_commit(&c)
            && !entries.iter().any(|x| x.text == e.text)
        {
            entries.push(e);
        }
    }
    let crate::docs::ApiChanges {
        base: api_base,
        changes: api_changes,
        problem: version_problem,
    } = crate::docs::api_changes(state, project_id, release).await?;
    entries.extend(
        api_changes
            .iter()
            .filter(|c| c.level != Level::Info || c.id.starts_with("endpoint-"))
            .map(api_entry),
    );
    let date = release
        .shipped_at
        .map(|t| format_ms(t).chars().take(10).collect::<String>())
        .or_else(|| release.planned_for.clone());
    let r = Release {
        version: Some(release.version.clone()),
        date,
        entries,
    };
    let markdown = liveops_core::releases::changelog::render(std::slice::from_ref(&r));
    Ok(Notes {
        release: r,
        markdown,
        api_changes,
        api_base,
        version_problem,
        fixed_incidents: incidents.iter().map(|i| i.number).collect(),
        fixed_issues: issues.iter().map(|(n, _)| *n).collect(),
    })
}

/// What the public changelog shows of a shipped release: only the items
/// someone marked public. Incidents, commits and API changes stay inside.
pub async fn public_notes(
    state: &AppState,
    project_id: &str,
    release: &ReleaseRow,
) -> Result<Release> {
    let d = detail(state, project_id, release.clone()).await?;
    let entries = d
        .items
        .iter()
        .filter(|i| i.public && matches!(i.status, ItemStatus::Done | ItemStatus::Released))
        .map(|i| Entry {
            section: section_of(i.kind),
            text: i.title.clone(),
            breaking: false,
        })
        .collect();
    Ok(Release {
        version: Some(release.version.clone()),
        date: release
            .shipped_at
            .map(|t| format_ms(t).chars().take(10).collect::<String>()),
        entries,
    })
}
