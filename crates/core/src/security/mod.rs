//! Security: the packages a project depends on, the advisories that affect
//! them, and the orderings each ecosystem compares versions by.

pub mod advisory;
pub mod secrets;
pub mod version;

/// A package ecosystem, named as OSV names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    CratesIo,
    Npm,
    PyPI,
    Go,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 4] = [
        Ecosystem::CratesIo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
    ];

    /// The name OSV records use (`affected[].package.ecosystem`).
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
        }
    }

    /// Reads OSV's name; ecosystems with a suffix (`Go:stdlib` is not one,
    /// but `npm:…` style variants are) are matched on the part before `:`.
    pub fn parse(s: &str) -> Option<Ecosystem> {
        let base = s.split(':').next().unwrap_or(s);
        Ecosystem::ALL.into_iter().find(|e| e.as_str() == base)
    }

    /// Package names compare by this form: PyPI names are case-insensitive
    /// with `-`, `_` and `.` alike (PEP 503); the others are exact.
    pub fn normalise_name(self, name: &str) -> String {
        match self {
            Ecosystem::PyPI => {
                let mut out = String::with_capacity(name.len());
                let mut last_sep = false;
                for c in name.trim().chars() {
                    if matches!(c, '-' | '_' | '.') {
                        if !last_sep {
                            out.push('-');
                        }
                        last_sep = true;
                    } else {
                        out.extend(c.to_lowercase());
                        last_sep = false;
                    }
                }
                out
            }
            _ => name.trim().to_owned(),
        }
    }
}

/// A package at a version, as a lockfile pins it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems_use_osv_names_and_pypi_names_normalise() {
        for e in Ecosystem::ALL {
            assert_eq!(Ecosystem::parse(e.as_str()), Some(e));
        }
        assert_eq!(Ecosystem::parse("Maven"), None);
        assert_eq!(
            Ecosystem::PyPI.normalise_name("Django_REST.framework"),
            "django-rest-framework"
        );
        assert_eq!(Ecosystem::Npm.normalise_name("@babel/core"), "@babel/core");
    }
}
