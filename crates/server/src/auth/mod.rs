//! Authentication and authorization: passwords, sessions, API tokens, ingest
//! keys, CSRF and login throttling.

pub mod keys;
pub mod limiter;
pub mod password;
pub mod principal;

pub use principal::{FeedPrincipal, Principal, ProjectAccess, Via, project_access};

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "liveops_session";
/// The double-submit cookie that guards the login form.
pub const LOGIN_CSRF_COOKIE: &str = "liveops_login_csrf";
/// The header a browser session sends with API writes.
pub const CSRF_HEADER: &str = "x-csrf-token";
