//! Admin commands: they work on the data directory or database directly, and
//! are safe to run while the server is running.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use liveops_core::{Email, ProjectName, Role, Scopes, Slug, TimeSpan};
use liveops_server::auth::{keys, password};
use liveops_server::clock::{Clock, SystemClock, format_ms};
use liveops_server::{Application, Config, access, backup as backups, startup};
use liveops_store::Db;
use liveops_store::audit::{Actor, ActorKind};
use serde_json::json;

use crate::cli::Global;
use crate::output;

fn cli_actor() -> Actor {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Actor {
        kind: ActorKind::Cli,
        name: format!("cli:{who}"),
        ip: None,
    }
}

/// Opens the state store and brings its schema up to date.
pub(crate) async fn open(g: &Global) -> anyhow::Result<(Config, Db)> {
    let config = g.load_config()?;
    let db = startup::open_state(&config).await?;
    db.migrate()
        .await
        .context("could not migrate the state database")?;
    Ok((config, db))
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .with_context(|| format!("invalid log filter `{}`", config.log))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let shutdown = startup::shutdown_signal().context("could not install signal handlers")?;
    let app = Application::build(config).await?;
    println!("liveops listening on http://{}", app.local_addr());
    if let Some(otlp) = app.otlp_addr() {
        println!("liveops listening for OTLP on http://{otlp}");
    }
    app.run_until(shutdown).await
}

pub async fn user_add(
    g: &Global,
    email: &str,
    admin: bool,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let email = Email::parse(email)?;
    let (plain, generated) = if password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("could not read the password from standard input")?;
        (s.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (keys::generate_password(), true)
    };
    let hash = password::hash(&plain)?;
    let (_, db) = open(g).await?;
    let user = access::create_user(&db, &SystemClock, &cli_actor(), &email, &hash, admin)
        .await
        .with_context(|| format!("could not add {email}"))?;
    db.close().await;
    let mut fields = vec![
        ("email", json!(user.email)),
        ("admin", json!(user.is_admin)),
    ];
    if generated {
        fields.push(("password", json!(plain)));
    }
    output::record(g.format, &fields);
    Ok(())
}

pub async fn project_create(
    g: &Global,
    name: &str,
    slug: Option<&str>,
    owner: Option<&str>,
) -> anyhow::Result<()> {
    let name = ProjectName::parse(name)?;
    let slug = match slug {
        Some(s) => Slug::parse(s)?,
        None => Slug::from_name(&name)?,
    };
    let (_, db) = open(g).await?;
    let owner = match owner {
        Some(e) => Some(
            db.user_by_email(&Email::parse(e)?)
                .await
                .with_context(|| format!("no user {e}; add them with `liveops user add` first"))?,
        ),
        None => None,
    };
    let created = access::create_project(
        &db,
        &SystemClock,
        &cli_actor(),
        &name,
        &slug,
        owner.as_ref(),
    )
    .await
    .with_context(|| format!("could not create project {slug}"))?;
    db.close().await;
    output::record(
        g.format,
        &[
            ("slug", json!(created.project.slug)),
            ("name", json!(created.project.name)),
            ("ingest_key", json!(created.ingest_key)),
            ("server_key", json!(created.server_key)),
            ("mail_secret", json!(created.mail_secret)),
        ],
    );
    Ok(())
}

/// Forgets a user's failed sign-ins, from every address.
pub async fn user_unlock(g: &Global, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email)?;
    let (_, db) = open(g).await?;
    let forgotten = liveops_server::auth::throttle::unlock(&db, email.as_str()).await?;
    db.close().await;
    output::record(
        g.format,
        &[
            ("unlocked", json!(email.as_str())),
            ("failures_forgotten", json!(forgotten)),
        ],
    );
    Ok(())
}

pub async fn add_member(g: &Global, project: &str, user: &str, role: &str) -> anyhow::Result<()> {
    let role: Role = role.parse()?;
    let email = Email::parse(user)?;
    let (_, db) = open(g).await?;
    let project = db
        .project_by_slug(project)
        .await
        .with_context(|| format!("no project {project}"))?;
    let user = db
        .user_by_email(&email)
        .await
        .with_context(|| format!("no user {email}"))?;
    access::set_member(&db, &SystemClock, &cli_actor(), &project, &user, role).await?;
    db.close().await;
    output::record(
        g.format,
        &[
            ("project", json!(project.slug)),
            ("user", json!(user.email)),
            ("role", json!(role.as_str())),
        ],
    );
    Ok(())
}

/// Makes a token for `user`: bound to `project`, or an instance token when
/// `project` is `None`.
pub async fn token_create(
    g: &Global,
    user: &str,
    project: Option<&str>,
    scopes: &str,
    expires_in: &str,
    name: &str,
) -> anyhow::Result<()> {
    let email = Email::parse(user)?;
    let scopes: Scopes = scopes.parse()?;
    let span: TimeSpan = expires_in.parse()?;
    if name.trim().is_empty() {
        bail!("a token name cannot be empty");
    }
    let (_, db) = open(g).await?;
    let user = db
        .user_by_email(&email)
        .await
        .with_context(|| format!("no user {email}"))?;
    let project = match project {
        Some(slug) => Some(
            db.project_by_slug(slug)
                .await
                .with_context(|| format!("no project {slug}"))?,
        ),
        None => None,
    };
    if let Some(project) = &project {
        let role = if user.is_admin {
            Role::Owner
        } else {
            db.role_of(&project.id, &user.id).await?.with_context(|| {
                format!(
                    "{email} is not a member of {}; add them with `liveops project add-member` first",
                    project.slug
                )
            })?
        };
        if let Some(extra) = scopes
            .iter()
            .find(|s| !liveops_core::access::role_grants(role, *s))
        {
            bail!(
                "{email} is a {role} in {}, which cannot use the `{}` scope",
                project.slug,
                extra.as_str()
            );
        }
    }
    let expires_at = SystemClock.now_ms().saturating_add(span.millis());
    let created = access::create_token(
        &db,
        &SystemClock,
        &cli_actor(),
        liveops_server::access::TokenSpec {
            user: &user,
            project: project.as_ref(),
            name: name.trim(),
            scopes: &scopes,
            expires_at,
        },
    )
    .await?;
    db.close().await;
    output::record(
        g.format,
        &[
            ("token", json!(created.secret)),
            ("id", json!(created.id)),
            (
                "project",
                json!(project.as_ref().map_or("(instance)", |p| p.slug.as_str())),
            ),
            ("scopes", json!(scopes.to_string())),
            ("expires_at", json!(format_ms(created.expires_at))),
        ],
    );
    Ok(())
}

pub async fn migrate(g: &Global) -> anyhow::Result<()> {
    let (_, db) = open(g).await?;
    db.close().await;
    output::record(
        g.format,
        &[(
            "schema_version",
            json!(liveops_store::migrate::latest_version()),
        )],
    );
    Ok(())
}

pub fn config_show(g: &Global) -> anyhow::Result<()> {
    let config = g.load_config()?;
    match g.format {
        crate::cli::Format::Table | crate::cli::Format::Sarif => {
            print!("{}", config.to_redacted_toml())
        }
        crate::cli::Format::Json => {
            let value: toml::Value = toml::from_str(&config.to_redacted_toml())?;
            println!("{}", serde_json::to_string(&value)?);
        }
    }
    Ok(())
}

pub async fn backup(g: &Global, dest: &Path) -> anyhow::Result<()> {
    let config = g.load_config()?;
    let bar = output::progress(g.format, "writing the backup", "");
    let m = backups::backup(&config, dest).await;
    bar.finish_and_clear();
    let m = m?;
    output::record(
        g.format,
        &[
            ("backup", json!(dest.display().to_string())),
            ("state", json!(m.state)),
            ("schema_version", json!(m.schema_version)),
            ("telemetry", json!(m.telemetry)),
            ("created_at", json!(m.created_at)),
        ],
    );
    Ok(())
}

pub async fn restore(g: &Global, src: &Path) -> anyhow::Result<()> {
    let config = g.load_config()?;
    let bar = output::progress(g.format, "restoring", "");
    let m = backups::restore(&config, src).await;
    bar.finish_and_clear();
    let m = m?;
    output::record(
        g.format,
        &[
            ("restored", json!(src.display().to_string())),
            ("state", json!(m.state)),
            ("created_at", json!(m.created_at)),
        ],
    );
    Ok(())
}
