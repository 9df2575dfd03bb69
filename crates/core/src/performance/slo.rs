//! SLO error budgets and multi-window, multi-burn-rate alerts, after the
//! Google SRE Workbook (chapter 5) and Sloth's 30-day table.

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    Ticket,
    Page,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Ticket => "ticket",
            Urgency::Page => "page",
        }
    }
}

/// One row of the alerting table: alert when the burn rate over both the
/// long and the short window exceeds `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    pub long_secs: i64,
    pub short_secs: i64,
    /// The share of the whole period's budget this alert spends.
    pub budget_fraction: f64,
    pub threshold: f64,
    pub urgency: Urgency,
}

/// The workbook's three rows for an SLO period: page on 2 % of the budget
/// in 1 h (5 m short window) or 5 % in 6 h (30 m); ticket on 10 % in 3 d
/// (6 h). Threshold = budget fraction × period ÷ long window.
pub fn burn_windows(period_secs: i64) -> [BurnWindow; 3] {
    let row = |long: i64, short: i64, fraction: f64, urgency| BurnWindow {
        long_secs: long,
        short_secs: short,
        budget_fraction: fraction,
        threshold: fraction * period_secs as f64 / long as f64,
        urgency,
    };
    [
        row(3600, 300, 0.02, Urgency::Page),
        row(6 * 3600, 1800, 0.05, Urgency::Page),
        row(3 * 86_400, 6 * 3600, 0.10, Urgency::Ticket),
    ]
}

/// How fast the budget burns: the bad share of events over the share the
/// objective allows. 1 spends the budget exactly over the period.
pub fn burn_rate(bad: u64, total: u64, objective: f64) -> f64 {
    let budget = 1.0 - objective;
    if total == 0 || budget <= 0.0 {
        return 0.0;
    }
    (bad as f64 / total as f64) / budget
}

/// The share of the period's error budget left (negative when overspent).
pub fn budget_remaining(bad: u64, total: u64, objective: f64) -> f64 {
    let allowed = (1.0 - objective) * total as f64;
    if total == 0 {
        return 1.0;
    }
    if allowed <= 0.0 {
        return if bad == 0 { 1.0 } else { f64::NEG_INFINITY };
    }
    1.0 - bad as f64 / allowed
}

/// The most urgent alert the burn rates call for. `rate` answers the burn
/// rate over the last `secs` seconds.
pub fn evaluate(
    windows: &[BurnWindow],
    mut rate: impl FnMut(i64) -> f64,
) -> Option<(Urgency, BurnWindow)> {
    windows
        .iter()
        .filter(|w| rate(w.long_secs) > w.threshold && rate(w.short_secs) > w.threshold)
        .max_by_key(|w| w.urgency)
        .map(|w| (w.urgency, *w))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAYS_30: i64 = 30 * 86_400;

    /// The workbook's table for a 30-day SLO: 14.4, 6 and 1.
    #[test]
    fn thresholds_match_the_workbook() {
        let w = burn_windows(DAYS_30);
        let t: Vec<f64> = w
            .iter()
            .map(|w| (w.threshold * 1000.0).round() / 1000.0)
            .collect();
        assert_eq!(t, vec![14.4, 6.0, 1.0]);
        assert_eq!((w[0].long_secs, w[0].short_secs), (3600, 300));
        assert_eq!((w[1].long_secs, w[1].short_secs), (21_600, 1800));
        assert_eq!((w[2].long_secs, w[2].short_secs), (259_200, 21_600));
        assert_eq!(w[2].urgency, Urgency::Ticket);
    }

    /// A 99.9 % SLO: 1.44 % errors burn at 14.4 and spend 2 % of the budget
    /// in an hour, as the workbook's example says.
    #[test]
    fn burn_rates_and_budget_follow_the_examples() {
        let r = burn_rate(144, 10_000, 0.999);
        assert!((r - 14.4).abs() < 1e-9, "{r}");
        let spent_per_hour = r * 3600.0 / DAYS_30 as f64;
        assert!((spent_per_hour - 0.02).abs() < 1e-9);
        assert!((budget_remaining(25, 100_000, 0.999) - 0.75).abs() < 1e-9);
        assert!(budget_remaining(200, 100_000, 0.999) < 0.0);
        assert_eq!(budget_remaining(0, 0, 0.999), 1.0);
        assert_eq!(burn_rate(1, 0, 0.999), 0.0);
    }

    #[test]
    fn both_windows_must_burn() {
        let w = burn_windows(DAYS_30);
        // A spike over 5 minutes alone does not page.
        assert_eq!(
            evaluate(&w, |secs| if secs <= 300 { 20.0 } else { 0.5 }),
            None
        );
        // A sustained 15× burn pages.
        assert_eq!(evaluate(&w, |_| 15.0).map(|a| a.0), Some(Urgency::Page));
        // A slow 1.5× burn over days opens a ticket.
        let t = evaluate(&w, |_| 1.5).expect("test input");
        assert_eq!((t.0, t.1.long_secs), (Urgency::Ticket, 259_200));
        // After recovery the short windows clear the pages at once; the
        // ticket's six-hour short window still burns.
        assert_eq!(
            evaluate(&w, |secs| if secs <= 1800 { 0.0 } else { 20.0 }).map(|a| a.0),
            Some(Urgency::Ticket)
        );
        assert_eq!(
            evaluate(&w, |secs| if secs <= 21_600 { 0.0 } else { 20.0 }),
            None
        );
    }
}
