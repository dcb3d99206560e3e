//! The window's use of the background service's task lane ([`crate::jobs::Task`]): one-shot
//! work (reading the index, decoding a file, a search) whose result the UI polls once per frame,
//! never waiting. [`Task::on`] starts one on the window's service and asks for a repaint when
//! its result is there.
//!
//! A task that panicked is reported through the same news as the jobs (the app turns it into a
//! notice). The work's panic is contained: [`Task::poll`] and [`poll_slot`] end the task without
//! a value, [`Task::poll_result`] gives it as an `Err`, and a task that panicked is not started
//! again under the same name for [`RETRY_AFTER`].

use eframe::egui;

use crate::jobs::Service;

pub use crate::jobs::{RETRY_AFTER, Task, poll_slot};

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
        service.task(name, work, move || ctx.request_repaint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::ServiceNews;
    use crate::jobs::task::testing::{settle, task_failures as failures};

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
