//! The Training tab: pretrain a MATPAC encoder on folders of the user's audio. A run continues
//! the active model by default (random weights only when asked); steps, batch size, learning
//! rate, mask ratio, data folders and device; start / pause / resume / stop; live plots of the
//! losses, learning rate, teacher temperature and throughput, each figure explained in words;
//! how many of the files found are really used; the run's checkpoints, each of which can be
//! evaluated or become the active model at once; and, before a finished run's model is used,
//! its scores beside the active model's.
//!
//! The run is a job of the window's background service (it shows in the Jobs tab, where it can
//! be paused and cancelled too): the handler submits the job this feature prepares
//! ([`TrainingPanel::new_run`]) and hands back its control ([`TrainingPanel::started`]); the
//! run's [`TrainEvent`]s come back on a channel of the feature's own, read by
//! [`TrainingPanel::poll`] once per frame.
//!
//! - [`view`]: the form column, the checkpoints and the plots;
//! - [`form`]: the run options' widgets;
//! - [`checkpoints`]: exporting and evaluating a checkpoint, and the kept evaluations;
//! - [`compare`]: the finished run's model beside the active one, before "Use this model";
//! - [`help`]: what the figures mean, in words.

pub mod checkpoints;
mod compare;
mod form;
mod help;
mod view;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{Receiver, TryRecvError};
use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::tasks::Task;
use crate::gui::shared::training_form::TrainingForm;
use crate::gui::shared::view::ViewCtx;
use crate::jobs::{JobContext, JobControl, Service};
use crate::train::dataset::TrainData;
use crate::train::trainer::{TrainRun, run_job};
use crate::train::{StepStats, TrainEvent};

/// A job's work: it reports through its context and ends with a summary.
pub type JobWork = Box<dyn FnOnce(&JobContext) -> crate::Result<String> + Send>;

/// A training run prepared for the background service: its name and its work.
pub struct TrainJob {
    /// The job's name in the Jobs tab.
    pub name: String,
    /// The work (prepares the run, then trains it).
    pub work: JobWork,
}

/// The run in progress: its events and its control.
struct RunSlot {
    events: Receiver<TrainEvent>,
    control: Option<Arc<JobControl>>,
}

/// The run form and, while training, the live state.
pub struct TrainingPanel {
    /// The options of the next run (remembered between sessions).
    pub form: TrainingForm,
    /// Folder of the current or last run.
    pub run_dir: Option<PathBuf>,
    /// Where new runs get their folder (the data directory's `training/`).
    pub runs_root: PathBuf,
    evaluations: HashMap<PathBuf, String>,
    eval_task: Option<(PathBuf, Task<crate::Result<String>>)>,
    run: Option<RunSlot>,
    steps_seen: Vec<StepStats>,
    throughput: Vec<f64>,
    evals: Vec<[f64; 4]>,
    status: String,
    eta_s: f64,
    total: u64,
    problems: Vec<String>,
    checkpoints: Vec<PathBuf>,
    finished_model: Option<PathBuf>,
    /// Held-out files of the run.
    held_out: usize,
    /// Where the run started from, in words ("continuing tiny.safetensors").
    start_text: String,
    compare: compare::CompareSlot,
}

impl Default for TrainingPanel {
    fn default() -> Self {
        TrainingPanel {
            form: TrainingForm::default(),
            run_dir: None,
            runs_root: runs_dir(),
            evaluations: HashMap::new(),
            eval_task: None,
            run: None,
            steps_seen: Vec::new(),
            throughput: Vec::new(),
            evals: Vec::new(),
            status: "No run yet.".into(),
            eta_s: 0.0,
            total: 0,
            problems: Vec::new(),
            checkpoints: Vec::new(),
            finished_model: None,
            held_out: 0,
            start_text: String::new(),
            compare: compare::CompareSlot::default(),
        }
    }
}

fn runs_dir() -> PathBuf {
    crate::config::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("training")
}

impl TrainingPanel {
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
        self.run.is_some()
    }

    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        self.control().is_some_and(|c| c.is_paused())
    }

    fn control(&self) -> Option<&JobControl> {
        self.run.as_ref()?.control.as_deref()
    }

    /// Holds the run after the current update, or lets a paused run go on.
    pub fn toggle_pause(&self) {
        if let Some(c) = self.control() {
            if c.is_paused() {
                c.resume();
            } else {
                c.pause();
            }
        }
    }

    /// Stops the run after the current update (its checkpoint and model export follow).
    pub fn stop(&self) {
        if let Some(c) = self.control() {
            c.cancel();
        }
    }

    /// Prepares a run with the form's options in a new folder under the data directory (or,
    /// with `resume`, the continuation of the last run's newest checkpoint); `None` when there
    /// is no last run to resume, or no model to continue (the status says so). A new run
    /// continues the form's model, else the `active` model, unless the form asks for random
    /// weights. The panel shows the run from now on; the caller submits the job and hands its
    /// control to [`started`](Self::started).
    pub fn new_run(&mut self, resume: bool, active: Option<&Path>) -> Option<TrainJob> {
        let start = if resume {
            "resuming the last run".to_string()
        } else {
            match self.form.start_model(active) {
                Some(m) => format!("continuing {}", form::file_name(&m)),
                None if self.form.from_scratch => {
                    format!("from random weights (preset {})", self.form.preset)
                }
                None => {
                    self.status = "No model to continue: choose one with \"Model…\", or \
                                   start from random weights."
                        .into();
                    return None;
                }
            }
        };
        let (dir, prepare): (PathBuf, Box<dyn FnOnce() -> crate::Result<TrainRun> + Send>) =
            if resume {
                let dir = self.run_dir.clone()?;
                let (d, device) = (dir.clone(), self.form.device.clone());
                let prepare = move || {
                    let device = crate::model::device::open(device.parse()?)?;
                    TrainRun::resume(&d, &device, |s| {
                        TrainData::from_roots(&s.cfg.roots, s.cfg.preset.encoder.n_t, s.cfg.seed)
                    })
                };
                (dir, Box::new(prepare))
            } else {
                let dir = self.fresh_run_dir();
                let (mut form, run_dir) = (self.form.clone(), dir.clone());
                form.init = form.start_model(active);
                let prepare = move || -> crate::Result<TrainRun> {
                    let device = crate::model::device::open(form.device.parse()?)?;
                    let state = form.initial_state(&device)?;
                    let (n_t, seed) = (state.cfg.preset.encoder.n_t, state.cfg.seed);
                    let data = TrainData::from_roots(&form.roots, n_t, seed)?;
                    Ok(TrainRun::new(state, data, &run_dir))
                };
                (dir, Box::new(prepare))
            };
        let (tx, rx) = crossbeam_channel::bounded(4096);
        let work = move |ctx: &JobContext| {
            run_job(prepare, ctx, |ev| {
                // A full channel drops step events rather than stalling training.
                let _ = tx.try_send(ev);
            })
        };
        let name = format!(
            "Training {}",
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        self.steps_seen.clear();
        self.throughput.clear();
        self.evals.clear();
        self.problems.clear();
        self.finished_model = None;
        self.held_out = 0;
        self.status = format!("Reading the data folders… ({start})");
        self.start_text = start;
        self.form.last_run = Some(dir.clone());
        self.run_dir = Some(dir);
        self.run = Some(RunSlot {
            events: rx,
            control: None,
        });
        Some(TrainJob {
            name,
            work: Box::new(work),
        })
    }

    fn fresh_run_dir(&self) -> PathBuf {
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
        dir
    }

    /// The run's job was submitted: pause and stop act on `control` from now on; `Err` says
    /// why it could not be.
    pub fn started(&mut self, control: crate::Result<Arc<JobControl>>) {
        match (control, &mut self.run) {
            (Ok(c), Some(run)) => run.control = Some(c),
            (Ok(_), None) => {}
            (Err(e), _) => {
                self.run = None;
                self.status = format!("Could not start: {e}");
            }
        }
    }

    /// The evaluation summary of checkpoint `ck`, once measured.
    pub fn evaluation(&self, ck: &Path) -> Option<&str> {
        self.evaluations.get(ck).map(String::as_str)
    }

    /// Evaluates checkpoint `ck` on the evaluation folder, as a background task.
    pub fn evaluate_checkpoint(&mut self, service: &Service, ctx: &egui::Context, ck: &Path) {
        let Some(folder) = self.form.eval_folder.clone() else {
            return;
        };
        let source = ck.to_path_buf();
        let task = Task::on(service, "earmark-eval", ctx, move || {
            checkpoints::evaluate_summary(&source, &folder)
        });
        self.evaluations
            .insert(ck.to_path_buf(), "evaluating…".into());
        self.eval_task = Some((ck.to_path_buf(), task));
    }

    /// Takes the run's events and the evaluation's result; called once per frame.
    pub fn poll(&mut self, cx: &ViewCtx) -> Vec<Command> {
        self.poll_eval();
        let compare = self.poll_compare(cx);
        let Some(run) = &self.run else {
            return compare.into_iter().collect();
        };
        let mut events = Vec::new();
        let gone = loop {
            match run.events.try_recv() {
                Ok(ev) => events.push(ev),
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        let mut ended = false;
        for ev in events {
            ended |= self.take_event(ev);
        }
        if gone && !ended {
            // The job ended without a word: cancelled before it started.
            self.status = "The run did not start (cancelled).".into();
            ended = true;
        }
        if ended {
            self.run = None;
            self.refresh_checkpoints();
        }
        Vec::new()
    }

    /// Takes one event of the run; true when the run has ended.
    fn take_event(&mut self, ev: TrainEvent) -> bool {
        match ev {
            TrainEvent::Started {
                step,
                total,
                held_out,
                ..
            } => {
                self.total = total;
                self.held_out = held_out;
                let mut line = crate::train::trainer::files_used(&ev);
                if let Some(first) = line.get(..1) {
                    line.replace_range(..1, &first.to_uppercase());
                }
                self.status = format!(
                    "{line}; {}, from update {step} of {total}.",
                    self.start_text
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
                    "{} after {step} updates; the model is saved as {}. Compare it with the \
                     active model below before you use it.",
                    if complete { "Finished" } else { "Stopped" },
                    model.display()
                );
                self.finished_model = Some(model);
                return true;
            }
            TrainEvent::Failed { reason } => {
                self.status = format!("Training failed: {reason}");
                return true;
            }
        }
        false
    }

    fn poll_eval(&mut self) {
        let Some((checkpoint, task)) = &mut self.eval_task else {
            return;
        };
        let Some(result) = task.poll_result() else {
            return;
        };
        let checkpoint = checkpoint.clone();
        self.eval_task = None;
        let text = match result {
            Ok(summary) => {
                if let Err(e) = checkpoints::save_evaluation(&checkpoint, &summary) {
                    self.status = format!("Could not keep the evaluation: {e}");
                }
                summary
            }
            Err(e) => format!("evaluation failed: {e}"),
        };
        self.evaluations.insert(checkpoint, text);
    }

    fn refresh_checkpoints(&mut self) {
        if let Some(dir) = &self.run_dir {
            self.checkpoints = crate::train::checkpoint::list(dir);
            for (name, text) in checkpoints::read_evaluations(dir) {
                self.evaluations.entry(dir.join(name)).or_insert(text);
            }
        }
    }

    /// Draws the tab; what the user asked for comes back as commands. Its data folders start as
    /// the library's folders.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        if self.form.roots.is_empty() && !self.running() {
            self.form.roots = cx.snapshot.present_roots();
        }
        if self.running() || self.eval_task.is_some() || self.comparing() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
        }
        let mut commands = Vec::new();
        egui::Panel::left("training_form")
            .resizable(true)
            .default_size(280.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.form_ui(ui, cx, &mut commands));
            });
        egui::CentralPanel::default().show(ui, |ui| self.plots_ui(ui));
        commands
    }
}
