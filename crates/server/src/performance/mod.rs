//! Performance: the scan that turns spans into findings and release
//! regressions (`scan`), alert rules and SLOs and their evaluation
//! (`rules`, `alerts`), and the questions asked of spans (`queries`).

pub mod alerts;
pub mod queries;
pub mod rules;
pub mod scan;

crate::area_error!(
    /// What went wrong in the performance area.
    PerformanceError
);

pub type Result<T, E = PerformanceError> = std::result::Result<T, E>;

crate::area_error_from!(crate::support::SupportError => PerformanceError);
