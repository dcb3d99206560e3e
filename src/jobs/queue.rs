//! The job queue: jobs run one after another on a named worker thread ("earmark-jobs"), so
//! the library index has a single writer. Each job gets its own bounded event channel and a
//! [`JobControl`]; the submitter keeps both in a [`JobHandle`]. A job that panics ends
//! [`JobEvent::Failed`] ("internal error: <message>") and the worker runs the next one.
//!
//! A [`JobQueue`] is a cheap handle: clones share the worker, which stops (after the jobs
//! already queued) when the last clone is dropped. [`run_job`] is how every job runs, on this
//! worker or on a thread of its own (see [`crate::jobs::Service`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::control::JobControl;
use super::event::{EventSink, JobEvent, Progress, ProgressTracker};
use super::guard::run_caught;
use super::kind::JobId;
use crate::error::{Error, Result};

/// Events a job may queue before progress events start being dropped.
const EVENT_CAPACITY: usize = 256;
/// Jobs waiting for the worker before `submit` blocks.
const QUEUE_CAPACITY: usize = 16;

/// What a running job gets: where to report, and its control.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The event sink.
    pub events: EventSink,
    /// Cancel / pause.
    pub control: Arc<JobControl>,
}

impl JobContext {
    /// Waits while the job is paused; [`Error::Cancelled`] once it is cancelled. Call it
    /// between items and end the job with `?`.
    pub fn checkpoint(&self) -> Result<()> {
        self.control.checkpoint()
    }

    /// Reports `done` of `total` items (no ETA: use [`track`](Self::track) for one).
    pub fn progress(&self, done: usize, total: usize) {
        self.events.progress(Progress {
            done,
            total,
            ..Progress::default()
        });
    }

    /// Reports the progress a [`ProgressTracker`] keeps (counts, failures, ETA), with the item
    /// in hand.
    pub fn track(&self, tracker: &ProgressTracker, current: Option<String>) {
        self.events.progress(tracker.snapshot(current));
    }

    /// A free-form note for the Jobs tab ("loading the model", "epoch 3 of 10").
    pub fn note(&self, note: impl Into<String>) {
        self.events.send(JobEvent::Note(note.into()));
    }

    /// One item failed; the job goes on.
    pub fn item_failed(&self, item: impl Into<String>, reason: impl Into<String>) {
        self.events.send(JobEvent::ItemFailed {
            item: item.into(),
            reason: reason.into(),
        });
    }
}

/// The submitter's side of a job.
#[derive(Debug)]
pub struct JobHandle {
    /// The job's number.
    pub id: JobId,
    /// The job's events, ending with `Done`, `Cancelled` or `Failed`.
    pub events: Receiver<JobEvent>,
    /// Cancel / pause the job.
    pub control: Arc<JobControl>,
}

/// The work of a job: a one-line summary, or why it failed.
pub(crate) type JobFn = Box<dyn FnOnce(&JobContext) -> Result<String> + Send>;

/// A job ready to run: its work, and where it reports.
pub(crate) struct Queued {
    pub(crate) name: String,
    pub(crate) run: JobFn,
    pub(crate) ctx: JobContext,
}

impl Queued {
    /// A job named `name` and the handle its submitter keeps.
    pub(crate) fn new(name: &str, run: JobFn) -> (Queued, JobHandle) {
        let (etx, erx) = bounded(EVENT_CAPACITY);
        let control = Arc::new(JobControl::new());
        let ctx = JobContext {
            events: EventSink::new(etx),
            control: Arc::clone(&control),
        };
        let queued = Queued {
            name: name.to_owned(),
            run,
            ctx,
        };
        let handle = JobHandle {
            id: JobId::next(),
            events: erx,
            control,
        };
        (queued, handle)
    }
}

/// Runs one job to its end: `Started`, then its events, then `Done`, `Cancelled` or `Failed`.
/// A job cancelled while it waited does not start; a job that panics fails "internal error:
/// <message>".
pub(crate) fn run_job(job: Queued) {
    let Queued { name, run, ctx } = job;
    if ctx.control.is_cancelled() {
        ctx.events.send(JobEvent::Cancelled);
        return;
    }
    ctx.events.send(JobEvent::Started { name });
    let end = match run_caught(|| run(&ctx)).unwrap_or_else(|p| Err(p.into())) {
        Ok(summary) => JobEvent::Done { summary },
        Err(Error::Cancelled) => JobEvent::Cancelled,
        Err(e) => JobEvent::Failed {
            reason: e.to_string(),
        },
    };
    ctx.events.send(end);
}

/// Runs submitted jobs in order on one named worker thread.
#[derive(Clone)]
pub struct JobQueue {
    inner: Arc<Worker>,
}

/// The worker behind every clone of a queue.
struct Worker {
    tx: Mutex<Option<Sender<Queued>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Starts a thread with a name (shown by debuggers and `top -H`).
pub fn spawn_named<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| Error::InvalidInput(format!("cannot start thread {name}: {e}")))
}

impl JobQueue {
    /// Starts the worker thread.
    pub fn new() -> Result<Self> {
        let (tx, rx) = bounded::<Queued>(QUEUE_CAPACITY);
        // A panicking job fails like any other (see `run_job`); the worker goes on.
        let worker = spawn_named("earmark-jobs", move || rx.into_iter().for_each(run_job))?;
        Ok(JobQueue {
            inner: Arc::new(Worker {
                tx: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(worker)),
            }),
        })
    }

    /// Queues a job; `run` returns a one-line summary or an error.
    pub fn submit(
        &self,
        name: &str,
        run: impl FnOnce(&JobContext) -> Result<String> + Send + 'static,
    ) -> Result<JobHandle> {
        let (queued, handle) = Queued::new(name, Box::new(run));
        self.enqueue(queued)?;
        Ok(handle)
    }

    /// Hands a prepared job to the worker.
    pub(crate) fn enqueue(&self, queued: Queued) -> Result<()> {
        let tx = self
            .inner
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| Error::InvalidInput("job queue is shut down".into()))?;
        tx.send(queued)
            .map_err(|_| Error::InvalidInput("job worker has stopped".into()))
    }
}

impl Drop for Worker {
    /// Lets queued jobs finish, then joins the worker (unless the last handle is dropped by a
    /// job on the worker itself).
    fn drop(&mut self) {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(w) = thread
            && w.thread().id() != std::thread::current().id()
        {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::event::ProgressTracker;

    #[test]
    fn jobs_run_in_order_and_report_their_end() {
        let q = JobQueue::new().unwrap();
        let a = q
            .submit("a", |ctx| {
                let mut t = ProgressTracker::new(2);
                for i in 0..2 {
                    ctx.control.checkpoint()?;
                    t.finish_item(i == 1);
                    ctx.events.progress(t.snapshot(Some(format!("item {i}"))));
                }
                Ok("two items".into())
            })
            .unwrap();
        let b = q
            .submit("b", |_| Err(Error::InvalidInput("no".into())))
            .unwrap();
        let events: Vec<JobEvent> = a.events.iter().collect();
        assert_eq!(
            events.first(),
            Some(&JobEvent::Started { name: "a".into() })
        );
        assert_eq!(
            events.last(),
            Some(&JobEvent::Done {
                summary: "two items".into()
            })
        );
        let last = b.events.iter().last().unwrap();
        assert!(matches!(last, JobEvent::Failed { .. }), "{last:?}");
    }

    #[test]
    fn a_cancelled_job_ends_with_cancelled() {
        let q = JobQueue::new().unwrap();
        let h = q
            .submit("slow", |ctx| {
                loop {
                    ctx.control.checkpoint()?;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            })
            .unwrap();
        h.control.cancel();
        assert_eq!(h.events.iter().last(), Some(JobEvent::Cancelled));
    }
}
