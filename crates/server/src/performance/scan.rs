//! The scan that turns new spans into findings: detector patterns since
//! the last scan, and each route's newest release against the one before.

use liveops_core::performance::detect::FindingKind;
use liveops_core::performance::regression;
use liveops_store::performance::Sighting;
use liveops_telemetry::performance::{self as perf, SeriesKey};

use crate::state::AppState;

const NS_PER_MS: i64 = 1_000_000;
/// Spans may arrive this long after they start; scans stop short of it.
pub const SCAN_LAG_NS: i64 = 60_000 * NS_PER_MS;
/// A first scan looks back this far.
const FIRST_SCAN_NS: i64 = 3_600_000 * NS_PER_MS;
/// Releases are compared over this long on each side of their first request.
const REGRESSION_WINDOW_NS: i64 = 24 * 3_600_000 * NS_PER_MS;
const REGRESSION_SAMPLES: usize = 5000;

/// Scans every project's spans that started since its last scan and before
/// `until_ns`, records what the detectors found, and checks the newest
/// release of every route for a regression. Returns the sightings recorded.
pub async fn scan(state: &AppState, until_ns: i64) -> anyhow::Result<usize> {
    let t = state.telemetry.clone();
    let projects = tokio::task::spawn_blocking(move || t.performance().project_ids()).await??;
    let mut recorded = 0;
    for project in projects {
        let from = state
            .db
            .scanned_to(&project)
            .await?
            .unwrap_or(until_ns - FIRST_SCAN_NS);
        if until_ns <= from {
            continue;
        }
        let t = state.telemetry.clone();
        let p = project.clone();
        let (detections, regressions) = tokio::task::spawn_blocking(move || {
            let d = t.performance().detect(&p, from, until_ns)?;
            // Only releases still inside their comparison window can change
            // their answer; older ones were settled by earlier scans.
            let settled = until_ns - REGRESSION_WINDOW_NS - FIRST_SCAN_NS;
            let r = regressions(t.performance(), &p, until_ns, Some(settled))?;
            anyhow::Ok((d, r))
        })
        .await??;
        let at = until_ns / NS_PER_MS;
        let mut sightings: Vec<Sighting> = perf::patterns(detections)
            .into_iter()
            .map(|p| Sighting {
                kind: p.kind.as_str().to_owned(),
                service: p.service.clone(),
                route: p.route.clone(),
                subject: p.fingerprint.clone().unwrap_or_default(),
                detail: describe(&p),
                example_trace: Some(p.worst.trace_id.clone()),
                occurrences: i64::try_from(p.occurrences).unwrap_or(i64::MAX),
                at,
            })
            .collect();
        for r in regressions {
            // A regression is one finding per release, however often it is checked.
            let known = state
                .db
                .has_finding(
                    &project,
                    FindingKind::Regression.as_str(),
                    &r.key.service,
                    &r.key.route,
                    &r.key.version,
                )
                .await?;
            sightings.push(Sighting {
                kind: FindingKind::Regression.as_str().to_owned(),
                service: r.key.service.clone(),
                route: r.key.route.clone(),
                subject: r.key.version.clone(),
                detail: r.describe(),
                example_trace: None,
                occurrences: i64::from(!known),
                at,
            });
        }
        recorded += sightings.len();
        state.db.record_findings(&project, &sightings).await?;
        state.db.set_scanned_to(&project, until_ns).await?;
    }
    Ok(recorded)
}

fn describe(p: &perf::Pattern) -> String {
    let w = &p.worst;
    match p.kind {
        FindingKind::NPlusOne => format!(
            "{} calls of one query under one parent, {:.0} ms together, in {} trace(s)",
            w.count, w.duration_ms, p.occurrences
        ),
        FindingKind::SlowQuery => format!(
            "a read took {:.0} ms (the limit is 500 ms), {} time(s)",
            w.duration_ms, p.occurrences
        ),
        FindingKind::LargePayload => format!(
            "a {} byte body (the limit is 300,000 bytes), {} time(s)",
            w.bytes.unwrap_or(0),
            p.occurrences
        ),
        FindingKind::CacheCandidate => format!(
            "the same read {} times in one request, {} trace(s)",
            w.count, p.occurrences
        ),
        FindingKind::Regression => String::new(),
    }
}

/// A route that got slower in its newest release.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    pub key: SeriesKey,
    pub previous: String,
    pub p95_before_ms: f64,
    pub p95_after_ms: f64,
    pub p_value: f64,
    pub before: usize,
    pub after: usize,
}

impl Regression {
    pub fn describe(&self) -> String {
        format!(
            "p95 went from {:.1} ms in {} to {:.1} ms in {} (Mann–Whitney U, one-sided p = {:.2e}, {} and {} requests)",
            self.p95_before_ms,
            if self.previous.is_empty() {
                "(no version)"
            } else {
                &self.previous
            },
            self.p95_after_ms,
            self.key.version,
            self.p_value,
            self.before,
            self.after
        )
    }
}

fn p95(samples: &mut [f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * 0.95).floor() as usize]
}

/// Each route's newest release against the one before it: requests in the
/// day before the new release's first request against those in the day
/// after (up to `until_ns`). With `first_after`, releases first seen
/// before then are skipped.
pub fn regressions(
    p: &dyn liveops_telemetry::Performance,
    project: &str,
    until_ns: i64,
    first_after: Option<i64>,
) -> liveops_telemetry::Result<Vec<Regression>> {
    let releases = p.releases(project)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < releases.len() {
        let mut j = i;
        while j < releases.len()
            && releases[j].0.service == releases[i].0.service
            && releases[j].0.route == releases[i].0.route
        {
            j += 1;
        }
        // Sorted by first request: the last two are the newest releases.
        if j - i >= 2 {
            let (new, new_first) = &releases[j - 1];
            let (old, _) = &releases[j - 2];
            if first_after.is_some_and(|after| *new_first < after) {
                i = j;
                continue;
            }
            let mut before = p.samples(
                project,
                old,
                new_first - REGRESSION_WINDOW_NS,
                *new_first,
                REGRESSION_SAMPLES,
            )?;
            let mut after = p.samples(
                project,
                new,
                *new_first,
                (new_first + REGRESSION_WINDOW_NS).min(until_ns),
                REGRESSION_SAMPLES,
            )?;
            if let Some(c) = regression::mann_whitney(&before, &after) {
                let (b, a) = (p95(&mut before), p95(&mut after));
                if regression::is_regression(&c, b, a) {
                    out.push(Regression {
                        key: new.clone(),
                        previous: old.version.clone(),
                        p95_before_ms: b,
                        p95_after_ms: a,
                        p_value: c.p_value,
                        before: c.before,
                        after: c.after,
                    });
                }
            }
        }
        i = j;
    }
    Ok(out)
}

/// The scan as the background job runs it: up to a minute ago.
pub async fn scan_now(state: &AppState) -> anyhow::Result<usize> {
    scan(state, state.now_ms() * NS_PER_MS - SCAN_LAG_NS).await
}
