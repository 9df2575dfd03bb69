//! Projects and people: slugs, names and e-mail addresses that are valid by construction.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenancyError {
    #[error("a project name must have 1 to 100 characters")]
    ProjectName,
    #[error(
        "`{0}` is not a valid project slug: use 1 to 48 lower-case letters, digits and single hyphens"
    )]
    Slug(String),
    #[error("`{0}` is not a valid e-mail address")]
    Email(String),
}

/// A project's human name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn parse(s: &str) -> Result<Self, TenancyError> {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
            return Err(TenancyError::ProjectName);
        }
        Ok(ProjectName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A project's URL name: lower-case ASCII letters and digits, joined by single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Self, TenancyError> {
        let ok = !s.is_empty()
            && s.len() <= 48
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--")
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Slug(s.to_owned()))
        } else {
            Err(TenancyError::Slug(s.to_owned()))
        }
    }

    /// Derives a slug from a project name: `My Shop (EU)` becomes `my-shop-eu`.
    pub fn from_name(name: &ProjectName) -> Result<Self, TenancyError> {
        let mut out = String::new();
        for c in name.as_str().chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        let trimmed: String = out.trim_end_matches('-').chars().take(48).collect();
        Slug::parse(trimmed.trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, kept lower-case so that it identifies one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` shapes; deliverability is the mail server's business.
    pub fn parse(s: &str) -> Result<Self, TenancyError> {
        let s = s.trim().to_lowercase();
        let bad = || TenancyError::Email(s.clone());
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && domain.len() <= 253
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && s.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if ok { Ok(Email(s)) } else { Err(bad()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["a", "shop", "shop-eu", "x1-2"] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "Shop", "a b", "é", &"a".repeat(49)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slug_from_name() {
        let name = |s| ProjectName::parse(s).expect("name");
        let slug = |s| Slug::from_name(&name(s)).map(|s| s.to_string());
        assert_eq!(slug("My Shop (EU)"), Ok("my-shop-eu".into()));
        assert_eq!(slug("  Checkout  API v2 "), Ok("checkout-api-v2".into()));
        assert!(slug("!!!").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").map(|e| e.to_string()),
            Ok("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.io",
            "ada@localhost",
            "a b@x.io",
            "a@b@c.io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
