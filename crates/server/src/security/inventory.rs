//! The credential inventory: credentials and certificates the team watches
//! for expiry and staleness, with liveops' own API tokens alongside.

use liveops_store::audit::Actor;
use liveops_store::security::{self as store, Credential, NewCredential};
use serde_json::json;

use super::{Result, SecurityError};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// Credentials unused this long are stale.
pub const STALE_AFTER_DAYS: i64 = 90;

/// A credential as the inventory shows it: its own, or one of liveops'
/// API tokens.
#[derive(Debug, Clone)]
pub struct Inventoried {
    pub kind: String,
    pub name: String,
    pub owner: String,
    pub system: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
    pub fingerprint: Option<String>,
}

impl From<Credential> for Inventoried {
    fn from(c: Credential) -> Inventoried {
        Inventoried {
            kind: c.kind,
            name: c.name,
            owner: c.owner,
            system: c.system,
            expires_at: c.expires_at,
            last_used_at: c.last_used_at,
            created_at: c.created_at,
            fingerprint: c.fingerprint,
        }
    }
}

/// The inventory and liveops' own live tokens for a project.
pub async fn list(state: &AppState, project_id: &str) -> Result<Vec<Inventoried>> {
    let now = state.now_ms();
    let mut out: Vec<Inventoried> = state
        .db
        .credentials(project_id)
        .await?
        .into_iter()
        .map(Inventoried::from)
        .collect();
    for t in state.db.tokens(project_id, None).await? {
        if t.revoked_at.is_some() || t.expires_at <= now {
            continue;
        }
        out.push(Inventoried {
            kind: "liveops_token".into(),
            name: t.name,
            owner: t.user_email,
            system: "liveops".into(),
            expires_at: Some(t.expires_at),
            last_used_at: t.last_used_at,
            created_at: t.created_at,
            fingerprint: Some(t.hint),
        });
    }
    Ok(out)
}

/// Adds credentials to the inventory, or refreshes those of the same name.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    credentials: &[NewCredential],
) -> Result<Vec<Credential>> {
    for c in credentials {
        if !matches!(
            c.kind.as_str(),
            "api_key" | "oauth_client_secret" | "signing_key" | "tls_certificate"
        ) {
            return Err(SecurityError::invalid(
                "`kind` is api_key, oauth_client_secret, signing_key or tls_certificate",
            ));
        }
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let mut saved = Vec::new();
    for c in credentials {
        saved.push(store::upsert_credential(w.conn(), project_id, c, now).await?);
    }
    let names: Vec<&str> = saved.iter().map(|c| c.name.as_str()).collect();
    w.commit(Audit::action("security.credential.save").detail(json!(names)))
        .await?;
    Ok(saved)
}

/// The certificates of a PEM or DER upload, as inventory entries named by
/// subject, with their expiry and fingerprint.
pub fn certificates(bytes: &[u8], owner: &str, system: Option<&str>) -> Result<Vec<NewCredential>> {
    let certs = super::certificates(bytes).map_err(SecurityError::Invalid)?;
    Ok(certs
        .into_iter()
        .map(|c| NewCredential {
            kind: "tls_certificate".into(),
            system: system
                .map(str::to_owned)
                .or_else(|| c.dns_names.first().cloned())
                .unwrap_or_else(|| c.subject.clone()),
            name: c.name,
            owner: owner.to_owned(),
            expires_at: Some(c.not_after_ms),
            last_used_at: None,
            fingerprint: Some(c.fingerprint),
        })
        .collect())
}

/// Removes a credential from the inventory.
pub async fn delete(state: &AppState, actor: &Actor, project_id: &str, name: &str) -> Result<()> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_credential(w.conn(), project_id, name).await? {
        return Err(SecurityError::not_found(format!("no credential `{name}`")));
    }
    w.commit(Audit::new("security.credential.delete", name))
        .await?;
    Ok(())
}
