//! The ten areas of the post-launch loop: one vocabulary for every layer.

/// One of the ten areas liveops covers. Each keeps this name in the core, the
/// store, the API, the web UI and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    Support,
    Analytics,
    Feedback,
    Releases,
    Performance,
    Security,
    Scaling,
    Docs,
    Reviews,
    Improvement,
}

impl Area {
    pub const ALL: [Area; 10] = [
        Area::Support,
        Area::Analytics,
        Area::Feedback,
        Area::Releases,
        Area::Performance,
        Area::Security,
        Area::Scaling,
        Area::Docs,
        Area::Reviews,
        Area::Improvement,
    ];

    /// The name used in URLs, module paths and CLI commands.
    pub fn slug(self) -> &'static str {
        match self {
            Area::Support => "support",
            Area::Analytics => "analytics",
            Area::Feedback => "feedback",
            Area::Releases => "releases",
            Area::Performance => "performance",
            Area::Security => "security",
            Area::Scaling => "scaling",
            Area::Docs => "docs",
            Area::Reviews => "reviews",
            Area::Improvement => "improvement",
        }
    }

    /// The heading a person reads.
    pub fn title(self) -> &'static str {
        match self {
            Area::Support => "Production support",
            Area::Analytics => "Usage analytics",
            Area::Feedback => "Customer feedback",
            Area::Releases => "Release planning",
            Area::Performance => "Performance",
            Area::Security => "Security",
            Area::Scaling => "Scaling",
            Area::Docs => "Documentation sync",
            Area::Reviews => "Post-production reviews",
            Area::Improvement => "Continuous improvement",
        }
    }

    /// One sentence on what the area does for a team that is live.
    pub fn summary(self) -> &'static str {
        match self {
            Area::Support => {
                "Incidents, L1/L2/L3 escalation, on-call, alert intake, tickets and the status page."
            }
            Area::Analytics => {
                "Active users, feature usage, conversion funnels, drop-off and retention."
            }
            Area::Feedback => "Tickets, feedback forms and imports, feeding the product backlog.",
            Area::Releases => "Release cycles, scheduled enhancements, hotfixes and release notes.",
            Area::Performance => {
                "Load, response times and database queries from OpenTelemetry, with regressions flagged."
            }
            Area::Security => {
                "Vulnerable dependencies, token, secret and certificate expiry audits, and findings."
            }
            Area::Scaling => "Capacity forecasts and scaling advice.",
            Area::Docs => "API changes, release notes and architecture decisions kept in step.",
            Area::Reviews => "Postmortems and launch reviews drafted from data.",
            Area::Improvement => "DORA metrics, SLOs and trends.",
        }
    }

    pub fn parse(s: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.slug() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for area in Area::ALL {
            assert_eq!(Area::parse(area.slug()), Some(area));
            assert!(seen.insert(area.slug()), "duplicate slug {}", area.slug());
        }
        assert_eq!(Area::parse("nope"), None);
    }
}
