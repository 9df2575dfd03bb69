//! Scaling: capacity forecasts from a metric's history, and the replica
//! counts the Kubernetes Horizontal Pod Autoscaler's formula calls for.

pub mod forecast;
pub mod retention;

pub use forecast::{
    Backtest, Crossing, Fitted, ForecastError, ForecastPoint, Model, Plan, Series, StepTime,
    backtest, crossing, plan, z_score,
};

/// The HPA's default tolerance: no change while current / target is within
/// 1 ± 0.1.
pub const HPA_TOLERANCE: f64 = 0.1;

/// Why a replica count could not be worked out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplicaError {
    #[error("the target utilisation must be in (0, 1], not {0}")]
    Target(f64),
    #[error("the current utilisation must be a finite number ≥ 0, not {0}")]
    Utilisation(f64),
    #[error("the HPA scales from at least one running replica, not 0")]
    NoReplicas,
    #[error("the load one replica handles must be a finite number > 0, not {0}")]
    Capacity(f64),
    #[error("the peak load must be a finite number ≥ 0, not {0}")]
    Peak(f64),
    #[error("more than {} replicas would be needed", u32::MAX)]
    TooMany,
}

/// The HPA's desired replicas: `ceil(current × current_utilisation /
/// target_utilisation)`, unchanged while that ratio is within 1 ± 0.1, and
/// at least one (the default `minReplicas`). Utilisations are fractions of
/// the requested resource (0.6 for 60 %); the current one may exceed 1.
pub fn replicas(
    current_replicas: u32,
    current_utilisation: f64,
    target_utilisation: f64,
) -> Result<u32, ReplicaError> {
    check_target(target_utilisation)?;
    if !current_utilisation.is_finite() || current_utilisation < 0.0 {
        return Err(ReplicaError::Utilisation(current_utilisation));
    }
    if current_replicas == 0 {
        return Err(ReplicaError::NoReplicas);
    }
    let ratio = current_utilisation / target_utilisation;
    // The slack keeps a ratio of exactly 1.1 (0.66 / 0.6) inside the
    // tolerance despite its binary rounding.
    if (1.0 - ratio).abs() <= HPA_TOLERANCE + 1e-12 {
        return Ok(current_replicas);
    }
    whole_replicas(f64::from(current_replicas) * ratio)
}

/// The replicas that keep a `peak_load` at `target_utilisation` when one
/// replica handles `per_replica` at 100 %: `ceil(peak / (per_replica ×
/// target))`, and at least one.
pub fn replicas_for_peak(
    peak_load: f64,
    per_replica: f64,
    target_utilisation: f64,
) -> Result<u32, ReplicaError> {
    check_target(target_utilisation)?;
    if !peak_load.is_finite() || peak_load < 0.0 {
        return Err(ReplicaError::Peak(peak_load));
    }
    if !per_replica.is_finite() || per_replica <= 0.0 {
        return Err(ReplicaError::Capacity(per_replica));
    }
    whole_replicas(peak_load / (per_replica * target_utilisation))
}

fn check_target(target: f64) -> Result<(), ReplicaError> {
    if target > 0.0 && target <= 1.0 {
        Ok(())
    } else {
        Err(ReplicaError::Target(target))
    }
}

/// Rounds a replica count up, at least to one. A relative slack of 1e-12
/// keeps binary rounding (4 × 0.9 / 0.6 = 6.000000000000001) from adding a
/// replica.
fn whole_replicas(exact: f64) -> Result<u32, ReplicaError> {
    let count = (exact * (1.0 - 1e-12)).ceil().max(1.0);
    if count.is_finite() && count <= f64::from(u32::MAX) {
        Ok(count as u32)
    } else {
        Err(ReplicaError::TooMany)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hpa_formula_scales_outside_its_tolerance() {
        assert_eq!(replicas(4, 0.9, 0.6), Ok(6));
        assert_eq!(replicas(4, 0.63, 0.6), Ok(4), "5 % over is tolerated");
        assert_eq!(replicas(4, 0.57, 0.6), Ok(4), "5 % under is tolerated");
        assert_eq!(replicas(4, 0.66, 0.6), Ok(4), "10 % is still inside");
        assert_eq!(replicas(4, 0.67, 0.6), Ok(5));
        assert_eq!(replicas(10, 0.3, 0.6), Ok(5));
        assert_eq!(replicas(3, 0.0, 0.5), Ok(1), "never below one");
        assert_eq!(replicas(1, 2.5, 0.5), Ok(5), "usage above requests");
    }

    #[test]
    fn replicas_for_a_peak_cover_it_at_the_target() {
        assert_eq!(replicas_for_peak(1000.0, 100.0, 0.5), Ok(20));
        assert_eq!(replicas_for_peak(950.0, 100.0, 0.8), Ok(12));
        assert_eq!(replicas_for_peak(0.0, 100.0, 0.8), Ok(1));
        assert_eq!(replicas_for_peak(300.0, 100.0, 1.0), Ok(3));
        assert_eq!(replicas_for_peak(301.0, 100.0, 1.0), Ok(4));
    }

    #[test]
    fn bad_replica_inputs_are_refused() {
        for target in [0.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                replicas(4, 0.5, target),
                Err(ReplicaError::Target(_))
            ));
            assert!(replicas_for_peak(10.0, 1.0, target).is_err());
        }
        assert_eq!(replicas(4, -0.1, 0.5), Err(ReplicaError::Utilisation(-0.1)));
        assert!(replicas(4, f64::NAN, 0.5).is_err());
        assert_eq!(replicas(0, 0.9, 0.5), Err(ReplicaError::NoReplicas));
        assert_eq!(replicas(u32::MAX, 1.0, 0.1), Err(ReplicaError::TooMany));
        assert_eq!(
            replicas_for_peak(10.0, 0.0, 0.5),
            Err(ReplicaError::Capacity(0.0))
        );
        assert_eq!(
            replicas_for_peak(10.0, -1.0, 0.5),
            Err(ReplicaError::Capacity(-1.0))
        );
        assert_eq!(
            replicas_for_peak(-1.0, 1.0, 0.5),
            Err(ReplicaError::Peak(-1.0))
        );
        assert!(replicas_for_peak(f64::INFINITY, 1.0, 0.5).is_err());
        assert_eq!(
            replicas_for_peak(f64::MAX, 1e-300, 0.5),
            Err(ReplicaError::TooMany)
        );
        assert_eq!(
            ReplicaError::Target(1.5).to_string(),
            "the target utilisation must be in (0, 1], not 1.5"
        );
    }
}
