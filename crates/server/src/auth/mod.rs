//! Authentication and authorization: passwords, sessions, API tokens, ingest
//! keys, CSRF and login throttling.

pub mod client;
pub mod keys;
pub mod limiter;
pub mod password;
pub mod principal;
pub mod proxies;
pub mod throttle;

pub use principal::{
    Access, InstanceAdmin, InstanceWide, Principal, ProjectAccess, Via, member_of, need,
    project_access,
};

/// Compares two secrets in time that does not depend on where they differ,
/// so an attacker cannot learn a CSRF token, key or signature byte by byte.
pub fn same_secret(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "liveops_session";
/// The double-submit cookie that guards the login form.
pub const LOGIN_CSRF_COOKIE: &str = "liveops_login_csrf";
/// The header a browser session sends with API writes.
pub const CSRF_HEADER: &str = "x-csrf-token";
