//! Release regressions: did a route get slower in a new release? The test
//! is one-sided Mann–Whitney U (normal approximation with a tie
//! correction) over request latencies of comparable traffic: the same route
//! just before and just after the new release appeared. A regression needs
//! both significance and a practical size: p < 0.01 and a p95 at least 20 %
//! higher.

/// The significance level.
pub const ALPHA: f64 = 0.01;
/// The smallest p95 growth worth reporting.
pub const MIN_P95_RATIO: f64 = 1.2;
/// Each side needs at least this many requests.
pub const MIN_SAMPLES: usize = 30;

/// The outcome of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub before: usize,
    pub after: usize,
    /// U of the "after" sample.
    pub u: f64,
    pub z: f64,
    /// P(after is not stochastically larger), one-sided.
    pub p_value: f64,
}

/// Mann–Whitney U for "`after` tends to be larger than `before`".
/// `None` when either side is empty.
pub fn mann_whitney(before: &[f64], after: &[f64]) -> Option<Comparison> {
    let (n1, n2) = (before.len(), after.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = before
        .iter()
        .map(|v| (*v, false))
        .chain(after.iter().map(|v| (*v, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let (mut rank_after, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1..=j share their mean.
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        ties += t * t * t - t;
        rank_after += mean_rank * all[i..j].iter().filter(|e| e.1).count() as f64;
        i = j;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u = rank_after - n2f * (n2f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - ties / (nf * (nf - 1.0)).max(1.0));
    let z = if var > 0.0 {
        // Continuity correction towards the mean.
        (u - mean - 0.5) / var.sqrt()
    } else {
        0.0
    };
    Some(Comparison {
        before: n1,
        after: n2,
        u,
        z,
        p_value: upper_tail(z),
    })
}

/// P(Z > z) for a standard normal Z.
pub fn upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit,
/// fractional error below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Whether the comparison and the p95s make a regression.
pub fn is_regression(c: &Comparison, p95_before: f64, p95_after: f64) -> bool {
    c.before >= MIN_SAMPLES
        && c.after >= MIN_SAMPLES
        && c.p_value < ALPHA
        && p95_before > 0.0
        && p95_after / p95_before >= MIN_P95_RATIO
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_tail_matches_tables() {
        assert!((upper_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((upper_tail(1.644_853_6) - 0.05).abs() < 1e-6);
        assert!((upper_tail(2.326_347_9) - 0.01).abs() < 1e-6);
        assert!((upper_tail(-1.959_964) - 0.975).abs() < 1e-6);
    }

    /// A textbook case: U counts the pairs where "after" is larger.
    #[test]
    fn u_counts_pairs_and_ties_count_half() {
        let c = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0]).expect("test input");
        assert_eq!(c.u, 6.0);
        let c = mann_whitney(&[1.0, 2.0], &[2.0, 0.5]).expect("test input");
        // Pairs (after > before): 2>1, 2=2 (half), 0.5 none: 1.5.
        assert_eq!(c.u, 1.5);
        assert!(mann_whitney(&[], &[1.0]).is_none());
    }

    #[test]
    fn slower_releases_are_regressions_and_same_ones_are_not() {
        let before: Vec<f64> = (0..200).map(|i| 50.0 + f64::from(i % 20)).collect();
        let slower: Vec<f64> = (0..200).map(|i| 80.0 + f64::from(i % 20)).collect();
        let same: Vec<f64> = (0..200).map(|i| 50.0 + f64::from((i * 7) % 20)).collect();
        let c = mann_whitney(&before, &slower).expect("test input");
        assert!(c.p_value < 1e-10, "{c:?}");
        assert!(is_regression(&c, 69.0, 99.0));
        let c = mann_whitney(&before, &same).expect("test input");
        assert!(c.p_value > 0.3, "{c:?}");
        assert!(!is_regression(&c, 69.0, 69.0));
        // Significant but too small to matter.
        let c = mann_whitney(&before, &slower).expect("test input");
        assert!(!is_regression(&c, 69.0, 75.0));
        // Too few requests.
        let c = mann_whitney(&before[..10], &slower[..10]).expect("test input");
        assert!(!is_regression(&c, 69.0, 99.0));
    }
}
