//! Capacity forecasts: exponential smoothing (additive Holt-Winters, or Holt's
//! linear trend when there is no usable season) fitted by a small grid search,
//! with prediction intervals, threshold crossings and a holdout backtest.
//!
//! # Model
//!
//! The additive Holt-Winters model is written in its error-correction form
//! (Hyndman et al., *Forecasting with Exponential Smoothing*, 2008, ETS(A,A,A);
//! the component form of *Forecasting: Principles and Practice*):
//!
//! ```text
//! ŷ(t)  = ℓ(t−1) + b(t−1) + s(t−m)          e(t) = y(t) − ŷ(t)
//! ℓ(t)  = ℓ(t−1) + b(t−1) + α·e(t)
//! b(t)  = b(t−1) + α·β·e(t)
//! s(t)  = s(t−m) + γ·e(t)
//! ŷ(n+h) = ℓ(n) + h·b(n) + s(n+h−m·k),  k = ⌊(h−1)/m⌋ + 1
//! ```
//!
//! Holt's linear trend is the same without the seasonal term (γ = 0). The
//! seasonal model is used when a period `m ≥ 2` is asked for and the history
//! holds at least two full seasons; otherwise Holt's model is fitted.
//!
//! # Fitting
//!
//! The start is the classical one: the level is the mean of the first
//! season, the trend the average slope between the first two seasons, and the
//! seasonal components the deviations from each complete season's mean
//! (less the trend within the season), averaged over all complete seasons.
//! Holt's model starts from a least-squares line through the first half of
//! the history. α, β and γ are then chosen on a fixed grid (α, γ ∈ {0.05, …,
//! 0.95} by 0.05 with γ ≤ 1 − α, β ∈ {0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5})
//! to minimise the sum of squared one-step-ahead errors; ties (within
//! rounding) keep the first.
//! The values are divided by their largest magnitude while fitting, so huge
//! values cannot overflow the squares.
//!
//! # Intervals
//!
//! σ² is the sum of squared one-step errors over the degrees of freedom left
//! after the parameters and initial states (at least one). The h-step variance
//! is the exact one for the model above (Hyndman et al. 2008, class 1):
//! `var(h) = σ²·[1 + Σ_{j=1}^{h−1} c_j²]` with
//! `c_j = α·(1 + j·β) + γ·[j mod m = 0]` (no γ term for Holt's model).
//! Intervals are `ŷ ± z·√var(h)`, with normal errors assumed.
//!
//! # Clamping
//!
//! [`plan`] and [`backtest`] clamp forecasts and interval bounds at zero when
//! no observation in the history they fit is negative: load, CPU and memory
//! can't be negative. [`Fitted::forecast`] never clamps; see
//! [`ForecastPoint::clamped`].

use std::fmt;

/// The fewest observations a model is fitted to.
pub const MIN_POINTS: usize = 8;

/// The longest forecast, in steps: a guard against runaway allocations.
pub const MAX_HORIZON: usize = 100_000;

/// The two-sided z of an 80 % interval: Φ⁻¹(0.9).
pub const Z80: f64 = 1.281_551_565_544_600_4;

/// The two-sided z of a 95 % interval: Φ⁻¹(0.975).
pub const Z95: f64 = 1.959_963_984_540_054;

const BETAS: [f64; 7] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5];

/// Why a series, a forecast or a backtest was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("the series has no values")]
    Empty,
    #[error("value {index} is {value}; every value must be a finite number")]
    NotFinite { index: usize, value: f64 },
    #[error("the step must be a positive number of milliseconds, not {0}")]
    Step(i64),
    #[error("the series has {len} points; at least {min} are needed")]
    TooShort { len: usize, min: usize },
    #[error("a horizon must be between 1 and {max} steps, not {horizon}")]
    Horizon { horizon: usize, max: usize },
    #[error("no forecast horizons were asked for")]
    NoHorizons,
    #[error(
        "a holdout must be at least 1 point and leave at least {min} to fit; \
         {holdout} of {len} leaves {left}"
    )]
    Holdout {
        holdout: usize,
        len: usize,
        left: usize,
        min: usize,
    },
    #[error("a confidence must be strictly between 0 and 1, not {0}")]
    Confidence(f64),
    #[error("z must be a finite number ≥ 0, not {0}")]
    Z(f64),
    #[error("the threshold must be a finite number, not {0}")]
    Threshold(f64),
    #[error("the timestamps run past the range of i64 milliseconds")]
    TimeOverflow,
    #[error("the forecast runs past the range of f64")]
    Overflow,
    #[error("no smoothing parameters gave a finite fit")]
    NoFit,
}

/// Observations at a regular step: every value finite, the step positive,
/// at least one value, and every timestamp within i64 milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    start_ms: i64,
    step_ms: i64,
    values: Vec<f64>,
}

impl Series {
    /// A series whose first value is at `start_ms` and each next one
    /// `step_ms` later.
    pub fn new(start_ms: i64, step_ms: i64, values: Vec<f64>) -> Result<Series, ForecastError> {
        if step_ms <= 0 {
            return Err(ForecastError::Step(step_ms));
        }
        if values.is_empty() {
            return Err(ForecastError::Empty);
        }
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ForecastError::NotFinite { index, value });
        }
        let series = Series {
            start_ms,
            step_ms,
            values,
        };
        series
            .timestamp(series.values.len() - 1)
            .ok_or(ForecastError::TimeOverflow)?;
        Ok(series)
    }

    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }

    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The time of step `index` (0 is the first observation; later indices
    /// lie in the future), or `None` past the range of i64.
    pub fn timestamp(&self, index: usize) -> Option<i64> {
        timestamp(self.start_ms, self.step_ms, index)
    }

    /// The first `len` observations (at least one).
    fn prefix(&self, len: usize) -> Series {
        Series {
            start_ms: self.start_ms,
            step_ms: self.step_ms,
            values: self.values[..len.clamp(1, self.values.len())].to_vec(),
        }
    }
}

/// A smoothing method and its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Holt's linear trend (double exponential smoothing).
    Holt { alpha: f64, beta: f64 },
    /// Additive Holt-Winters (triple exponential smoothing) with a season of
    /// `period` steps.
    HoltWinters {
        period: usize,
        alpha: f64,
        beta: f64,
        gamma: f64,
    },
}

impl Model {
    /// The method and its parameters in words, e.g. `Holt-Winters additive,
    /// season 7 steps, α=0.30 β=0.05 γ=0.20`.
    pub fn describe(&self) -> String {
        match *self {
            Model::Holt { alpha, beta } => {
                format!("Holt linear trend, α={alpha:.2} β={beta:.2}")
            }
            Model::HoltWinters {
                period,
                alpha,
                beta,
                gamma,
            } => format!(
                "Holt-Winters additive, season {period} steps, α={alpha:.2} β={beta:.2} γ={gamma:.2}"
            ),
        }
    }

    /// The season length, for a seasonal model.
    pub fn period(&self) -> Option<usize> {
        match *self {
            Model::Holt { .. } => None,
            Model::HoltWinters { period, .. } => Some(period),
        }
    }

    fn params(&self) -> Params {
        match *self {
            Model::Holt { alpha, beta } => Params {
                alpha,
                beta,
                gamma: 0.0,
            },
            Model::HoltWinters {
                alpha, beta, gamma, ..
            } => Params { alpha, beta, gamma },
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Params {
    alpha: f64,
    beta: f64,
    gamma: f64,
}

/// Level, trend and seasonal components, in the scaled units of a fit.
/// `seasonals[i]` belongs to the steps `t` with `t mod m == i`; empty for
/// Holt's model.
#[derive(Debug, Clone, PartialEq)]
struct State {
    level: f64,
    trend: f64,
    seasonals: Vec<f64>,
}

/// A model fitted to a series: its final state and one-step error variance.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    model: Model,
    requested_period: usize,
    /// What the values were divided by while fitting.
    scale: f64,
    state: State,
    /// One-step error variance, scaled.
    sigma2: f64,
    observations: usize,
    start_ms: i64,
    step_ms: i64,
}

impl Fitted {
    /// Fits additive Holt-Winters with a season of `period` steps, or Holt's
    /// linear trend when `period` is 0 or 1 or the series holds fewer than
    /// two seasons. At least [`MIN_POINTS`] observations are needed.
    pub fn fit(series: &Series, period: usize) -> Result<Fitted, ForecastError> {
        let n = series.values.len();
        if n < MIN_POINTS {
            return Err(ForecastError::TooShort {
                len: n,
                min: MIN_POINTS,
            });
        }
        let largest = series.values.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        let scale = if largest > 0.0 { largest } else { 1.0 };
        let scaled: Vec<f64> = series.values.iter().map(|v| v / scale).collect();
        let seasonal = period >= 2 && n / 2 >= period;
        let start = if seasonal {
            seasonal_start(&scaled, period)
        } else {
            holt_start(&scaled)
        };
        let (params, sse, state) = search(&scaled, &start).ok_or(ForecastError::NoFit)?;
        let model = if seasonal {
            Model::HoltWinters {
                period,
                alpha: params.alpha,
                beta: params.beta,
                gamma: params.gamma,
            }
        } else {
            Model::Holt {
                alpha: params.alpha,
                beta: params.beta,
            }
        };
        // α, β, γ, the level, the trend and m − 1 free seasonal components.
        let estimated = if seasonal { period + 4 } else { 4 };
        let dof = n.saturating_sub(estimated).max(1);
        Ok(Fitted {
            model,
            requested_period: period,
            scale,
            state,
            sigma2: sse / dof as f64,
            observations: n,
            start_ms: series.start_ms,
            step_ms: series.step_ms,
        })
    }

    pub fn model(&self) -> Model {
        self.model
    }

    /// The model in words, with why a season asked for was not used.
    pub fn describe(&self) -> String {
        let p = self.requested_period;
        match self.model {
            Model::Holt { .. } if p >= 2 => format!(
                "{} (a season of {p} steps needs {} points; the history has {})",
                self.model.describe(),
                p.saturating_mul(2),
                self.observations
            ),
            _ => self.model.describe(),
        }
    }

    /// The standard deviation of the one-step errors, in the series' units.
    pub fn residual_sd(&self) -> f64 {
        self.sigma2.sqrt() * self.scale
    }

    /// The seasonal components in the series' units, indexed by the step's
    /// position in the season counted from the first observation; empty for
    /// Holt's model.
    pub fn seasonals(&self) -> Result<Vec<f64>, ForecastError> {
        self.state
            .seasonals
            .iter()
            .map(|s| finite(s * self.scale))
            .collect()
    }

    /// Point forecasts with 80 % and 95 % intervals for the next `horizon`
    /// steps (none for 0), unclamped.
    pub fn forecast(&self, horizon: usize) -> Result<Vec<ForecastPoint>, ForecastError> {
        if horizon > MAX_HORIZON {
            return Err(ForecastError::Horizon {
                horizon,
                max: MAX_HORIZON,
            });
        }
        self.scaled_path(horizon)
            .into_iter()
            .enumerate()
            .map(|(i, (mean, sd))| self.point(i + 1, mean, sd))
            .collect()
    }

    /// The interval `ŷ ± z·sd` at `step` steps ahead (from 1); see
    /// [`z_score`] for the z of a confidence.
    pub fn band(&self, step: usize, z: f64) -> Result<(f64, f64), ForecastError> {
        if !z.is_finite() || z < 0.0 {
            return Err(ForecastError::Z(z));
        }
        if step == 0 || step > MAX_HORIZON {
            return Err(ForecastError::Horizon {
                horizon: step,
                max: MAX_HORIZON,
            });
        }
        let (mean, sd) = self
            .scaled_path(step)
            .last()
            .copied()
            .ok_or(ForecastError::NoFit)?;
        Ok((
            finite((mean - z * sd) * self.scale)?,
            finite((mean + z * sd) * self.scale)?,
        ))
    }

    /// Mean and standard deviation, scaled, for steps 1..=horizon.
    fn scaled_path(&self, horizon: usize) -> Vec<(f64, f64)> {
        let Params { alpha, beta, gamma } = self.model.params();
        let m = self.state.seasonals.len();
        let mut spread = 1.0;
        let mut path = Vec::with_capacity(horizon);
        for h in 1..=horizon {
            let j = h - 1;
            if j >= 1 {
                let seasonal = if m >= 2 && j % m == 0 { gamma } else { 0.0 };
                let c = alpha * (1.0 + j as f64 * beta) + seasonal;
                spread += c * c;
            }
            let s = match m {
                0 => 0.0,
                _ => self.state.seasonals[(self.observations + j) % m],
            };
            let mean = self.state.level + h as f64 * self.state.trend + s;
            path.push((mean, (self.sigma2 * spread).sqrt()));
        }
        path
    }

    fn point(&self, step: usize, mean: f64, sd: f64) -> Result<ForecastPoint, ForecastError> {
        let at = |z: f64| finite((mean + z * sd) * self.scale);
        Ok(ForecastPoint {
            step,
            at_ms: self.at_ms(step)?,
            value: at(0.0)?,
            lo80: at(-Z80)?,
            hi80: at(Z80)?,
            lo95: at(-Z95)?,
            hi95: at(Z95)?,
        })
    }

    /// The time `step` steps after the last observation.
    fn at_ms(&self, step: usize) -> Result<i64, ForecastError> {
        (self.observations - 1)
            .checked_add(step)
            .and_then(|i| timestamp(self.start_ms, self.step_ms, i))
            .ok_or(ForecastError::TimeOverflow)
    }
}

/// `start_ms + index × step_ms`, or `None` past the range of i64.
fn timestamp(start_ms: i64, step_ms: i64, index: usize) -> Option<i64> {
    i64::try_from(index)
        .ok()?
        .checked_mul(step_ms)?
        .checked_add(start_ms)
}

fn finite(x: f64) -> Result<f64, ForecastError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(ForecastError::Overflow)
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Holt's start: a least-squares line through the first half of the
/// history, as the state just before the first observation.
fn holt_start(values: &[f64]) -> State {
    let q = values.len().div_ceil(2).max(2).min(values.len());
    let head = &values[..q];
    let x_mean = (q as f64 - 1.0) / 2.0;
    let y_mean = mean(head);
    let (sxy, sxx) = head
        .iter()
        .enumerate()
        .fold((0.0, 0.0), |(sxy, sxx), (i, y)| {
            let dx = i as f64 - x_mean;
            (sxy + dx * (y - y_mean), sxx + dx * dx)
        });
    let trend = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    State {
        level: y_mean - trend * x_mean - trend,
        trend,
        seasonals: Vec::new(),
    }
}

/// The classical Holt-Winters start for a season of `m` steps (the series
/// holds at least two), as the state just before the first observation.
fn seasonal_start(values: &[f64], m: usize) -> State {
    let means: Vec<f64> = values.chunks_exact(m).map(mean).collect();
    let first = means.first().copied().unwrap_or(0.0);
    let second = means.get(1).copied().unwrap_or(first);
    let trend = (second - first) / m as f64;
    let centre = (m as f64 - 1.0) / 2.0;
    let seasons = means.len().max(1) as f64;
    let mut seasonals = vec![0.0; m];
    for (chunk, season_mean) in values.chunks_exact(m).zip(&means) {
        for (i, (s, y)) in seasonals.iter_mut().zip(chunk).enumerate() {
            *s += (y - season_mean - trend * (i as f64 - centre)) / seasons;
        }
    }
    State {
        // The first season's mean is the level at its centre.
        level: first - trend * (centre + 1.0),
        trend,
        seasonals,
    }
}

/// Runs the smoother over `values` from `start`; the sum of squared one-step
/// errors and the final state, or `None` once the sum passes `bound`.
fn smooth(values: &[f64], start: &State, p: Params, bound: f64) -> Option<(f64, State)> {
    let mut level = start.level;
    let mut trend = start.trend;
    let mut seasonals = start.seasonals.clone();
    let m = seasonals.len();
    let mut sse = 0.0;
    for (t, &y) in values.iter().enumerate() {
        let slot = (m > 0).then(|| t % m);
        let s = slot.map_or(0.0, |i| seasonals[i]);
        let e = y - (level + trend + s);
        sse += e * e;
        if !sse.is_finite() || sse > bound {
            return None;
        }
        level += trend + p.alpha * e;
        trend += p.alpha * p.beta * e;
        if let Some(i) = slot {
            seasonals[i] += p.gamma * e;
        }
    }
    Some((
        sse,
        State {
            level,
            trend,
            seasonals,
        },
    ))
}

/// The grid point with the least one-step squared error.
fn search(values: &[f64], start: &State) -> Option<(Params, f64, State)> {
    let grid: Vec<f64> = (1..=19).map(|k| k as f64 * 0.05).collect();
    let gammas: &[f64] = if start.seasonals.is_empty() {
        &[0.0]
    } else {
        &grid
    };
    let mut best: Option<(Params, f64, State)> = None;
    for &alpha in &grid {
        for &beta in &BETAS {
            for &gamma in gammas.iter().filter(|&&g| g <= 1.0 - alpha + 1e-9) {
                let p = Params { alpha, beta, gamma };
                // A later point must beat the best by more than rounding
                // noise, so exact fits keep the first (smallest) parameters.
                let bound = best
                    .as_ref()
                    .map_or(f64::INFINITY, |b| b.1 * (1.0 - 1e-9) - 1e-20);
                if let Some((sse, state)) = smooth(values, start, p, bound)
                    && sse < bound
                {
                    best = Some((p, sse, state));
                }
            }
        }
    }
    best
}

/// One forecast step: the point forecast and its 80 % and 95 % intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastPoint {
    /// Steps after the last observation, from 1.
    pub step: usize,
    pub at_ms: i64,
    pub value: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

impl ForecastPoint {
    /// The point with the forecast and its bounds raised to at least zero,
    /// for quantities that can't be negative.
    pub fn clamped(self) -> ForecastPoint {
        ForecastPoint {
            value: self.value.max(0.0),
            lo80: self.lo80.max(0.0),
            hi80: self.hi80.max(0.0),
            lo95: self.lo95.max(0.0),
            hi95: self.hi95.max(0.0),
            ..self
        }
    }
}

/// A forecast step and its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTime {
    pub step: usize,
    pub at_ms: i64,
}

/// When a forecast reaches a threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    pub threshold: f64,
    /// The first step whose point forecast reaches the threshold.
    pub expected: Option<StepTime>,
    /// The first step whose 95 % upper bound reaches it: the earliest
    /// plausible date.
    pub earliest: Option<StepTime>,
}

/// The first steps of `points` where the forecast and its 95 % upper bound
/// reach or exceed `threshold`.
pub fn crossing(points: &[ForecastPoint], threshold: f64) -> Result<Crossing, ForecastError> {
    if !threshold.is_finite() {
        return Err(ForecastError::Threshold(threshold));
    }
    let first = |reaches: &dyn Fn(&ForecastPoint) -> bool| {
        points.iter().find(|p| reaches(p)).map(|p| StepTime {
            step: p.step,
            at_ms: p.at_ms,
        })
    };
    Ok(Crossing {
        threshold,
        expected: first(&|p| p.value >= threshold),
        earliest: first(&|p| p.hi95 >= threshold),
    })
}

/// The two-sided z of a confidence in (0, 1): Φ⁻¹((1 + confidence) / 2).
///
/// Φ is summed from its series `Φ(x) = ½ + φ(x)·Σ x^(2k+1) / (1·3·…·(2k+1))`,
/// whose terms are all positive for x ≥ 0, and inverted by bisection on
/// [0, 10]; the result is good to about 1e-12.
pub fn z_score(confidence: f64) -> Result<f64, ForecastError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(ForecastError::Confidence(confidence));
    }
    let target = (1.0 + confidence) / 2.0;
    let (mut lo, mut hi) = (0.0_f64, 10.0_f64);
    for _ in 0..64 {
        let mid = (lo + hi) / 2.0;
        if normal_cdf(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok((lo + hi) / 2.0)
}

/// Φ(x) for 0 ≤ x ≤ 10.
fn normal_cdf(x: f64) -> f64 {
    let density = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let (mut term, mut sum) = (x, x);
    for k in 1..400 {
        term *= x * x / (2 * k + 1) as f64;
        sum += term;
        if term <= sum * 1e-17 {
            break;
        }
    }
    0.5 + density * sum
}

/// How well a model fitted without the last points forecast them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backtest {
    pub model: Model,
    /// Points held out and forecast.
    pub holdout: usize,
    /// Mean absolute percentage error, in percent, over the non-zero
    /// actuals; `None` when all are zero.
    pub mape: Option<f64>,
    /// Mean absolute error, in the series' units.
    pub mae: f64,
    /// Root mean squared error, in the series' units.
    pub rmse: f64,
    /// Share of actuals inside the 80 % interval.
    pub coverage80: f64,
    /// Share of actuals inside the 95 % interval.
    pub coverage95: f64,
}

/// Fits on all but the last `holdout` points, forecasts those, and scores
/// the forecast against them. Forecasts are clamped at zero when the fitted
/// part has no negative value. Actuals smaller than the machine epsilon
/// times the largest fitted value count as zero for the MAPE.
pub fn backtest(series: &Series, period: usize, holdout: usize) -> Result<Backtest, ForecastError> {
    let len = series.values.len();
    let left = len.saturating_sub(holdout);
    if holdout == 0 || left < MIN_POINTS {
        return Err(ForecastError::Holdout {
            holdout,
            len,
            left,
            min: MIN_POINTS,
        });
    }
    let fitted = Fitted::fit(&series.prefix(left), period)?;
    let clamp = non_negative(&series.values[..left]);
    let floor = |x: f64| if clamp { x.max(0.0) } else { x };
    let mut score = Score::default();
    for ((mean, sd), actual) in fitted
        .scaled_path(holdout)
        .into_iter()
        .zip(&series.values[left..])
    {
        let actual = actual / fitted.scale;
        let inside = |z: f64| floor(mean - z * sd) <= actual && actual <= floor(mean + z * sd);
        score.add(floor(mean), actual, inside(Z80), inside(Z95));
    }
    let count = holdout as f64;
    Ok(Backtest {
        model: fitted.model,
        holdout,
        mape: (score.relative_count > 0)
            .then(|| 100.0 * score.relative / score.relative_count as f64),
        mae: finite(score.absolute / count * fitted.scale)?,
        rmse: finite((score.squared / count).sqrt() * fitted.scale)?,
        coverage80: score.inside80 as f64 / count,
        coverage95: score.inside95 as f64 / count,
    })
}

/// Running sums of a backtest, in scaled units.
#[derive(Debug, Default)]
struct Score {
    absolute: f64,
    squared: f64,
    relative: f64,
    relative_count: usize,
    inside80: usize,
    inside95: usize,
}

impl Score {
    fn add(&mut self, forecast: f64, actual: f64, inside80: bool, inside95: bool) {
        let error = (forecast - actual).abs();
        self.absolute += error;
        self.squared += error * error;
        if actual.abs() > f64::EPSILON {
            self.relative += error / actual.abs();
            self.relative_count += 1;
        }
        self.inside80 += usize::from(inside80);
        self.inside95 += usize::from(inside95);
    }
}

fn non_negative(values: &[f64]) -> bool {
    values.iter().all(|v| *v >= 0.0)
}

/// A capacity plan: the model, its forecast, the forecast at the asked
/// horizons, when it reaches the capacity, and how it did on held-out data.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub model: Model,
    /// The model in words, with why a season asked for was not used.
    pub description: String,
    /// Standard deviation of the one-step errors, in the series' units.
    pub residual_sd: f64,
    /// Whether forecasts were clamped at zero (the history has no negative
    /// value).
    pub clamped: bool,
    /// Every step up to the largest horizon.
    pub points: Vec<ForecastPoint>,
    /// The points at the asked horizons, in the order asked.
    pub at_horizons: Vec<ForecastPoint>,
    /// When the forecast reaches the capacity, if one was given.
    pub crossing: Option<Crossing>,
    /// A backtest holding out the last two seasons when they are at most
    /// 30 % of the history, else one season or 20 % of it, whichever is
    /// shorter (20 % for Holt's model); `None` when that would leave fewer
    /// than [`MIN_POINTS`] to fit.
    pub backtest: Option<Backtest>,
}

/// Fits a model with a season of `period` steps (0 for none), forecasts to
/// the largest of `horizons` (in steps), finds when the forecast reaches
/// `capacity`, and backtests the model. Forecasts are clamped at zero when
/// the history has no negative value.
pub fn plan(
    series: &Series,
    period: usize,
    horizons: &[usize],
    capacity: Option<f64>,
) -> Result<Plan, ForecastError> {
    if let Some(c) = capacity
        && !c.is_finite()
    {
        return Err(ForecastError::Threshold(c));
    }
    if let Some(&horizon) = horizons.iter().find(|&&h| h == 0 || h > MAX_HORIZON) {
        return Err(ForecastError::Horizon {
            horizon,
            max: MAX_HORIZON,
        });
    }
    let longest = horizons
        .iter()
        .copied()
        .max()
        .ok_or(ForecastError::NoHorizons)?;
    let fitted = Fitted::fit(series, period)?;
    let clamped = non_negative(&series.values);
    let mut points = fitted.forecast(longest)?;
    if clamped {
        points = points.into_iter().map(ForecastPoint::clamped).collect();
    }
    let at_horizons = horizons
        .iter()
        .filter_map(|&h| points.get(h - 1).copied())
        .collect();
    let reached = capacity.map(|c| crossing(&points, c)).transpose()?;
    let len = series.values.len();
    // The last two seasons (two weeks of daily points) when they are at
    // most 30 % of the history; else one season, or a fifth without one.
    let fifth = len / 5;
    let holdout = match fitted.model.period() {
        Some(m) if 2 * m * 10 <= len * 3 => 2 * m,
        Some(m) => m.min(fifth),
        None => fifth,
    };
    let scored = if holdout >= 1 && len - holdout >= MIN_POINTS {
        Some(backtest(series, period, holdout)?)
    } else {
        None
    };
    Ok(Plan {
        model: fitted.model,
        description: fitted.describe(),
        residual_sd: fitted.residual_sd(),
        clamped,
        points,
        at_horizons,
        crossing: reached,
        backtest: scored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    /// A 64-bit linear congruential generator (Knuth's MMIX constants):
    /// deterministic noise in [-1, 1).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        }
    }

    fn series(values: Vec<f64>) -> Series {
        match Series::new(0, DAY_MS, values) {
            Ok(s) => s,
            Err(e) => panic!("test series refused: {e}"),
        }
    }

    fn ok<T>(r: Result<T, ForecastError>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    /// Trend 0.5 a step, a weekly sine of amplitude 20 peaking on day 2 of
    /// the week, and uniform noise of ±2: `len` points, noise included.
    fn weekly(len: usize) -> Vec<f64> {
        let mut noise = Lcg(42);
        (0..len)
            .map(|t| weekly_shape(t) + 2.0 * noise.next())
            .collect()
    }

    fn weekly_shape(t: usize) -> f64 {
        let t = t as f64;
        100.0 + 0.5 * t + 20.0 * (2.0 * std::f64::consts::PI * t / 7.0).sin()
    }

    fn mape(forecast: &[f64], actual: &[f64]) -> f64 {
        let sum: f64 = forecast
            .iter()
            .zip(actual)
            .map(|(f, a)| ((f - a) / a).abs())
            .sum();
        100.0 * sum / actual.len() as f64
    }

    fn argmax(values: &[f64]) -> usize {
        values
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                if v > best.1 { (i, v) } else { best }
            })
            .0
    }

    #[test]
    fn a_straight_line_is_extended_and_its_crossing_found() {
        // y = 100 + 2t for t = 0..59; the line reaches 300 at t = 100, which
        // is 41 steps after the last observation (t = 59).
        let line = |t: usize| 100.0 + 2.0 * t as f64;
        let s = series((0..60).map(line).collect());
        for period in [0, 7] {
            let fitted = ok(Fitted::fit(&s, period));
            let points = ok(fitted.forecast(30));
            for p in &points {
                let truth = line(59 + p.step);
                assert!(
                    ((p.value - truth) / truth).abs() < 0.01,
                    "period {period}, step {}: {} vs {truth}",
                    p.step,
                    p.value
                );
            }
            let cross = ok(crossing(&ok(fitted.forecast(60)), 300.0));
            let expected = cross.expected.map(|c| c.step);
            assert!(
                expected.is_some_and(|s| s.abs_diff(41) <= 1),
                "period {period}: {expected:?}"
            );
            let earliest = cross.earliest.map(|c| c.step).unwrap_or(usize::MAX);
            assert!(earliest <= expected.unwrap_or(0));
            eprintln!(
                "line, period {period}: {}; crossing 300 at step {expected:?}, \
                 at_ms {:?}",
                fitted.describe(),
                cross.expected.map(|c| c.at_ms)
            );
        }
        let p = ok(plan(&s, 0, &[10, 30], Some(300.0)));
        assert_eq!(p.at_horizons.len(), 2);
        assert_eq!(p.at_horizons[1].step, 30);
        assert_eq!(p.points.len(), 30);
        assert_eq!(p.points[0].at_ms, 60 * DAY_MS);
        assert!(p.description.starts_with("Holt linear trend"));
        assert_eq!(p.crossing.and_then(|c| c.expected), None, "beyond 30 steps");
    }

    #[test]
    fn a_weekly_season_is_recovered() {
        let len = 140;
        let all = weekly(len + 14);
        let s = series(all[..len].to_vec());
        let fitted = ok(Fitted::fit(&s, 7));
        assert_eq!(fitted.model().period(), Some(7));
        let points = ok(fitted.forecast(14));
        let forecast: Vec<f64> = points.iter().map(|p| p.value).collect();
        let actual = &all[len..];
        let error = mape(&forecast, actual);
        eprintln!(
            "weekly: {}; sd {:.3}; MAPE over 2 seasons {error:.3} %",
            fitted.describe(),
            fitted.residual_sd()
        );
        assert!(error < 5.0, "MAPE {error}");
        for week in 0..2 {
            let range = week * 7..week * 7 + 7;
            assert_eq!(
                argmax(&forecast[range.clone()]),
                argmax(&actual[range]),
                "week {week}"
            );
        }
        // Day 2 of the week (t mod 7 == 2) has the largest seasonal effect.
        let seasonals = ok(fitted.seasonals());
        assert_eq!(argmax(&seasonals), 2, "{seasonals:?}");
        assert!((seasonals[2] - 19.5).abs() < 3.0, "{seasonals:?}");
        // Intervals widen with the horizon and nest.
        assert!(points[13].hi95 - points[13].lo95 > points[0].hi95 - points[0].lo95);
        assert!(points.iter().all(|p| p.lo95 <= p.lo80 && p.lo80 <= p.value));
        assert!(points.iter().all(|p| p.value <= p.hi80 && p.hi80 <= p.hi95));
    }

    #[test]
    fn the_interval_variance_follows_the_class_one_formula() {
        let s = series(weekly(70));
        let fitted = ok(Fitted::fit(&s, 7));
        let Params { alpha, beta, gamma } = fitted.model().params();
        let sd = fitted.residual_sd();
        // h = 9: c_j for j = 1..8, with the γ term at j = 7.
        let sum: f64 = (1..9)
            .map(|j| {
                let c = alpha * (1.0 + j as f64 * beta) + if j == 7 { gamma } else { 0.0 };
                c * c
            })
            .sum();
        let expected = Z95 * sd * (1.0 + sum).sqrt();
        let points = ok(fitted.forecast(9));
        let half = (points[8].hi95 - points[8].lo95) / 2.0;
        assert!(
            (half - expected).abs() < 1e-9 * expected,
            "{half} vs {expected}"
        );
        let (lo, hi) = ok(fitted.band(9, Z95));
        assert!((lo - points[8].lo95).abs() < 1e-9 && (hi - points[8].hi95).abs() < 1e-9);
    }

    #[test]
    fn constant_and_zero_series_stay_flat() {
        let s = series(vec![42.0; 30]);
        let p = ok(plan(&s, 7, &[5, 20], Some(50.0)));
        assert!(p.points.iter().all(|x| (x.value - 42.0).abs() < 1e-9));
        assert!(p.points.iter().all(|x| (x.hi95 - 42.0).abs() < 1e-9));
        let c = p.crossing.map(|c| (c.expected, c.earliest));
        assert_eq!(c, Some((None, None)));
        let at = ok(crossing(&p.points, 42.0)).expected.map(|c| c.step);
        assert_eq!(at, Some(1), "the constant itself is reached at once");

        let zeros = series(vec![0.0; 20]);
        let p = ok(plan(&zeros, 7, &[10], Some(1.0)));
        assert!(p.points.iter().all(|x| x.value == 0.0 && x.hi95 == 0.0));
        assert_eq!(p.crossing.and_then(|c| c.earliest), None);
        let b = ok(backtest(&zeros, 7, 5));
        assert_eq!(b.mape, None, "all actuals are zero");
        assert_eq!(b.mae, 0.0);
    }

    #[test]
    fn extreme_values_give_results_or_errors_but_no_panics() {
        let huge = series((0..20).map(|t| f64::MAX / 2.0 * (t % 3) as f64).collect());
        let _ = plan(&huge, 3, &[5, 1000], Some(f64::MAX));
        let rising = series((0..20).map(|t| 1e306 * t as f64).collect());
        assert_eq!(
            plan(&rising, 0, &[1000], None).err(),
            Some(ForecastError::Overflow)
        );
        let tiny = series((0..20).map(|t| 5e-324 * (t % 2) as f64).collect());
        assert!(plan(&tiny, 2, &[5], Some(0.0)).is_ok());
        let mixed = series(
            (0..30)
                .map(|t| if t % 2 == 0 { -1e300 } else { 1e300 })
                .collect(),
        );
        let p = ok(plan(&mixed, 2, &[3], None));
        assert!(!p.clamped);
        let late = match Series::new(i64::MAX - 10 * DAY_MS, DAY_MS, vec![1.0; 10]) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            ok(Fitted::fit(&late, 0)).forecast(5).err(),
            Some(ForecastError::TimeOverflow)
        );
        assert!(Series::new(i64::MAX - DAY_MS, DAY_MS, vec![1.0; 10]).is_err());
    }

    #[test]
    fn the_backtest_scores_a_good_model_well() {
        let s = series(weekly(140));
        let b = ok(backtest(&s, 7, 14));
        eprintln!(
            "backtest weekly: {}; MAPE {:?} %, MAE {:.3}, RMSE {:.3}, \
             coverage80 {:.2}, coverage95 {:.2}",
            b.model.describe(),
            b.mape,
            b.mae,
            b.rmse,
            b.coverage80,
            b.coverage95
        );
        assert!(b.mape.is_some_and(|m| m < 5.0), "{b:?}");
        assert!(b.coverage95 >= 0.8, "{b:?}");
        assert!(b.rmse >= b.mae);

        let p = ok(plan(&s, 7, &[30, 60, 90], Some(200.0)));
        let pb = p.backtest.map(|b| b.holdout);
        assert_eq!(pb, Some(14), "two seasons are under 30 % of 140");
        assert_eq!(p.points.len(), 90);
        let steps: Vec<usize> = p.at_horizons.iter().map(|x| x.step).collect();
        assert_eq!(steps, [30, 60, 90]);
        // The trend of 0.5 a step from about 170 reaches 200 in about 60
        // steps; the seasonal peaks and the upper bound reach it sooner.
        let c = p
            .crossing
            .map(|c| (c.expected.map(|x| x.step), c.earliest.map(|x| x.step)));
        eprintln!(
            "plan weekly: {}; crossing 200 (expected, earliest) {c:?}",
            p.description
        );
        assert!(
            c.is_some_and(|(e, l)| e.is_some_and(|e| (20..60).contains(&e)) && l <= e),
            "{c:?}"
        );
    }

    #[test]
    fn the_backtest_fails_when_the_trend_breaks() {
        // The weekly series, but its trend turns down sharply in the last
        // two weeks, which the model can't know of.
        let mut values = weekly(140);
        for (t, v) in values.iter_mut().enumerate().skip(126) {
            *v -= 6.5 * (t - 125) as f64;
        }
        let b = ok(backtest(&series(values), 7, 14));
        eprintln!(
            "backtest broken trend: MAPE {:?} %, coverage95 {:.2}",
            b.mape, b.coverage95
        );
        assert!(b.mape.is_some_and(|m| m > 20.0), "{b:?}");
        assert!(b.coverage95 < 0.5, "{b:?}");
    }

    #[test]
    fn a_short_history_falls_back_to_holt() {
        let s = series(weekly(10));
        let f = ok(Fitted::fit(&s, 7));
        assert_eq!(f.model().period(), None);
        assert!(f.describe().contains("needs 14 points"), "{}", f.describe());
        let p = ok(plan(&s, 7, &[3], None));
        assert_eq!(p.backtest.map(|b| b.holdout), Some(2), "20 % of 10");
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(Series::new(0, 0, vec![1.0]), Err(ForecastError::Step(0)));
        assert_eq!(Series::new(0, -5, vec![1.0]), Err(ForecastError::Step(-5)));
        assert_eq!(Series::new(0, 1, vec![]), Err(ForecastError::Empty));
        assert!(matches!(
            Series::new(0, 1, vec![1.0, f64::NAN]),
            Err(ForecastError::NotFinite { index: 1, .. })
        ));
        assert!(Series::new(0, 1, vec![f64::INFINITY]).is_err());
        let short = series(vec![1.0; 7]);
        assert_eq!(
            Fitted::fit(&short, 0).err(),
            Some(ForecastError::TooShort { len: 7, min: 8 })
        );
        assert!(plan(&short, 0, &[1], None).is_err());
        let s = series(weekly(30));
        assert_eq!(
            plan(&s, 7, &[], None).err(),
            Some(ForecastError::NoHorizons)
        );
        assert!(matches!(
            plan(&s, 7, &[0], None),
            Err(ForecastError::Horizon { .. })
        ));
        assert!(matches!(
            plan(&s, 7, &[usize::MAX], None),
            Err(ForecastError::Horizon { .. })
        ));
        assert!(matches!(
            plan(&s, 7, &[5], Some(f64::NAN)),
            Err(ForecastError::Threshold(_))
        ));
        assert!(matches!(
            backtest(&s, 7, 0),
            Err(ForecastError::Holdout { .. })
        ));
        assert!(matches!(
            backtest(&s, 7, 23),
            Err(ForecastError::Holdout { .. })
        ));
        assert!(matches!(
            backtest(&s, 7, usize::MAX),
            Err(ForecastError::Holdout { .. })
        ));
        let f = ok(Fitted::fit(&s, 7));
        assert!(
            f.band(0, 1.0).is_err() && f.band(1, -1.0).is_err() && f.band(1, f64::NAN).is_err()
        );
        for c in [0.0, 1.0, -0.5, f64::NAN] {
            assert!(z_score(c).is_err(), "{c}");
        }
        let message = ForecastError::TooShort { len: 3, min: 8 }.to_string();
        assert_eq!(message, "the series has 3 points; at least 8 are needed");
    }

    #[test]
    fn z_scores_match_the_normal_table() {
        assert!((ok(z_score(0.8)) - Z80).abs() < 1e-9);
        assert!((ok(z_score(0.95)) - Z95).abs() < 1e-9);
        assert!((ok(z_score(0.6827)) - 1.000_002).abs() < 1e-4);
        assert!(ok(z_score(1.0 - 1e-16)).is_finite());
    }

    #[test]
    fn two_thousand_points_fit_quickly() {
        let mut noise = Lcg(7);
        let values: Vec<f64> = (0..2000)
            .map(|t| {
                let day = (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin();
                500.0 + 0.1 * t as f64 + 80.0 * day + 10.0 * noise.next()
            })
            .collect();
        let s = match Series::new(0, 3_600_000, values) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let started = std::time::Instant::now();
        let p = ok(plan(&s, 24, &[24, 168], Some(1000.0)));
        let took = started.elapsed();
        eprintln!("2,000 hourly points: {} in {took:?}", p.description);
        assert!(took.as_secs_f64() < 2.0, "{took:?}");
    }
}
