//! System-load metrics from OpenTelemetry: one data point of a gauge, a sum
//! or a histogram, from a service on a host.

/// The shape of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Gauge,
    /// A cumulative or delta sum (counters, up-down counters).
    Sum,
    /// Histograms (explicit or exponential), kept as count and sum.
    Histogram,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Sum => "sum",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One data point.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub service: String,
    pub host: Option<String>,
    pub name: String,
    pub unit: String,
    pub kind: MetricKind,
    /// A sum that only grows and reports totals since start: its rate is
    /// what a chart shows.
    pub cumulative: bool,
    pub at_ns: i64,
    /// The gauge or sum value; for a histogram, the mean (sum ÷ count).
    pub value: f64,
    /// For histograms: how many values and their sum.
    pub count: Option<u64>,
    pub sum: Option<f64>,
    /// The point's attributes as the wire layer wrote them (JSON text).
    pub attributes: String,
}

impl MetricPoint {
    /// The mean of a histogram point, or `None` without values.
    pub fn histogram_mean(count: u64, sum: f64) -> Option<f64> {
        (count > 0 && sum.is_finite()).then(|| sum / count as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_means() {
        assert_eq!(MetricPoint::histogram_mean(4, 10.0), Some(2.5));
        assert_eq!(MetricPoint::histogram_mean(0, 10.0), None);
        assert_eq!(MetricPoint::histogram_mean(2, f64::NAN), None);
        assert_eq!(MetricKind::Histogram.as_str(), "histogram");
    }
}
