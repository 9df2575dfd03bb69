//! An alert integration's address (`/ingest/alerts/SECRET`): shown again to
//! admins from its sealed secret, or replaced by a new one, after which the
//! old address takes nothing.

use liveops_store::audit::Actor;
use liveops_store::support::intake;
use liveops_store::support::oncall::{Named, id_by_name};

use crate::auth::keys;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// Where an integration takes alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub url_path: String,
    pub secret: String,
}

fn address_of(secret: String) -> Address {
    Address {
        url_path: format!("/ingest/alerts/{secret}"),
        secret,
    }
}

/// A new secret for an integration, with its sealed form.
pub(crate) fn new_secret(state: &AppState) -> (String, String) {
    let secret = format!("lo_alert_{}", keys::random_string(40));
    let sealed = state.sealer.seal(&secret);
    (secret, sealed)
}

async fn id_of(state: &AppState, project_id: &str, name: &str) -> ApiResult<String> {
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .map_err(liveops_store::StoreError::from)?;
    id_by_name(&mut conn, Named::Integration, project_id, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no integration `{name}`")))
}

/// The integration's address; `None` when it was made before secrets were
/// kept, and only a new one can be shown.
pub async fn address(state: &AppState, project_id: &str, name: &str) -> ApiResult<Option<Address>> {
    let id = id_of(state, project_id, name).await?;
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .map_err(liveops_store::StoreError::from)?;
    let Some(sealed) = intake::sealed_secret(&mut conn, project_id, &id).await? else {
        return Ok(None);
    };
    let secret = state.sealer.open(&sealed).map_err(|_| {
        ApiError::conflict(
            "this integration's secret is sealed under another key: replace its address",
        )
    })?;
    Ok(Some(address_of(secret)))
}

/// Gives the integration a new address; the old one stops working.
pub async fn replace(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    name: &str,
) -> ApiResult<Address> {
    let id = id_of(state, project_id, name).await?;
    let (secret, sealed) = new_secret(state);
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !intake::replace_secret(w.conn(), project_id, &id, &keys::hash(&secret), &sealed).await? {
        return Err(ApiError::not_found(format!("no integration `{name}`")));
    }
    w.commit(Audit::new("integration.address.replace", name))
        .await?;
    Ok(address_of(secret))
}
