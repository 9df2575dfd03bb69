//! Inbound ticket mail from a Maildir that a mail server delivers to
//! (`inbound_maildir`, for the project `inbound_maildir_project`): each
//! round reads the messages in `new/`, parses them with `mail-parser`
//! (MIME, encodings, the plain-text body), hands each to the same intake as
//! the inbound-mail webhook, and only then moves it to `cur/` — seen (`S`),
//! or trashed (`T`) when it cannot be a ticket. A message the store could
//! not take stays in `new/` for the next round, and one read twice (two
//! servers on one Maildir, a crash before the move) is taken once, by its
//! Message-ID.

use std::path::{Path, PathBuf};

use liveops_store::audit::{Actor, ActorKind};

use super::mail::{self, Inbound};
use super::{Result, SupportError};
use crate::state::AppState;

/// An RFC 5322 message as the intake reads it; `None` when it has no sender.
pub fn read(raw: &[u8]) -> Option<Inbound> {
    let m = mail_parser::MessageParser::default().parse(raw)?;
    let from = m.from()?.first()?;
    let address = from.address()?.to_owned();
    let from = match from.name() {
        Some(name) if !name.is_empty() => format!("{name} <{address}>"),
        _ => address,
    };
    let to = m.to().map(|to| {
        to.iter()
            .filter_map(|a| a.address())
            .collect::<Vec<_>>()
            .join(", ")
    });
    Some(Inbound {
        from,
        subject: m.subject().unwrap_or_default().to_owned(),
        text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        message_id: m.header_raw("Message-ID").map(|h| h.trim().to_owned()),
        in_reply_to: m.header_raw("In-Reply-To").map(|h| h.trim().to_owned()),
        references: m.header_raw("References").map(|h| h.trim().to_owned()),
        to: to.filter(|t| !t.is_empty()),
    })
}

/// Moves a message from `new/` to `cur/` with a flag: `S` seen, `T` trashed.
fn settle(dir: &Path, file: &Path, flag: char) -> std::io::Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.split(":2,").next().unwrap_or(&name).to_owned();
    std::fs::rename(file, dir.join("cur").join(format!("{base}:2,{flag}")))
}

/// One round; how many messages it took.
pub async fn poll(state: &AppState) -> Result<usize> {
    let (Some(dir), Some(slug)) = (
        state.config.inbound_maildir.clone(),
        state.config.inbound_maildir_project.clone(),
    ) else {
        return Ok(0);
    };
    let project = state.db.project_by_slug(&slug).await?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("new"))
        .map_err(|e| SupportError::Unavailable(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    // Delivery order: Maildir names start with the time they arrived.
    files.sort();
    let actor = Actor {
        kind: ActorKind::System,
        name: "inbound-email".into(),
        ip: None,
    };
    let mut taken = 0;
    for file in files {
        let raw = match std::fs::read(&file) {
            Ok(r) => r,
            // Taken by another server meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(SupportError::Unavailable(format!(
                    "cannot read {}: {e}",
                    file.display()
                )));
            }
        };
        let flag = match read(&raw) {
            None => {
                tracing::warn!(file = %file.display(), "inbound mail without a sender; trashed");
                'T'
            }
            Some(m) => match mail::receive(state, &project.id, &actor, &m).await {
                Ok(_) => {
                    taken += 1;
                    'S'
                }
                Err(e) if e.is_client_error() => {
                    tracing::warn!(file = %file.display(), error = %e, "inbound mail refused; trashed");
                    'T'
                }
                Err(e) => return Err(e),
            },
        };
        if let Err(e) = settle(&dir, &file, flag)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(SupportError::Unavailable(format!(
                "cannot move {}: {e}",
                file.display()
            )));
        }
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mime_message_reads_as_an_inbound_mail() {
        let raw = b"From: =?utf-8?q?Ann_M=C3=BCller?= <ann@example.org>\r\n\
To: support@example.com, liveops+t-abc@example.com\r\n\
Subject: =?utf-8?b?Q2Fubm90IHBheQ==?=\r\n\
Message-ID: <m1@example.org>\r\n\
In-Reply-To: <r1@liveops>\r\n\
References: <r0@liveops> <r1@liveops>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
My card is declined =E2=80=94 help\r\n\
--b\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>My card is declined</p>\r\n\
--b--\r\n";
        let m = read(raw).expect("a mail");
        assert_eq!(m.from, "Ann Müller <ann@example.org>");
        assert_eq!(m.subject, "Cannot pay");
        assert_eq!(m.text.trim(), "My card is declined — help");
        assert_eq!(m.message_id.as_deref(), Some("<m1@example.org>"));
        assert_eq!(m.in_reply_to.as_deref(), Some("<r1@liveops>"));
        assert_eq!(m.references.as_deref(), Some("<r0@liveops> <r1@liveops>"));
        assert_eq!(
            m.to.as_deref(),
            Some("support@example.com, liveops+t-abc@example.com")
        );
        assert!(read(b"Subject: no sender\r\n\r\nhi\r\n").is_none());
        assert!(read(b"").is_none());
    }
}
