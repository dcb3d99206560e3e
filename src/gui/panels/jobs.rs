//! The Jobs panel: every job of this session with its progress, ETA, the item in hand, pause,
//! resume and cancel, and the items that failed with their reasons.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::{JobState, format_eta};

/// Draws the panel.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    if app.shared.jobs.entries.is_empty() {
        ui.weak("No jobs yet. Scans and map computations run here, in the background.");
        return;
    }
    let mut commands = Vec::new();
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            for (i, job) in app.shared.jobs.entries.iter().enumerate().rev() {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal(|ui| {
                        ui.strong(&job.name);
                        let paused = job.handle.control.is_paused();
                        let state = match &job.state {
                            JobState::Queued => "queued".to_string(),
                            JobState::Running if paused => "paused".to_string(),
                            JobState::Running => "running".to_string(),
                            JobState::Done(_) => "done".to_string(),
                            JobState::Cancelled => "cancelled".to_string(),
                            JobState::Failed(_) => "failed".to_string(),
                        };
                        ui.weak(state);
                        if !job.state.finished() {
                            if ui.button(if paused { "Resume" } else { "Pause" }).clicked() {
                                commands.push(Command::TogglePauseJob(i));
                            }
                            if ui.button("Cancel").clicked() {
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
                        let eta = match (job.state.finished(), p.eta) {
                            (false, Some(e)) => format!(" · ETA {}", format_eta(e)),
                            _ => String::new(),
                        };
                        ui.add(
                            egui::ProgressBar::new(fraction)
                                .text(format!("{}/{} · {} failed{eta}", p.done, p.total, p.failed)),
                        );
                        if !job.state.finished()
                            && let Some(c) = &p.current
                        {
                            ui.small(c);
                        }
                    }
                    if let Some(n) = &job.note
                        && !job.state.finished()
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
                        egui::CollapsingHeader::new(format!(
                            "{} files could not be read",
                            job.failures.len()
                        ))
                        .id_salt(("failures", i))
                        .show(ui, |ui| {
                            for (item, reason) in &job.failures {
                                ui.label(item);
                                ui.colored_label(
                                    ui.visuals().warn_fg_color,
                                    format!("   {reason}"),
                                );
                            }
                        });
                    }
                });
            }
        });
    for c in commands {
        app.push(c);
    }
}
