//! Access, the instance's own area: users, projects and their keys and
//! public pages, memberships, and API tokens. Shared by the API, the web UI
//! and the admin CLI; each change is one unit of [`Work`] with its audit
//! entry.

use liveops_core::{Email, ProjectName, Role, Scopes, Slug};
use liveops_store::access::{self, NewToken, User};
use liveops_store::audit::Actor;
use liveops_store::projects::{self, KeyPurpose, Project};
use liveops_store::support::oncall;
use liveops_store::{Db, Result, StoreError};
use serde_json::json;

use crate::auth::keys;
use crate::clock::Clock;
use crate::work::{Audit, Work};

pub async fn create_user(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    email: &Email,
    password_hash: &str,
    is_admin: bool,
) -> Result<User> {
    let mut w = Work::begin(db, clock, actor, None).await?;
    let now = w.now();
    let user = access::insert_user(w.conn(), email, password_hash, is_admin, now).await?;
    w.commit(Audit::new("user.create", email.as_str()).detail(json!({ "admin": is_admin })))
        .await?;
    Ok(user)
}

/// The first admin of a server that has no user yet, made on the setup
/// page; `None` when someone else was first.
pub async fn create_first_admin(
    db: &Db,
    clock: &dyn Clock,
    email: &Email,
    password_hash: &str,
) -> Result<Option<User>> {
    let actor = Actor {
        kind: liveops_store::audit::ActorKind::System,
        name: "setup".into(),
        ip: None,
    };
    let mut w = Work::begin(db, clock, &actor, None).await?;
    let now = w.now();
    let Some(user) = access::insert_first_admin(w.conn(), email, password_hash, now).await? else {
        return Ok(None);
    };
    w.commit(
        Audit::new("user.create", email.as_str())
            .detail(json!({ "admin": true, "first_run": true })),
    )
    .await?;
    Ok(Some(user))
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

/// Creates a project and its three keys; `owner`, when given, becomes its
/// first owner.
pub async fn create_project(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    name: &ProjectName,
    slug: &Slug,
    owner: Option<&User>,
) -> Result<CreatedProject> {
    let browser = keys::mint_key(KeyPurpose::Browser);
    let mut w = Work::begin(db, clock, actor, None).await?;
    let now = w.now();
    let project =
        projects::insert_project(w.conn(), slug, name, &browser.hash, &browser.hint, now).await?;
    w.in_project(&project.id);
    let mut minted = Vec::new();
    for purpose in [KeyPurpose::Server, KeyPurpose::Mail] {
        let key = keys::mint_key(purpose);
        projects::set_key(w.conn(), &project.id, purpose, &key.hash, &key.hint, now).await?;
        minted.push(key.secret);
    }
    if let Some(owner) = owner {
        access::upsert_membership(w.conn(), &project.id, &owner.id, Role::Owner, now).await?;
    }
    let [server_key, mail_secret] = <[String; 2]>::try_from(minted)
        .map_err(|_| StoreError::Other("two keys were minted".into()))?;
    w.commit(
        Audit::new("project.create", slug.as_str())
            .detail(json!({ "name": name.as_str(), "owner": owner.map(|u| &u.email) })),
    )
    .await?;
    Ok(CreatedProject {
        project,
        ingest_key: browser.secret,
        server_key,
        mail_secret,
    })
}

/// Replaces a project's key for `purpose`; whatever holds the old one
/// stops working.
pub async fn rotate_key(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    project: &Project,
    purpose: KeyPurpose,
) -> Result<String> {
    let key = keys::mint_key(purpose);
    let mut w = Work::begin(db, clock, actor, Some(&project.id)).await?;
    let now = w.now();
    projects::set_key(w.conn(), &project.id, purpose, &key.hash, &key.hint, now).await?;
    let action = match purpose {
        KeyPurpose::Browser => "project.ingest_key.rotate",
        KeyPurpose::Server => "project.server_key.rotate",
        KeyPurpose::Mail => "project.mail_secret.rotate",
    };
    w.commit(Audit::new(action, &project.slug)).await?;
    Ok(key.secret)
}

/// Turns a project's public status page and changelog on or off.
pub async fn set_public_pages(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    project: &Project,
    status_page: bool,
    changelog: bool,
) -> Result<Project> {
    let mut w = Work::begin(db, clock, actor, Some(&project.id)).await?;
    projects::set_public_pages(w.conn(), &project.id, status_page, changelog).await?;
    w.commit(
        Audit::new("project.public_pages", &project.slug)
            .detail(json!({ "status_page": status_page, "changelog": changelog })),
    )
    .await?;
    Ok(Project {
        status_page_public: status_page,
        changelog_public: changelog,
        ..project.clone()
    })
}

/// Sets (sealed) or clears the Mailgun signing key inbound mail is checked
/// against.
pub async fn set_mail_signing_key(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    project: &Project,
    sealed: Option<&str>,
) -> Result<()> {
    let mut w = Work::begin(db, clock, actor, Some(&project.id)).await?;
    projects::set_mail_signing_key(w.conn(), &project.id, sealed).await?;
    w.commit(Audit::new(
        "project.mail_signing.set",
        if sealed.is_some() { "on" } else { "off" },
    ))
    .await?;
    Ok(())
}

/// A new API token; its secret is shown only now.
#[derive(Debug)]
pub struct CreatedToken {
    pub id: String,
    pub secret: String,
    pub hint: String,
    pub expires_at: i64,
}

/// What a new token is: whose, for which project (none for an instance
/// token), its name, scopes and end.
#[derive(Debug, Clone, Copy)]
pub struct TokenSpec<'a> {
    pub user: &'a User,
    pub project: Option<&'a Project>,
    pub name: &'a str,
    pub scopes: &'a Scopes,
    pub expires_at: i64,
}

/// A token for a user in a project, or an instance token.
pub async fn create_token(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    spec: TokenSpec<'_>,
) -> Result<CreatedToken> {
    let TokenSpec {
        user,
        project,
        name,
        scopes,
        expires_at,
    } = spec;
    let minted = keys::mint_token();
    let mut w = Work::begin(db, clock, actor, project.map(|p| p.id.as_str())).await?;
    let now = w.now();
    let id = access::insert_token(
        w.conn(),
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
    w.commit(Audit::new("token.create", &id).detail(json!({
        "name": name,
        "user": user.email,
        "scopes": scopes.to_string(),
        "expires_at": expires_at,
        "instance": project.is_none(),
    })))
    .await?;
    Ok(CreatedToken {
        id,
        secret: minted.secret,
        hint: minted.hint,
        expires_at,
    })
}

/// Revokes a project's token.
pub async fn revoke_token(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    project: &Project,
    token_id: &str,
) -> Result<()> {
    let mut w = Work::begin(db, clock, actor, Some(&project.id)).await?;
    let now = w.now();
    access::revoke_token(w.conn(), &project.id, token_id, now).await?;
    w.commit(Audit::new("token.revoke", token_id)).await
}

/// Revokes one of a user's instance tokens.
pub async fn revoke_instance_token(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    user: &User,
    token_id: &str,
) -> Result<()> {
    let mut w = Work::begin(db, clock, actor, None).await?;
    let now = w.now();
    access::revoke_instance_token(w.conn(), &user.id, token_id, now).await?;
    w.commit(Audit::new("token.revoke", token_id)).await
}

/// Gives `user` a role in `project`, replacing any they had.
pub async fn set_member(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    project: &Project,
    user: &User,
    role: Role,
) -> Result<()> {
    let mut w = Work::begin(db, clock, actor, Some(&project.id)).await?;
    let now = w.now();
    access::upsert_membership(w.conn(), &project.id, &user.id, role, now).await?;
    w.commit(Audit::new("member.set", &user.email).detail(json!({ "role": role.as_str() })))
        .await
}

/// Why a member cannot leave a project yet: they are all that is left of
/// a schedule layer or a policy level (see `oncall::rota_blockers`).
#[derive(Debug, thiserror::Error)]
pub enum RemoveMemberError {
    #[error("take them off first: {}", .0.join("; "))]
    OnRota(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Takes a member out of a project: their membership, their tokens for it
/// and their places on its schedules, tiers and policies go together, so
/// nobody is paged for a project they left.
pub async fn remove_member(
    db: &Db,
    clock: &dyn Clock,
    actor: &Actor,
    project: &Project,
    user: &User,
) -> std::result::Result<(), RemoveMemberError> {
    let mut w = Work::begin(db, clock, actor, Some(&project.id)).await?;
    let blockers = oncall::rota_blockers(w.conn(), &project.id, &user.id).await?;
    if !blockers.is_empty() {
        return Err(RemoveMemberError::OnRota(blockers));
    }
    oncall::remove_from_rotas(w.conn(), &project.id, &user.id).await?;
    access::delete_membership(w.conn(), &project.id, &user.id).await?;
    w.commit(Audit::new("member.remove", &user.email)).await?;
    Ok(())
}
