//! The error intake's spool, as the server's state holds it: this node's
//! `liveops_telemetry::spool` of error events, how far it has been filed,
//! and an event's layout in it. An intake is answered once its events are
//! durable here; the filer ([`super::intake`]) stores and files them. Kept
//! apart from the intake so the state can hold it without naming the
//! intake.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use liveops_telemetry::errors::ErrorEvent;
use liveops_telemetry::spool::{RecordReader, RecordWriter, Spool};
use tokio::sync::watch;

/// The stream name the filer's position is kept under.
pub const STREAM: &str = "errors";

/// The longest a read waits for the filer.
pub(crate) const CATCH_UP: Duration = Duration::from_secs(5);

/// The version of a spooled event's layout.
const LAYOUT: i64 = 1;

/// One event ready to store, with what the issue needs of it.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) stored: ErrorEvent,
    pub(crate) title: String,
    pub(crate) culprit: Option<String>,
}

/// A spooled event: its project, when it was received, and the event.
pub(crate) struct Spooled {
    pub(crate) project: String,
    pub(crate) now: i64,
    pub(crate) event: Prepared,
}

/// An event as the spool keeps it.
pub(crate) fn encode(project: &str, now: i64, p: &Prepared) -> Vec<u8> {
    let e = &p.stored;
    let mut w = RecordWriter::with_capacity(e.payload.len() + 512);
    w.number(LAYOUT)
        .text(project)
        .number(now)
        .text(&e.event_id)
        .text(&e.fingerprint)
        .number(e.ts_ms)
        .text(&e.level)
        .text(&e.release)
        .text(&e.environment)
        .text(&e.user)
        .text(&e.distinct_id)
        .number(e.tags.len() as i64);
    for (k, v) in &e.tags {
        w.text(k).text(v);
    }
    w.text(&e.payload).text(&p.title);
    match &p.culprit {
        Some(c) => w.number(1).text(c),
        None => w.number(0),
    };
    w.into_bytes()
}

/// An event read back from the spool.
pub(crate) fn decode(bytes: &[u8]) -> liveops_telemetry::Result<Spooled> {
    let mut r = RecordReader::new(bytes);
    let layout = r.number()?;
    if layout != LAYOUT {
        return Err(liveops_telemetry::TelemetryError::Ingest(format!(
            "a spooled event of layout {layout}, which this version does not read"
        )));
    }
    let project = r.text()?.to_owned();
    let now = r.number()?;
    let event_id = r.text()?.to_owned();
    let fingerprint = r.text()?.to_owned();
    let ts_ms = r.number()?;
    let level = r.text()?.to_owned();
    let release = r.text()?.to_owned();
    let environment = r.text()?.to_owned();
    let user = r.text()?.to_owned();
    let distinct_id = r.text()?.to_owned();
    let n = usize::try_from(r.number()?).unwrap_or(0);
    let mut tags = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let k = r.text()?.to_owned();
        let v = r.text()?.to_owned();
        tags.push((k, v));
    }
    let payload = r.text()?.to_owned();
    let title = r.text()?.to_owned();
    let culprit = match r.number()? {
        0 => None,
        _ => Some(r.text()?.to_owned()),
    };
    Ok(Spooled {
        project,
        now,
        event: Prepared {
            stored: ErrorEvent {
                event_id,
                fingerprint,
                ts_ms,
                level,
                release,
                environment,
                user,
                distinct_id,
                tags,
                payload,
            },
            title,
            culprit,
        },
    })
}

/// This node's spool of error events, and how far it has been filed.
pub struct IntakeSpool {
    spool: OnceLock<Arc<Spool>>,
    /// The spool's durable end, as its writer last said.
    durable: Arc<watch::Sender<u64>>,
    /// Everything before this position is filed.
    filed: watch::Sender<u64>,
    /// The spool's end when it was opened: what a crash may have left
    /// stored but not filed lies before it.
    recovered: std::sync::atomic::AtomicU64,
}

impl Default for IntakeSpool {
    fn default() -> IntakeSpool {
        IntakeSpool {
            spool: OnceLock::new(),
            durable: Arc::new(watch::channel(0).0),
            filed: watch::channel(0).0,
            recovered: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for IntakeSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeSpool")
            .field("durable", &*self.durable.borrow())
            .field("filed", &*self.filed.borrow())
            .finish_non_exhaustive()
    }
}

impl IntakeSpool {
    /// Opens the spool in `dir`, its filer standing at `filed` (as the
    /// state database says). Without it, intakes file at once.
    pub fn open(&self, dir: &Path, filed: u64) -> liveops_telemetry::Result<()> {
        let durable = self.durable.clone();
        let spool = Spool::open(
            dir,
            filed,
            Arc::new(move |at| {
                durable.send_replace(at);
            }),
        )?;
        self.durable.send_replace(spool.durable());
        self.recovered
            .store(spool.durable(), std::sync::atomic::Ordering::Release);
        self.filed.send_replace(filed);
        let _ = self.spool.set(Arc::new(spool));
        Ok(())
    }

    pub(crate) fn spool(&self) -> Option<&Arc<Spool>> {
        self.spool.get()
    }

    /// Appends an intake's events; the position after them once durable.
    pub(crate) async fn append(&self, records: Vec<Vec<u8>>) -> Result<u64, String> {
        let Some(spool) = self.spool() else {
            return Err("the error spool is not open".into());
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        spool.append(
            records,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.await
            .unwrap_or_else(|_| Err("the error spool went away".into()))
    }

    /// The spool's end when it was opened.
    pub(crate) fn recovered(&self) -> u64 {
        self.recovered.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn filed(&self) -> u64 {
        *self.filed.borrow()
    }

    /// Bytes acknowledged and not yet filed.
    pub fn backlog(&self) -> u64 {
        self.spool()
            .map_or(0, |s| s.durable().saturating_sub(self.filed()))
    }

    pub(crate) fn set_filed(&self, at: u64) {
        self.filed.send_replace(at);
    }

    pub(crate) fn durable_changes(&self) -> watch::Receiver<u64> {
        self.durable.subscribe()
    }

    /// Waits (at most `within`) until everything acknowledged so far is
    /// filed. True when it is.
    pub async fn caught_up(&self, within: Duration) -> bool {
        let Some(spool) = self.spool() else {
            return true;
        };
        let target = spool.durable();
        if self.filed() >= target {
            return true;
        }
        let mut rx = self.filed.subscribe();
        matches!(
            tokio::time::timeout(within, rx.wait_for(|f| *f >= target)).await,
            Ok(Ok(_))
        )
    }

    /// Stops taking events and waits for the spool's writer.
    pub fn close(&self) {
        if let Some(s) = self.spool() {
            s.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spooled_event_reads_back_whole() {
        let p = Prepared {
            stored: ErrorEvent {
                event_id: "a".repeat(32),
                fingerprint: "0f".into(),
                ts_ms: 1_700_000_000_123,
                level: "error".into(),
                release: "shop@1.2.0".into(),
                environment: "production".into(),
                user: "u1".into(),
                distinct_id: String::new(),
                tags: vec![
                    ("browser".into(), "Firefox".into()),
                    ("k".into(), String::new()),
                ],
                payload: r#"{"message":"ünïcode"}"#.into(),
            },
            title: "ZeroDivisionError: division by zero".into(),
            culprit: Some("shop.cart in total".into()),
        };
        let bytes = encode("proj", 42, &p);
        let back = decode(&bytes).expect("decode");
        assert_eq!(back.project, "proj");
        assert_eq!(back.now, 42);
        assert_eq!(back.event.stored, p.stored);
        assert_eq!(back.event.title, p.title);
        assert_eq!(back.event.culprit, p.culprit);
        let none = Prepared {
            culprit: None,
            ..p.clone()
        };
        assert_eq!(
            decode(&encode("proj", 1, &none))
                .expect("decode")
                .event
                .culprit,
            None
        );
        assert!(decode(&bytes[..bytes.len() - 2]).is_err());
    }
}
