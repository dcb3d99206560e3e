//! The one background service: everything that runs off the window's thread is submitted here
//! with a [`JobKind`] and a name, and runs on the lane its kind chooses (see [`Lane`]):
//!
//! - library writers (scan, map, retag, write-back, refit) one after another on the
//!   "earmark-jobs" worker, so the index has a single writer;
//! - training, downloads, model loads and GPU probes each on a thread of their own;
//! - quick reads for the window on the task lane ([`Service::task`], see [`crate::jobs::task`]).
//!
//! Every job reports the same [`JobEvent`]s (progress with done/total/ETA, notes, failed items,
//! its end), can be cancelled and paused at its checkpoints ([`JobControl`]), and runs with its
//! panics caught: a panic ends that job "failed: internal error: <message>" and the next one
//! runs. The submitter keeps a [`JobTicket`] (the job's number and its control); the job's events
//! go to whoever follows the service's news ([`Service::take_news`]) — the window's job list,
//! which the Jobs tab draws.
//!
//! ```
//! use earmark::jobs::{JobEvent, JobKind, Service, ServiceNews};
//!
//! let service = Service::new();
//! let ticket = service
//!     .submit(JobKind::Download, "Download a model", |ctx| {
//!         for part in 0..4 {
//!             ctx.checkpoint()?; // waits while paused, ends the job when cancelled
//!             ctx.progress(part + 1, 4);
//!         }
//!         Ok("4 parts fetched".to_string())
//!     })
//!     .unwrap();
//! // The window's job list takes the job from the news and follows its events to the end.
//! let Some(ServiceNews::Submitted(job)) = service.take_news().pop() else { panic!() };
//! assert_eq!((job.handle.id, job.kind), (ticket.id, JobKind::Download));
//! let last = job.handle.events.iter().last();
//! assert_eq!(last, Some(JobEvent::Done { summary: "4 parts fetched".into() }));
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::control::JobControl;
#[cfg(doc)]
use super::event::JobEvent;
use super::guard::run_caught;
use super::kind::{JobId, JobKind, Lane};
use super::queue::{JobContext, JobHandle, JobQueue, Queued, run_job, spawn_named};
use crate::error::Result;

/// What the submitter of a job keeps: its number, its kind and its control (cancel, pause).
#[derive(Debug, Clone)]
pub struct JobTicket {
    /// The job's number (the job list finds the job by it).
    pub id: JobId,
    /// What it is for.
    pub kind: JobKind,
    /// Cancel / pause it.
    pub control: Arc<JobControl>,
}

/// A job the service has taken on, for whoever follows it.
#[derive(Debug)]
pub struct SubmittedJob {
    /// What it is for.
    pub kind: JobKind,
    /// Its name for people ("Scan Music").
    pub name: String,
    /// Its events and control.
    pub handle: JobHandle,
}

/// What the service has to tell the window.
#[derive(Debug)]
pub enum ServiceNews {
    /// A job was submitted: follow its events.
    Submitted(SubmittedJob),
    /// A task ended without a value (it panicked), and its owner had no place for the error.
    TaskFailed {
        /// The task's name ("earmark-rows").
        name: String,
        /// Why ("internal error: …").
        message: String,
    },
}

/// The background service. Clones share it; the library worker stops (after the jobs already
/// queued) when the last clone is dropped.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

/// The last panic of each task name: when, and its message.
pub(super) type Panics = Mutex<BTreeMap<String, (Instant, String)>>;

struct Inner {
    /// The library lane, started on first use.
    library: Mutex<Option<JobQueue>>,
    news_tx: Sender<ServiceNews>,
    news_rx: Receiver<ServiceNews>,
    /// The last panic of each task name: when, and its message (see [`crate::jobs::task`]).
    panicked: Arc<Panics>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

impl Default for Service {
    fn default() -> Self {
        Self::new()
    }
}

impl Service {
    /// A service with no thread started yet (each lane starts on first use).
    pub fn new() -> Self {
        let (news_tx, news_rx) = unbounded();
        Service {
            inner: Arc::new(Inner {
                library: Mutex::new(None),
                news_tx,
                news_rx,
                panicked: Arc::new(Mutex::new(BTreeMap::new())),
            }),
        }
    }

    /// Submits a job of `kind` named `name`: `work` reports through its [`JobContext`]
    /// (progress, notes, failed items), calls [`JobContext::checkpoint`] between items so that
    /// pause and cancel work, and returns a one-line summary. The job's events go to the
    /// service's news; an error here means its lane could not start.
    pub fn submit(
        &self,
        kind: JobKind,
        name: &str,
        work: impl FnOnce(&JobContext) -> Result<String> + Send + 'static,
    ) -> Result<JobTicket> {
        let (queued, handle) = Queued::new(name, Box::new(work));
        let ticket = JobTicket {
            id: handle.id,
            kind,
            control: Arc::clone(&handle.control),
        };
        match kind.lane() {
            Lane::Library => self.library_queue()?.enqueue(queued)?,
            Lane::Own | Lane::Task => {
                spawn_named(&kind.thread_name(), move || run_job(queued))?;
            }
        }
        self.news(ServiceNews::Submitted(SubmittedJob {
            kind,
            name: name.to_owned(),
            handle,
        }));
        Ok(ticket)
    }

    /// Like [`submit`](Self::submit), for work that also has a value for its submitter (a
    /// downloaded model's path, a probe's answer): `work` returns the summary and the value,
    /// which arrives on the receiver once the job is done (never when it failed).
    pub fn submit_with<T: Send + 'static>(
        &self,
        kind: JobKind,
        name: &str,
        work: impl FnOnce(&JobContext) -> Result<(String, T)> + Send + 'static,
    ) -> Result<(JobTicket, Receiver<T>)> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let ticket = self.submit(kind, name, move |ctx| {
            let (summary, value) = work(ctx)?;
            let _ = tx.send(value);
            Ok(summary)
        })?;
        Ok((ticket, rx))
    }

    /// The library lane as a [`JobQueue`]: jobs submitted on it run in the same order as the
    /// service's library jobs, but their events go to the submitter, not to the news (the
    /// command line follows its jobs this way).
    pub fn library_queue(&self) -> Result<JobQueue> {
        let mut lane = self
            .inner
            .library
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(queue) = lane.as_ref() {
            return Ok(queue.clone());
        }
        let queue = JobQueue::new()?;
        *lane = Some(queue.clone());
        Ok(queue)
    }

    /// Drops `value` on a thread of its own ("earmark-free"): freeing a big table takes
    /// milliseconds the window does not have.
    pub fn release<T: Send + 'static>(&self, value: T) {
        // Without a thread, the value is dropped here.
        let _ = spawn_named("earmark-free", move || run_caught(move || drop(value)));
    }

    /// What happened since the last call, oldest first: jobs submitted and tasks that failed.
    /// The window calls this once per frame; a service nobody asks keeps its news (each
    /// submitted job's events wait there for a reader).
    pub fn take_news(&self) -> Vec<ServiceNews> {
        self.inner.news_rx.try_iter().collect()
    }

    /// Whether there is news to take (the window then draws another frame soon).
    pub fn has_news(&self) -> bool {
        !self.inner.news_rx.is_empty()
    }

    /// Tells whoever follows the service.
    pub(super) fn news(&self, news: ServiceNews) {
        let _ = self.inner.news_tx.send(news);
    }

    /// Where tasks report their failures.
    pub(super) fn news_sender(&self) -> Sender<ServiceNews> {
        self.inner.news_tx.clone()
    }

    /// The task lane's record of panics.
    pub(super) fn panicked(&self) -> Arc<Panics> {
        Arc::clone(&self.inner.panicked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::jobs::event::JobEvent;

    /// The jobs the service announced since the last call.
    fn submitted(service: &Service) -> Vec<SubmittedJob> {
        service
            .take_news()
            .into_iter()
            .filter_map(|n| match n {
                ServiceNews::Submitted(job) => Some(job),
                ServiceNews::TaskFailed { .. } => None,
            })
            .collect()
    }

    #[test]
    fn every_lane_contains_a_panic_and_runs_the_next_job() {
        let service = Service::new();
        for kind in [JobKind::Refit, JobKind::Training] {
            service
                .submit(kind, "broken", |_| -> Result<String> {
                    panic!("no {}", "rows")
                })
                .unwrap();
            service.submit(kind, "next", |_| Ok("ran".into())).unwrap();
        }
        let jobs = submitted(&service);
        assert_eq!(jobs.len(), 4);
        for job in jobs {
            let end = job.handle.events.iter().last();
            let want = if job.name == "broken" {
                JobEvent::Failed {
                    reason: "internal error: no rows".into(),
                }
            } else {
                JobEvent::Done {
                    summary: "ran".into(),
                }
            };
            assert_eq!(end, Some(want), "{:?} {}", job.kind, job.name);
        }
    }

    #[test]
    fn a_job_cancelled_before_it_starts_never_runs() {
        let service = Service::new();
        let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
        service
            .submit(JobKind::Scan, "first", move |_| {
                let _ = gate_rx.recv();
                Ok("first".into())
            })
            .unwrap();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let second = service
            .submit(JobKind::Map, "second", move |_| {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok("second".into())
            })
            .unwrap();
        second.control.cancel();
        drop(gate_tx);
        let jobs = submitted(&service);
        let events: Vec<JobEvent> = jobs[1].handle.events.iter().collect();
        assert_eq!(events, [JobEvent::Cancelled]);
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn a_value_reaches_its_submitter_and_progress_reaches_the_follower() {
        let service = Service::new();
        let (ticket, value) = service
            .submit_with(JobKind::GpuProbe, "probe", |ctx| {
                ctx.note("asking the driver");
                ctx.progress(1, 1);
                Ok(("found one".into(), 42_u32))
            })
            .unwrap();
        let job = submitted(&service).pop().unwrap();
        assert_eq!(job.handle.id, ticket.id);
        let events: Vec<JobEvent> = job.handle.events.iter().collect();
        assert!(events.contains(&JobEvent::Note("asking the driver".into())));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, JobEvent::Progress(p) if (p.done, p.total) == (1, 1)))
        );
        assert_eq!(value.recv().ok(), Some(42));
        let (_, none) = service
            .submit_with(JobKind::ModelLoad, "load", |_| -> Result<(String, u8)> {
                Err(Error::Model("bad weights".into()))
            })
            .unwrap();
        assert!(none.recv().is_err(), "a failed job sends no value");
    }
}
