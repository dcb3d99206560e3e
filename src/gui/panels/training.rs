//! The Training panel: pretrain a MATPAC encoder on folders of the user's audio. Preset, steps,
//! batch size, learning rate, mask ratio, data folders and device; start / pause / resume /
//! stop; live plots of the losses, learning rate, teacher temperature and throughput; the run's
//! checkpoints, each of which can become the active model at once.

use std::path::{Path, PathBuf};

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::training_form::TrainingForm;
use crate::train::checkpoint::{checkpoint_name, latest};
use crate::train::dataset::TrainData;
use crate::train::export::{Precision, export_model};
use crate::train::trainer::{TrainHandle, TrainRun};
use crate::train::{StepStats, TrainEvent};

/// What the panel asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainingRequest {
    /// Make this exported model the active one.
    UseModel(PathBuf),
    /// Open the folder dialog to add a data folder.
    PickFolder,
    /// Open the folder dialog to choose the labelled evaluation folder.
    PickEvalFolder,
    /// Open the file dialog to choose the model a run continues.
    PickInitModel,
}

/// A checkpoint evaluation running on its own thread.
struct EvalTask {
    checkpoint: PathBuf,
    result: crossbeam_channel::Receiver<Result<String, String>>,
}

/// The run form and, while training, the live state.
pub struct TrainingState {
    /// The options of the next run (remembered between sessions).
    pub form: TrainingForm,
    /// Folder of the current or last run.
    pub run_dir: Option<PathBuf>,
    /// Where new runs get their folder (the data directory's `training/`).
    pub runs_root: PathBuf,
    evaluations: std::collections::HashMap<PathBuf, String>,
    eval_task: Option<EvalTask>,
    handle: Option<TrainHandle>,
    steps_seen: Vec<StepStats>,
    throughput: Vec<f64>,
    evals: Vec<[f64; 4]>,
    status: String,
    eta_s: f64,
    total: u64,
    problems: Vec<String>,
    checkpoints: Vec<PathBuf>,
    finished_model: Option<PathBuf>,
}

impl Default for TrainingState {
    fn default() -> Self {
        TrainingState {
            form: TrainingForm::default(),
            run_dir: None,
            runs_root: runs_dir(),
            evaluations: Default::default(),
            eval_task: None,
            handle: None,
            steps_seen: Vec::new(),
            throughput: Vec::new(),
            evals: Vec::new(),
            status: "No run yet.".into(),
            eta_s: 0.0,
            total: 0,
            problems: Vec::new(),
            checkpoints: Vec::new(),
            finished_model: None,
        }
    }
}

fn runs_dir() -> PathBuf {
    crate::config::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("training")
}

impl TrainingState {
    /// The panel's status line (what the run is doing, or how it ended).
    pub fn status_line(&self) -> &str {
        &self.status
    }

    /// Takes the remembered form; the last run, when its folder still exists, can be resumed
    /// and its checkpoints are listed.
    pub fn restore(&mut self, form: TrainingForm) {
        self.run_dir = form.last_run.clone().filter(|d| d.is_dir());
        self.form = form;
        self.refresh_checkpoints();
    }

    /// Whether a run is going (possibly paused).
    pub fn running(&self) -> bool {
        self.handle.is_some()
    }

    /// Starts a run with the form's options in a new folder under the data directory.
    pub fn start(&mut self) {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut dir = self.runs_root.join(format!("run-{stamp}"));
        for n in 2.. {
            if !dir.exists() {
                break;
            }
            dir = self.runs_root.join(format!("run-{stamp}-{n}"));
        }
        let form = self.form.clone();
        let run_dir = dir.clone();
        let prepare = move || -> crate::Result<TrainRun> {
            let device = crate::model::device::open(form.device.parse()?)?;
            let state = form.initial_state(&device)?;
            let data =
                TrainData::from_roots(&form.roots, state.cfg.preset.encoder.n_t, state.cfg.seed)?;
            Ok(TrainRun::new(state, data, &run_dir))
        };
        self.begin(TrainHandle::spawn_with(prepare), dir);
    }

    /// Continues the newest checkpoint of the last run.
    pub fn resume_run(&mut self) {
        let Some(dir) = self.run_dir.clone() else {
            return;
        };
        let d = dir.clone();
        let device = self.form.device.clone();
        let prepare = move || {
            let device = crate::model::device::open(device.parse()?)?;
            TrainRun::resume(&d, &device, |s| {
                TrainData::from_roots(&s.cfg.roots, s.cfg.preset.encoder.n_t, s.cfg.seed)
            })
        };
        self.begin(TrainHandle::spawn_with(prepare), dir);
    }

    fn begin(&mut self, handle: crate::Result<TrainHandle>, dir: PathBuf) {
        match handle {
            Ok(h) => {
                self.handle = Some(h);
                self.steps_seen.clear();
                self.throughput.clear();
                self.evals.clear();
                self.problems.clear();
                self.finished_model = None;
                self.status = "Reading the data folders…".into();
                self.form.last_run = Some(dir.clone());
                self.run_dir = Some(dir);
            }
            Err(e) => self.status = format!("Could not start: {e}"),
        }
    }

    /// The evaluation summary of checkpoint `ck`, once measured.
    pub fn evaluation(&self, ck: &Path) -> Option<&str> {
        self.evaluations.get(ck).map(String::as_str)
    }

    /// Evaluates checkpoint `ck` on the evaluation folder, on a worker thread.
    pub fn evaluate_checkpoint(&mut self, ck: &Path) {
        let Some(folder) = self.form.eval_folder.clone() else {
            return;
        };
        let (tx, rx) = crossbeam_channel::bounded(1);
        let source = ck.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("earmark-eval".into())
            .spawn(move || {
                let _ = tx.send(
                    crate::jobs::run_caught(|| evaluate_summary(&source, &folder))
                        .map_err(crate::Error::from)
                        .flatten()
                        .map_err(|e| e.to_string()),
                );
            });
        match spawned {
            Ok(_) => {
                self.evaluations
                    .insert(ck.to_path_buf(), "evaluating…".into());
                self.eval_task = Some(EvalTask {
                    checkpoint: ck.to_path_buf(),
                    result: rx,
                });
            }
            Err(e) => self.status = format!("Could not start the evaluation: {e}"),
        }
    }

    fn poll_eval(&mut self) {
        let Some(task) = &self.eval_task else { return };
        let Ok(result) = task.result.try_recv() else {
            return;
        };
        let checkpoint = task.checkpoint.clone();
        self.eval_task = None;
        let text = match result {
            Ok(summary) => {
                if let Err(e) = save_evaluation(&checkpoint, &summary) {
                    self.status = format!("Could not keep the evaluation: {e}");
                }
                summary
            }
            Err(e) => format!("evaluation failed: {e}"),
        };
        self.evaluations.insert(checkpoint, text);
    }

    /// Takes the run's events; call once per frame.
    pub fn poll(&mut self) {
        self.poll_eval();
        let Some(handle) = &self.handle else {
            return;
        };
        let events: Vec<TrainEvent> = handle.events().try_iter().collect();
        let mut ended = false;
        for ev in events {
            match ev {
                TrainEvent::Started {
                    step,
                    total,
                    files,
                    held_out,
                } => {
                    self.total = total;
                    self.status = format!(
                        "Training on {files} files ({held_out} held out) from update {step} of {total}."
                    );
                }
                TrainEvent::Unusable { path, reason } => {
                    self.problems.push(format!("{path}: {reason}"));
                }
                TrainEvent::Step {
                    stats,
                    samples_per_s,
                    eta_s,
                } => {
                    self.eta_s = eta_s;
                    self.throughput.push(samples_per_s);
                    self.steps_seen.push(stats);
                }
                TrainEvent::Eval {
                    step,
                    loss_pred,
                    loss_cls,
                    teacher_perplexity,
                } => {
                    self.evals
                        .push([step as f64, loss_pred, loss_cls, teacher_perplexity]);
                }
                TrainEvent::Checkpoint { .. } => self.refresh_checkpoints(),
                TrainEvent::Finished {
                    step,
                    complete,
                    model,
                } => {
                    self.status = format!(
                        "{} after {step} updates. The model is ready to use.",
                        if complete { "Finished" } else { "Stopped" }
                    );
                    self.finished_model = Some(model);
                    ended = true;
                }
                TrainEvent::Failed { reason } => {
                    self.status = format!("Training failed: {reason}");
                    ended = true;
                }
            }
        }
        if ended {
            self.handle = None;
            self.refresh_checkpoints();
        }
    }

    fn refresh_checkpoints(&mut self) {
        if let Some(dir) = &self.run_dir {
            self.checkpoints = crate::train::checkpoint::list(dir);
            for (name, text) in read_evaluations(dir) {
                self.evaluations.entry(dir.join(name)).or_insert(text);
            }
        }
    }

    /// Draws the panel; returns what the app should do.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<TrainingRequest> {
        self.poll();
        if self.running() || self.eval_task.is_some() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
        }
        let mut request = None;
        egui::Panel::left("training_form")
            .resizable(true)
            .default_size(280.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| request = self.form_ui(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| self.plots_ui(ui));
        request
    }

    fn form_ui(&mut self, ui: &mut egui::Ui) -> Option<TrainingRequest> {
        ui.heading("Train a model");
        ui.label("Self-supervised MATPAC pretraining on your own sounds. No labels needed.");
        ui.add_space(6.0);
        let idle = !self.running();
        let mut request = self.form.ui(ui, idle);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if idle {
                let can = !self.form.roots.is_empty();
                if ui
                    .add_enabled(can, egui::Button::new("Start training"))
                    .on_disabled_hover_text("Add a folder of audio first")
                    .clicked()
                {
                    self.start();
                }
                if self.run_dir.as_deref().and_then(latest).is_some()
                    && ui.button("Resume last run").clicked()
                {
                    self.resume_run();
                }
            } else if let Some(h) = &self.handle {
                if h.is_paused() {
                    if ui.button("Resume").clicked() {
                        h.resume();
                    }
                } else if ui.button("Pause").clicked() {
                    h.pause();
                }
                if ui
                    .button("Stop")
                    .on_hover_text("Checkpoint, export, stop")
                    .clicked()
                {
                    h.stop();
                }
            }
        });
        ui.label(&self.status);
        if let Some(model) = &self.finished_model
            && ui.button("Use this model").clicked()
        {
            request = Some(TrainingRequest::UseModel(model.clone()));
        }
        if let Some(r) = self.checkpoints_ui(ui) {
            request = Some(r);
        }
        if !self.problems.is_empty() {
            ui.collapsing(format!("{} files skipped", self.problems.len()), |ui| {
                for p in self.problems.iter().take(200) {
                    ui.label(p);
                }
            });
        }
        request
    }

    fn checkpoints_ui(&mut self, ui: &mut egui::Ui) -> Option<TrainingRequest> {
        if self.checkpoints.is_empty() {
            return None;
        }
        let mut request = None;
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
                request = Some(TrainingRequest::PickEvalFolder);
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
                    self.evaluate_checkpoint(ck);
                }
                if ui
                    .small_button("Use")
                    .on_hover_text("Export this checkpoint as a model and make it active")
                    .clicked()
                {
                    match export_checkpoint(ck) {
                        Ok(p) => request = Some(TrainingRequest::UseModel(p)),
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
        request
    }

    fn plots_ui(&mut self, ui: &mut egui::Ui) {
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
                    "{rate:.1} crops/s · ETA {} · perplexity {:.0} · |g| {:.2}",
                    crate::gui::job_list::format_eta(std::time::Duration::from_secs_f64(
                        self.eta_s
                    )),
                    last.teacher_perplexity,
                    last.grad_norm
                ));
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
            Plot::new("temp")
                .height(h - 20.0)
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

/// The file of a run's folder that keeps its checkpoints' evaluations.
pub const EVALUATIONS_FILE: &str = "evaluations.json";

/// The evaluations kept in run folder `dir` (checkpoint file name → summary); none when the
/// file is missing or unreadable.
fn read_evaluations(dir: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read(dir.join(EVALUATIONS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Adds the evaluation `summary` of `checkpoint` to its run's `evaluations.json`, so it is
/// listed again after a restart.
fn save_evaluation(checkpoint: &Path, summary: &str) -> crate::Result<()> {
    let (Some(dir), Some(name)) = (checkpoint.parent(), checkpoint.file_name()) else {
        return Ok(());
    };
    let mut kept = read_evaluations(dir);
    kept.insert(name.to_string_lossy().into_owned(), summary.to_string());
    let json =
        serde_json::to_vec_pretty(&kept).map_err(|e| crate::Error::InvalidInput(e.to_string()))?;
    crate::atomic_file::write_bytes(&dir.join(EVALUATIONS_FILE), &json)
}

/// Exports the student of checkpoint `ck` beside it (`model-NNNNNNN.safetensors`); returns the
/// model's path.
fn export_checkpoint(ck: &Path) -> crate::Result<PathBuf> {
    let (state, _) = crate::train::checkpoint::load(ck, &candle_core::Device::Cpu)?;
    let name = checkpoint_name(state.step).replace("checkpoint-", "model-");
    let out = ck.with_file_name(name);
    export_model(&state, &out, Precision::F32)?;
    Ok(out)
}

/// Exports checkpoint `ck`, evaluates it on the labelled `folder` and summarises the scores next
/// to the log-mel baseline.
fn evaluate_summary(ck: &Path, folder: &Path) -> crate::Result<String> {
    let model_path = export_checkpoint(ck)?;
    let encoder = crate::model::Encoder::load(&model_path, &candle_core::Device::Cpu)?;
    let files = crate::eval::dataset::from_folders(folder)?;
    let (tx, _rx) = crossbeam_channel::unbounded();
    let ctx = crate::jobs::JobContext {
        events: crate::jobs::EventSink::new(tx),
        control: std::sync::Arc::new(crate::jobs::JobControl::new()),
    };
    let opts = crate::eval::EvalOptions {
        repeats: 5,
        ..Default::default()
    };
    let model = crate::eval::EvalModel {
        name: "checkpoint",
        encoder: &encoder,
    };
    let report = crate::eval::evaluate(&files, Some(model), &opts, &ctx)?;
    let line = |s: &crate::eval::FeatureScores| {
        let shots = s
            .few_shot
            .iter()
            .map(|f| format!("{}-shot {:.2}", f.shots, f.mean))
            .collect::<Vec<_>>()
            .join(", ");
        format!("P@1 {:.2}, {shots}", s.knn_precision_at_1)
    };
    let model_line = report.model.as_ref().map(line).unwrap_or_default();
    Ok(format!(
        "{model_line} (log-mel: {})",
        line(&report.baseline)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_run_and_its_evaluations_come_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run-1");
        std::fs::create_dir_all(&run).unwrap();
        let ck = run.join("checkpoint-0000004.safetensors");
        std::fs::write(&ck, b"").unwrap();

        save_evaluation(&ck, "P@1 0.75, 1-shot 0.50 (log-mel: P@1 0.70)").unwrap();

        let mut again = TrainingState::default();
        again.restore(TrainingForm {
            last_run: Some(run.clone()),
            ..TrainingForm::default()
        });
        assert_eq!(again.run_dir.as_deref(), Some(run.as_path()));
        assert_eq!(again.checkpoints, vec![ck.clone()]);
        assert_eq!(
            again.evaluation(&ck),
            Some("P@1 0.75, 1-shot 0.50 (log-mel: P@1 0.70)")
        );

        // A run folder that is gone is not offered.
        let mut gone = TrainingState::default();
        gone.restore(TrainingForm {
            last_run: Some(dir.path().join("deleted")),
            ..TrainingForm::default()
        });
        assert_eq!(gone.run_dir, None);
        assert!(gone.checkpoints.is_empty());
    }
}
