//! Postmortems in the SRE book's blameless form: the draft → in review →
//! published workflow, typed action items, and the facts drafted from data
//! (durations, suspect deployments, the timeline and impact figures).

use std::fmt;
use std::str::FromStr;

use crate::feedback::backlog::ItemKind;
use crate::support::incident::UnknownValue;

/// Where a postmortem stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostmortemState {
    Draft,
    InReview,
    Published,
}

impl PostmortemState {
    pub fn as_str(self) -> &'static str {
        match self {
            PostmortemState::Draft => "draft",
            PostmortemState::InReview => "in_review",
            PostmortemState::Published => "published",
        }
    }
}

impl fmt::Display for PostmortemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PostmortemState {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(PostmortemState::Draft),
            "in_review" => Ok(PostmortemState::InReview),
            "published" => Ok(PostmortemState::Published),
            _ => Err(UnknownValue {
                what: "postmortem state",
                value: s.to_owned(),
                expected: "draft, in_review, published",
            }),
        }
    }
}

/// A move in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The author asks for review.
    Submit,
    /// A reviewer sends it back for more work.
    RequestChanges,
    /// Published once at least one reviewer has signed off.
    Publish,
    /// A published postmortem goes back to draft, for corrections.
    Reopen,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Submit => "submit",
            Step::RequestChanges => "request_changes",
            Step::Publish => "publish",
            Step::Reopen => "reopen",
        }
    }
}

impl FromStr for Step {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "submit" => Ok(Step::Submit),
            "request_changes" => Ok(Step::RequestChanges),
            "publish" => Ok(Step::Publish),
            "reopen" => Ok(Step::Reopen),
            _ => Err(UnknownValue {
                what: "postmortem step",
                value: s.to_owned(),
                expected: "submit, request_changes, publish, reopen",
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("a {from} postmortem cannot {step}")]
    NotAllowed {
        from: PostmortemState,
        step: &'static str,
    },
    #[error("a postmortem is published only after a reviewer signs it off")]
    NeedsSignOff,
    #[error("sign-off is for postmortems in review")]
    NotInReview,
}

/// The state after `step`, given how many reviewers have signed off.
pub fn next(
    from: PostmortemState,
    step: Step,
    sign_offs: usize,
) -> Result<PostmortemState, WorkflowError> {
    use PostmortemState::*;
    match (from, step) {
        (Draft, Step::Submit) => Ok(InReview),
        (InReview, Step::RequestChanges) => Ok(Draft),
        (InReview, Step::Publish) if sign_offs == 0 => Err(WorkflowError::NeedsSignOff),
        (InReview, Step::Publish) => Ok(Published),
        (Published, Step::Reopen) => Ok(Draft),
        (from, step) => Err(WorkflowError::NotAllowed {
            from,
            step: step.as_str(),
        }),
    }
}

/// Reviewers sign off only while the postmortem is in review.
pub fn can_sign_off(state: PostmortemState) -> Result<(), WorkflowError> {
    match state {
        PostmortemState::InReview => Ok(()),
        _ => Err(WorkflowError::NotInReview),
    }
}

/// The SRE book's action item types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Reduce the damage if it happens again.
    Mitigate,
    /// Stop it happening again.
    Prevent,
    /// Change how the team works.
    Process,
}

impl ActionKind {
    pub const ALL: [ActionKind; 3] = [
        ActionKind::Mitigate,
        ActionKind::Prevent,
        ActionKind::Process,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Mitigate => "mitigate",
            ActionKind::Prevent => "prevent",
            ActionKind::Process => "process",
        }
    }

    /// The backlog item an action becomes: fixing the damage is a bug,
    /// prevention and process are work the product owes itself.
    pub fn backlog_kind(self) -> ItemKind {
        match self {
            ActionKind::Mitigate => ItemKind::Bug,
            ActionKind::Prevent | ActionKind::Process => ItemKind::TechDebt,
        }
    }
}

impl FromStr for ActionKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownValue {
                what: "action item kind",
                value: s.to_owned(),
                expected: "mitigate, prevent, process",
            })
    }
}

/// How long an incident took, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durations {
    pub to_acknowledge: Option<i64>,
    pub to_resolve: Option<i64>,
}

pub fn durations(
    created_at: i64,
    acknowledged_at: Option<i64>,
    resolved_at: Option<i64>,
) -> Durations {
    Durations {
        to_acknowledge: acknowledged_at.map(|a| (a - created_at).max(0)),
        to_resolve: resolved_at.map(|r| (r - created_at).max(0)),
    }
}

/// A change that went live: a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub service: String,
    pub at: i64,
}

/// A change that may have caused an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspect {
    /// Its index in the changes given.
    pub index: usize,
    /// How long before the incident started it went live, in ms.
    pub before: i64,
    /// It changed one of the incident's services.
    pub same_service: bool,
}

/// The changes that went live within `window` ms before `started_at`,
/// most suspect first: those to the incident's own services, then the
/// nearest in time. With no services known, every change is as suspect.
pub fn suspects(
    changes: &[Change],
    started_at: i64,
    window: i64,
    services: &[String],
) -> Vec<Suspect> {
    let mut out: Vec<Suspect> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.at <= started_at && started_at - c.at <= window)
        .map(|(index, c)| Suspect {
            index,
            before: started_at - c.at,
            same_service: services.is_empty() || services.contains(&c.service),
        })
        .collect();
    out.sort_by_key(|s| (!s.same_service, s.before, s.index));
    out
}

/// The deployment to suggest linking an incident to, for the change
/// failure rate: the most suspect change in the window, if any.
pub fn suggested_cause(
    changes: &[Change],
    started_at: i64,
    window: i64,
    services: &[String],
) -> Option<usize> {
    suspects(changes, started_at, window, services)
        .first()
        .map(|s| s.index)
}

/// One line of a postmortem's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The incident event's id, or `deploy:<id>` for a deployment.
    pub key: String,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub text: String,
}

/// What people did to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mark {
    Star,
    Hide,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Star => "star",
            Mark::Hide => "hide",
        }
    }
}

impl FromStr for Mark {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "star" => Ok(Mark::Star),
            "hide" => Ok(Mark::Hide),
            _ => Err(UnknownValue {
                what: "timeline mark",
                value: s.to_owned(),
                expected: "star, hide, none",
            }),
        }
    }
}

/// A timeline line as shown, with its mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub entry: Entry,
    pub mark: Option<Mark>,
}

/// The timeline in time order (ties keep the order given), with marks
/// applied; hidden lines are left out unless `with_hidden`.
pub fn timeline(entries: Vec<Entry>, marks: &[(String, Mark)], with_hidden: bool) -> Vec<Line> {
    let mut lines: Vec<Line> = entries
        .into_iter()
        .map(|entry| {
            let mark = marks.iter().find(|(k, _)| *k == entry.key).map(|(_, m)| *m);
            Line { entry, mark }
        })
        .filter(|l| with_hidden || l.mark != Some(Mark::Hide))
        .collect();
    lines.sort_by_key(|l| l.entry.at);
    lines
}

/// `now` against `before` as a fraction (−0.25 is a quarter down); `None`
/// when there is nothing to compare against.
pub fn relative_change(now: f64, before: f64) -> Option<f64> {
    (before > 0.0 && now.is_finite()).then(|| (now - before) / before)
}

/// The share of an SLO period's error budget that `bad` requests used:
/// the budget is (1 − objective) × the period's requests.
pub fn budget_consumed(bad: f64, objective: f64, period_requests: f64) -> Option<f64> {
    let budget = (1.0 - objective) * period_requests;
    (budget > 0.0 && bad >= 0.0).then(|| bad / budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn the_workflow_needs_a_sign_off_to_publish() {
        use PostmortemState::*;
        assert_eq!(next(Draft, Step::Submit, 0), Ok(InReview));
        assert_eq!(
            next(InReview, Step::Publish, 0),
            Err(WorkflowError::NeedsSignOff)
        );
        assert_eq!(next(InReview, Step::Publish, 1), Ok(Published));
        assert_eq!(next(InReview, Step::RequestChanges, 1), Ok(Draft));
        assert_eq!(next(Published, Step::Reopen, 1), Ok(Draft));
        assert!(matches!(
            next(Draft, Step::Publish, 3),
            Err(WorkflowError::NotAllowed { .. })
        ));
        assert!(matches!(
            next(Published, Step::Submit, 1),
            Err(WorkflowError::NotAllowed { .. })
        ));
        assert_eq!(can_sign_off(Draft), Err(WorkflowError::NotInReview));
        assert_eq!(can_sign_off(InReview), Ok(()));
        for s in [Draft, InReview, Published] {
            assert_eq!(s.as_str().parse::<PostmortemState>(), Ok(s));
        }
        assert!("done".parse::<PostmortemState>().is_err());
    }

    #[test]
    fn suspects_are_same_service_then_nearest_within_the_window() {
        let changes = vec![
            Change {
                service: "shop".into(),
                at: 10 * H,
            },
            Change {
                service: "auth".into(),
                at: 11 * H,
            },
            Change {
                service: "shop".into(),
                at: 8 * H,
            },
            Change {
                service: "shop".into(),
                at: 2 * H,
            },
            Change {
                service: "shop".into(),
                at: 13 * H,
            },
        ];
        let s = suspects(&changes, 12 * H, 6 * H, &["shop".into()]);
        let order: Vec<usize> = s.iter().map(|s| s.index).collect();
        assert_eq!(
            order,
            vec![0, 2, 1],
            "outside the window and after the start are out"
        );
        assert_eq!(s[0].before, 2 * H);
        assert!(!s[2].same_service);
        assert_eq!(suggested_cause(&changes, 12 * H, 6 * H, &[]), Some(1));
        assert_eq!(suggested_cause(&changes, 30 * H, 6 * H, &[]), None);
    }

    #[test]
    fn the_timeline_orders_stars_and_hides() {
        let e = |key: &str, at: i64| Entry {
            key: key.into(),
            at,
            actor: "a".into(),
            kind: "note".into(),
            text: key.into(),
        };
        let marks = vec![("b".to_owned(), Mark::Hide), ("c".to_owned(), Mark::Star)];
        let shown = timeline(vec![e("a", 3), e("b", 1), e("c", 2)], &marks, false);
        let keys: Vec<&str> = shown.iter().map(|l| l.entry.key.as_str()).collect();
        assert_eq!(keys, vec!["c", "a"]);
        assert_eq!(shown[0].mark, Some(Mark::Star));
        assert_eq!(timeline(vec![e("a", 3), e("b", 1)], &marks, true).len(), 2);
    }

    #[test]
    fn impact_figures() {
        assert_eq!(relative_change(75.0, 100.0), Some(-0.25));
        assert_eq!(relative_change(5.0, 0.0), None);
        let used = budget_consumed(50.0, 0.999, 100_000.0).expect("a budget");
        assert!((used - 0.5).abs() < 1e-9, "{used}");
        assert_eq!(budget_consumed(1.0, 1.0, 100.0), None);
        let d = durations(100, Some(400), Some(1100));
        assert_eq!(d.to_acknowledge, Some(300));
        assert_eq!(d.to_resolve, Some(1000));
        assert_eq!(ActionKind::Mitigate.backlog_kind(), ItemKind::Bug);
        assert_eq!("prevent".parse::<ActionKind>(), Ok(ActionKind::Prevent));
    }
}
