//! A job that panics ends "failed: internal error: <message>" instead of staying "Running"
//! forever, and the queue's worker goes on: the jobs after it run, and new ones can be
//! submitted. The window's job list shows the failure.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::{Duration, Instant};

use earmark::jobs::{JobEvent, JobQueue};

/// The events of a job to its end; fails the test after 20 s.
fn events_to_end(events: &crossbeam_channel::Receiver<JobEvent>) -> Vec<JobEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(e) => out.push(e),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return out,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                panic!("the job never ended: {out:?}")
            }
        }
    }
}

#[test]
fn a_panicking_job_fails_with_its_message_and_the_next_job_runs() {
    let queue = JobQueue::new().unwrap();
    let panicking = queue
        .submit("broken", |_| -> earmark::Result<String> {
            panic!("row {} vanished", 7)
        })
        .unwrap();
    // Queued behind the panicking one: it must still run.
    let queued = queue.submit("next", |_| Ok("ran".into())).unwrap();
    let events = events_to_end(&panicking.events);
    assert_eq!(
        events.first(),
        Some(&JobEvent::Started {
            name: "broken".into()
        })
    );
    assert_eq!(
        events.last(),
        Some(&JobEvent::Failed {
            reason: "internal error: row 7 vanished".into()
        })
    );
    assert_eq!(
        events_to_end(&queued.events).last(),
        Some(&JobEvent::Done {
            summary: "ran".into()
        })
    );
    // The worker is alive: a job submitted after the panic runs too, and so does one whose
    // panic carries a `String` payload (an `expect` on a formatted message, an index error).
    let indexed = queue
        .submit("index", |_| {
            let v: Vec<u8> = Vec::new();
            Ok(format!("{}", v[2]))
        })
        .unwrap();
    let end = events_to_end(&indexed.events).pop().unwrap();
    let JobEvent::Failed { reason } = end else {
        panic!("{end:?}")
    };
    assert!(
        reason.starts_with("internal error: index out of bounds"),
        "{reason}"
    );
    let after = queue.submit("after", |_| Ok("still here".into())).unwrap();
    assert_eq!(
        events_to_end(&after.events).last(),
        Some(&JobEvent::Done {
            summary: "still here".into()
        })
    );
}

#[cfg(feature = "gui")]
#[test]
fn the_job_list_shows_a_panicked_job_as_failed() {
    use earmark::gui::shared::job_list::{JobKind, JobList, JobState};
    let queue = JobQueue::new().unwrap();
    let mut list = JobList::default();
    let h = queue
        .submit("Scan", |_| -> earmark::Result<String> { panic!("boom") })
        .unwrap();
    list.push("Scan".into(), JobKind::Scan, h);
    let deadline = Instant::now() + Duration::from_secs(20);
    while list.active(JobKind::Scan) {
        assert!(Instant::now() < deadline, "the job stayed running");
        list.drain();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        list.entries[0].state,
        JobState::Failed("internal error: boom".into())
    );
    let h = queue.submit("Scan", |_| Ok("done".into())).unwrap();
    list.push("Scan".into(), JobKind::Scan, h);
    while list.active(JobKind::Scan) {
        assert!(Instant::now() < deadline, "the next job did not run");
        list.drain();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(list.entries[1].state, JobState::Done("done".into()));
}

#[test]
fn a_training_run_that_panics_ends_failed_with_its_message() {
    use earmark::train::trainer::{TrainEvent, TrainHandle};
    let handle = TrainHandle::spawn_with(|| panic!("the data set vanished")).unwrap();
    let first = handle
        .events()
        .recv_timeout(Duration::from_secs(20))
        .expect("a training run that panicked sent no event");
    let expected = "internal error: the data set vanished";
    assert!(
        matches!(&first, TrainEvent::Failed { reason } if reason == expected),
        "{first:?}"
    );
    let end = handle.join();
    assert!(
        matches!(&end, TrainEvent::Failed { reason } if reason == expected),
        "{end:?}"
    );
}

/// Through the one background service, for jobs of any kind (not only scans): a job that panics
/// ends "failed: internal error: <message>" and the next job of its lane runs.
#[test]
fn a_service_job_that_panics_fails_with_its_message_and_the_next_job_runs() {
    use earmark::jobs::{JobKind, Service, ServiceNews};
    let service = Service::new();
    let mut tickets = Vec::new();
    for kind in [JobKind::Writeback, JobKind::Download] {
        let broken = service
            .submit(kind, "broken", |ctx| -> earmark::Result<String> {
                ctx.progress(1, 3);
                panic!("part {} is missing", 2)
            })
            .unwrap();
        let next = service
            .submit(kind, "next", |ctx| {
                ctx.checkpoint()?;
                ctx.progress(3, 3);
                Ok("all parts".into())
            })
            .unwrap();
        tickets.push((broken.id, next.id));
    }
    let jobs: Vec<_> = service
        .take_news()
        .into_iter()
        .filter_map(|n| match n {
            ServiceNews::Submitted(job) => Some(job),
            ServiceNews::TaskFailed { .. } => None,
        })
        .collect();
    assert_eq!(jobs.len(), 4);
    for job in &jobs {
        let events = events_to_end(&job.handle.events);
        let broken = tickets.iter().any(|(b, _)| *b == job.handle.id);
        let expected = if broken {
            JobEvent::Failed {
                reason: "internal error: part 2 is missing".into(),
            }
        } else {
            JobEvent::Done {
                summary: "all parts".into(),
            }
        };
        assert_eq!(
            events.last(),
            Some(&expected),
            "{:?} {}",
            job.kind,
            job.name
        );
    }
}
