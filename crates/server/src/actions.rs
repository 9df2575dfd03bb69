//! State-changing actions shared by the API, the web UI and the admin CLI.
//!
//! Each runs in one transaction together with its audit-log entry, so a change
//! is never stored without its record, nor half stored.

use liveops_core::{Email, ProjectName, Role, Scopes, Slug};
use liveops_store::access::{self, NewToken, User};
use liveops_store::audit::{self, Actor};
use liveops_store::projects::{self, Project};
use liveops_store::{Db, Result};
use serde_json::json;

use crate::auth::keys;
use crate::state::now_ms;

pub async fn create_user(
    db: &Db,
    actor: &Actor,
    email: &Email,
    password_hash: &str,
    is_admin: bool,
) -> Result<User> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let user = access::insert_user(&mut tx, email, password_hash, is_admin, now).await?;
    let detail = json!({ "admin": is_admin }).to_string();
    audit::record(
        &mut tx,
        actor,
        None,
        "user.create",
        Some(email.as_str()),
        Some(&detail),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// A new project and its ingest key, which is shown only now.
#[derive(Debug)]
pub struct CreatedProject {
    pub project: Project,
    pub ingest_key: String,
}

/// Creates a project; `owner`, when given, becomes its first owner.
pub async fn create_project(
    db: &Db,
    actor: &Actor,
    name: &ProjectName,
    slug: &Slug,
    owner: Option<&User>,
) -> Result<CreatedProject> {
    let now = now_ms();
    let key = keys::mint_ingest_key();
    let mut tx = db.begin().await?;
    let project = projects::insert_project(&mut tx, slug, name, &key.hash, &key.hint, now).await?;
    if let Some(owner) = owner {
        access::upsert_membership(&mut tx, &project.id, &owner.id, Role::Owner, now).await?;
    }
    let detail = json!({ "name": name.as_str(), "owner": owner.map(|u| &u.email) }).to_string();
    audit::record(
        &mut tx,
        actor,
        Some(&project.id),
        "project.create",
        Some(slug.as_str()),
        Some(&detail),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedProject {
        project,
        ingest_key: key.secret,
    })
}

/// Replaces a project's ingest key; SDKs holding the old one stop working.
pub async fn rotate_ingest_key(db: &Db, actor: &Actor, project: &Project) -> Result<String> {
    let now = now_ms();
    let key = keys::mint_ingest_key();
    let mut tx = db.begin().await?;
    projects::set_ingest_key(&mut tx, &project.id, &key.hash, &key.hint).await?;
    audit::record(
        &mut tx,
        actor,
        Some(&project.id),
        "project.ingest_key.rotate",
        Some(&project.slug),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(key.secret)
}

/// A new API token; its secret is shown only now.
#[derive(Debug)]
pub struct CreatedToken {
    pub id: String,
    pub secret: String,
    pub hint: String,
    pub expires_at: i64,
}

pub async fn create_token(
    db: &Db,
    actor: &Actor,
    user: &User,
    project: &Project,
    name: &str,
    scopes: &Scopes,
    expires_at: i64,
) -> Result<CreatedToken> {
    let now = now_ms();
    let minted = keys::mint_token();
    let mut tx = db.begin().await?;
    let id = access::insert_token(
        &mut tx,
        &NewToken {
            user_id: &user.id,
            project_id: &project.id,
            name,
            token_hash: &minted.hash,
            hint: &minted.hint,
            scopes,
            expires_at,
        },
        now,
    )
    .await?;
    let detail = json!({
        "name": name,
        "user": user.email,
        "scopes": scopes.to_string(),
        "expires_at": expires_at,
    })
    .to_string();
    audit::record(
        &mut tx,
        actor,
        Some(&project.id),
        "token.create",
        Some(&id),
        Some(&detail),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        id,
        secret: minted.secret,
        hint: minted.hint,
        expires_at,
    })
}

pub async fn revoke_token(db: &Db, actor: &Actor, project: &Project, token_id: &str) -> Result<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    access::revoke_token(&mut tx, &project.id, token_id, now).await?;
    audit::record(
        &mut tx,
        actor,
        Some(&project.id),
        "token.revoke",
        Some(token_id),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_member(
    db: &Db,
    actor: &Actor,
    project: &Project,
    user: &User,
    role: Role,
) -> Result<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    access::upsert_membership(&mut tx, &project.id, &user.id, role, now).await?;
    let detail = json!({ "role": role.as_str() }).to_string();
    audit::record(
        &mut tx,
        actor,
        Some(&project.id),
        "member.set",
        Some(&user.email),
        Some(&detail),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_member(db: &Db, actor: &Actor, project: &Project, user: &User) -> Result<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    access::delete_membership(&mut tx, &project.id, &user.id).await?;
    audit::record(
        &mut tx,
        actor,
        Some(&project.id),
        "member.remove",
        Some(&user.email),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
