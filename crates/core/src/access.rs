//! Who may do what: project roles, token scopes and the permission check.
//!
//! A request is allowed when the person's role in the project is high enough
//! and, when the request carries an API token, the token's scopes cover it.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A person's role in one project, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything in the project.
    Viewer,
    /// Works incidents, tickets and other day-to-day records.
    Responder,
    /// Manages members, integrations, tokens and settings; reads the audit log.
    Admin,
    /// Everything an admin may, plus handing out ownership.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Responder, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: expected owner, admin, responder or viewer")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// What an API token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// A non-empty set of scopes, written `read,write`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopesError {
    #[error("unknown scope `{0}`: expected read, write or admin")]
    Unknown(String),
    #[error("at least one scope is needed")]
    Empty,
}

impl Scopes {
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn all() -> Scopes {
        Scopes(Scope::ALL.into_iter().collect())
    }
}

impl FromStr for Scopes {
    type Err = ScopesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = BTreeSet::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope = Scope::ALL
                .into_iter()
                .find(|sc| sc.as_str() == part)
                .ok_or_else(|| ScopesError::Unknown(part.to_owned()))?;
            set.insert(scope);
        }
        if set.is_empty() {
            return Err(ScopesError::Empty);
        }
        Ok(Scopes(set))
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// What an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read project data.
    Read,
    /// Change day-to-day project data.
    Write,
    /// Read what only admins see, such as the audit log.
    ReadAudit,
    /// Change project settings, members, integrations and other people's tokens.
    Administer,
    /// Grant or take away ownership, delete the project.
    Own,
}

impl Permission {
    fn min_role(self) -> Role {
        match self {
            Permission::Read => Role::Viewer,
            Permission::Write => Role::Responder,
            Permission::ReadAudit | Permission::Administer => Role::Admin,
            Permission::Own => Role::Owner,
        }
    }

    fn scope(self) -> Scope {
        match self {
            Permission::Read | Permission::ReadAudit => Scope::Read,
            Permission::Write => Scope::Write,
            Permission::Administer | Permission::Own => Scope::Admin,
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("your role `{have}` in this project does not allow this; it needs `{need}`")]
    Role { have: Role, need: Role },
    #[error("this API token lacks the `{0}` scope")]
    Scope(&'static str),
}

/// Whether a token with `scope` is of any use to someone with `role`; tokens
/// are never minted with scopes their owner's role could not exercise.
pub fn role_grants(role: Role, scope: Scope) -> bool {
    match scope {
        Scope::Read => true,
        Scope::Write => role >= Role::Responder,
        Scope::Admin => role >= Role::Admin,
    }
}

/// Decides whether a person with `role`, acting through a token with `scopes`
/// (or a browser session when `None`), may do something that needs `needed`.
pub fn authorize(role: Role, scopes: Option<&Scopes>, needed: Permission) -> Result<(), Denied> {
    if role < needed.min_role() {
        return Err(Denied::Role {
            have: role,
            need: needed.min_role(),
        });
    }
    if let Some(scopes) = scopes
        && !scopes.contains(needed.scope())
    {
        return Err(Denied::Scope(needed.scope().as_str()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &str) -> Scopes {
        s.parse().expect("valid scopes")
    }

    #[test]
    fn roles_parse_and_order() {
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Viewer < Role::Responder && Role::Admin < Role::Owner);
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(scopes("write, read").to_string(), "read,write");
        assert_eq!("".parse::<Scopes>(), Err(ScopesError::Empty));
        assert_eq!(
            "read,delete".parse::<Scopes>(),
            Err(ScopesError::Unknown("delete".into()))
        );
    }

    #[test]
    fn roles_grant_scopes() {
        assert!(role_grants(Role::Viewer, Scope::Read));
        assert!(!role_grants(Role::Viewer, Scope::Write));
        assert!(role_grants(Role::Responder, Scope::Write));
        assert!(!role_grants(Role::Responder, Scope::Admin));
        assert!(role_grants(Role::Owner, Scope::Admin));
    }

    #[test]
    fn permission_table() {
        // (role, token scopes or session, needed, allowed)
        let cases = [
            (Role::Viewer, None, Permission::Read, true),
            (Role::Viewer, None, Permission::Write, false),
            (Role::Responder, None, Permission::Write, true),
            (Role::Responder, None, Permission::Administer, false),
            (Role::Admin, None, Permission::Administer, true),
            (Role::Admin, None, Permission::Own, false),
            (Role::Responder, Some("read"), Permission::ReadAudit, false),
            (Role::Admin, Some("read"), Permission::ReadAudit, true),
            (Role::Owner, Some("read"), Permission::Write, false),
            (Role::Owner, Some("read,write"), Permission::Write, true),
            (
                Role::Owner,
                Some("read,write"),
                Permission::Administer,
                false,
            ),
            (
                Role::Viewer,
                Some("read,write,admin"),
                Permission::Write,
                false,
            ),
            (Role::Owner, Some("admin"), Permission::Own, true),
        ];
        for (role, sc, needed, allowed) in cases {
            let sc = sc.map(scopes);
            assert_eq!(
                authorize(role, sc.as_ref(), needed).is_ok(),
                allowed,
                "{role} {sc:?} {needed:?}"
            );
        }
    }
}
