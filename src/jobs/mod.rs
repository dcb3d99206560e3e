//! Background work: a queue that runs jobs one at a time on a named worker thread, the events
//! they report (progress with counts and ETA, per-item failures, the end), and the control that
//! pauses or cancels them. Nothing here knows about any user interface: the GUI drains the
//! event channel once per frame, the CLI prints it.
//!
//! - [`queue`]: [`JobQueue`], [`JobHandle`], [`spawn_named`];
//! - [`event`]: [`JobEvent`], [`Progress`], [`EventSink`], [`ProgressTracker`];
//! - [`control`]: [`JobControl`] (cancel, pause, resume);
//! - [`guard`]: [`run_caught`], where background work runs with its panics caught.

pub mod control;
pub mod event;
pub mod guard;
pub mod queue;

pub use control::JobControl;
pub use event::{EventSink, JobEvent, Progress, ProgressTracker, format_duration};
pub use guard::{Panicked, run_caught};
pub use queue::{JobContext, JobHandle, JobQueue, spawn_named};
