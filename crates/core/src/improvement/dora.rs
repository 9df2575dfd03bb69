//! The DORA four keys (GitLab's and Four Keys' definitions): deployment
//! frequency, lead time for changes, change failure rate and time to
//! restore, each with its 2019 performance level; and lead time cut into
//! its coding, review and deploy stages.

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A production deployment in the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub deployed_at: i64,
    /// When each commit it carried was made.
    pub commits: Vec<i64>,
    /// Linked to an incident it caused.
    pub failed: bool,
}

/// An incident restored in the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restore {
    pub started_at: i64,
    pub resolved_at: i64,
}

/// How a team performs on one key, or on all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Low,
    Medium,
    High,
    Elite,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Elite => "elite",
        }
    }
}

/// The four keys over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct FourKeys {
    pub deployments: usize,
    /// Deployments per day, averaged over the range.
    pub deployment_frequency: f64,
    pub frequency_level: Level,
    /// Median time from commit to production, in milliseconds.
    pub lead_time_ms: Option<i64>,
    pub lead_time_level: Option<Level>,
    /// Failed deployments over all deployments.
    pub change_failure_rate: Option<f64>,
    pub failure_level: Option<Level>,
    /// Median time from an incident's start to its resolution, ms.
    pub time_to_restore_ms: Option<i64>,
    pub restore_level: Option<Level>,
    /// The lowest level among the keys that have one.
    pub level: Level,
}

/// The median of some durations; the mean of the middle two when even.
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    })
}

fn frequency_level(per_day: f64) -> Level {
    if per_day >= 1.0 {
        Level::Elite
    } else if per_day >= 1.0 / 7.0 {
        Level::High
    } else if per_day >= 1.0 / 30.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

fn lead_time_level(ms: i64) -> Level {
    if ms < DAY_MS {
        Level::Elite
    } else if ms < 7 * DAY_MS {
        Level::High
    } else if ms < 30 * DAY_MS {
        Level::Medium
    } else {
        Level::Low
    }
}

/// 0–15 % is where elite, high and medium teams all are; above it, low.
fn failure_level(rate: f64) -> Level {
    if rate <= 0.15 {
        Level::Elite
    } else {
        Level::Low
    }
}

/// Under an hour elite; under a day high (medium teams restore within a
/// day too, so a day is the line); longer is low.
fn restore_level(ms: i64) -> Level {
    if ms < HOUR_MS {
        Level::Elite
    } else if ms < DAY_MS {
        Level::High
    } else {
        Level::Low
    }
}

/// The four keys for `[from, to)`.
pub fn four_keys(deployments: &[Deployment], restores: &[Restore], from: i64, to: i64) -> FourKeys {
    let days = ((to - from) as f64 / DAY_MS as f64).max(1.0 / 24.0);
    let per_day = deployments.len() as f64 / days;
    let mut leads: Vec<i64> = deployments
        .iter()
        .flat_map(|d| d.commits.iter().map(move |c| (d.deployed_at - c).max(0)))
        .collect();
    let lead = median(&mut leads);
    let failed = deployments.iter().filter(|d| d.failed).count();
    let rate = (!deployments.is_empty()).then(|| failed as f64 / deployments.len() as f64);
    let mut restore_times: Vec<i64> = restores
        .iter()
        .map(|r| (r.resolved_at - r.started_at).max(0))
        .collect();
    let restore = median(&mut restore_times);
    let frequency = frequency_level(per_day);
    let lead_level = lead.map(lead_time_level);
    let fail_level = rate.map(failure_level);
    let rest_level = restore.map(restore_level);
    let level = [Some(frequency), lead_level, fail_level, rest_level]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(Level::Low);
    FourKeys {
        deployments: deployments.len(),
        deployment_frequency: per_day,
        frequency_level: frequency,
        lead_time_ms: lead,
        lead_time_level: lead_level,
        change_failure_rate: rate,
        failure_level: fail_level,
        time_to_restore_ms: restore,
        restore_level: rest_level,
        level,
    }
}

/// A pull request that reached production, with the times its stages end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The oldest commit on its branch, when the host told us of it.
    pub first_commit_at: Option<i64>,
    pub opened_at: i64,
    pub merged_at: i64,
    pub deployed_at: i64,
}

/// Lead time for changes cut into its stages (GitLab's value-stream and
/// LinearB's cycle-time stages): coding from the first commit to the pull
/// request, review from opened to merged, and deploy from merged to
/// production; each a median in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stages {
    pub changes: usize,
    pub coding_ms: Option<i64>,
    pub review_ms: Option<i64>,
    pub deploy_ms: Option<i64>,
    /// First commit (or, without one, the opening) to production.
    pub total_ms: Option<i64>,
}

/// The stages of some changes. A stage a clock skew makes negative counts
/// as zero; coding is left out for changes whose first commit is unknown.
pub fn stages(changes: &[Change]) -> Stages {
    let mut coding: Vec<i64> = changes
        .iter()
        .filter_map(|c| c.first_commit_at.map(|f| (c.opened_at - f).max(0)))
        .collect();
    let mut review: Vec<i64> = changes
        .iter()
        .map(|c| (c.merged_at - c.opened_at).max(0))
        .collect();
    let mut deploy: Vec<i64> = changes
        .iter()
        .map(|c| (c.deployed_at - c.merged_at).max(0))
        .collect();
    let mut total: Vec<i64> = changes
        .iter()
        .map(|c| {
            let start = c
                .first_commit_at
                .map_or(c.opened_at, |f| f.min(c.opened_at));
            (c.deployed_at - start).max(0)
        })
        .collect();
    Stages {
        changes: changes.len(),
        coding_ms: median(&mut coding),
        review_ms: median(&mut review),
        deploy_ms: median(&mut deploy),
        total_ms: median(&mut total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_keys_match_a_hand_count() {
        let day = DAY_MS;
        // Seven days, four deployments: one failed.
        let deployments = vec![
            Deployment {
                deployed_at: day,
                commits: vec![day - 2 * HOUR_MS],
                failed: false,
            },
            Deployment {
                deployed_at: 2 * day,
                commits: vec![day + HOUR_MS, 2 * day - 4 * HOUR_MS],
                failed: true,
            },
            Deployment {
                deployed_at: 4 * day,
                commits: vec![],
                failed: false,
            },
            Deployment {
                deployed_at: 6 * day,
                commits: vec![5 * day],
                failed: false,
            },
        ];
        let restores = vec![
            Restore {
                started_at: 2 * day,
                resolved_at: 2 * day + 30 * 60_000,
            },
            Restore {
                started_at: 3 * day,
                resolved_at: 3 * day + 3 * HOUR_MS,
            },
        ];
        let k = four_keys(&deployments, &restores, 0, 7 * day);
        assert_eq!(k.deployments, 4);
        assert!((k.deployment_frequency - 4.0 / 7.0).abs() < 1e-9);
        assert_eq!(k.frequency_level, Level::High);
        // Lead times 2 h, 23 h, 4 h, 24 h: median (4 + 23) / 2 = 13.5 h.
        assert_eq!(k.lead_time_ms, Some(13 * HOUR_MS + HOUR_MS / 2));
        assert_eq!(k.lead_time_level, Some(Level::Elite));
        assert_eq!(k.change_failure_rate, Some(0.25));
        assert_eq!(k.failure_level, Some(Level::Low));
        // Restores of 30 min and 3 h: median 105 min.
        assert_eq!(k.time_to_restore_ms, Some(105 * 60_000));
        assert_eq!(k.restore_level, Some(Level::High));
        assert_eq!(k.level, Level::Low, "the weakest key sets the level");
    }

    #[test]
    fn an_empty_range_has_no_rates() {
        let k = four_keys(&[], &[], 0, 30 * DAY_MS);
        assert_eq!(k.deployments, 0);
        assert_eq!(k.change_failure_rate, None);
        assert_eq!(k.lead_time_ms, None);
        assert_eq!(k.frequency_level, Level::Low);
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
    }
    #[test]
    fn stages_are_medians_of_each_step() {
        let h = HOUR_MS;
        let changes = [
            Change {
                first_commit_at: Some(0),
                opened_at: 2 * h,
                merged_at: 5 * h,
                deployed_at: 6 * h,
            },
            Change {
                first_commit_at: None,
                opened_at: 10 * h,
                merged_at: 11 * h,
                deployed_at: 20 * h,
            },
            Change {
                first_commit_at: Some(30 * h),
                opened_at: 34 * h,
                merged_at: 40 * h,
                deployed_at: 41 * h,
            },
        ];
        let s = stages(&changes);
        assert_eq!(s.changes, 3);
        // Coding: 2 h and 4 h (the second has no first commit).
        assert_eq!(s.coding_ms, Some(3 * h));
        // Review: 3, 1 and 6 hours.
        assert_eq!(s.review_ms, Some(3 * h));
        // Deploy: 1, 9 and 1 hours.
        assert_eq!(s.deploy_ms, Some(h));
        // Totals: 6, 10 and 11 hours.
        assert_eq!(s.total_ms, Some(10 * h));
        assert_eq!(stages(&[]), Stages::default());
    }
}
