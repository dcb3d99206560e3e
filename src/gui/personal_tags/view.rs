//! Drawing the Tags tab's left column: the tag head's threshold and top-N (saved in the
//! settings, applied to the library again on request), the personal tags, and the review list
//! of the chosen one with Accept / Reject (keys A / R act on the highlighted file, which the
//! inspector shows) and "Undo answer" (Ctrl+Z).

use eframe::egui;

use crate::gui::personal_tags::PersonalTagsPanel;
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::{JobKind, JobList, JobState};
use crate::gui::shared::view::ViewCtx;
use crate::library::tagging::source_name;
use crate::personal::ReviewItem;

impl PersonalTagsPanel {
    /// Draws the head's limits and the personal tags' review list; what the user asks for
    /// comes back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.heading("Tags");
        head_limits_ui(ui, cx, &mut commands);
        ui.separator();
        ui.heading("Personal tags");
        let tags = &cx.snapshot.personal_tags;
        if tags.is_empty() {
            ui.label(
                "No personal tags yet. Select a file (or drag a region in its spectrogram) and \
                 press \"Add tag…\" in the inspector; a few examples are enough to start.",
            );
            return commands;
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("Review:");
            let current = cx.state.review_tag.as_deref().unwrap_or_default();
            for t in tags {
                if ui.selectable_label(t == current, t).clicked() {
                    commands.push(Command::SetReviewTag(t.clone()));
                }
            }
            if self.waiting || self.review.is_some() {
                ui.spinner();
            }
        });
        if let Some(summary) = last_summary(&cx.jobs) {
            ui.weak(summary);
        }
        let Some(label) = cx.state.review_tag.clone() else {
            return commands;
        };
        if let Some(e) = &self.review_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return commands;
        }
        self.review_ui(ui, cx, label, &mut commands);
        commands
    }

    fn review_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &ViewCtx,
        label: String,
        commands: &mut Vec<Command>,
    ) {
        let items: Vec<ReviewItem> = self.open_items().into_iter().cloned().collect();
        let typing = ui.ctx().egui_wants_keyboard_input();
        let (accept_key, reject_key, undo_key) = if typing {
            (false, false, false)
        } else {
            ui.input_mut(|i| {
                (
                    i.consume_key(egui::Modifiers::NONE, egui::Key::A),
                    i.consume_key(egui::Modifiers::NONE, egui::Key::R),
                    i.consume_key(egui::Modifiers::COMMAND, egui::Key::Z),
                )
            })
        };
        let undo = self.undo_text();
        ui.horizontal_wrapped(|ui| {
            let button = ui
                .add_enabled(undo.is_some(), egui::Button::new("Undo answer"))
                .on_hover_text(match &undo {
                    Some(what) => format!("Take back \"{what}\" (Ctrl+Z)"),
                    None => "No answer to take back (Ctrl+Z)".into(),
                });
            if (button.clicked() || undo_key) && undo.is_some() {
                commands.push(Command::UndoReviewAnswer);
            }
            if let Some(what) = &undo {
                ui.weak(format!("Last answer: {what}"));
            }
        });
        if items.is_empty() {
            ui.weak("Nothing to review: every analysed file has an answer.");
            return;
        }
        ui.weak(format!(
            "Most likely `{label}` among files without an answer. A accepts, R rejects the \
             highlighted file (it is loaded in the inspector: Space plays it)."
        ));
        if !items.iter().any(|i| Some(i.file_id) == self.highlighted) {
            self.highlighted = items.first().map(|i| i.file_id);
        }
        let mut answer: Option<(i64, bool)> = None;
        let mut select: Option<i64> = None;
        egui::ScrollArea::vertical()
            .id_salt("review-list")
            .show(ui, |ui| {
                for item in &items {
                    ui.horizontal(|ui| {
                        if ui.button("Accept").on_hover_text("A").clicked() {
                            answer = Some((item.file_id, true));
                        }
                        if ui.button("Reject").on_hover_text("R").clicked() {
                            answer = Some((item.file_id, false));
                        }
                        ui.add(
                            egui::ProgressBar::new(item.probability as f32)
                                .desired_width(70.0)
                                .text(format!("{:.2}", item.probability)),
                        );
                        let row = ui
                            .selectable_label(
                                Some(item.file_id) == self.highlighted,
                                super::file_name(&item.path),
                            )
                            .on_hover_text(&item.path);
                        if row.clicked() {
                            select = Some(item.file_id);
                        }
                    });
                }
            });
        if let Some(id) = self.highlighted
            && (accept_key || reject_key)
        {
            answer = Some((id, accept_key));
        }
        if let Some(id) = select {
            self.highlighted = Some(id);
        }
        // The highlighted file is the inspected one, without a click.
        if let Some(item) = items.iter().find(|i| Some(i.file_id) == self.highlighted)
            && cx.selected.as_ref().map(|s| s.0) != Some(item.file_id)
            && answer.is_none()
        {
            commands.push(Command::Select(item.file_id, item.path.clone()));
        }
        if let Some((id, accepted)) = answer {
            commands.push(Command::ReviewAnswer(label, id, accepted));
        }
    }
}

/// The tag head's threshold and top-N (saved in the settings), and applying them again.
fn head_limits_ui(ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
    let in_force = cx.head_in_force();
    let Some((head, _)) = in_force.head() else {
        let why = in_force.why_none().unwrap_or_default();
        ui.weak(format!("{why} A head tags the library as it is scanned."));
        return;
    };
    let source = source_name(&head);
    let before = cx.settings.limits_for(&source);
    let mut limits = before;
    ui.horizontal(|ui| {
        ui.label(format!("Head {source}: keep tags from"));
        ui.add(
            egui::DragValue::new(&mut limits.threshold)
                .range(0.0..=1.0)
                .speed(0.005)
                .max_decimals(3),
        )
        .on_hover_text("Threshold");
        ui.label("top");
        ui.add(egui::DragValue::new(&mut limits.top_n).range(1..=50))
            .on_hover_text("Top-N");
        if ui
            .button("Apply to library")
            .on_hover_text("Tag every analysed file again with these limits")
            .clicked()
        {
            commands.push(Command::RetagLibrary);
        }
    });
    if limits != before {
        // Before "Apply": the retag the same frame uses the new limits.
        commands.insert(0, Command::SetHeadLimits(source, limits));
    }
}

/// The line of the latest finished tag job: a refit of a personal tag, or retagging the library
/// with the tag head ("N files tagged by …").
fn last_summary(jobs: &JobList) -> Option<String> {
    jobs.entries
        .iter()
        .rev()
        .filter(|j| matches!(j.kind, JobKind::Refit | JobKind::Retag))
        .find_map(|j| match &j.state {
            JobState::Done(s) => Some(s.clone()),
            JobState::Failed(e) => Some(format!("{}: {e}", j.name)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Service;

    /// Follows `service` until no job is busy (fails after 20 s).
    fn settle(service: &Service, jobs: &mut JobList) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            jobs.follow(service);
            if !jobs.busy() && !service.has_news() {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the jobs never ended");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn the_last_line_is_the_latest_refit_or_retag_and_never_another_job() {
        let service = Service::new();
        let mut jobs = JobList::default();
        assert_eq!(last_summary(&jobs), None);
        let submit = |kind, name: &str, summary: &'static str| {
            service
                .submit(kind, name, move |_| Ok(summary.to_string()))
                .unwrap();
        };
        submit(JobKind::Refit, "Refit `warm`", "`warm`: 4 examples");
        settle(&service, &mut jobs);
        assert_eq!(last_summary(&jobs).as_deref(), Some("`warm`: 4 examples"));
        submit(
            JobKind::Retag,
            "Retag with tiny_as",
            "12 files tagged by tiny_as",
        );
        submit(JobKind::Map, "Map", "12 files laid out");
        settle(&service, &mut jobs);
        assert_eq!(
            last_summary(&jobs).as_deref(),
            Some("12 files tagged by tiny_as")
        );
        service
            .submit(JobKind::Retag, "Retag with tiny_as", |_| {
                Err(crate::Error::Model("no analyses".into()))
            })
            .unwrap();
        settle(&service, &mut jobs);
        let line = last_summary(&jobs).unwrap_or_default();
        assert!(
            line.starts_with("Retag with tiny_as: ") && line.contains("no analyses"),
            "{line}"
        );
    }
}
