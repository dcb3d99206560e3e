//! Background tasks: one-shot work (reading the index, decoding a file, a search) on a named
//! thread, whose result the UI polls once per frame. The UI never waits for one.

use crossbeam_channel::Receiver;

use crate::jobs::spawn_named;

/// A result on its way from a worker thread.
#[derive(Debug)]
pub struct Task<T> {
    rx: Receiver<T>,
}

impl<T: Send + 'static> Task<T> {
    /// Runs `work` on a thread named `name`; `ctx` is asked to repaint when it is done.
    pub fn spawn(
        name: &str,
        ctx: &eframe::egui::Context,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let ctx = ctx.clone();
        let started = spawn_named(name, move || {
            let _ = tx.send(work());
            ctx.request_repaint();
        });
        if let Err(e) = started {
            // No thread: the task never delivers; say so where the result would have gone.
            log_task_error(name, &e.to_string());
        }
        Task { rx }
    }

    /// Runs `work` on a thread named `name` without waking the UI (it polls on its own).
    pub fn spawn_detached(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if let Err(e) = spawn_named(name, move || {
            let _ = tx.send(work());
        }) {
            log_task_error(name, &e.to_string());
        }
        Task { rx }
    }

    /// A task whose result is already known.
    pub fn ready(value: T) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let _ = tx.send(value);
        Task { rx }
    }

    /// The result, once: `Some` the first time it is polled after the work finished.
    pub fn poll(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

fn log_task_error(name: &str, reason: &str) {
    eprintln!("earmark: cannot start task {name}: {reason}");
}

/// Polls an optional task: its result when ready (the slot then empties).
pub fn poll_slot<T: Send + 'static>(slot: &mut Option<Task<T>>) -> Option<T> {
    let value = slot.as_mut()?.poll()?;
    *slot = None;
    Some(value)
}
