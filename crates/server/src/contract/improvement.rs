//! The improvement contract: the views the API answers with, as the CLI reads them back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::improvement::WeeklyReport;

/// A report as kept in the history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StoredReportView {
    /// The Monday the week starts, `YYYY-MM-DD`.
    pub week: String,
    pub stored_at: String,
    /// The report as it was generated then.
    #[schema(value_type = WeeklyReport)]
    pub report: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SavedReportView {
    /// False when the week's earlier report was replaced.
    pub created: bool,
    /// Deliveries queued for the recipients.
    pub deliveries: usize,
    pub report: WeeklyReport,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientBody {
    /// email or webhook.
    pub channel: String,
    /// An e-mail address, or an http(s) URL that receives the report as a
    /// JSON POST.
    pub target: String,
}
