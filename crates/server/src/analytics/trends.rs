//! Trends as users ask for them: one or more series, each an event with
//! its own math and filters, over one range with shared filters and an
//! optional breakdown, and a formula that combines the series point by
//! point. Each series is one question to the telemetry store; the formula
//! is applied here, by the core's definition.

use liveops_core::analytics::Interval;
use liveops_core::analytics::filter::PropertyFilter;
use liveops_core::analytics::math::{Formula, MAX_SERIES, SeriesMath};
use liveops_telemetry::analytics::{TrendPoint, TrendSeries, TrendsQuery};

use super::{AnalyticsError, Result, telemetry};
use crate::state::AppState;

/// One series: which events, what number, and filters of its own.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    /// `None` for every event.
    pub event: Option<String>,
    pub math: SeriesMath,
    pub filters: Vec<PropertyFilter>,
}

/// A trends question.
#[derive(Debug, Clone)]
pub struct TrendsRequest {
    pub series: Vec<SeriesSpec>,
    pub formula: Option<Formula>,
    pub interval: Interval,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Filters every series keeps to, besides its own.
    pub filters: Vec<PropertyFilter>,
    pub breakdown: Option<String>,
    pub breakdown_limit: usize,
    /// A cohort to keep to, and cohorts to break down by (a line each,
    /// named by the cohort; not with a property breakdown).
    pub cohorts: super::cohorts::CohortChoice,
}

/// The answer: each series as the store gave it (one line per breakdown
/// value), and the formula's lines when one was asked for.
#[derive(Debug, Clone)]
pub struct TrendsAnswer {
    pub series: Vec<Vec<TrendSeries>>,
    pub formula: Option<Vec<FormulaLine>>,
}

/// One line of a formula: a breakdown value (or none) and a value per
/// interval, `None` where the formula has none (a division by zero, say).
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaLine {
    pub value: Option<String>,
    pub other: bool,
    pub points: Vec<(i64, Option<f64>)>,
}

/// Runs every series, then the formula over them.
pub async fn run(state: &AppState, project_id: &str, req: TrendsRequest) -> Result<TrendsAnswer> {
    if req.series.is_empty() {
        return Err(AnalyticsError::invalid("a trend needs at least one series"));
    }
    if req.series.len() > MAX_SERIES {
        return Err(AnalyticsError::invalid(format!(
            "a trend has at most {MAX_SERIES} series (A to Z); this one has {}",
            req.series.len()
        )));
    }
    if req.breakdown.is_some() && !req.cohorts.breakdown.is_empty() {
        return Err(AnalyticsError::invalid(
            "a trend breaks down by a property or by cohorts, not both",
        ));
    }
    let lines = super::cohorts::resolve_choice(state, project_id, &req.cohorts)
        .await?
        .lines();
    let mut series = Vec::with_capacity(req.series.len());
    for s in &req.series {
        let mut filters = req.filters.clone();
        filters.extend(s.filters.iter().cloned());
        let mut drawn = Vec::new();
        for (label, persons) in &lines {
            let query = TrendsQuery {
                persons: persons.clone(),
                event: s.event.clone(),
                interval: req.interval,
                from_ms: req.from_ms,
                to_ms: req.to_ms,
                filters: filters.clone(),
                breakdown: req.breakdown.clone(),
                breakdown_limit: req.breakdown_limit,
                math: s.math.clone(),
            };
            let id = project_id.to_owned();
            let mut got = telemetry(state, move |a| a.trends(&id, &query)).await?;
            if label.is_some() {
                // A cohort's line: the store gave one, with no value.
                for line in &mut got {
                    line.value.clone_from(label);
                }
            }
            drawn.extend(got);
        }
        series.push(drawn);
    }
    let formula = req
        .formula
        .as_ref()
        .map(|f| combine(f, &req.series, &series));
    Ok(TrendsAnswer { series, formula })
}

/// The formula's lines: one per breakdown line found in any series, in
/// the order they first appear. A series without that line counts as an
/// empty one (no events, and the value its math gives to nothing).
pub fn combine(f: &Formula, specs: &[SeriesSpec], series: &[Vec<TrendSeries>]) -> Vec<FormulaLine> {
    let mut keys: Vec<(Option<String>, bool)> = Vec::new();
    for lines in series {
        for line in lines {
            let key = (line.value.clone(), line.other);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let starts: Vec<i64> = series
        .iter()
        .flat_map(|lines| lines.first())
        .map(|line| line.points.iter().map(|p| p.start_ms).collect())
        .next()
        .unwrap_or_default();
    keys.into_iter()
        .map(|(value, other)| {
            let points = starts
                .iter()
                .enumerate()
                .map(|(i, start)| {
                    let values: Vec<Option<f64>> = series
                        .iter()
                        .zip(specs)
                        .map(|(lines, spec)| {
                            lines
                                .iter()
                                .find(|l| l.value == value && l.other == other)
                                .and_then(|l| l.points.get(i))
                                .map_or_else(
                                    || TrendPoint::empty(*start, &spec.math).value,
                                    |p| p.value,
                                )
                        })
                        .collect();
                    (*start, f.eval(&values))
                })
                .collect();
            FormulaLine {
                value,
                other,
                points,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(value: Option<&str>, values: &[Option<f64>]) -> TrendSeries {
        TrendSeries {
            value: value.map(str::to_owned),
            other: false,
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| TrendPoint {
                    start_ms: i as i64 * 1000,
                    events: 0,
                    persons: 0,
                    value: *v,
                })
                .collect(),
        }
    }

    fn spec(math: &str) -> SeriesSpec {
        SeriesSpec {
            event: None,
            math: SeriesMath::parse(math, None).expect("math"),
            filters: Vec::new(),
        }
    }

    #[test]
    fn formulas_pair_lines_by_breakdown_value() {
        let a = vec![
            line(Some("eu"), &[Some(10.0), Some(4.0)]),
            line(Some("us"), &[Some(6.0), Some(0.0)]),
        ];
        // `us` has no line in B: it had no events there.
        let b = vec![line(Some("eu"), &[Some(5.0), Some(0.0)])];
        let f = Formula::parse("A / B", 2).expect("formula");
        let got = combine(&f, &[spec("events"), spec("events")], &[a, b]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].value.as_deref(), Some("eu"));
        assert_eq!(got[0].points, vec![(0, Some(2.0)), (1000, None)]);
        assert_eq!(got[1].value.as_deref(), Some("us"));
        assert_eq!(got[1].points, vec![(0, None), (1000, None)]);
        // A sum of nothing is 0, an average of nothing is nothing.
        let a = vec![line(Some("us"), &[Some(3.0)])];
        let f = Formula::parse("A + B", 2).expect("formula");
        let got = combine(&f, &[spec("events"), spec("sum:x")], &[a.clone(), vec![]]);
        assert_eq!(got[0].points, vec![(0, Some(3.0))]);
        let got = combine(&f, &[spec("events"), spec("avg:x")], &[a, vec![]]);
        assert_eq!(got[0].points, vec![(0, None)]);
    }
}
