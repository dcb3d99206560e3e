//! Before a finished run's model replaces the active one: what the run measured on its own
//! held-out files, and the model's scores beside the active model's on the labelled evaluation
//! folder (k-NN precision and few-shot accuracy over its subfolders), evaluated as a background
//! task as soon as the run has ended and a folder is chosen. "Use this model" comes after them.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::TrainingPanel;
use super::checkpoints::{Comparison, compare};
use crate::gui::shared::active_model::ActiveModel;
use crate::gui::shared::command::Command;
use crate::gui::shared::tasks::Task;
use crate::gui::shared::view::ViewCtx;
use crate::jobs::Service;
use crate::wording::count;

/// What a comparison was made of: the run's model, the folder, the active model.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CompareKey {
    trained: PathBuf,
    folder: PathBuf,
    active: Option<PathBuf>,
}

/// The comparison of the finished run's model with the active one.
#[derive(Default)]
pub(super) struct CompareSlot {
    /// The comparison being made.
    task: Option<(CompareKey, Task<crate::Result<Comparison>>)>,
    /// The last comparison made, or why it failed.
    done: Option<(CompareKey, Result<Comparison, String>)>,
}

/// The active model to compare with: none when it is the run's model itself.
fn other_active(active: Option<&ActiveModel>, trained: &Path) -> Option<(String, PathBuf)> {
    active
        .filter(|m| m.path != trained)
        .map(|m| (m.name().to_string(), m.path.clone()))
}

impl TrainingPanel {
    /// What should be compared now, if anything: a finished run's model, with an evaluation
    /// folder, not compared yet with the current active model.
    fn compare_wanted(&self, cx: &ViewCtx) -> Option<CompareKey> {
        let key = CompareKey {
            trained: self.finished_model.clone()?,
            folder: self.form.eval_folder.clone()?,
            active: other_active(cx.model.active.as_ref(), self.finished_model.as_deref()?)
                .map(|(_, p)| p),
        };
        // Once the run's model is the active one, its comparison stays as it was.
        let known = self.compare.done.as_ref().is_some_and(|(k, _)| {
            k.trained == key.trained
                && k.folder == key.folder
                && (key.active.is_none() || k.active == key.active)
        });
        let busy = self.compare.task.is_some() || cx.model.task.is_some();
        (!busy && !self.running() && !known).then_some(key)
    }

    /// Asks for the comparison when it is due; takes its result when it is made.
    pub(super) fn poll_compare(&mut self, cx: &ViewCtx) -> Option<Command> {
        if let Some((key, task)) = &mut self.compare.task
            && let Some(result) = task.poll_result()
        {
            let key = key.clone();
            self.compare.task = None;
            self.compare.done = Some((key, result.map_err(|e| e.to_string())));
        }
        self.compare_wanted(cx)
            .map(|_| Command::CompareTrainedModel)
    }

    /// Evaluates the finished run's model and the active one on the evaluation folder, as a
    /// background task.
    pub fn start_compare(&mut self, service: &Service, ctx: &egui::Context, cx: &ViewCtx) {
        let Some(key) = self.compare_wanted(cx) else {
            return;
        };
        let active = other_active(cx.model.active.as_ref(), &key.trained);
        let (trained, folder) = (key.trained.clone(), key.folder.clone());
        let task = Task::on(service, "earmark-compare", ctx, move || {
            compare(&trained, active, &folder)
        });
        self.compare.task = Some((key, task));
    }

    /// Whether the comparison is being made.
    pub(super) fn comparing(&self) -> bool {
        self.compare.task.is_some()
    }

    /// The finished run's measures, the comparison, and "Use this model".
    pub(super) fn compare_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let Some(model) = self.finished_model.clone() else {
            return;
        };
        ui.separator();
        ui.strong("Before you use it");
        if let (Some(first), Some(last)) = (self.evals.first(), self.evals.last()) {
            ui.label(format!(
                "Held-out prediction loss (the run's own {}, never trained on; lower is \
                 better): {:.3} after update {} → {:.3} after update {}.",
                count(self.held_out, "file"),
                first[1],
                first[0],
                last[1],
                last[0]
            ));
        }
        match (&self.form.eval_folder, &self.compare.done) {
            (None, _) => {
                ui.label(
                    "Choose an evaluation folder (its subfolders name the classes) to compare \
                     this model with the active one before using it.",
                );
                if ui.button("Choose evaluation folder…").clicked() {
                    commands.push(Command::EvalFolderDialog);
                }
            }
            (Some(_), _) if self.comparing() => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Comparing with the active model…");
                });
            }
            (Some(folder), Some((key, result))) if &key.folder == folder => match result {
                Ok(c) => comparison_ui(ui, folder, c),
                Err(e) => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("The comparison failed: {e}"),
                    );
                }
            },
            (Some(_), _) => {}
        }
        if ui
            .button("Use this model")
            .on_hover_text(format!(
                "Make {} the active model (the library is analysed with it from now on)",
                model.display()
            ))
            .clicked()
        {
            commands.push(Command::UseModel(model));
        }
    }
}

/// The scores of the run's model and the active one, and which is better at k-NN precision.
fn comparison_ui(ui: &mut egui::Ui, folder: &Path, c: &Comparison) {
    let name = folder.file_name().map_or_else(
        || folder.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    ui.label(format!(
        "On {name} (k-NN precision at 1 and few-shot accuracy over its subfolders; higher is \
         better):"
    ));
    ui.label(format!("This run's model: {}", c.trained.model));
    match &c.active {
        Some((active, scores)) => {
            ui.label(format!("Active model ({active}): {}", scores.model));
            let verdict = match c.trained.precision_at_1.total_cmp(&scores.precision_at_1) {
                std::cmp::Ordering::Greater => "This run's model finds more neighbours of the \
                                                same class than the active model."
                    .to_string(),
                std::cmp::Ordering::Equal => {
                    "Both models find as many neighbours of the same class.".to_string()
                }
                std::cmp::Ordering::Less => format!(
                    "This run's model does worse than the active model ({active}): keep the \
                     active one unless you know better."
                ),
            };
            ui.label(verdict);
        }
        None => {
            ui.weak("No other model is active to compare with.");
        }
    }
    ui.weak(format!("Log-mel baseline: {}", c.trained.baseline));
}
