//! A live session as a job of the background service: the capture and analysis keep their
//! real-time threads, and a [`JobKind::Listening`] job reports where the input device stands
//! (capturing, lost, unavailable) and analysis problems through the service's event channel,
//! until the session stops (dropping the [`LiveReport`] ends the job).

use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};

use crate::jobs::{JobKind, JobTicket, Service};
use crate::live::DeviceState;

/// How often the job looks for a cancel while nothing happens.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The reporting end of a session's listening job.
pub(super) struct LiveReport {
    notes: Sender<String>,
    ticket: JobTicket,
}

impl LiveReport {
    /// Submits the listening job for a session on `input` (the device's name, for people).
    pub(super) fn start(service: &Service, input: &str) -> crate::Result<LiveReport> {
        let (notes, inbox) = crossbeam_channel::unbounded::<String>();
        let ticket = service.submit(
            JobKind::Listening,
            &format!("Listening to {input}"),
            move |ctx| {
                loop {
                    ctx.checkpoint()?;
                    match inbox.recv_timeout(CHECK_EVERY) {
                        Ok(note) => ctx.note(note),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            return Ok("stopped".into());
                        }
                    }
                }
            },
        )?;
        Ok(LiveReport { notes, ticket })
    }

    /// Reports a change of the input device's state.
    pub(super) fn device(&self, state: &DeviceState) {
        let note = match state {
            DeviceState::Connecting => "looking for the input device".to_string(),
            DeviceState::Capturing { device, format } => format!("capturing {device} ({format})"),
            DeviceState::Lost { message } => format!("input lost, reconnecting: {message}"),
            DeviceState::Unavailable { message } => format!("no usable input: {message}"),
            DeviceState::Stopped => "stopped".to_string(),
        };
        let _ = self.notes.send(note);
    }

    /// Reports a problem of the analysis (listening goes on).
    pub(super) fn problem(&self, message: &str) {
        let _ = self.notes.send(format!("analysis: {message}"));
    }

    /// Whether the listening job was cancelled (then the session stops too).
    pub(super) fn cancelled(&self) -> bool {
        self.ticket.control.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{JobEvent, ServiceNews};

    #[test]
    fn a_session_reports_its_device_through_the_service_and_ends_when_it_stops() {
        let service = Service::new();
        let report = LiveReport::start(&service, "Null Output").unwrap();
        report.device(&DeviceState::Capturing {
            device: "Null Output".into(),
            format: "48000 Hz, 1 channel, f32".into(),
        });
        report.problem("the head could not be read");
        let id = report.ticket.id;
        assert!(!report.cancelled());
        drop(report);
        let job = service
            .take_news()
            .into_iter()
            .find_map(|n| match n {
                ServiceNews::Submitted(job) if job.handle.id == id => Some(job),
                _ => None,
            })
            .unwrap();
        assert_eq!(job.kind, JobKind::Listening);
        assert_eq!(job.name, "Listening to Null Output");
        let events: Vec<JobEvent> = job.handle.events.iter().collect();
        assert!(events.contains(&JobEvent::Note(
            "capturing Null Output (48000 Hz, 1 channel, f32)".into()
        )));
        assert!(events.contains(&JobEvent::Note(
            "analysis: the head could not be read".into()
        )));
        assert_eq!(
            events.last(),
            Some(&JobEvent::Done {
                summary: "stopped".into()
            })
        );
    }
}
