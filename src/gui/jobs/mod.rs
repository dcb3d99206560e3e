//! The Jobs tab: every long-running job of this session (scans, maps, retagging, write-back,
//! personal-tag refits, training, downloads — whatever the background service runs that
//! [`JobKind::listed`](crate::jobs::JobKind::listed) says to show), newest first, with its
//! progress bar, ETA, the item in hand, Pause/Resume and Cancel where its kind supports them,
//! and the items that failed with their reasons. Pausing and cancelling come back as commands.

use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::{JobEntry, JobState, format_eta};
use crate::gui::shared::view::ViewCtx;

/// The Jobs tab (it keeps no state of its own: everything it shows is the session's job list).
#[derive(Debug, Default)]
pub struct JobsPanel;

impl JobsPanel {
    /// Draws the tab; Pause, Resume and Cancel come back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if cx.jobs.entries.is_empty() {
            ui.weak(
                "No jobs yet. Scans, maps, tagging, write-back, training and downloads run here, \
                 in the background.",
            );
            return commands;
        }
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| {
                for (i, job) in cx.jobs.entries.iter().enumerate().rev() {
                    egui::Frame::group(ui.style()).show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        job_ui(ui, i, job, &mut commands);
                    });
                }
            });
        commands
    }
}

/// Where a job stands, in a word.
fn state_word(job: &JobEntry) -> &'static str {
    match &job.state {
        JobState::Queued => "queued",
        JobState::Running if job.handle.control.is_paused() => "paused",
        JobState::Running => "running",
        JobState::Done(_) => "done",
        JobState::Cancelled => "cancelled",
        JobState::Failed(_) => "failed",
    }
}

/// One job: its name, state and buttons, its progress, its end and its failed items.
fn job_ui(ui: &mut egui::Ui, i: usize, job: &JobEntry, commands: &mut Vec<Command>) {
    let finished = job.state.finished();
    ui.horizontal(|ui| {
        ui.strong(&job.name);
        ui.weak(state_word(job));
        if !finished {
            let paused = job.handle.control.is_paused();
            if job.kind.can_pause() && ui.button(if paused { "Resume" } else { "Pause" }).clicked()
            {
                commands.push(Command::TogglePauseJob(i));
            }
            if job.kind.can_cancel() && ui.button("Cancel").clicked() {
                commands.push(Command::CancelJob(i));
            }
        }
    });
    if let Some(p) = &job.progress {
        let fraction = if p.total > 0 {
            p.done as f32 / p.total as f32
        } else {
            0.0
        };
        let eta = match (finished, p.eta) {
            (false, Some(e)) => format!(" · ETA {}", format_eta(e)),
            _ => String::new(),
        };
        ui.add(
            egui::ProgressBar::new(fraction)
                .text(format!("{}/{} · {} failed{eta}", p.done, p.total, p.failed)),
        );
        if !finished && let Some(c) = &p.current {
            ui.small(c);
        }
    }
    if let Some(n) = &job.note
        && !finished
    {
        ui.small(n);
    }
    match &job.state {
        JobState::Done(summary) => {
            let took = job
                .took
                .map(|d| format!(" ({:.1} s)", d.as_secs_f64()))
                .unwrap_or_default();
            ui.label(format!("{summary}{took}"));
        }
        JobState::Failed(reason) => {
            ui.colored_label(ui.visuals().error_fg_color, reason);
        }
        _ => {}
    }
    if !job.failures.is_empty() {
        egui::CollapsingHeader::new(format!("{} files could not be read", job.failures.len()))
            .id_salt(("failures", i))
            .show(ui, |ui| {
                for (item, reason) in &job.failures {
                    ui.label(item);
                    ui.colored_label(ui.visuals().warn_fg_color, format!("   {reason}"));
                }
            });
    }
}
