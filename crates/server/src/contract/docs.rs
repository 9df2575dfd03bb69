//! The docs contract: decision records as the API takes and answers them,
//! and as the CLI reads them back.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdrFile {
    /// The file's path in the repository, like `docs/adr/0002-use-postgres.md`.
    pub path: String,
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdrView {
    pub number: i64,
    pub title: String,
    pub status: String,
    pub date: Option<String>,
    pub decision: Option<String>,
    pub path: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdrImport {
    pub imported: usize,
    /// Files that are not decision records, with why.
    pub skipped: Vec<RejectedFile>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RejectedFile {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdrQuery {
    /// Only the records decided while this release was being made: after
    /// the release before it shipped, up to its own shipping (or today).
    pub release: Option<String>,
}
