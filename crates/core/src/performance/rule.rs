//! Alert rules on derived request metrics: a threshold that must hold for a
//! while before the rule fires, and that clears as soon as it no longer
//! holds, as Prometheus rules with `for:` behave.

use super::Rollup;
use crate::support::incident::UnknownValue;

/// What a rule watches, computed over its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    P50,
    P90,
    P95,
    P99,
    ErrorRate,
    Throughput,
    Apdex,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::ErrorRate,
        Metric::Throughput,
        Metric::Apdex,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::P50 => "p50_ms",
            Metric::P90 => "p90_ms",
            Metric::P95 => "p95_ms",
            Metric::P99 => "p99_ms",
            Metric::ErrorRate => "error_rate",
            Metric::Throughput => "requests_per_min",
            Metric::Apdex => "apdex",
        }
    }

    /// The metric's value over a window of `minutes`; `None` when the window
    /// holds no requests (throughput is then 0).
    pub fn value(self, r: &Rollup, minutes: f64) -> Option<f64> {
        let q = |x| r.latency.quantile(x);
        match self {
            Metric::P50 => q(0.5),
            Metric::P90 => q(0.9),
            Metric::P95 => q(0.95),
            Metric::P99 => q(0.99),
            Metric::ErrorRate => (r.requests > 0).then(|| r.error_rate()),
            Metric::Throughput => Some(if minutes > 0.0 {
                r.requests as f64 / minutes
            } else {
                0.0
            }),
            Metric::Apdex => r.apdex(),
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownValue {
                what: "metric",
                value: s.to_owned(),
                expected: "p50_ms, p90_ms, p95_ms, p99_ms, error_rate, requests_per_min, apdex",
            })
    }
}

/// What a rule watches: a request metric, or a metric an OpenTelemetry
/// SDK reports (`otel:NAME`, its mean over the window, or a cumulative
/// counter's rate per second).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Watched {
    Request(Metric),
    Otel(String),
}

impl Watched {
    pub fn as_string(&self) -> String {
        match self {
            Watched::Request(m) => m.as_str().to_owned(),
            Watched::Otel(name) => format!("otel:{name}"),
        }
    }
}

impl std::str::FromStr for Watched {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("otel:") {
            Some(name) if !name.trim().is_empty() && name.len() <= 255 => {
                Ok(Watched::Otel(name.trim().to_owned()))
            }
            Some(_) => Err(UnknownValue {
                what: "metric",
                value: s.to_owned(),
                expected: "otel: followed by a metric name",
            }),
            None => s.parse().map(Watched::Request),
        }
    }
}

/// Which side of the threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    Above,
    Below,
}

impl Comparator {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Above => ">",
            Comparator::Below => "<",
        }
    }
}

impl std::str::FromStr for Comparator {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            ">" | "above" => Ok(Comparator::Above),
            "<" | "below" => Ok(Comparator::Below),
            other => Err(UnknownValue {
                what: "comparator",
                value: other.to_owned(),
                expected: "> (above), < (below)",
            }),
        }
    }
}

/// A rule's condition on the value of what it watches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub comparator: Comparator,
    pub threshold: f64,
    /// How long the condition must hold before the rule fires.
    pub for_ms: i64,
}

impl Condition {
    /// Whether a value breaches; no value (no requests) never does.
    pub fn breached(&self, value: Option<f64>) -> bool {
        value.is_some_and(|v| match self.comparator {
            Comparator::Above => v > self.threshold,
            Comparator::Below => v < self.threshold,
        })
    }
}

/// Where a rule stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleState {
    Ok,
    /// Breaching since then, not yet for long enough.
    Pending {
        since_ms: i64,
    },
    Firing,
}

impl RuleState {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Ok => "ok",
            RuleState::Pending { .. } => "pending",
            RuleState::Firing => "firing",
        }
    }
}

/// What an evaluation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    Fire,
    Resolve,
}

/// One evaluation of a rule at `now_ms` with the metric's current value.
pub fn step(
    c: &Condition,
    state: RuleState,
    value: Option<f64>,
    now_ms: i64,
) -> (RuleState, Transition) {
    let bad = c.breached(value);
    match (state, bad) {
        (RuleState::Firing, true) => (RuleState::Firing, Transition::None),
        (RuleState::Firing, false) => (RuleState::Ok, Transition::Resolve),
        (_, false) => (RuleState::Ok, Transition::None),
        (RuleState::Ok, true) if c.for_ms <= 0 => (RuleState::Firing, Transition::Fire),
        (RuleState::Ok, true) => (RuleState::Pending { since_ms: now_ms }, Transition::None),
        (RuleState::Pending { since_ms }, true) if now_ms - since_ms >= c.for_ms => {
            (RuleState::Firing, Transition::Fire)
        }
        (pending @ RuleState::Pending { .. }, true) => (pending, Transition::None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p95_over(ms: f64, for_ms: i64) -> Condition {
        Condition {
            comparator: Comparator::Above,
            threshold: ms,
            for_ms,
        }
    }

    #[test]
    fn a_rule_fires_after_its_for_and_clears_at_once() {
        let c = p95_over(500.0, 300_000);
        let (s, t) = step(&c, RuleState::Ok, Some(700.0), 0);
        assert_eq!(
            (s, t),
            (RuleState::Pending { since_ms: 0 }, Transition::None)
        );
        let (s, t) = step(&c, s, Some(650.0), 200_000);
        assert_eq!(t, Transition::None);
        let (s, t) = step(&c, s, Some(650.0), 300_000);
        assert_eq!((s, t), (RuleState::Firing, Transition::Fire));
        let (s, t) = step(&c, s, Some(900.0), 360_000);
        assert_eq!((s, t), (RuleState::Firing, Transition::None));
        let (s, t) = step(&c, s, Some(100.0), 420_000);
        assert_eq!((s, t), (RuleState::Ok, Transition::Resolve));
        // A dip resets the clock; no data is not a breach.
        let (s, _) = step(&c, RuleState::Pending { since_ms: 0 }, Some(10.0), 100_000);
        assert_eq!(s, RuleState::Ok);
        assert_eq!(
            step(&c, RuleState::Ok, None, 0),
            (RuleState::Ok, Transition::None)
        );
        let now = p95_over(500.0, 0);
        assert_eq!(
            step(&now, RuleState::Ok, Some(501.0), 0).1,
            Transition::Fire
        );
    }

    #[test]
    fn metrics_come_from_rollups() {
        let mut r = Rollup::default();
        for i in 0..100 {
            r.add_request(f64::from(i), i % 10 == 0, None, None);
        }
        assert_eq!(Metric::ErrorRate.value(&r, 5.0), Some(0.1));
        assert_eq!(Metric::Throughput.value(&r, 5.0), Some(20.0));
        assert!(
            Metric::P99
                .value(&r, 5.0)
                .is_some_and(|v| (v - 98.0).abs() < 2.0)
        );
        assert_eq!(Metric::P95.value(&Rollup::default(), 5.0), None);
        let below = Condition {
            comparator: "<".parse().expect("test input"),
            threshold: 0.95,
            for_ms: 0,
        };
        assert!(below.breached(Metric::Apdex.value(&r, 5.0)));
        assert!("p42".parse::<Metric>().is_err());
        assert_eq!(
            "otel:cpu.usage".parse::<Watched>(),
            Ok(Watched::Otel("cpu.usage".into()))
        );
        assert_eq!(
            "p95_ms".parse::<Watched>(),
            Ok(Watched::Request(Metric::P95))
        );
        assert!("otel:".parse::<Watched>().is_err());
        assert!("=".parse::<Comparator>().is_err());
    }
}
