//! The access contract: the caller, projects, their keys and API tokens as
//! the API shows them, and the audit log as the CLI reads it back.

use liveops_core::Role;
use liveops_store::access::ApiToken;
use liveops_store::audit::AuditEntry;
use liveops_store::projects::Project;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::format_ms;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    pub slug: String,
    pub name: String,
    /// The start of the project's ingest key, to recognise it by.
    pub ingest_key_hint: String,
    pub created_at: String,
    /// The caller's role in the project.
    pub role: String,
    /// The public status page is on.
    pub status_page_public: bool,
    /// The public changelog is on.
    pub changelog_public: bool,
}

impl ProjectView {
    pub fn new(p: &Project, role: Role) -> ProjectView {
        ProjectView {
            slug: p.slug.clone(),
            name: p.name.clone(),
            ingest_key_hint: p.ingest_key_hint.clone(),
            created_at: format_ms(p.created_at),
            role: role.to_string(),
            status_page_public: p.status_page_public,
            changelog_public: p.changelog_public,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// The start of the token, to recognise it by.
    pub hint: String,
    /// Whose token it is.
    pub user: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        TokenView {
            id: t.id.clone(),
            name: t.name.clone(),
            hint: t.hint.clone(),
            user: t.user_email.clone(),
            scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: format_ms(t.created_at),
            expires_at: format_ms(t.expires_at),
            last_used_at: t.last_used_at.map(format_ms),
            revoked_at: t.revoked_at.map(format_ms),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    /// Instance administrators may create projects and users.
    pub is_admin: bool,
    pub created_at: String,
    /// `session` or `token`.
    pub authenticated_by: String,
    /// The token in use, when authenticated by one.
    pub token: Option<TokenView>,
    /// The projects this caller can reach, with their role in each.
    pub projects: Vec<ProjectView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    /// browser (analytics, feedback widget, error events; public, in web
    /// pages), server (OTLP) or mail (the inbound e-mail webhook).
    pub purpose: String,
    /// The start of the key, to recognise it by.
    pub hint: String,
}

/// The project's keys by purpose, as hints, and whether inbound mail
/// checks Mailgun's signature.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeysView {
    pub keys: Vec<KeyView>,
    pub mailgun_signature: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RotatedKey {
    pub purpose: String,
    /// The new key. The old one stops working now.
    pub key: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    pub at: String,
    /// Who: an e-mail address, or `cli` / `system`.
    pub actor: String,
    /// How they reached liveops: session, token, cli or system.
    pub actor_kind: String,
    /// What happened, e.g. `token.create`.
    pub action: String,
    pub target: Option<String>,
    /// Extra facts about the change.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    /// The client address.
    pub ip: Option<String>,
}

impl From<&AuditEntry> for AuditView {
    fn from(e: &AuditEntry) -> Self {
        AuditView {
            id: e.id.clone(),
            at: format_ms(e.at),
            actor: e.actor.clone(),
            actor_kind: e.actor_kind.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            detail: e
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            ip: e.ip.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<String>,
}
