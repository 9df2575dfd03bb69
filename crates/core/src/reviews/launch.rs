//! Post-launch reviews: the facts of a release or period against the same
//! length of time before it, turned into pre-filled went-well, failed and
//! improve sections and into findings for the backlog.

/// A shipped feature's use: distinct users before and during the review.
#[derive(Debug, Clone, PartialEq)]
pub struct Adoption {
    pub feature: String,
    pub users_before: u64,
    pub users_after: u64,
    /// Active users during the review, to read adoption against.
    pub active_users: u64,
}

impl Adoption {
    /// Nobody used it before the review: most likely it shipped in it.
    pub fn is_new(&self) -> bool {
        self.users_before == 0 && self.users_after > 0
    }

    fn name(&self) -> String {
        if self.is_new() {
            format!("New feature {}", self.feature)
        } else {
            self.feature.clone()
        }
    }

    /// The share of active users who used the feature.
    pub fn share(&self) -> Option<f64> {
        (self.active_users > 0).then(|| self.users_after as f64 / self.active_users as f64)
    }
}

/// A funnel's conversion before and during the review.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub funnel: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

/// Everything a review reads, each against the period before it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub adoption: Vec<Adoption>,
    pub conversions: Vec<Conversion>,
    /// Share of the first week's users who came back in the second.
    pub retention_before: Option<f64>,
    pub retention_after: Option<f64>,
    pub incidents: u64,
    /// SEV1 and SEV2 among them.
    pub major_incidents: u64,
    pub tickets: u64,
    pub tickets_before: u64,
    /// Performance regressions found, described.
    pub regressions: Vec<String>,
    pub feedback: u64,
    pub feedback_before: u64,
    /// The backlog items most feedback went to: (title, count).
    pub themes: Vec<(String, u64)>,
    pub findings_opened: u64,
    pub findings_closed: u64,
    /// Error issues first seen in the period, and before it.
    pub new_issues: u64,
    pub new_issues_before: u64,
    /// Resolved error issues that came back in the period.
    pub regressed_issues: u64,
    /// Revenue in the base currency (`currency`), in the period and the
    /// one before; none when neither had any.
    pub revenue: Option<Revenue>,
}

/// Revenue during a review and before it, in one currency.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Revenue {
    pub currency: String,
    pub before: f64,
    pub after: f64,
}

/// A revenue move worth a line: a tenth.
const REVENUE_STEP: f64 = 0.1;

/// The sections a review starts from; people edit them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sections {
    pub went_well: Vec<String>,
    pub failed: Vec<String>,
    pub improve: Vec<String>,
    /// Facts worth a backlog item each.
    pub findings: Vec<String>,
}

/// A feature is adopted when a tenth of active users use it.
pub const ADOPTED_SHARE: f64 = 0.1;
/// A conversion move worth a line: two percentage points.
const CONVERSION_STEP: f64 = 0.02;
/// Tickets or feedback up by half is worth a look.
const VOLUME_RISE: f64 = 0.5;

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// Pre-fills the sections from the facts, every line quoting its numbers.
pub fn prefill(f: &Facts) -> Sections {
    let mut s = Sections::default();
    for a in &f.adoption {
        match a.share() {
            Some(share) if share >= ADOPTED_SHARE => s.went_well.push(format!(
                "{} reached {} of active users ({} users, {} before)",
                a.name(),
                pct(share),
                a.users_after,
                a.users_before
            )),
            Some(share) => {
                s.improve.push(format!(
                    "{} reached only {} of active users ({} users)",
                    a.name(),
                    pct(share),
                    a.users_after
                ));
                s.findings.push(format!(
                    "Low adoption of {}: {} of active users",
                    a.feature,
                    pct(share)
                ));
            }
            None => s.improve.push(format!(
                "{}: no active users to measure adoption against",
                a.feature
            )),
        }
    }
    for c in &f.conversions {
        if let (Some(b), Some(a)) = (c.before, c.after) {
            if a - b >= CONVERSION_STEP {
                s.went_well.push(format!(
                    "Funnel {} converted {} (was {})",
                    c.funnel,
                    pct(a),
                    pct(b)
                ));
            } else if b - a >= CONVERSION_STEP {
                s.failed.push(format!(
                    "Funnel {} converted {} (was {})",
                    c.funnel,
                    pct(a),
                    pct(b)
                ));
                s.findings.push(format!(
                    "Conversion of {} fell from {} to {}",
                    c.funnel,
                    pct(b),
                    pct(a)
                ));
            }
        }
    }
    if let (Some(b), Some(a)) = (f.retention_before, f.retention_after) {
        let line = format!("Week-1 retention {} (was {})", pct(a), pct(b));
        if a >= b {
            s.went_well.push(line);
        } else {
            s.improve.push(line);
        }
    }
    if let Some(r) = &f.revenue {
        let line = format!(
            "Revenue {:.2} {} (was {:.2})",
            r.after, r.currency, r.before
        );
        if r.before <= 0.0 {
            if r.after > 0.0 {
                s.went_well.push(line);
            }
        } else if r.after >= r.before * (1.0 + REVENUE_STEP) {
            s.went_well.push(line);
        } else if r.after <= r.before * (1.0 - REVENUE_STEP) {
            s.failed.push(line);
            s.findings.push(format!(
                "Revenue fell {} (from {:.2} to {:.2} {})",
                pct((r.before - r.after) / r.before),
                r.before,
                r.after,
                r.currency
            ));
        }
    }
    if f.incidents == 0 {
        s.went_well.push("No incidents".into());
    } else {
        s.failed.push(format!(
            "{} incident(s), {} of them SEV1 or SEV2",
            f.incidents, f.major_incidents
        ));
    }
    if rose(f.tickets, f.tickets_before) {
        s.improve.push(format!(
            "Tickets rose to {} from {}",
            f.tickets, f.tickets_before
        ));
    }
    for r in &f.regressions {
        s.failed.push(format!("Performance regression: {r}"));
        s.findings
            .push(format!("Fix the performance regression {r}"));
    }
    if f.regressed_issues > 0 {
        s.failed.push(format!(
            "{} resolved error issue(s) regressed",
            f.regressed_issues
        ));
        s.findings.push(format!(
            "Fix the {} error issue(s) that regressed",
            f.regressed_issues
        ));
    }
    if f.new_issues > 0 {
        let line = format!(
            "{} new error issue(s), {} before",
            f.new_issues, f.new_issues_before
        );
        if rose(f.new_issues, f.new_issues_before) {
            s.improve.push(line);
        } else {
            s.went_well.push(line);
        }
    }
    if f.feedback > 0 {
        let top = f
            .themes
            .iter()
            .take(3)
            .map(|(t, n)| format!("{t} ({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        let line = if top.is_empty() {
            format!(
                "{} feedback item(s), {} before",
                f.feedback, f.feedback_before
            )
        } else {
            format!(
                "{} feedback item(s), {} before; top themes: {top}",
                f.feedback, f.feedback_before
            )
        };
        if rose(f.feedback, f.feedback_before) {
            s.improve.push(line);
        } else {
            s.went_well.push(line);
        }
    }
    if f.findings_opened > f.findings_closed {
        s.improve.push(format!(
            "Security findings opened {} against {} closed",
            f.findings_opened, f.findings_closed
        ));
        s.findings.push(format!(
            "{} more security findings opened than closed",
            f.findings_opened - f.findings_closed
        ));
    } else if f.findings_closed > 0 {
        s.went_well.push(format!(
            "Security findings closed {} against {} opened",
            f.findings_closed, f.findings_opened
        ));
    }
    s
}

fn rose(now: u64, before: u64) -> bool {
    now as f64 > before as f64 * (1.0 + VOLUME_RISE) && now > before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_lands_in_one_section_with_its_numbers() {
        let f = Facts {
            adoption: vec![
                Adoption {
                    feature: "export".into(),
                    users_before: 0,
                    users_after: 40,
                    active_users: 100,
                },
                Adoption {
                    feature: "dark mode".into(),
                    users_before: 0,
                    users_after: 3,
                    active_users: 100,
                },
            ],
            conversions: vec![Conversion {
                funnel: "checkout".into(),
                before: Some(0.30),
                after: Some(0.25),
            }],
            incidents: 2,
            major_incidents: 1,
            tickets: 30,
            tickets_before: 10,
            regressions: vec!["shop GET /cart: p95 × 1.80".into()],
            feedback: 12,
            feedback_before: 10,
            themes: vec![("Faster search".into(), 5)],
            findings_opened: 3,
            findings_closed: 1,
            new_issues: 6,
            new_issues_before: 2,
            regressed_issues: 1,
            ..Facts::default()
        };
        let s = prefill(&f);
        assert!(
            s.went_well
                .iter()
                .any(|l| l.contains("export reached 40.0 %"))
        );
        assert!(
            s.improve
                .iter()
                .any(|l| l.contains("dark mode reached only 3.0 %"))
        );
        assert!(
            s.failed
                .iter()
                .any(|l| l.contains("checkout converted 25.0 % (was 30.0 %)"))
        );
        assert!(
            s.failed
                .iter()
                .any(|l| l.starts_with("2 incident(s), 1 of them"))
        );
        assert!(s.improve.iter().any(|l| l == "Tickets rose to 30 from 10"));
        assert!(
            s.failed
                .iter()
                .any(|l| l == "Performance regression: shop GET /cart: p95 × 1.80")
        );
        assert!(
            s.went_well
                .iter()
                .any(|l| l.contains("top themes: Faster search (5)"))
        );
        assert!(
            s.improve
                .iter()
                .any(|l| l.contains("opened 3 against 1 closed"))
        );
        assert!(
            s.failed
                .iter()
                .any(|l| l == "1 resolved error issue(s) regressed")
        );
        assert!(
            s.improve
                .iter()
                .any(|l| l == "6 new error issue(s), 2 before")
        );
        assert_eq!(s.findings.len(), 5, "{:?}", s.findings);
    }

    #[test]
    fn retention_moves_are_reported_both_ways() {
        let worse = prefill(&Facts {
            retention_before: Some(0.30),
            retention_after: Some(0.25),
            ..Facts::default()
        });
        assert!(
            worse
                .improve
                .contains(&"Week-1 retention 25.0 % (was 30.0 %)".to_owned()),
            "{worse:?}"
        );
        let better = prefill(&Facts {
            retention_before: Some(0.25),
            retention_after: Some(0.30),
            ..Facts::default()
        });
        assert!(
            better
                .went_well
                .iter()
                .any(|l| l.starts_with("Week-1 retention 30.0 %"))
        );
        let unknown = prefill(&Facts {
            retention_after: Some(0.30),
            ..Facts::default()
        });
        assert!(!unknown.went_well.iter().any(|l| l.contains("retention")));
    }

    #[test]
    fn revenue_moves_of_a_tenth_are_reported() {
        let with = |before: f64, after: f64| {
            prefill(&Facts {
                revenue: Some(Revenue {
                    currency: "EUR".into(),
                    before,
                    after,
                }),
                ..Facts::default()
            })
        };
        let fell = with(1000.0, 800.0);
        assert!(
            fell.failed
                .contains(&"Revenue 800.00 EUR (was 1000.00)".to_owned())
        );
        assert_eq!(
            fell.findings,
            ["Revenue fell 20.0 % (from 1000.00 to 800.00 EUR)"]
        );
        assert!(
            with(1000.0, 1100.0)
                .went_well
                .contains(&"Revenue 1100.00 EUR (was 1000.00)".to_owned())
        );
        let flat = with(1000.0, 950.0);
        assert!(!format!("{flat:?}").contains("Revenue"), "{flat:?}");
        assert!(
            with(0.0, 5.0)
                .went_well
                .iter()
                .any(|l| l.starts_with("Revenue 5.00"))
        );
    }

    #[test]
    fn a_quiet_period_went_well() {
        let s = prefill(&Facts::default());
        assert_eq!(s.went_well, vec!["No incidents".to_owned()]);
        assert!(s.failed.is_empty() && s.improve.is_empty() && s.findings.is_empty());
    }
}
