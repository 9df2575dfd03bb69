//! The control socket: how admin commands reach a running server.
//!
//! DuckDB lets one process hold its file, so an admin command that needs the
//! telemetry store while the server runs asks the server to do the work. The
//! socket lives in the data directory and is readable only by its owner: who
//! may touch the data directory may use it, and nobody else.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Write a consistent copy of the telemetry store to `dest`.
    SnapshotTelemetry { dest: PathBuf },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub error: Option<String>,
}

pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    // A socket file left by a server that was killed is stale: whoever holds
    // the data-directory lock (our caller) owns the socket path.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

pub async fn serve(listener: UnixListener, state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = state.clone();
                    tokio::spawn(async move {
                        if let Err(e) = handle(stream, state).await {
                            tracing::warn!(error = %e, "control connection failed");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "control socket accept failed"),
            },
            _ = stop.changed() => return,
        }
    }
}

async fn handle(stream: UnixStream, state: AppState) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(Request::SnapshotTelemetry { dest }) => {
            let telemetry = state.telemetry.clone();
            match tokio::task::spawn_blocking(move || telemetry.snapshot(&dest)).await {
                Ok(Ok(())) => Reply {
                    ok: true,
                    error: None,
                },
                Ok(Err(e)) => Reply {
                    ok: false,
                    error: Some(e.to_string()),
                },
                Err(e) => Reply {
                    ok: false,
                    error: Some(e.to_string()),
                },
            }
        }
        Err(e) => Reply {
            ok: false,
            error: Some(format!("bad control request: {e}")),
        },
    };
    let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    Ok(())
}

/// Sends one request to the server listening on `socket` and waits for its reply.
pub async fn call(socket: &Path, req: &Request) -> anyhow::Result<()> {
    use anyhow::Context;
    let stream = UnixStream::connect(socket)
        .await
        .with_context(|| format!("could not reach the running server at {}", socket.display()))?;
    let (read, mut write) = stream.into_split();
    let mut out = serde_json::to_vec(req)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let reply: Reply =
        serde_json::from_str(&line).context("the server sent an unreadable reply")?;
    if reply.ok {
        Ok(())
    } else {
        anyhow::bail!(
            "the server refused: {}",
            reply.error.unwrap_or_else(|| "no reason given".into())
        )
    }
}
