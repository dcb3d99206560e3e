//! How the Training tab looks: the form column (options, the run's buttons and status, the
//! checkpoints with Evaluate and Use) and the plots of the run (losses, learning rate, teacher
//! temperature, throughput) under its progress line.

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::checkpoints::export_checkpoint;
use super::{TrainingPanel, form, help};
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::format_eta;
use crate::gui::shared::view::ViewCtx;
use crate::train::StepStats;
use crate::train::checkpoint::latest;

impl TrainingPanel {
    /// The form column: options, start / resume / pause / stop, the status, the checkpoints.
    pub(super) fn form_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
        ui.heading("Train a model");
        ui.label("Self-supervised MATPAC pretraining on your own sounds. No labels needed.");
        ui.add_space(6.0);
        let idle = !self.running();
        let active = cx.model.active.as_ref().map(|m| m.path.as_path());
        form::form_ui(&mut self.form, ui, idle, active, commands);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if idle {
                let can = !self.form.roots.is_empty();
                if ui
                    .add_enabled(can, egui::Button::new("Start training"))
                    .on_disabled_hover_text("Add a folder of audio first")
                    .clicked()
                {
                    commands.push(Command::StartTraining);
                }
                if self.run_dir.as_deref().and_then(latest).is_some()
                    && ui.button("Resume last run").clicked()
                {
                    commands.push(Command::ResumeTraining);
                }
            } else {
                let label = if self.is_paused() { "Resume" } else { "Pause" };
                if ui.button(label).clicked() {
                    commands.push(Command::PauseTraining);
                }
                if ui
                    .button("Stop")
                    .on_hover_text("Checkpoint, export, stop")
                    .clicked()
                {
                    commands.push(Command::StopTraining);
                }
            }
        });
        ui.label(&self.status);
        if !self.problems.is_empty() {
            let n = self.problems.len();
            let title = if n == 1 {
                "1 file skipped".to_string()
            } else {
                format!("{n} files skipped")
            };
            ui.collapsing(title, |ui| {
                for p in self.problems.iter().take(200) {
                    ui.label(p);
                }
            });
        }
        self.compare_ui(ui, commands);
        self.checkpoints_ui(ui, commands);
    }

    fn checkpoints_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        if self.checkpoints.is_empty() {
            return;
        }
        ui.separator();
        ui.label("Checkpoints");
        ui.horizontal(|ui| {
            let shown = self
                .form
                .eval_folder
                .as_ref()
                .map_or_else(|| "none".to_string(), |p| p.display().to_string());
            ui.label(format!("Evaluation folder: {shown}"));
            if ui
                .small_button("Choose…")
                .on_hover_text("A folder whose subfolders name the classes")
                .clicked()
            {
                commands.push(Command::EvalFolderDialog);
            }
        });
        for ck in self.checkpoints.clone().iter().rev() {
            ui.horizontal(|ui| {
                let name = ck
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                ui.label(name);
                let can_eval = self.form.eval_folder.is_some() && self.eval_task.is_none();
                if ui
                    .add_enabled(can_eval, egui::Button::new("Evaluate").small())
                    .on_hover_text("k-NN and few-shot scores on the evaluation folder")
                    .clicked()
                {
                    commands.push(Command::EvaluateCheckpoint(ck.clone()));
                }
                if ui
                    .small_button("Use")
                    .on_hover_text("Export this checkpoint as a model and make it active")
                    .clicked()
                {
                    match export_checkpoint(ck) {
                        Ok(p) => commands.push(Command::UseModel(p)),
                        Err(e) => self.status = format!("Export failed: {e}"),
                    }
                }
            });
        }
        for ck in self.checkpoints.iter().rev() {
            if let Some(text) = self.evaluations.get(ck) {
                let name = ck
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                ui.label(format!("{name}: {text}"));
            }
        }
    }

    /// The progress line and the plots of the run.
    pub(super) fn plots_ui(&mut self, ui: &mut egui::Ui) {
        if self.steps_seen.is_empty() {
            ui.centered_and_justified(|ui| {
                ui.label("Loss curves appear here once training runs.");
            });
            return;
        }
        if let Some(last) = self.steps_seen.last() {
            let rate = self.throughput.iter().rev().take(20).sum::<f64>()
                / self.throughput.iter().rev().take(20).count().max(1) as f64;
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new((last.step + 1) as f32 / self.total.max(1) as f32)
                        .text(format!("update {} of {}", last.step + 1, self.total))
                        .desired_width(260.0),
                );
                ui.label(format!(
                    "{rate:.1} crops/s · ETA {}",
                    format_eta(std::time::Duration::from_secs_f64(self.eta_s)),
                ));
                ui.label(format!("perplexity {:.0}", last.teacher_perplexity))
                    .on_hover_text(help::PERPLEXITY);
                ui.label(format!("|g| {:.2}", last.grad_norm))
                    .on_hover_text(help::GRAD_NORM);
            });
            ui.collapsing("What these numbers mean", |ui| {
                for line in help::ALL {
                    ui.label(line);
                }
            });
        }
        let h = (ui.available_height() / 2.0 - 10.0).max(120.0);
        let series = |f: &dyn Fn(&StepStats) -> f64| -> PlotPoints<'static> {
            self.steps_seen
                .iter()
                .map(|s| [s.step as f64 + 1.0, f(s)])
                .collect::<Vec<_>>()
                .into()
        };
        Plot::new("losses")
            .height(h)
            .legend(Legend::default())
            .show(ui, |p| {
                p.line(Line::new("prediction loss", series(&|s| s.loss_pred)));
                p.line(Line::new("classification loss", series(&|s| s.loss_cls)));
                let held: Vec<[f64; 2]> = self.evals.iter().map(|e| [e[0], e[1]]).collect();
                if !held.is_empty() {
                    p.line(Line::new("held-out prediction", PlotPoints::from(held)));
                }
            });
        ui.columns(3, |cols| {
            Plot::new("lr")
                .height(h - 20.0)
                .legend(Legend::default())
                .show(&mut cols[0], |p| {
                    p.line(Line::new("learning rate", series(&|s| s.lr)));
                });
            cols[1]
                .label("Teacher temperature")
                .on_hover_text(help::TEACHER_TEMPERATURE);
            Plot::new("temp")
                .height(h - 40.0)
                .legend(Legend::default())
                .show(&mut cols[1], |p| {
                    p.line(Line::new(
                        "teacher temperature",
                        series(&|s| s.teacher_temp),
                    ));
                });
            let tp: Vec<[f64; 2]> = self
                .throughput
                .iter()
                .enumerate()
                .map(|(i, &x)| [i as f64 + 1.0, x])
                .collect();
            Plot::new("throughput")
                .height(h - 20.0)
                .legend(Legend::default())
                .show(&mut cols[2], |p| {
                    p.line(Line::new("crops/s", PlotPoints::from(tp)));
                });
        });
    }
}
