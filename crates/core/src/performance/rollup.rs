//! Per-minute rollups of requests: counts, errors, Apdex, payload sizes and a
//! DDSketch of latencies. Rollups merge, so any range of minutes and any
//! set of releases or routes sums into one answer quickly.

use sketches_ddsketch::{Config, DDSketch};

use super::span::Span;

/// A mergeable latency sketch with relative error [`LatencySketch::ALPHA`]:
/// every quantile it answers is within 1 % of a latency that really
/// occurred at that rank.
#[derive(Clone)]
pub struct LatencySketch(DDSketch);

impl std::fmt::Debug for LatencySketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencySketch")
            .field("count", &self.0.count())
            .finish_non_exhaustive()
    }
}

impl Default for LatencySketch {
    /// DDSketch's default configuration (1 % relative error, 2,048 bins),
    /// the one its portable encoding implies, so a stored sketch merges
    /// with a fresh one.
    fn default() -> Self {
        LatencySketch(DDSketch::new(Config::defaults()))
    }
}

/// Why stored sketch bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored latency sketch could not be read: {0}")]
pub struct SketchDecodeError(String);

impl LatencySketch {
    /// The sketch's relative accuracy.
    pub const ALPHA: f64 = 0.01;

    pub fn add(&mut self, ms: f64) {
        if ms.is_finite() {
            self.0.add(ms.max(0.0));
        }
    }

    pub fn merge(&mut self, other: &LatencySketch) {
        // Both sides share one configuration, the only way merging fails.
        let _ = self.0.merge(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.count() as u64
    }

    /// The sketch in DDSketch's portable binary encoding (the one the Java
    /// and Go libraries share): bins as varints, a few hundred bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_java_bytes()
    }

    /// A sketch from [`LatencySketch::to_bytes`]. Bytes of another
    /// accuracy are refused, since they would not merge.
    pub fn from_bytes(bytes: &[u8]) -> Result<LatencySketch, SketchDecodeError> {
        let d = DDSketch::from_java_bytes(bytes).map_err(|e| SketchDecodeError(e.to_string()))?;
        let mut probe = DDSketch::new(Config::defaults());
        probe
            .merge(&d)
            .map_err(|_| SketchDecodeError("it was made with another accuracy".into()))?;
        Ok(LatencySketch(probe))
    }

    /// The bin a latency falls in: `floor(ln(ms) / ln γ)`, or `None` for
    /// the bin of zero (latencies at or below [`LatencySketch::zero_below`]).
    /// A store that counts latencies per bin elsewhere (in SQL) rebuilds
    /// the same sketch with [`LatencySketch::from_bins`].
    pub fn bin_of(ms: f64) -> Option<i32> {
        let c = Config::defaults();
        (ms > c.min_possible()).then(|| c.key(ms))
    }

    /// `ln γ`, the divisor of [`LatencySketch::bin_of`].
    pub fn bin_scale() -> f64 {
        Config::defaults().gamma.ln()
    }

    /// The largest latency counted in the bin of zero.
    pub fn zero_below() -> f64 {
        Config::defaults().min_possible()
    }

    /// The sketch that adding every latency one by one makes, from how many
    /// fell in each bin (`None`: the bin of zero) and the smallest and
    /// largest of them: each bin's count goes in at the bin's value, and the
    /// extremes are set exactly through DDSketch's portable encoding, whose
    /// `min` and `max` flags a later occurrence overrides.
    pub fn from_bins(bins: &[(Option<i32>, u64)], min: f64, max: f64) -> LatencySketch {
        /// The encoding's flag bytes for the exact minimum and maximum.
        const FLAG_MIN: u8 = 0x88;
        const FLAG_MAX: u8 = 0x8C;
        let c = Config::defaults();
        let mut s = DDSketch::new(c);
        for &(bin, n) in bins {
            s.add_with_count(bin.map_or(0.0, |k| c.value(k)), n);
        }
        if s.count() == 0 || !min.is_finite() || !max.is_finite() {
            return LatencySketch(s);
        }
        let mut bytes = s.to_java_bytes();
        bytes.push(FLAG_MIN);
        bytes.extend_from_slice(&min.max(0.0).to_le_bytes());
        bytes.push(FLAG_MAX);
        bytes.extend_from_slice(&max.max(0.0).to_le_bytes());
        LatencySketch::from_bytes(&bytes).unwrap_or(LatencySketch(s))
    }

    /// The share of requests slower than `ms` (0 to 1), within the
    /// sketch's error: found by bisecting the quantiles.
    pub fn share_above(&self, ms: f64) -> f64 {
        if self.count() == 0 {
            return 0.0;
        }
        let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
        if self.quantile(1.0).is_some_and(|max| max <= ms) {
            return 0.0;
        }
        if self.quantile(0.0).is_some_and(|min| min > ms) {
            return 1.0;
        }
        for _ in 0..40 {
            let mid = (lo + hi) / 2.0;
            if self.quantile(mid).is_some_and(|v| v > ms) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        1.0 - hi
    }

    /// The latency at quantile `q` (0 to 1), or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.0.quantile(q.clamp(0.0, 1.0)).ok().flatten()
    }
}

/// Requests in one bucket of time.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    pub requests: u64,
    pub errors: u64,
    pub latency: LatencySketch,
    pub total_ms: f64,
    /// Apdex: requests within T, and within 4T.
    pub satisfied: u64,
    pub tolerating: u64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub max_response_bytes: u64,
}

/// Apdex's target time: New Relic's default, half a second.
pub const APDEX_T_MS: f64 = 500.0;

impl Rollup {
    /// Counts one request span.
    pub fn add(&mut self, span: &Span) {
        let (req, resp) = span
            .http
            .as_ref()
            .map_or((None, None), |h| (h.request_bytes, h.response_bytes));
        self.add_request(span.duration_ms(), span.is_error(), req, resp);
    }

    /// Counts one request from its figures.
    pub fn add_request(
        &mut self,
        ms: f64,
        error: bool,
        request_bytes: Option<u64>,
        response_bytes: Option<u64>,
    ) {
        self.requests += 1;
        if error {
            self.errors += 1;
        }
        self.latency.add(ms);
        self.total_ms += ms;
        // Apdex counts a failed request as frustrated, whatever its speed.
        if !error && ms <= APDEX_T_MS {
            self.satisfied += 1;
        } else if !error && ms <= 4.0 * APDEX_T_MS {
            self.tolerating += 1;
        }
        self.request_bytes += request_bytes.unwrap_or(0);
        let out = response_bytes.unwrap_or(0);
        self.response_bytes += out;
        self.max_response_bytes = self.max_response_bytes.max(out);
    }

    pub fn merge(&mut self, o: &Rollup) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.latency.merge(&o.latency);
        self.total_ms += o.total_ms;
        self.satisfied += o.satisfied;
        self.tolerating += o.tolerating;
        self.request_bytes += o.request_bytes;
        self.response_bytes += o.response_bytes;
        self.max_response_bytes = self.max_response_bytes.max(o.max_response_bytes);
    }

    pub fn error_rate(&self) -> f64 {
        ratio(self.errors, self.requests)
    }

    /// (satisfied + tolerating ÷ 2) ÷ requests, 0 to 1.
    pub fn apdex(&self) -> Option<f64> {
        (self.requests > 0)
            .then(|| (self.satisfied as f64 + self.tolerating as f64 / 2.0) / self.requests as f64)
    }

    pub fn mean_ms(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.total_ms / self.requests as f64)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every quantile is within the stated relative error of the exact
    /// value at that rank.
    #[test]
    fn quantiles_stay_within_the_stated_error() {
        let mut s = LatencySketch::default();
        let mut exact: Vec<f64> = (1..=10_000u32)
            .map(|i| (f64::from(i) * 7.3) % 997.0 + 0.5)
            .collect();
        for v in &exact {
            s.add(*v);
        }
        exact.sort_by(f64::total_cmp);
        for q in [0.5, 0.9, 0.95, 0.99] {
            let want = exact[((q * (exact.len() - 1) as f64).floor()) as usize];
            let got = s.quantile(q).expect("test input");
            assert!(
                (got - want).abs() <= want * LatencySketch::ALPHA * 1.01,
                "q{q}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn shares_above_a_latency() {
        let mut s = LatencySketch::default();
        for i in 1..=1000 {
            s.add(f64::from(i));
        }
        assert!(
            (s.share_above(900.0) - 0.1).abs() < 0.012,
            "{}",
            s.share_above(900.0)
        );
        assert_eq!(s.share_above(5000.0), 0.0);
        assert_eq!(s.share_above(0.5), 1.0);
        assert_eq!(LatencySketch::default().share_above(1.0), 0.0);
    }

    #[test]
    fn sketches_merge() {
        let (mut a, mut b) = (LatencySketch::default(), LatencySketch::default());
        for i in 0..500 {
            a.add(f64::from(i));
            b.add(f64::from(i) + 1000.0);
        }
        a.merge(&b);
        assert_eq!(a.count(), 1000);
        let p75 = a.quantile(0.75).expect("test input");
        assert!((p75 - 1250.0).abs() < 1250.0 * 0.011, "{p75}");
        assert_eq!(LatencySketch::default().quantile(0.5), None);
    }

    /// Counting latencies per bin elsewhere and rebuilding gives the sketch
    /// that adding them one by one gives.
    #[test]
    fn sketches_rebuild_from_their_bins() {
        let mut s = LatencySketch::default();
        let mut bins: std::collections::BTreeMap<Option<i32>, u64> = Default::default();
        let values: Vec<f64> = (0..3_000u32).map(|i| f64::from(i % 911) * 2.3).collect();
        for &v in &values {
            s.add(v);
            *bins.entry(LatencySketch::bin_of(v)).or_default() += 1;
        }
        let bins: Vec<(Option<i32>, u64)> = bins.into_iter().collect();
        let max = values.iter().copied().fold(0.0, f64::max);
        let back = LatencySketch::from_bins(&bins, 0.0, max);
        assert_eq!(back.count(), s.count());
        for q in [0.0, 0.01, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(back.quantile(q), s.quantile(q), "q{q}");
        }
        let one = LatencySketch::from_bins(&[(LatencySketch::bin_of(42.0), 1)], 42.0, 42.0);
        let mut single = LatencySketch::default();
        single.add(42.0);
        for q in [0.0, 0.5, 1.0] {
            assert_eq!(one.quantile(q), single.quantile(q), "q{q}");
        }
        assert_eq!(one.quantile(1.0), Some(42.0));
        let scale = LatencySketch::bin_scale();
        assert_eq!(
            LatencySketch::bin_of(250.0),
            Some((250f64.ln() / scale).floor() as i32)
        );
        assert_eq!(LatencySketch::bin_of(0.0), None);
    }

    /// A sketch read back from its bytes answers every quantile as before,
    /// and merges with a fresh one.
    #[test]
    fn sketches_survive_their_bytes() {
        let mut s = LatencySketch::default();
        for i in 0..5_000u32 {
            s.add(f64::from(i % 997) * 1.7 + 0.01);
        }
        s.add(0.0);
        let back = LatencySketch::from_bytes(&s.to_bytes()).expect("own bytes");
        assert_eq!(back.count(), s.count());
        for q in [0.0, 0.01, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(back.quantile(q), s.quantile(q), "q{q}");
        }
        let mut merged = LatencySketch::default();
        merged.add(5.0);
        merged.merge(&back);
        assert_eq!(merged.count(), s.count() + 1);
        let empty = LatencySketch::from_bytes(&LatencySketch::default().to_bytes());
        assert_eq!(empty.map(|e| e.count()), Ok(0));
        assert!(LatencySketch::from_bytes(&[0xff, 0x13]).is_err());
        assert!(LatencySketch::from_bytes(&[]).is_err());
    }
}
