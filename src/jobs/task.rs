//! The service's task lane: one-shot quick work (reading the index, decoding a file, a search, a
//! model's description) on a named thread of its own, whose typed result its owner polls (the
//! window does, once per frame, and never waits). Tasks are not listed in the Jobs tab.
//!
//! The work runs through [`run_caught`]: a task that panicked (or whose thread could not start)
//! still ends. [`Task::poll_result`] delivers that as an `Err` where the result is a
//! [`crate::Result`]; [`Task::poll`] ends the task without a value and tells the service
//! ([`ServiceNews::TaskFailed`], "internal error: <message>"), so nobody waits forever for a
//! result that will not come.
//!
//! A task that panicked is not started again under the same name for [`RETRY_AFTER`]: a panel
//! that asks for its data again each frame would otherwise start and fail it sixty times a
//! second. Until then, starting it ends it at once with the same failure, reported only once.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::guard::run_caught;
use super::queue::spawn_named;
use super::service::{Service, ServiceNews};
use crate::error::{Error, Result};

/// How long a task that panicked is not started again under the same name.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why a task has no value.
#[derive(Debug)]
struct Failure {
    message: String,
    /// Not run: the same task panicked moments ago (and was reported then).
    repeat: bool,
}

/// A typed result on its way from the task lane.
#[derive(Debug)]
pub struct Task<T> {
    name: String,
    /// The work's value, or why there is none.
    rx: Receiver<std::result::Result<T, Failure>>,
    /// Why the task ended without a value, once polled.
    failure: Option<String>,
    /// Where a failure nobody else shows is reported.
    news: Option<Sender<ServiceNews>>,
}

impl Service {
    /// Runs `work` on the task lane, on a thread named `name`; `done` is called on that thread
    /// once the result is there (the window asks for a repaint).
    pub fn task<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce() -> T + Send + 'static,
        done: impl FnOnce() + Send + 'static,
    ) -> Task<T> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let task = Task {
            name: name.to_owned(),
            rx,
            failure: None,
            news: Some(self.news_sender()),
        };
        let panicked = self.panicked();
        let recent = {
            let panicked = panicked.lock().unwrap_or_else(PoisonError::into_inner);
            panicked
                .get(name)
                .filter(|(when, _)| when.elapsed() < RETRY_AFTER)
                .map(|(_, message)| message.clone())
        };
        if let Some(message) = recent {
            let _ = tx.send(Err(Failure {
                message,
                repeat: true,
            }));
            return task;
        }
        let no_thread = tx.clone();
        let owned = name.to_owned();
        let started = spawn_named(name, move || {
            let outcome = run_caught(work).map_err(|p| {
                panicked
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(owned, (Instant::now(), p.message.clone()));
                Failure {
                    message: p.message,
                    repeat: false,
                }
            });
            let _ = tx.send(outcome);
            done();
        });
        if let Err(e) = started {
            // No thread, so no result: the task has ended already.
            let _ = no_thread.send(Err(Failure {
                message: e.to_string(),
                repeat: false,
            }));
        }
        task
    }
}

impl<T: Send + 'static> Task<T> {
    /// A task whose result is already known.
    pub fn ready(value: T) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let _ = tx.send(Ok(value));
        Task {
            name: String::new(),
            rx,
            failure: None,
            news: None,
        }
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The result, once: `Some` the first time it is polled after the work finished. A task
    /// that failed instead (it panicked) gives `None`, [`failure`](Self::failure) says why, and
    /// the service is told ("<name>: internal error: <message>").
    pub fn poll(&mut self) -> Option<T> {
        match self.poll_outcome()? {
            Ok(value) => Some(value),
            Err((e, repeat)) => {
                if !repeat {
                    eprintln!("earmark: task {}: {e}", self.name);
                    if let Some(news) = &self.news {
                        let _ = news.send(ServiceNews::TaskFailed {
                            name: self.name.clone(),
                            message: e.to_string(),
                        });
                    }
                }
                None
            }
        }
    }

    /// Why the task ended without a result ("internal error: …"), once it has.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The work's value or, once, why there is none (and whether that was reported before).
    fn poll_outcome(&mut self) -> Option<std::result::Result<T, (Error, bool)>> {
        if self.failure.is_some() {
            return None;
        }
        let outcome = match self.rx.try_recv() {
            Ok(outcome) => outcome,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err(Failure {
                message: "the task stopped without a result".into(),
                repeat: false,
            }),
        };
        let outcome = outcome.map_err(|f| (Error::Internal(f.message), f.repeat));
        if let Err((e, _)) = &outcome {
            self.failure = Some(e.to_string());
        }
        Some(outcome)
    }
}

impl<V: Send + 'static> Task<Result<V>> {
    /// Like [`poll`](Self::poll), but a task that failed (it panicked) gives its failure as an
    /// [`Error::Internal`], to be shown where the caller shows its other errors (the service is
    /// not told).
    pub fn poll_result(&mut self) -> Option<Result<V>> {
        self.poll_outcome().map(|o| o.map_err(|(e, _)| e).flatten())
    }
}

/// Polls an optional task: its result when ready (the slot then empties). A task that failed
/// empties the slot too, its failure reported to the service.
pub fn poll_slot<T: Send + 'static>(slot: &mut Option<Task<T>>) -> Option<T> {
    let task = slot.as_mut()?;
    let value = task.poll();
    if value.is_some() || task.failure.is_some() {
        *slot = None;
    }
    value
}

/// What the task lane's tests (here and in the window) share.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Polls until the slot empties (the task delivered or failed); fails after 20 s.
    pub(crate) fn settle<T: Send + 'static>(slot: &mut Option<Task<T>>) -> Option<T> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = poll_slot(slot);
            if value.is_some() || slot.is_none() {
                return value;
            }
            assert!(Instant::now() < deadline, "the task never ended");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The failures `service` reported since the last call: "<task>: <message>".
    pub(crate) fn task_failures(service: &Service) -> Vec<String> {
        service
            .take_news()
            .into_iter()
            .filter_map(|n| match n {
                ServiceNews::TaskFailed { name, message } => Some(format!("{name}: {message}")),
                ServiceNews::Submitted(_) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::testing::{settle, task_failures};

    #[test]
    fn a_panicking_task_is_reported_once_and_the_next_task_runs() {
        let service = Service::new();
        let mut slot = Some(service.task("t-panic", || -> u32 { panic!("gone") }, || {}));
        assert_eq!(settle(&mut slot), None);
        assert_eq!(task_failures(&service), ["t-panic: internal error: gone"]);
        let mut slot = Some(service.task("t-next", || 5_u32, || {}));
        assert_eq!(settle(&mut slot), Some(5));
        // Asked for again at once, it is not run again and not reported again.
        let mut again = Some(service.task("t-panic", || 1_u32, || {}));
        assert_eq!(settle(&mut again), None);
        assert!(task_failures(&service).is_empty());
        // Another service has its own record.
        let other = Service::new();
        let mut fresh = Some(other.task("t-panic", || 2_u32, || {}));
        assert_eq!(settle(&mut fresh), Some(2));
    }

    #[test]
    fn a_failed_fallible_task_gives_its_error_to_its_owner_only() {
        let service = Service::new();
        let mut task = service.task("t-result", || -> Result<u8> { panic!("bad {}", 1) }, || {});
        let deadline = Instant::now() + Duration::from_secs(20);
        let result = loop {
            if let Some(r) = task.poll_result() {
                break r;
            }
            assert!(Instant::now() < deadline, "the task never ended");
            std::thread::sleep(Duration::from_millis(2));
        };
        assert_eq!(result.unwrap_err().to_string(), "internal error: bad 1");
        assert!(task.poll_result().is_none(), "delivered once");
        assert!(task_failures(&service).is_empty());
    }
}
