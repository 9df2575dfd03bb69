//! The ingest queue both backends share: requests wait in a bounded queue
//! (when the writer falls behind they wait, rather than pile up in memory),
//! and one writer thread takes everything waiting, up to
//! [`MAX_COMMIT_EVENTS`], stores it in one round and answers each request
//! with what that round did for it.

use std::sync::Mutex;
use std::sync::mpsc::{SyncSender, sync_channel};

use liveops_core::analytics::event::Event;

use super::Ingested;
use crate::{Result, TelemetryError};

/// The most events one round takes before answering.
pub(crate) const MAX_COMMIT_EVENTS: usize = 100_000;

/// One ingest request waiting for the writer.
pub(crate) struct Job {
    pub project: String,
    pub events: Vec<Event>,
    pub reply: futures::channel::oneshot::Sender<Result<Ingested>>,
}

/// Stores a round of requests; answers one result per job, in order.
pub(crate) trait Commit: Send + 'static {
    fn commit(&mut self, jobs: &mut [Job]) -> Vec<Result<Ingested>>;
    /// Runs once the queue is closed and everything in it is stored.
    fn finish(&mut self) {}
}

pub(crate) struct Queue {
    tx: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Queue {
    /// Starts the writer thread around `store`.
    pub fn start(mut store: impl Commit) -> Result<Queue> {
        let (tx, rx) = sync_channel::<Job>(1024);
        let handle = std::thread::Builder::new()
            .name("analytics-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    let mut n = jobs[0].events.len();
                    while n < MAX_COMMIT_EVENTS {
                        match rx.try_recv() {
                            Ok(j) => {
                                n += j.events.len();
                                jobs.push(j);
                            }
                            Err(_) => break,
                        }
                    }
                    let results = store.commit(&mut jobs);
                    for (job, result) in jobs.into_iter().zip(results) {
                        let _ = job.reply.send(result);
                    }
                }
                store.finish();
            })?;
        Ok(Queue {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
        })
    }

    /// Queues events; the answer arrives once the writer has stored them.
    pub fn send(
        &self,
        project: &str,
        events: Vec<Event>,
    ) -> futures::channel::oneshot::Receiver<Result<Ingested>> {
        let (reply, answer) = futures::channel::oneshot::channel();
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match tx {
            Some(q) => {
                let job = Job {
                    project: project.to_owned(),
                    events,
                    reply,
                };
                if let Err(std::sync::mpsc::SendError(job)) = q.send(job) {
                    let _ = job.reply.send(Err(TelemetryError::Closed));
                }
            }
            None => {
                let _ = reply.send(Err(TelemetryError::Closed));
            }
        }
        answer
    }

    /// Stops the writer after it has stored everything queued.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}
