//! Background work: one service that runs every job and task off the window's thread, the
//! events they report (progress with counts and ETA, per-item failures, the end), and the
//! control that pauses or cancels them. Nothing here knows about any user interface: the GUI
//! drains the service's news and the jobs' events once per frame, the CLI prints them.
//!
//! - [`service`]: [`Service`] — submit a job of a [`JobKind`], get a [`JobTicket`]; its
//!   [`ServiceNews`] tells who follows it about new jobs and failed tasks;
//! - [`kind`]: [`JobKind`] (scan, map, retag, write-back, refit, training, download, model load,
//!   GPU probe, task), the [`Lane`] each runs on, [`JobId`];
//! - [`task`]: the task lane — [`Task`], a typed one-shot result polled once per frame;
//! - [`queue`]: [`JobQueue`] (the library lane: one writer at a time), [`JobHandle`],
//!   [`JobContext`], [`spawn_named`];
//! - [`event`]: [`JobEvent`], [`Progress`], [`EventSink`], [`ProgressTracker`];
//! - [`control`]: [`JobControl`] (cancel, pause, resume);
//! - [`guard`]: [`run_caught`], where background work runs with its panics caught.
//!
//! Adding background work: long work is a job — choose its [`JobKind`] (a new kind says its
//! lane, whether the Jobs tab lists it and whether it pauses), submit it with
//! [`Service::submit`] (in the window: from the command handler), report with
//! [`JobContext::progress`] / [`JobContext::note`] and call [`JobContext::checkpoint`] between
//! items. A quick read whose value the window waits for is a task: [`Service::task`] (in the
//! window, `gui::shared::tasks::Task::on`). Never a thread of its own: only live capture keeps
//! real-time threads.

pub mod control;
pub mod event;
pub mod guard;
pub mod kind;
pub mod queue;
pub mod service;
pub mod task;

pub use control::JobControl;
pub use event::{EventSink, JobEvent, Progress, ProgressTracker, format_duration};
pub use guard::{Panicked, run_caught};
pub use kind::{JobId, JobKind, Lane};
pub use queue::{JobContext, JobHandle, JobQueue, spawn_named};
pub use service::{JobTicket, Service, ServiceNews, SubmittedJob};
pub use task::{RETRY_AFTER, Task, poll_slot};
