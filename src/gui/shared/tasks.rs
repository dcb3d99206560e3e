//! Background tasks: one-shot work (reading the index, decoding a file, a search) on a named
//! thread, whose result the UI polls once per frame. The UI never waits for one.
//!
//! The work runs through [`run_caught`]: a task that panics (or whose thread could not start)
//! still ends. [`Task::poll_result`] delivers that as an `Err` where the result is a
//! [`crate::Result`]; [`Task::poll`] and [`poll_slot`] end the task without a value and keep
//! "<task>: internal error: <message>" for the window's notices ([`take_failures`]), so no
//! panel waits forever for a result that will not come.
//!
//! A task that panicked is not started again under the same name for [`RETRY_AFTER`]: a panel
//! that asks for its data again each frame would otherwise start and fail it sixty times a
//! second. Until then, starting it ends it at once with the same failure, noticed only once.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};

use crate::error::{Error, Result};
use crate::jobs::{run_caught, spawn_named};

/// Most failures kept for [`take_failures`] (older ones are dropped first).
const MAX_FAILURES: usize = 32;

/// How long a task that panicked is not started again under the same name.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Failures of tasks polled without a place for an error, until the window shows them.
static FAILURES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The last panic of each task name: when, and its message.
static PANICKED: Mutex<BTreeMap<String, (Instant, String)>> = Mutex::new(BTreeMap::new());

/// Why a task has no value.
#[derive(Debug)]
struct Failure {
    message: String,
    /// Not run: the same task panicked moments ago (and was noticed then).
    repeat: bool,
}

/// The message of the panic of task `name` less than [`RETRY_AFTER`] ago.
fn recent_panic(name: &str) -> Option<String> {
    let panicked = PANICKED.lock().unwrap_or_else(PoisonError::into_inner);
    let (when, message) = panicked.get(name)?;
    (when.elapsed() < RETRY_AFTER).then(|| message.clone())
}

/// A result on its way from a worker thread.
#[derive(Debug)]
pub struct Task<T> {
    name: String,
    /// The work's value, or why there is none.
    rx: Receiver<std::result::Result<T, Failure>>,
    /// Why the task ended without a value, once polled.
    failure: Option<String>,
}

impl<T: Send + 'static> Task<T> {
    /// Runs `work` on a thread named `name`; `ctx` is asked to repaint when it is done.
    pub fn spawn(
        name: &str,
        ctx: &eframe::egui::Context,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        let ctx = ctx.clone();
        Self::start(name, work, move || ctx.request_repaint())
    }

    /// Runs `work` on a thread named `name` without waking the UI (it polls on its own).
    pub fn spawn_detached(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Self {
        Self::start(name, work, || {})
    }

    fn start(
        name: &str,
        work: impl FnOnce() -> T + Send + 'static,
        done: impl FnOnce() + Send + 'static,
    ) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let task = Task {
            name: name.to_owned(),
            rx,
            failure: None,
        };
        if let Some(message) = recent_panic(name) {
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
                PANICKED
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

    /// A task whose result is already known.
    pub fn ready(value: T) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let _ = tx.send(Ok(value));
        Task {
            name: String::new(),
            rx,
            failure: None,
        }
    }

    /// The result, once: `Some` the first time it is polled after the work finished. A task
    /// that failed instead (it panicked) gives `None`, [`failure`](Self::failure) says why, and
    /// the failure is kept for [`take_failures`].
    pub fn poll(&mut self) -> Option<T> {
        match self.poll_outcome()? {
            Ok(value) => Some(value),
            Err((e, repeat)) => {
                if !repeat {
                    keep_failure(format!("{}: {e}", self.name));
                }
                None
            }
        }
    }

    /// Why the task ended without a result ("internal error: …"), once it has.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The work's value or, once, why there is none (and whether that was noticed before).
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
    /// [`Error::Internal`], to be shown where the caller shows its other errors.
    pub fn poll_result(&mut self) -> Option<Result<V>> {
        self.poll_outcome().map(|o| o.map_err(|(e, _)| e).flatten())
    }
}

/// Polls an optional task: its result when ready (the slot then empties). A task that failed
/// empties the slot too, its failure kept for [`take_failures`].
pub fn poll_slot<T: Send + 'static>(slot: &mut Option<Task<T>>) -> Option<T> {
    let task = slot.as_mut()?;
    let value = task.poll();
    if value.is_some() || task.failure.is_some() {
        *slot = None;
    }
    value
}

fn keep_failure(message: String) {
    eprintln!("earmark: task {message}");
    let mut failures = FAILURES.lock().unwrap_or_else(PoisonError::into_inner);
    if failures.len() >= MAX_FAILURES {
        failures.remove(0);
    }
    failures.push(message);
}

/// The failures of tasks that ended without a result since the last call, oldest first, for
/// the window to show.
pub fn take_failures() -> Vec<String> {
    std::mem::take(&mut *FAILURES.lock().unwrap_or_else(PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Polls until the slot empties (the task delivered or failed); fails after 20 s.
    fn settle<T: Send + 'static>(slot: &mut Option<Task<T>>) -> Option<T> {
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

    #[test]
    fn a_panicking_task_ends_failed_with_its_message_instead_of_never_being_ready() {
        let mut slot = Some(Task::spawn_detached("earmark-test-panic", || -> u32 {
            panic!("the index was not there")
        }));
        assert_eq!(settle(&mut slot), None);
        assert!(slot.is_none(), "a failed task empties its slot");
        let failures = take_failures();
        assert!(
            failures
                .iter()
                .any(|f| f == "earmark-test-panic: internal error: the index was not there"),
            "{failures:?}"
        );
        // The next task runs and delivers as usual.
        let mut slot = Some(Task::spawn_detached("earmark-test-next", || 5_u32));
        assert_eq!(settle(&mut slot), Some(5));
        // Asked for again at once (a panel asks each frame), the task that panicked is not run
        // again and not noticed again: it ends at once with its failure.
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&ran);
        let mut again = Task::spawn_detached("earmark-test-panic", move || {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            1_u32
        });
        assert_eq!(again.poll(), None);
        assert_eq!(
            again.failure(),
            Some("internal error: the index was not there")
        );
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        assert!(
            !take_failures()
                .iter()
                .any(|f| f.starts_with("earmark-test-panic")),
            "a repeat is noticed once"
        );
    }

    #[test]
    fn a_panicking_fallible_task_delivers_an_internal_error() {
        let mut task = Task::spawn_detached("earmark-test-result", || -> Result<u8> {
            let bytes: Vec<u8> = Vec::new();
            Ok(bytes[3])
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let result = loop {
            if let Some(r) = task.poll_result() {
                break r;
            }
            assert!(Instant::now() < deadline, "the task never ended");
            std::thread::sleep(Duration::from_millis(2));
        };
        let e = result.unwrap_err();
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("internal error: index out of bounds"),
            "{e}"
        );
        assert!(task.failure().is_some());
        assert!(
            task.poll_result().is_none(),
            "the failure is delivered once"
        );
        let mut ok = Task::ready(Ok::<u8, Error>(1));
        assert_eq!(ok.poll_result().map(|r| r.ok()), Some(Some(1)));
    }
}
