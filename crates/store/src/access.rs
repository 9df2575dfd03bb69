//! People and their access: users, project memberships, API tokens and browser sessions.

use liveops_core::{Email, Role, Scopes};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub is_admin: bool,
    pub created_at: i64,
}

fn user_from(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

const USER_COLS: &str = "id, email, is_admin, created_at";

/// What a password login needs to know about a person.
pub struct LoginRecord {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for LoginRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRecord")
            .field("user", &self.user)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

pub async fn insert_user(
    conn: &mut AnyConnection,
    email: &Email,
    password_hash: &str,
    is_admin: bool,
    now: i64,
) -> Result<User> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, is_admin, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(i64::from(is_admin))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a user with this e-mail address"))?;
    Ok(User {
        id,
        email: email.to_string(),
        is_admin,
        created_at: now,
    })
}

/// Inserts the first user, an admin, only while there is no user at all;
/// `None` when someone else was first.
pub async fn insert_first_admin(
    conn: &mut AnyConnection,
    email: &Email,
    password_hash: &str,
    now: i64,
) -> Result<Option<User>> {
    // Two setups at once must not both see no user: SQLite serialises
    // writers, PostgreSQL needs a lock for it (held to the end of the
    // transaction).
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock(7146120001)")
            .execute(&mut *conn)
            .await?;
    }
    let id = new_id();
    let done = sqlx::query(
        "INSERT INTO users (id, email, password_hash, is_admin, created_at) \
         SELECT $1, $2, $3, 1, $4 WHERE NOT EXISTS (SELECT 1 FROM users)",
    )
    .bind(&id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok((done.rows_affected() == 1).then(|| User {
        id,
        email: email.to_string(),
        is_admin: true,
        created_at: now,
    }))
}

pub async fn set_password(conn: &mut AnyConnection, user_id: &str, hash: &str) -> Result<()> {
    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl Db {
    /// Whether any user exists: a server without one is waiting for its
    /// first admin.
    pub async fn has_users(&self) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE email = $1"))
            .bind(email.as_str())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from(&row)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from(&row)
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users ORDER BY email"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user_from).collect()
    }

    pub async fn login_record(&self, email: &Email) -> Result<LoginRecord> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS}, password_hash FROM users WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(LoginRecord {
            user: user_from(&row)?,
            password_hash: row.try_get("password_hash")?,
        })
    }

    /// Records one failed sign-in against each subject (`email:…`, `ip:…`).
    pub async fn record_login_failure(&self, subjects: &[&str], now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        for subject in subjects {
            sqlx::query("INSERT INTO login_failures (id, subject, at) VALUES ($1, $2, $3)")
                .bind(new_id())
                .bind(*subject)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// How many sign-ins failed for `subject` since `since`, and when the
    /// last one did.
    pub async fn login_failures(&self, subject: &str, since: i64) -> Result<(i64, Option<i64>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MAX(at) AS last FROM login_failures WHERE subject = $1 AND at >= $2",
        )
        .bind(subject)
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("n")?, row.try_get("last")?))
    }

    /// Forgets the failures of `subject`: after a good sign-in, or when an
    /// administrator unlocks an account. Returns how many were forgotten.
    pub async fn clear_login_failures(&self, subject: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_failures WHERE subject = $1")
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Forgets the failures of every subject that starts with `prefix`.
    pub async fn clear_login_failures_starting(&self, prefix: &str) -> Result<u64> {
        // substr rather than LIKE: an e-mail address may hold `%` and `_`.
        let done = sqlx::query(
            "DELETE FROM login_failures WHERE substr(subject, 1, CAST($1 AS INTEGER)) = $2",
        )
        .bind(prefix.chars().count() as i64)
        .bind(prefix)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Drops failures older than `before`; the window has forgotten them.
    pub async fn prune_login_failures(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

// ---------------------------------------------------------------- memberships

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: Role,
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse()
        .map_err(|e: liveops_core::access::UnknownRole| StoreError::Other(e.to_string()))
}

/// Gives `user_id` the `role` in a project, replacing any role they had.
pub async fn upsert_membership(
    conn: &mut AnyConnection,
    project_id: &str,
    user_id: &str,
    role: Role,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO memberships (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete_membership(
    conn: &mut AnyConnection,
    project_id: &str,
    user_id: &str,
) -> Result<()> {
    let done = sqlx::query("DELETE FROM memberships WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    // A former member's tokens for the project stop working with the membership.
    sqlx::query("DELETE FROM api_tokens WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Db {
    /// The user's role in the project, if they are a member.
    pub async fn role_of(&self, project_id: &str, user_id: &str) -> Result<Option<Role>> {
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM memberships WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        role.as_deref().map(parse_role).transpose()
    }

    pub async fn members(&self, project_id: &str) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.is_admin, u.created_at, m.role FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.email",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    user: user_from(r)?,
                    role: parse_role(&r.try_get::<String, _>("role")?)?,
                })
            })
            .collect()
    }

    pub async fn count_owners(&self, project_id: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships WHERE project_id = $1 AND role = 'owner'",
        )
        .bind(project_id)
        .fetch_one(self.pool())
        .await?)
    }
}

// ---------------------------------------------------------------- API tokens

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub user_email: String,
    /// The one project the token reaches; `None` for an instance token,
    /// which acts as its user everywhere (within its scopes).
    pub project_id: Option<String>,
    pub name: String,
    /// The first characters of the token, to tell tokens apart; never enough to use it.
    pub hint: String,
    pub scopes: Scopes,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const TOKEN_COLS: &str = "t.id, t.user_id, u.email, t.project_id, t.name, t.hint, t.scopes, \
     t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

fn token_from(row: &AnyRow) -> Result<ApiToken> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        user_email: row.try_get("email")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        hint: row.try_get("hint")?,
        scopes: scopes
            .parse()
            .map_err(|e: liveops_core::access::ScopesError| StoreError::Other(e.to_string()))?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// The fields of a token about to be stored. The secret itself never reaches
/// the store, only its hash.
#[derive(Debug)]
pub struct NewToken<'a> {
    pub user_id: &'a str,
    /// `None` makes an instance token.
    pub project_id: Option<&'a str>,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub hint: &'a str,
    pub scopes: &'a Scopes,
    pub expires_at: i64,
}

pub async fn insert_token(conn: &mut AnyConnection, t: &NewToken<'_>, now: i64) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, project_id, name, token_hash, hint, scopes, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(t.user_id)
    .bind(t.project_id)
    .bind(t.name)
    .bind(t.token_hash)
    .bind(t.hint)
    .bind(t.scopes.to_string())
    .bind(now)
    .bind(t.expires_at)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a token with this hash"))?;
    Ok(id)
}

pub async fn revoke_token(
    conn: &mut AnyConnection,
    project_id: &str,
    token_id: &str,
    now: i64,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND project_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(token_id)
    .bind(project_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Revokes one of a user's instance tokens.
pub async fn revoke_instance_token(
    conn: &mut AnyConnection,
    user_id: &str,
    token_id: &str,
    now: i64,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 \
         AND project_id IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(token_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl Db {
    pub async fn token_by_hash(&self, hash: &str) -> Result<ApiToken> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        token_from(&row)
    }

    pub async fn token(&self, project_id: &str, token_id: &str) -> Result<ApiToken> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.id = $1 AND t.project_id = $2"
        ))
        .bind(token_id)
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        token_from(&row)
    }

    /// Tokens of a project, optionally only one user's, newest first.
    pub async fn tokens(&self, project_id: &str, user_id: Option<&str>) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.project_id = $1 AND ($2 IS NULL OR t.user_id = $2) ORDER BY t.created_at DESC, t.id DESC"
        ))
        .bind(project_id)
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from).collect()
    }

    /// A user's instance tokens, newest first.
    pub async fn instance_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.project_id IS NULL AND t.user_id = $1 ORDER BY t.created_at DESC, t.id DESC"
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from).collect()
    }

    /// Records a use of the token. Writes at most once a minute per token, so
    /// that busy clients do not turn every read into a write.
    pub async fn touch_token(&self, token_id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(token_id)
        .bind(now - 60_000)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------- sessions

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: i64,
}

pub async fn insert_session(
    conn: &mut AnyConnection,
    id_hash: &str,
    user_id: &str,
    csrf_token: &str,
    ip: Option<&str>,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, ip, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(ip)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    /// The live session with this id hash.
    pub async fn session(&self, id_hash: &str, now: i64) -> Result<Session> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.is_admin, u.created_at, s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Session {
            user: user_from(&row)?,
            csrf_token: row.try_get("csrf_token")?,
            expires_at: row.try_get("expires_at")?,
        })
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Drops expired sessions; returns how many went.
    pub async fn prune_sessions(&self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
