//! The window's typed handle on the background service's task lane ([`crate::jobs::task`]):
//! one-shot work (reading the index, decoding a file, a search) whose result the UI polls once
//! per frame, never waiting. A task asks for a repaint when its result is there.
//!
//! Every task runs on the window's service ([`Task::on`]), so a task that panicked is reported
//! through the same news as the jobs (the app turns it into a notice). The work's panic is
//! contained: [`Task::poll`] and [`poll_slot`] end the task without a value,
//! [`Task::poll_result`] gives it as an `Err`, and a task that panicked is not started again
//! under the same name for [`RETRY_AFTER`].

use eframe::egui;

use crate::error::Result;
use crate::jobs::{self, Service};

pub use crate::jobs::RETRY_AFTER;

/// A result on its way from the task lane.
#[derive(Debug)]
pub struct Task<T> {
    inner: jobs::Task<T>,
}

impl<T: Send + 'static> Task<T> {
    /// Runs `work` on `service`'s task lane, on a thread named `name`; `ctx` is asked to
    /// repaint when it is done.
    pub fn on(
        service: &Service,
        name: &str,
        ctx: &egui::Context,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        let ctx = ctx.clone();
        Task {
            inner: service.task(name, work, move || ctx.request_repaint()),
        }
    }

    /// A task whose result is already known.
    pub fn ready(value: T) -> Self {
        Task {
            inner: jobs::Task::ready(value),
        }
    }

    /// The result, once: `Some` the first time it is polled after the work finished. A task
    /// that failed instead (it panicked) gives `None`, [`failure`](Self::failure) says why, and
    /// its service is told.
    pub fn poll(&mut self) -> Option<T> {
        self.inner.poll()
    }

    /// Why the task ended without a result ("internal error: …"), once it has.
    pub fn failure(&self) -> Option<&str> {
        self.inner.failure()
    }
}

impl<V: Send + 'static> Task<Result<V>> {
    /// Like [`poll`](Self::poll), but a task that failed (it panicked) gives its failure as an
    /// [`crate::Error::Internal`], to be shown where the caller shows its other errors.
    pub fn poll_result(&mut self) -> Option<Result<V>> {
        self.inner.poll_result()
    }
}

/// Polls an optional task: its result when ready (the slot then empties). A task that failed
/// empties the slot too, its failure reported to its service.
pub fn poll_slot<T: Send + 'static>(slot: &mut Option<Task<T>>) -> Option<T> {
    let task = slot.as_mut()?;
    let value = task.poll();
    if value.is_some() || task.failure().is_some() {
        *slot = None;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::ServiceNews;
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

    /// The failures `service` reported since the last call: "<task>: <message>".
    fn failures(service: &Service) -> Vec<String> {
        service
            .take_news()
            .into_iter()
            .filter_map(|news| match news {
                ServiceNews::TaskFailed { name, message } => Some(format!("{name}: {message}")),
                ServiceNews::Submitted(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_panicking_task_ends_failed_with_its_message_instead_of_never_being_ready() {
        let service = Service::new();
        let ctx = egui::Context::default();
        let mut slot = Some(Task::on(&service, "earmark-test-panic", &ctx, || -> u32 {
            panic!("the index was not there")
        }));
        assert_eq!(settle(&mut slot), None);
        assert!(slot.is_none(), "a failed task empties its slot");
        let failed = failures(&service);
        assert_eq!(
            failed,
            vec!["earmark-test-panic: internal error: the index was not there".to_string()]
        );
        // The next task runs and delivers as usual.
        let mut slot = Some(Task::on(&service, "earmark-test-next", &ctx, || 5_u32));
        assert_eq!(settle(&mut slot), Some(5));
        // Asked for again at once (a panel asks each frame), the task that panicked is not run
        // again and not noticed again: it ends at once with its failure.
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&ran);
        let mut again = Task::on(&service, "earmark-test-panic", &ctx, move || {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            1_u32
        });
        assert_eq!(again.poll(), None);
        assert_eq!(
            again.failure(),
            Some("internal error: the index was not there")
        );
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        assert!(failures(&service).is_empty(), "a repeat is noticed once");
    }

    #[test]
    fn a_task_on_a_service_reports_its_failure_there() {
        let service = Service::new();
        let ctx = egui::Context::default();
        let mut slot = Some(Task::on(&service, "earmark-test-own", &ctx, || -> u8 {
            panic!("own lane")
        }));
        assert_eq!(settle(&mut slot), None);
        let news = service.take_news();
        assert!(
            matches!(news.as_slice(), [ServiceNews::TaskFailed { name, message }]
                if name == "earmark-test-own" && message == "internal error: own lane"),
            "{news:?}"
        );
        let mut ok = Task::ready(Ok::<u8, crate::Error>(1));
        assert_eq!(ok.poll_result().map(|r| r.ok()), Some(Some(1)));
    }
}
