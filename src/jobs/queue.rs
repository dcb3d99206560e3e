//! The job queue: jobs run one after another on a named worker thread ("earmark-jobs"), so
//! the library index has a single writer. Each job gets its own bounded event channel and a
//! [`JobControl`]; the submitter keeps both in a [`JobHandle`]. A job that panics ends
//! [`JobEvent::Failed`] ("internal error: <message>") and the worker runs the next one.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::control::JobControl;
use super::event::{EventSink, JobEvent};
use super::guard::run_caught;
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

/// The submitter's side of a job.
#[derive(Debug)]
pub struct JobHandle {
    /// The job's events, ending with `Done`, `Cancelled` or `Failed`.
    pub events: Receiver<JobEvent>,
    /// Cancel / pause the job.
    pub control: Arc<JobControl>,
}

type JobFn = Box<dyn FnOnce(&JobContext) -> Result<String> + Send>;

struct Queued {
    name: String,
    run: JobFn,
    ctx: JobContext,
}

/// Runs submitted jobs in order on one named worker thread.
pub struct JobQueue {
    tx: Option<Sender<Queued>>,
    worker: Option<JoinHandle<()>>,
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
        let worker = spawn_named("earmark-jobs", move || {
            for job in rx {
                job.ctx.events.send(JobEvent::Started {
                    name: job.name.clone(),
                });
                // A panicking job fails like any other; the worker goes on with the next.
                let ctx = &job.ctx;
                let end = match run_caught(|| (job.run)(ctx)).unwrap_or_else(|p| Err(p.into())) {
                    Ok(summary) => JobEvent::Done { summary },
                    Err(Error::Cancelled) => JobEvent::Cancelled,
                    Err(e) => JobEvent::Failed {
                        reason: e.to_string(),
                    },
                };
                job.ctx.events.send(end);
            }
        })?;
        Ok(JobQueue {
            tx: Some(tx),
            worker: Some(worker),
        })
    }

    /// Queues a job; `run` returns a one-line summary or an error.
    pub fn submit(
        &self,
        name: &str,
        run: impl FnOnce(&JobContext) -> Result<String> + Send + 'static,
    ) -> Result<JobHandle> {
        let (etx, erx) = bounded(EVENT_CAPACITY);
        let control = Arc::new(JobControl::new());
        let ctx = JobContext {
            events: EventSink::new(etx),
            control: Arc::clone(&control),
        };
        let queued = Queued {
            name: name.to_owned(),
            run: Box::new(run),
            ctx,
        };
        self.tx
            .as_ref()
            .ok_or_else(|| Error::InvalidInput("job queue is shut down".into()))?
            .send(queued)
            .map_err(|_| Error::InvalidInput("job worker has stopped".into()))?;
        Ok(JobHandle {
            events: erx,
            control,
        })
    }
}

impl Drop for JobQueue {
    /// Lets queued jobs finish, then joins the worker.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.worker.take() {
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
