//! The window's record of jobs: each submitted job's handle, its latest progress, notes and
//! failures, drained from its event channel once per frame.

use std::time::{Duration, Instant};

use crate::jobs::{JobEvent, JobHandle, Progress};

/// What a job is for: the app reacts to the end of some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A library scan.
    Scan,
    /// Computing the 2-D map.
    Map,
    /// Writing tags into files, or undoing it.
    Writeback,
    /// Adding personal tag examples and refitting the tag.
    Tags,
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Waiting for the worker.
    Queued,
    /// Running.
    Running,
    /// Finished; the summary.
    Done(String),
    /// Cancelled by the user.
    Cancelled,
    /// Failed as a whole; why.
    Failed(String),
}

impl JobState {
    /// Whether the job has ended.
    pub fn finished(&self) -> bool {
        matches!(
            self,
            JobState::Done(_) | JobState::Cancelled | JobState::Failed(_)
        )
    }
}

/// One job as the window knows it.
#[derive(Debug)]
pub struct JobEntry {
    /// Its name ("Scan …").
    pub name: String,
    /// What it is for.
    pub kind: JobKind,
    /// Events and control.
    pub handle: JobHandle,
    /// Where it stands.
    pub state: JobState,
    /// The latest progress.
    pub progress: Option<Progress>,
    /// The latest note.
    pub note: Option<String>,
    /// Items that failed: (item, reason).
    pub failures: Vec<(String, String)>,
    /// When it was submitted.
    pub submitted: Instant,
    /// How long it ran, once finished.
    pub took: Option<Duration>,
}

/// All jobs of this session, newest last.
#[derive(Debug, Default)]
pub struct JobList {
    /// The jobs.
    pub entries: Vec<JobEntry>,
}

/// Something the app should react to.
#[derive(Debug, Clone, PartialEq)]
pub enum JobNews {
    /// A job of this kind made progress (rows may have changed).
    Progressed(JobKind),
    /// A job of this kind ended.
    Ended(JobKind, JobState),
}

impl JobList {
    /// Adds a submitted job.
    pub fn push(&mut self, name: String, kind: JobKind, handle: JobHandle) {
        self.entries.push(JobEntry {
            name,
            kind,
            handle,
            state: JobState::Queued,
            progress: None,
            note: None,
            failures: Vec::new(),
            submitted: Instant::now(),
            took: None,
        });
    }

    /// Reads every pending event (never waits) and says what changed.
    pub fn drain(&mut self) -> Vec<JobNews> {
        let mut news = Vec::new();
        for job in &mut self.entries {
            while let Ok(event) = job.handle.events.try_recv() {
                match event {
                    JobEvent::Started { .. } => job.state = JobState::Running,
                    JobEvent::Note(n) => job.note = Some(n),
                    JobEvent::Progress(p) => {
                        job.progress = Some(p);
                        news.push(JobNews::Progressed(job.kind));
                    }
                    JobEvent::ItemFailed { item, reason } => job.failures.push((item, reason)),
                    JobEvent::Done { summary } => job.state = JobState::Done(summary),
                    JobEvent::Cancelled => job.state = JobState::Cancelled,
                    JobEvent::Failed { reason } => job.state = JobState::Failed(reason),
                }
                if job.state.finished() && job.took.is_none() {
                    job.took = Some(job.submitted.elapsed());
                    news.push(JobNews::Ended(job.kind, job.state.clone()));
                }
            }
        }
        news.dedup();
        news
    }

    /// Whether a job of `kind` is queued or running.
    pub fn active(&self, kind: JobKind) -> bool {
        self.entries
            .iter()
            .any(|j| j.kind == kind && !j.state.finished())
    }

    /// The first unfinished job, if any.
    pub fn current(&self) -> Option<&JobEntry> {
        self.entries.iter().find(|j| !j.state.finished())
    }
}

/// "1 m 05 s" style.
pub use crate::jobs::format_duration as format_eta;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobQueue;

    #[test]
    fn drain_follows_a_job_to_its_end() {
        let q = JobQueue::new().unwrap();
        let mut list = JobList::default();
        let h = q
            .submit("t", |ctx| {
                ctx.events.send(JobEvent::ItemFailed {
                    item: "a.wav".into(),
                    reason: "bad".into(),
                });
                Ok("one".into())
            })
            .unwrap();
        list.push("t".into(), JobKind::Scan, h);
        let mut news = Vec::new();
        for _ in 0..200 {
            news.extend(list.drain());
            if !list.active(JobKind::Scan) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            news.last(),
            Some(&JobNews::Ended(JobKind::Scan, JobState::Done("one".into())))
        );
        assert_eq!(
            list.entries[0].failures,
            vec![("a.wav".into(), "bad".into())]
        );
        assert_eq!(format_eta(Duration::from_secs(65)), "1 m 05 s");
    }
}
