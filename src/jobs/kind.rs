//! What a job is: its [`JobKind`] decides where it runs (the library lane, its own thread or the
//! task lane), whether the Jobs tab lists it and whether it can be paused or cancelled; its
//! [`JobId`] names it for the whole process.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where a job of some kind runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// One worker ("earmark-jobs") runs these one after another: they write the library index,
    /// which has a single writer.
    Library,
    /// Each job gets a thread of its own ("earmark-<kind>"): long work that must not wait for
    /// a scan, nor hold one up (training, downloads), and short work whose answer is wanted now.
    Own,
    /// Quick reads for the window (rows, inspector data, a model's description, dialogs): a
    /// thread per task, typed result, not listed in the Jobs tab.
    Task,
}

/// What a job is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Finding and analysing the files of library folders.
    Scan,
    /// Computing the 2-D map of the library.
    Map,
    /// Applying a tag head's limits to the whole library again.
    Retag,
    /// Writing tags into the files, or undoing that.
    Writeback,
    /// Adding personal tag examples and refitting the tag.
    Refit,
    /// Training or fine-tuning a model.
    Training,
    /// Downloading and installing a model.
    Download,
    /// Reading a model's weights.
    ModelLoad,
    /// Finding out which GPU the encoder would use.
    GpuProbe,
    /// A live listening session: its capture and analysis keep their real-time threads, and the
    /// job reports where the input device stands until the session stops.
    Listening,
    /// A quick read for the window (see [`Lane::Task`]).
    Task,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 11] = [
        JobKind::Scan,
        JobKind::Map,
        JobKind::Retag,
        JobKind::Writeback,
        JobKind::Refit,
        JobKind::Training,
        JobKind::Download,
        JobKind::ModelLoad,
        JobKind::GpuProbe,
        JobKind::Listening,
        JobKind::Task,
    ];

    /// Where jobs of this kind run.
    pub fn lane(self) -> Lane {
        match self {
            JobKind::Scan | JobKind::Map | JobKind::Retag | JobKind::Writeback | JobKind::Refit => {
                Lane::Library
            }
            JobKind::Training
            | JobKind::Download
            | JobKind::ModelLoad
            | JobKind::GpuProbe
            | JobKind::Listening => Lane::Own,
            JobKind::Task => Lane::Task,
        }
    }

    /// Whether jobs of this kind change the library (the window reads its rows again after).
    pub fn writes_library(self) -> bool {
        self.lane() == Lane::Library
    }

    /// Whether the Jobs tab lists jobs of this kind (the long-running ones).
    pub fn listed(self) -> bool {
        !matches!(
            self,
            JobKind::ModelLoad | JobKind::GpuProbe | JobKind::Listening | JobKind::Task
        )
    }

    /// Whether a job of this kind stops at its checkpoints when paused.
    pub fn can_pause(self) -> bool {
        matches!(
            self,
            JobKind::Scan
                | JobKind::Map
                | JobKind::Retag
                | JobKind::Writeback
                | JobKind::Refit
                | JobKind::Training
                | JobKind::Download
        )
    }

    /// Whether a job of this kind can be cancelled (a probe or a model read is one call: it
    /// ends on its own, soon).
    pub fn can_cancel(self) -> bool {
        !matches!(self, JobKind::ModelLoad | JobKind::GpuProbe | JobKind::Task)
    }

    /// A word for people ("scan", "download").
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Scan => "scan",
            JobKind::Map => "map",
            JobKind::Retag => "retag",
            JobKind::Writeback => "write-back",
            JobKind::Refit => "refit",
            JobKind::Training => "training",
            JobKind::Download => "download",
            JobKind::ModelLoad => "model load",
            JobKind::GpuProbe => "GPU probe",
            JobKind::Listening => "listening",
            JobKind::Task => "task",
        }
    }

    /// The name of the thread a job of this kind runs on when it has one of its own.
    pub fn thread_name(self) -> String {
        format!("earmark-{}", self.label().replace(' ', "-").to_lowercase())
    }
}

/// A job's number, unique in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

impl JobId {
    /// The next unused number.
    pub fn next() -> JobId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        JobId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_running_kinds_are_listed_and_quick_ones_are_not() {
        for kind in JobKind::ALL {
            let long = matches!(
                kind,
                JobKind::Scan
                    | JobKind::Map
                    | JobKind::Retag
                    | JobKind::Writeback
                    | JobKind::Refit
                    | JobKind::Training
                    | JobKind::Download
            );
            assert_eq!(kind.listed(), long, "{kind:?}");
            assert!(!kind.can_pause() || kind.can_cancel(), "{kind:?}");
        }
        assert_eq!(JobKind::GpuProbe.thread_name(), "earmark-gpu-probe");
        assert_eq!(JobKind::Scan.lane(), Lane::Library);
        assert_eq!(JobKind::Training.lane(), Lane::Own);
        assert_ne!(JobId::next(), JobId::next());
    }
}
