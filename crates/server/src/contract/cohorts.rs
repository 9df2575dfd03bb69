//! The cohorts contract: a cohort's definition as the API takes it, and a
//! cohort, its persons and its sizes over time as the API shows them.

use liveops_core::analytics::cohort::{CohortRule, parse_members_csv};
use liveops_store::analytics::cohorts::CohortRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::analytics::cohorts::NewCohort;
use crate::error::{ApiError, ApiResult};
use crate::state::format_ms;

/// A new cohort.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortBody {
    /// Unique in the project; no commas.
    pub name: String,
    /// `behavioural`, `property` or `static`.
    pub kind: String,
    /// Behavioural: the event.
    pub event: Option<String>,
    /// Behavioural: how many times at least (1 by default).
    pub min_count: Option<u32>,
    /// Behavioural: in how many days before now (30 by default).
    pub days: Option<u32>,
    /// Behavioural: `true` (default) for the persons who did it, `false`
    /// for everyone else.
    pub did: Option<bool>,
    /// Property: person property filters joined by `;` (`plan=pro;
    /// seats>=5`), all of which must hold.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// Static: the distinct ids.
    #[serde(default)]
    pub distinct_ids: Vec<String>,
    /// Static: a CSV with one distinct id per row in its first column (a
    /// `distinct_id` header row is skipped).
    pub csv: Option<String>,
}

impl CohortBody {
    /// The cohort the body defines, checked.
    pub fn parse(&self) -> ApiResult<NewCohort> {
        let bad = |e: liveops_core::analytics::cohort::CohortError| {
            ApiError::unprocessable(e.to_string())
        };
        let kind = self.kind.trim();
        let rule = match kind {
            "behavioural" | "behavioral" => CohortRule::behavioural(
                self.event.as_deref().unwrap_or(""),
                self.min_count.unwrap_or(1),
                self.days.unwrap_or(30),
                self.did.unwrap_or(true),
            )
            .map_err(bad)?,
            "property" => {
                CohortRule::property(self.filter.as_deref().unwrap_or("")).map_err(bad)?
            }
            "static" => CohortRule::Static,
            other => {
                return Err(bad(liveops_core::analytics::cohort::CohortError::Kind(
                    other.to_owned(),
                )));
            }
        };
        let mut distinct_ids: Vec<String> = self
            .distinct_ids
            .iter()
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .collect();
        if let Some(csv) = self.csv.as_deref().filter(|c| !c.trim().is_empty()) {
            distinct_ids.extend(parse_members_csv(csv).map_err(bad)?);
        }
        Ok(NewCohort {
            name: self.name.clone(),
            rule,
            distinct_ids,
        })
    }
}

/// A cohort.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CohortView {
    pub id: String,
    pub name: String,
    /// `behavioural`, `property` or `static`.
    pub kind: String,
    /// The rule in words.
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did: Option<bool>,
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// How many distinct ids a static cohort lists.
    pub listed: u64,
    /// How many persons belong to it now.
    pub size: u64,
    pub created_at: String,
}

/// A rule's fields as bodies and documents spell them: the event, count,
/// days and `did` of a behavioural rule, the filters of a property rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFields {
    pub event: Option<String>,
    pub min_count: Option<u32>,
    pub days: Option<u32>,
    pub did: Option<bool>,
    pub filter: Option<String>,
}

impl RuleFields {
    pub fn of(rule: &CohortRule) -> RuleFields {
        let mut f = RuleFields {
            event: None,
            min_count: None,
            days: None,
            did: None,
            filter: None,
        };
        match rule {
            CohortRule::Behavioural {
                event,
                min_count,
                days,
                did,
            } => {
                f.event = Some(event.clone());
                f.min_count = Some(*min_count);
                f.days = Some(*days);
                f.did = Some(*did);
            }
            CohortRule::Property { filters } => {
                let parts: Vec<String> = filters.iter().map(ToString::to_string).collect();
                f.filter = Some(parts.join(";"));
            }
            CohortRule::Static => {}
        }
        f
    }
}

impl CohortView {
    pub fn new(row: &CohortRow, size: usize) -> CohortView {
        let RuleFields {
            event,
            min_count,
            days,
            did,
            filter,
        } = RuleFields::of(&row.rule);
        CohortView {
            id: row.id.clone(),
            name: row.name.clone(),
            kind: row.rule.kind().to_owned(),
            rule: row.rule.describe(),
            event,
            min_count,
            days,
            did,
            filter,
            listed: u64::try_from(row.listed).unwrap_or(0),
            size: size as u64,
            created_at: format_ms(row.created_at),
        }
    }
}

/// One of a cohort's persons.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CohortPersonView {
    pub id: String,
    pub distinct_ids: Vec<String>,
}

/// A cohort with some of its persons, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CohortDetailView {
    pub cohort: CohortView,
    /// Up to 100 of its persons.
    pub persons: Vec<CohortPersonView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CohortSizesParams {
    /// First day; 30 days before `to` by default.
    pub from: Option<String>,
    /// Day after the last; tomorrow by default.
    pub to: Option<String>,
}

/// A cohort's size at the end of a day: computed from the events for a
/// behavioural cohort; for the others, as measured that day (none on a day
/// it was not measured).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CohortSizeView {
    pub date: String,
    pub size: Option<u64>,
}
