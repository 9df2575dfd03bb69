//! The saved-insights contract: an insight as the API takes it (a name, a
//! kind and the request that kind's endpoint takes) and shows it, with its
//! answer for today.

use liveops_core::analytics::insight::InsightKind;
use liveops_store::analytics::insights::InsightRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::state::format_ms;

/// A question to save.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InsightBody {
    /// Unique in the project.
    pub name: String,
    /// trends, funnel, retention, stickiness, lifecycle, active, web or
    /// revenue.
    pub kind: String,
    /// The request the kind's endpoint takes, as JSON: a trends body, a
    /// funnel body, a retention body, or the query parameters of active,
    /// stickiness, lifecycle, web or revenue as an object. Leave `from`
    /// and `to` out to keep the range relative to the day it is opened.
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
}

impl InsightBody {
    /// The kind, and the query checked against it (it parses, its names
    /// and math are valid), at `now`.
    pub fn parse(&self, now: i64) -> ApiResult<InsightKind> {
        let kind: InsightKind =
            self.kind
                .parse()
                .map_err(|e: liveops_core::analytics::insight::UnknownKind| {
                    ApiError::unprocessable(e.to_string())
                })?;
        super::answers::check(kind, &self.query, now)?;
        Ok(kind)
    }
}

/// A saved insight.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InsightView {
    pub id: String,
    pub name: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
    pub created_by: String,
    pub created_at: String,
    /// Its page, to share inside the project.
    pub link: String,
}

impl InsightView {
    pub fn new(row: &InsightRow, project_slug: &str) -> InsightView {
        InsightView {
            id: row.id.clone(),
            name: row.name.clone(),
            kind: row.kind.as_str().to_owned(),
            query: serde_json::from_str(&row.query).unwrap_or(serde_json::Value::Null),
            created_by: row.created_by.clone(),
            created_at: format_ms(row.created_at),
            link: format!("/p/{project_slug}/analytics/insights/{}", row.id),
        }
    }
}

/// A saved insight answered now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InsightAnswerView {
    pub insight: InsightView,
    pub computed_at: String,
    /// What the kind's endpoint answers for the query.
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
}
