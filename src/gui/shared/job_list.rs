//! The window's record of jobs: each job the background service took on (or the window
//! submitted itself), its latest progress, notes and failures, drained from its event channel
//! once per frame. Kinds the Jobs tab lists ([`JobKind::listed`]: scans, maps, retagging,
//! write-back, refits, training, downloads) are [`JobList::entries`]; the quick ones (model
//! loads, GPU probes) are followed too, in [`JobList::unlisted`].

use std::time::{Duration, Instant};

use crate::jobs::{JobEvent, JobHandle, JobId, Progress, Service, ServiceNews};

pub use crate::jobs::JobKind;

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
    /// Its number.
    pub id: JobId,
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
    /// The jobs the Jobs tab lists.
    pub entries: Vec<JobEntry>,
    /// Jobs of kinds the Jobs tab does not list (model loads, GPU probes).
    pub unlisted: Vec<JobEntry>,
}

/// Something the app should react to.
#[derive(Debug, Clone, PartialEq)]
pub enum JobNews {
    /// A job of this kind made progress (rows may have changed).
    Progressed(JobKind),
    /// A job of this kind ended.
    Ended(JobKind, JobState),
    /// A task ended without a value: "<task>: internal error: <message>".
    TaskFailed(String),
}

impl JobList {
    /// Adds a submitted job.
    pub fn push(&mut self, name: String, kind: JobKind, handle: JobHandle) {
        let entry = JobEntry {
            id: handle.id,
            name,
            kind,
            handle,
            state: JobState::Queued,
            progress: None,
            note: None,
            failures: Vec::new(),
            submitted: Instant::now(),
            took: None,
        };
        if kind.listed() {
            self.entries.push(entry);
        } else {
            self.unlisted.push(entry);
        }
    }

    /// Takes the jobs `service` was given since the last call, then reads every pending event
    /// (never waits), and says what changed — including tasks of `service` that failed.
    pub fn follow(&mut self, service: &Service) -> Vec<JobNews> {
        let mut failed = Vec::new();
        for news in service.take_news() {
            match news {
                ServiceNews::Submitted(job) => self.push(job.name, job.kind, job.handle),
                ServiceNews::TaskFailed { name, message } => {
                    failed.push(JobNews::TaskFailed(format!("{name}: {message}")));
                }
            }
        }
        failed.extend(self.drain());
        failed
    }

    /// Reads every pending event (never waits) and says what changed.
    pub fn drain(&mut self) -> Vec<JobNews> {
        let mut news = Vec::new();
        for job in self.entries.iter_mut().chain(&mut self.unlisted) {
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

    /// The job numbered `id`, listed or not.
    pub fn get(&self, id: JobId) -> Option<&JobEntry> {
        self.entries
            .iter()
            .chain(&self.unlisted)
            .find(|j| j.id == id)
    }

    /// Where the job numbered `id` is in [`entries`](Self::entries) (what
    /// [`Command::CancelJob`](crate::gui::shared::command::Command::CancelJob) names).
    pub fn index_of(&self, id: JobId) -> Option<usize> {
        self.entries.iter().position(|j| j.id == id)
    }

    /// Whether a job of `kind` is queued or running.
    pub fn active(&self, kind: JobKind) -> bool {
        self.entries
            .iter()
            .chain(&self.unlisted)
            .any(|j| j.kind == kind && !j.state.finished())
    }

    /// Whether any job, listed or not, is queued or running.
    pub fn busy(&self) -> bool {
        self.entries
            .iter()
            .chain(&self.unlisted)
            .any(|j| !j.state.finished())
    }

    /// The first unfinished listed job, if any.
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

    #[test]
    fn follow_takes_every_job_of_the_service_and_lists_the_long_ones() {
        let service = Service::new();
        let mut list = JobList::default();
        let download = service
            .submit(JobKind::Download, "Download m", |ctx| {
                ctx.progress(2, 2);
                Ok("installed".into())
            })
            .unwrap();
        service
            .submit(JobKind::GpuProbe, "Probe", |_| Ok("one GPU".into()))
            .unwrap();
        assert!(service.has_news(), "two jobs to take");
        let mut task = service.task("earmark-test-list", || -> u8 { panic!("gone") }, || {});
        let mut news = Vec::new();
        for _ in 0..4000 {
            let _ = task.poll();
            news.extend(list.follow(&service));
            let started = list.entries.len() + list.unlisted.len() == 2;
            let ended = !list.active(JobKind::Download) && !list.active(JobKind::GpuProbe);
            if started && ended && task.failure().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        news.extend(list.follow(&service));
        assert!(!list.busy() && !service.has_news());
        assert_eq!(list.entries.len(), 1, "a probe is not listed");
        assert_eq!(list.index_of(download.id), Some(0));
        let entry = list.get(download.id).unwrap();
        assert_eq!(entry.state, JobState::Done("installed".into()));
        assert_eq!(entry.progress.as_ref().map(|p| p.done), Some(2));
        assert_eq!(list.unlisted[0].state, JobState::Done("one GPU".into()));
        assert!(
            news.contains(&JobNews::TaskFailed(
                "earmark-test-list: internal error: gone".into()
            )),
            "{news:?}"
        );
    }
}
