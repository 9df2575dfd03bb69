//! Conversion funnels over one person's time-ordered events.
//!
//! Ordered funnels follow ClickHouse's `windowFunnel(window)`: every step-1
//! event starts a chain, a step extends the chain that reached the step
//! before it when it falls within the window of that chain's start, and the
//! person reaches the deepest level any chain reached. Events at the same
//! instant are taken in step order, as ClickHouse sorts them.

use super::{NameMasks, UnknownValue};

/// The most steps a funnel may have.
pub const MAX_STEPS: usize = 32;

/// How strictly the steps must follow each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunnelOrder {
    /// Steps in order; other events may come between them.
    Ordered,
    /// Steps in order with nothing else between them.
    Strict,
    /// Steps in any order.
    Unordered,
}

impl FunnelOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            FunnelOrder::Ordered => "ordered",
            FunnelOrder::Strict => "strict",
            FunnelOrder::Unordered => "unordered",
        }
    }
}

impl std::str::FromStr for FunnelOrder {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            FunnelOrder::Ordered,
            FunnelOrder::Strict,
            FunnelOrder::Unordered,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
        .ok_or_else(|| UnknownValue {
            what: "funnel order",
            value: s.to_owned(),
            expected: "ordered, strict, unordered",
        })
    }
}

/// An excluded event: a person who does it after reaching step `after`
/// (0-based) and before reaching step `before` leaves the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exclusion {
    /// The bit of the exclusion's event set in the masks.
    pub set: usize,
    pub after: usize,
    pub before: usize,
}

/// A funnel ready to run: masks bits `0..steps` are the steps, later bits the
/// exclusions' event sets.
#[derive(Debug, Clone)]
pub struct Funnel {
    pub masks: NameMasks,
    pub steps: usize,
    pub window_ms: i64,
    pub order: FunnelOrder,
    pub exclusions: Vec<Exclusion>,
}

/// How far one person got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    /// Steps reached, 0 to `steps`.
    pub level: usize,
    /// When each reached step happened, for the chain that got furthest first.
    pub times: [i64; MAX_STEPS],
}

impl Path {
    const NONE: Path = Path {
        level: 0,
        times: [0; MAX_STEPS],
    };
}

/// Working memory for [`Funnel::run_with`], made once per thread: one
/// chain of step times per level, so nothing is cleared per person.
#[derive(Debug, Clone)]
pub struct Scratch {
    chains: Vec<[i64; MAX_STEPS]>,
    /// The step times of the last person's path.
    best: [i64; MAX_STEPS],
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch {
            chains: vec![[0; MAX_STEPS]; MAX_STEPS],
            best: [0; MAX_STEPS],
        }
    }
}

impl Scratch {
    /// When each step of the last path run happened (valid up to its level).
    pub fn times(&self) -> &[i64; MAX_STEPS] {
        &self.best
    }
}

impl Funnel {
    /// The person's path through the funnel, or `None` when an exclusion
    /// removes them. `ts` is sorted ascending and `names[i]` is event `i`'s name.
    pub fn run(&self, ts: &[i64], names: &[u32]) -> Option<Path> {
        let mut scratch = Scratch::default();
        let level = self.run_with(ts, names, &mut scratch)?;
        Some(Path {
            level,
            times: scratch.best,
        })
    }

    /// [`Funnel::run`] with working memory kept between people: returns the
    /// level reached, with the step times in [`Scratch::times`].
    pub fn run_with(&self, ts: &[i64], names: &[u32], scratch: &mut Scratch) -> Option<usize> {
        let level = match self.order {
            FunnelOrder::Ordered => self.ordered(ts, names, scratch),
            FunnelOrder::Strict | FunnelOrder::Unordered => {
                let path = if self.order == FunnelOrder::Strict {
                    self.strict(ts, names)
                } else {
                    self.unordered(ts, names)
                };
                scratch.best = path.times;
                path.level
            }
        };
        if level > 0 && self.excluded(level, &scratch.best, ts, names) {
            return None;
        }
        Some(level)
    }

    fn step_bits(&self) -> u64 {
        if self.steps >= 64 {
            u64::MAX
        } else {
            (1u64 << self.steps) - 1
        }
    }

    fn ordered(&self, ts: &[i64], names: &[u32], scratch: &mut Scratch) -> usize {
        let n = self.steps.min(MAX_STEPS);
        let bits = self.step_bits();
        // chains[k] (valid when bit k is set): the latest chain that reached
        // step k; its start is chains[k][0].
        let Scratch { chains, best } = scratch;
        let mut valid = 0u64;
        let mut level = 0;
        let mut i = 0;
        while i < ts.len() {
            // One instant at a time, its matches in step order.
            let t = ts[i];
            let mut instant = 0u64;
            while i < ts.len() && ts[i] == t {
                instant |= self.masks.of(names[i]) & bits;
                i += 1;
            }
            while instant != 0 {
                let step = instant.trailing_zeros() as usize;
                instant &= instant - 1;
                if step >= n {
                    break;
                }
                if step == 0 {
                    chains[0][0] = t;
                } else if valid & (1 << (step - 1)) != 0
                    && t - chains[step - 1][0] <= self.window_ms
                {
                    let (before, after) = chains.split_at_mut(step);
                    after[0][..step].copy_from_slice(&before[step - 1][..step]);
                    after[0][step] = t;
                } else {
                    continue;
                }
                valid |= 1 << step;
                if step + 1 > level {
                    level = step + 1;
                    best[..=step].copy_from_slice(&chains[step][..=step]);
                    if level == n {
                        return level;
                    }
                }
            }
        }
        level
    }

    fn strict(&self, ts: &[i64], names: &[u32]) -> Path {
        let n = self.steps.min(MAX_STEPS);
        let bits = self.step_bits();
        let mut best = Path::NONE;
        let mut level = 0usize;
        let mut times = [0i64; MAX_STEPS];
        for (&t, &name) in ts.iter().zip(names) {
            let m = self.masks.of(name) & bits;
            if level > 0 && level < n && m & (1 << level) != 0 && t - times[0] <= self.window_ms {
                times[level] = t;
                level += 1;
            } else if m & 1 != 0 {
                times = [0; MAX_STEPS];
                times[0] = t;
                level = 1;
            } else {
                // Anything else between two steps breaks the chain.
                level = 0;
            }
            if level > best.level {
                best = Path { level, times };
                if level == n {
                    return best;
                }
            }
        }
        best
    }

    fn unordered(&self, ts: &[i64], names: &[u32]) -> Path {
        let n = self.steps.min(MAX_STEPS);
        let bits = self.step_bits();
        let mut best = Path::NONE;
        // From each event that matches a step, count the distinct steps done
        // within the window; the k-th distinct step is "step k".
        for start in 0..ts.len() {
            if self.masks.of(names[start]) & bits == 0 {
                continue;
            }
            let mut done = 0u64;
            let mut level = 0;
            let mut times = [0i64; MAX_STEPS];
            for j in start..ts.len() {
                if ts[j] - ts[start] > self.window_ms {
                    break;
                }
                let fresh = self.masks.of(names[j]) & bits & !done;
                if fresh != 0 {
                    done |= fresh;
                    for _ in 0..fresh.count_ones() {
                        if level < n {
                            times[level] = ts[j];
                            level += 1;
                        }
                    }
                }
                if level == n {
                    break;
                }
            }
            if level > best.level {
                best = Path { level, times };
                if level == n {
                    break;
                }
            }
        }
        best
    }

    fn excluded(&self, level: usize, times: &[i64; MAX_STEPS], ts: &[i64], names: &[u32]) -> bool {
        self.exclusions.iter().any(|x| {
            if level <= x.after {
                return false;
            }
            let from = times[x.after];
            let until = if level > x.before {
                times[x.before]
            } else {
                times[0].saturating_add(self.window_ms)
            };
            ts.iter()
                .zip(names)
                .any(|(&t, &name)| t > from && t < until && self.masks.of(name) & (1 << x.set) != 0)
        })
    }
}

/// Per-step totals over many people.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelTotals {
    /// People who reached each step.
    pub reached: Vec<u64>,
    /// Milliseconds from the step before to this one, per person who made it.
    pub to_convert: Vec<Vec<i64>>,
}

impl FunnelTotals {
    pub fn new(steps: usize) -> FunnelTotals {
        FunnelTotals {
            reached: vec![0; steps],
            to_convert: vec![Vec::new(); steps],
        }
    }

    /// Counts one person who reached `level` steps at `times`.
    pub fn add(&mut self, level: usize, times: &[i64; MAX_STEPS]) {
        for k in 0..level.min(self.reached.len()) {
            self.reached[k] += 1;
            if k > 0 {
                self.to_convert[k].push(times[k] - times[k - 1]);
            }
        }
    }

    pub fn merge(&mut self, other: FunnelTotals) {
        for (k, (r, t)) in other.reached.into_iter().zip(other.to_convert).enumerate() {
            self.reached[k] += r;
            self.to_convert[k].extend(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// Steps a=0, b=1, c=2 (names 0, 1, 2); name 9 is noise; name 5 is excluded.
    fn funnel(order: FunnelOrder, window_min: i64) -> Funnel {
        Funnel {
            masks: NameMasks::new(&[vec![0], vec![1], vec![2], vec![5]]),
            steps: 3,
            window_ms: window_min * MIN,
            order,
            exclusions: Vec::new(),
        }
    }

    fn run(f: &Funnel, events: &[(i64, u32)]) -> Option<usize> {
        let ts: Vec<i64> = events.iter().map(|e| e.0 * MIN).collect();
        let names: Vec<u32> = events.iter().map(|e| e.1).collect();
        f.run(&ts, &names).map(|p| p.level)
    }

    #[test]
    fn ordered_funnels_match_window_funnel() {
        let f = funnel(FunnelOrder::Ordered, 10);
        for (events, want) in [
            (vec![(0, 0), (1, 1), (2, 2)], 3),
            (vec![(0, 0), (1, 9), (2, 1), (3, 9), (4, 2)], 3),
            (vec![(0, 0), (11, 1)], 1),
            // The window counts from the chain's start, inclusively.
            (vec![(0, 0), (5, 1), (10, 2)], 3),
            (vec![(0, 0), (5, 1), (11, 2)], 2),
            // A later step 1 starts a new chain that can get further.
            (vec![(0, 0), (20, 0), (21, 1), (22, 2)], 3),
            // Out of order: b before a does not count.
            (vec![(0, 1), (1, 0), (2, 2)], 1),
            (vec![(0, 1), (1, 2)], 0),
            (vec![], 0),
            // Same instant: taken in step order.
            (vec![(0, 1), (0, 0), (0, 2)], 3),
        ] {
            assert_eq!(run(&f, &events), Some(want), "{events:?}");
        }
    }

    #[test]
    fn strict_funnels_break_on_anything_between() {
        let f = funnel(FunnelOrder::Strict, 10);
        assert_eq!(run(&f, &[(0, 0), (1, 1), (2, 2)]), Some(3));
        assert_eq!(run(&f, &[(0, 0), (1, 9), (2, 1), (3, 2)]), Some(1));
        assert_eq!(run(&f, &[(0, 0), (1, 9), (2, 0), (3, 1)]), Some(2));
        assert_eq!(run(&f, &[(0, 0), (1, 1), (12, 2)]), Some(2));
    }

    #[test]
    fn unordered_funnels_count_distinct_steps_in_the_window() {
        let f = funnel(FunnelOrder::Unordered, 10);
        assert_eq!(run(&f, &[(0, 2), (1, 0), (2, 1)]), Some(3));
        assert_eq!(run(&f, &[(0, 2), (1, 2), (2, 1)]), Some(2));
        assert_eq!(run(&f, &[(0, 2), (11, 0), (12, 1)]), Some(2));
    }

    #[test]
    fn exclusions_remove_people_and_times_are_kept() {
        let mut f = funnel(FunnelOrder::Ordered, 10);
        f.exclusions.push(Exclusion {
            set: 3,
            after: 0,
            before: 1,
        });
        assert_eq!(run(&f, &[(0, 0), (1, 5), (2, 1)]), None);
        assert_eq!(run(&f, &[(0, 0), (1, 1), (2, 5), (3, 2)]), Some(3));
        // Before step 1 it does not matter.
        assert_eq!(run(&f, &[(0, 5), (1, 0), (2, 1)]), Some(2));
        let ts = [0, 2 * MIN, 7 * MIN];
        let p = f.run(&ts, &[0, 1, 2]).expect("path");
        let mut totals = FunnelTotals::new(3);
        totals.add(p.level, &p.times);
        let one = f.run(&ts[..1], &[0]).expect("path");
        totals.add(one.level, &one.times);
        assert_eq!(totals.reached, vec![2, 1, 1]);
        assert_eq!(totals.to_convert[1], vec![2 * MIN]);
        assert_eq!(totals.to_convert[2], vec![5 * MIN]);
    }
}
