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
        let heading = match job.kind {
            // Write-back's failures are files not tagged (unsupported, read-only, changed), not
            // unreadable ones.
            crate::jobs::JobKind::Writeback => format!(
                "{} not tagged",
                crate::wording::count(job.failures.len(), "file")
            ),
            _ => format!("{} files could not be read", job.failures.len()),
        };
        egui::CollapsingHeader::new(heading)
            .id_salt(("failures", i))
            .show(ui, |ui| {
                for (item, reason) in &job.failures {
                    ui.label(item);
                    ui.colored_label(ui.visuals().warn_fg_color, format!("   {reason}"));
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::app::{AppOptions, EarmarkApp};
    use crate::gui::shared::state::UiState;
    use crate::jobs::JobKind;
    use egui_kittest::Harness;
    use egui_kittest::kittest::{NodeT, Queryable};

    /// The tab drawn from a window's shared state, and the commands it gave back.
    struct Tab {
        app: EarmarkApp,
        panel: JobsPanel,
        commands: Vec<Command>,
    }

    /// Follows the service until `done` holds (20 s at most).
    fn follow_until(tab: &mut Tab, done: impl Fn(&Tab) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !done(tab) {
            assert!(
                std::time::Instant::now() < deadline,
                "the jobs never got there"
            );
            tab.app.shared.jobs.follow(&tab.app.shared.service);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn a_running_job_shows_its_bar_pause_and_cancel_and_the_buttons_give_commands() {
        let dir = tempfile::tempdir().unwrap();
        let opts = AppOptions {
            library: Some(dir.path().join("library.sqlite")),
            ..AppOptions::default()
        };
        let app = EarmarkApp::with_state(UiState::default(), opts);
        let (gate, wait) = crossbeam_channel::bounded::<()>(0);
        for (kind, name) in [
            (JobKind::Download, "Download m"),
            (JobKind::GpuProbe, "Probe"),
        ] {
            let wait = wait.clone();
            app.shared
                .service
                .submit(kind, name, move |ctx| {
                    ctx.progress(1, 4);
                    let _ = wait.recv();
                    ctx.checkpoint()?;
                    Ok("fetched".into())
                })
                .unwrap();
        }
        let mut tab = Tab {
            app,
            panel: JobsPanel,
            commands: Vec::new(),
        };
        follow_until(&mut tab, |t| {
            let jobs = &t.app.shared.jobs;
            jobs.entries.len() == 1
                && jobs.entries[0].progress.is_some()
                && jobs.unlisted.len() == 1
        });
        let mut h = Harness::new_ui_state(
            |ui, t: &mut Tab| {
                let commands = t.panel.ui(ui, &ViewCtx::new(&t.app.shared));
                t.commands.extend(commands);
            },
            tab,
        );
        h.run_steps(2);
        h.get_by_label("Download m");
        h.get_by_label("running");
        let bar = h.get_by_role(egui::accesskit::Role::ProgressIndicator);
        let node = bar.accesskit_node();
        let text = node.label().or_else(|| node.value()).unwrap_or_default();
        assert_eq!(text, "1/4 · 0 failed");
        assert!(h.query_by_label("Probe").is_none(), "a probe is not listed");
        h.get_by_label("Pause").click();
        h.run_steps(1);
        h.get_by_label("Cancel").click();
        h.run_steps(1);
        assert_eq!(
            h.state().commands,
            [Command::TogglePauseJob(0), Command::CancelJob(0)]
        );
        // What the handler does with them: the job pauses, then ends cancelled.
        let control = std::sync::Arc::clone(&h.state().app.shared.jobs.entries[0].handle.control);
        control.pause();
        h.run_steps(1);
        h.get_by_label("paused");
        h.get_by_label("Resume");
        control.cancel();
        drop(gate);
        follow_until(h.state_mut(), |t| !t.app.shared.jobs.busy());
        h.run_steps(1);
        h.get_by_label("cancelled");
        assert!(
            h.query_by_label("Cancel").is_none(),
            "an ended job has no buttons"
        );
    }
}
