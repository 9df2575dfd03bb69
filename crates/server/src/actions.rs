//! State-changing actions shared by the API, the web UI and the admin CLI.
//!
//! Each runs in one transaction together with its audit-log entry, so a change
//! is never stored without its record, nor half stored.

use liveops_core::{Email, ProjectName, Role, Scopes, Slug};
use liveops_store::access::{self, NewToken, User};
use liveops_store::audit::{self, Actor};
use liveops_store::projects::{self, KeyPurpose, Project};
use liveops_store::support::oncall;
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

/// A new project and its keys, which are shown only now.
#[derive(Debug)]
pub struct CreatedProject {
    pub project: Project,
    /// The public browser key: analytics, the feedback widget, errors.
    pub ingest_key: String,
    /// The server key: OTLP traces and metrics.
    pub server_key: String,
    /// The inbound mail secret: the e-mail webhook.
    pub mail_secret: String,
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
    let server = keys::mint_key(KeyPurpose::Server);
    let mail = keys::mint_key(KeyPurpose::Mail);
    let mut tx = db.begin().await?;
    let project = projects::insert_project(&mut tx, slug, name, &key.hash, &key.hint, now).await?;
    projects::set_key(
        &mut tx,
        &project.id,
        KeyPurpose::Server,
        &server.hash,
        &server.hint,
        now,
    )
    .await?;
    projects::set_key(
        &mut tx,
        &project.id,
        KeyPurpose::Mail,
        &mail.hash,
        &mail.hint,
        now,
    )
    .await?;
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
        server_key: server.secret,
        mail_secret: mail.secret,
    })
}

/// Replaces a project's key for `purpose`; whatever holds the old one
/// stops working.
pub async fn rotate_key(
    db: &Db,
    actor: &Actor,
    project: &Project,
    purpose: KeyPurpose,
) -> Result<String> {
    let now = now_ms();
    let key = keys::mint_key(purpose);
    let mut tx = db.begin().await?;
    projects::set_key(&mut tx, &project.id, purpose, &key.hash, &key.hint, now).await?;
    let action = match purpose {
        KeyPurpose::Browser => "project.ingest_key.rotate",
        KeyPurpose::Server => "project.server_key.rotate",
        KeyPurpose::Mail => "project.mail_secret.rotate",
    };
    audit::record(
        &mut tx,
        actor,
        Some(&project.id),
        action,
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

/// A token for `user` in `project`, or an instance token when `project`
/// is `None`.
pub async fn create_token(
    db: &Db,
    actor: &Actor,
    user: &User,
    project: Option<&Project>,
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
            project_id: project.map(|p| p.id.as_str()),
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
        "instance": project.is_none(),
    })
    .to_string();
    audit::record(
        &mut tx,
        actor,
        project.map(|p| p.id.as_str()),
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

/// Turns a project's public status page and changelog on or off.
pub async fn set_public_pages(
    db: &Db,
    actor: &Actor,
    project: &Project,
    status_page: bool,
    changelog: bool,
) -> Result<Project> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    projects::set_public_pages(&mut tx, &project.id, status_page, changelog).await?;
    let detail = json!({ "status_page": status_page, "changelog": changelog }).to_string();
    audit::record(
        &mut tx,
        actor,
        Some(&project.id),
        "project.public_pages",
        Some(&project.slug),
        Some(&detail),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Project {
        status_page_public: status_page,
        changelog_public: changelog,
        ..project.clone()
    })
}

/// Revokes one of a user's instance tokens.
pub async fn revoke_instance_token(
    db: &Db,
    actor: &Actor,
    user: &User,
    token_id: &str,
) -> Result<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    access::revoke_instance_token(&mut tx, &user.id, token_id, now).await?;
    audit::record(
        &mut tx,
        actor,
        None,
        "token.revoke",
        Some(token_id),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why a member cannot leave a project yet: they are all that is left of
/// a schedule layer or a policy level (see `oncall::rota_blockers`).
#[derive(Debug, thiserror::Error)]
pub enum RemoveMemberError {
    #[error("take them off first: {}", .0.join("; "))]
    OnRota(Vec<String>),
    #[error(transparent)]
    Store(#[from] liveops_store::StoreError),
}

impl From<sqlx::Error> for RemoveMemberError {
    fn from(e: sqlx::Error) -> RemoveMemberError {
        RemoveMemberError::Store(e.into())
    }
}

/// Takes a member out of a project: their memberships, their tokens for it
/// and their places on its schedules, tiers and policies go together, so
/// nobody is paged for a project they left.
pub async fn remove_member(
    db: &Db,
    actor: &Actor,
    project: &Project,
    user: &User,
) -> std::result::Result<(), RemoveMemberError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let blockers = oncall::rota_blockers(&mut tx, &project.id, &user.id).await?;
    if !blockers.is_empty() {
        return Err(RemoveMemberError::OnRota(blockers));
    }
    oncall::remove_from_rotas(&mut tx, &project.id, &user.id).await?;
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
