//! What a job reports while it runs, and the sink it reports through.
//!
//! Progress events are dropped when the receiver lags (the next one supersedes them); failures
//! and the final event are always delivered.

use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

/// Counts, current item and estimated time left.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Items finished (succeeded or failed).
    pub done: usize,
    /// Items in all.
    pub total: usize,
    /// Items that failed so far.
    pub failed: usize,
    /// The item being worked on.
    pub current: Option<String>,
    /// Time since the job's items started.
    pub elapsed: Duration,
    /// Estimated time left (from the rate so far), once something is done.
    pub eta: Option<Duration>,
}

/// An event from a running job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    /// The job started; `name` says which.
    Started {
        /// The job's name.
        name: String,
    },
    /// A free-form note (a phase began, what was found).
    Note(String),
    /// Counts moved on.
    Progress(Progress),
    /// One item failed; the job goes on.
    ItemFailed {
        /// The item (a file path).
        item: String,
        /// Why.
        reason: String,
    },
    /// The job finished; `summary` says what it did.
    Done {
        /// A one-line summary.
        summary: String,
    },
    /// The job stopped because it was cancelled.
    Cancelled,
    /// The job as a whole failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Where a job sends its events.
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: Sender<JobEvent>,
}

impl EventSink {
    /// A sink sending into `tx`.
    pub fn new(tx: Sender<JobEvent>) -> Self {
        EventSink { tx }
    }

    /// Sends an event that must arrive (waits for room; a gone receiver is ignored).
    pub fn send(&self, event: JobEvent) {
        let _ = self.tx.send(event);
    }

    /// Sends progress unless the receiver is behind.
    pub fn progress(&self, p: Progress) {
        let _ = self.tx.try_send(JobEvent::Progress(p));
    }
}

/// A time left or taken for people: "1 h 02 m", "3 m 05 s", "12 s".
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{} h {:02} m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} m {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// Keeps counts and derives the ETA from the average time per item so far.
#[derive(Debug, Clone)]
pub struct ProgressTracker {
    started: Instant,
    total: usize,
    done: usize,
    failed: usize,
}

impl ProgressTracker {
    /// Starts counting `total` items now.
    pub fn new(total: usize) -> Self {
        ProgressTracker {
            started: Instant::now(),
            total,
            done: 0,
            failed: 0,
        }
    }

    /// Marks one item finished.
    pub fn finish_item(&mut self, failed: bool) {
        self.done += 1;
        if failed {
            self.failed += 1;
        }
    }

    /// Items finished.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Items failed.
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// The progress now, with `current` as the item in hand.
    pub fn snapshot(&self, current: Option<String>) -> Progress {
        let elapsed = self.started.elapsed();
        let eta = (self.done > 0).then(|| {
            let per = elapsed.as_secs_f64() / self.done as f64;
            Duration::from_secs_f64(per * self.total.saturating_sub(self.done) as f64)
        });
        Progress {
            done: self.done,
            total: self.total,
            failed: self.failed,
            current,
            elapsed,
            eta,
        }
    }
}
