//! The training job: a named worker thread that runs updates, reports every step, evaluates the
//! held-out crops, checkpoints, and obeys pause / resume / stop. Stopping writes a checkpoint and
//! exports the model, so a stopped run is usable at once and resumable later.
//!
//! A run lives in its own folder: `checkpoint-NNNNNNN.safetensors` (the newest few),
//! `log.jsonl` (one JSON object per step and evaluation) and `model.safetensors` (the exported
//! student encoder).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};
use serde::{Deserialize, Serialize};

use super::checkpoint::{append_log, checkpoint_name, latest, prune, save};
use super::dataset::{DataPosition, TrainData};
use super::export::{Precision, export_model};
use super::state::{StepStats, TrainState};
use crate::error::{Error, Result};
use crate::jobs::JobControl;

/// What a running trainer reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    /// The run began (or resumed at `step`).
    Started {
        /// Update index the run starts from.
        step: u64,
        /// Updates of the whole run.
        total: u64,
        /// Training files.
        files: usize,
        /// Held-out files.
        held_out: usize,
    },
    /// A file could not be used; the run goes on without it.
    Unusable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// One update finished.
    Step {
        /// Its measurements.
        stats: StepStats,
        /// Crops per second over the last update.
        samples_per_s: f64,
        /// Estimated time to the end of the run, in seconds.
        eta_s: f64,
    },
    /// Held-out losses after `step` updates.
    Eval {
        /// Updates done.
        step: u64,
        /// Mean prediction loss.
        loss_pred: f64,
        /// Mean classification loss.
        loss_cls: f64,
        /// Teacher perplexity on the held-out crops.
        teacher_perplexity: f64,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// Updates done.
        step: u64,
        /// The file.
        path: PathBuf,
    },
    /// The run ended (finished or stopped) and its model was exported.
    Finished {
        /// Updates done.
        step: u64,
        /// Whether the run reached its last step (false: stopped early).
        complete: bool,
        /// The exported model.
        model: PathBuf,
    },
    /// The run failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A prepared run: state, data and its folder.
pub struct TrainRun {
    /// The training state.
    pub state: TrainState,
    /// The crops.
    pub data: TrainData,
    /// The run's folder.
    pub dir: PathBuf,
    /// Precision of the exported model.
    pub precision: Precision,
    /// Where the model is exported (default `dir/model.safetensors`).
    pub model_path: PathBuf,
    /// Stop (checkpoint + export) after this many updates of the run, even before the end.
    pub stop_at: Option<u64>,
}

impl TrainRun {
    /// A run in `dir` with `state` and `data`.
    pub fn new(state: TrainState, data: TrainData, dir: &Path) -> Self {
        TrainRun {
            state,
            data,
            dir: dir.to_path_buf(),
            precision: Precision::F32,
            model_path: dir.join("model.safetensors"),
            stop_at: None,
        }
    }

    /// Continues the newest checkpoint of `dir` (or the checkpoint file `path`) with `data`
    /// listed again from the same roots.
    pub fn resume(
        path: &Path,
        device: &candle_core::Device,
        data: impl FnOnce(&TrainState) -> Result<TrainData>,
    ) -> Result<Self> {
        let (file, dir) = if path.is_dir() {
            let f = latest(path).ok_or_else(|| {
                Error::InvalidInput(format!("{}: no checkpoint to resume", path.display()))
            })?;
            (f, path.to_path_buf())
        } else {
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            (path.to_path_buf(), dir)
        };
        let (state, pos) = super::checkpoint::load(&file, device)?;
        let mut d = data(&state)?;
        let pos: DataPosition = serde_json::from_value(pos)
            .map_err(|e| Error::Model(format!("{}: data position: {e}", file.display())))?;
        d.seek(pos);
        Ok(Self::new(state, d, &dir))
    }

    fn checkpoint(&self) -> Result<PathBuf> {
        let path = self.dir.join(checkpoint_name(self.state.step));
        let pos = serde_json::to_value(self.data.position())
            .map_err(|e| Error::Model(format!("data position: {e}")))?;
        save(&path, &self.state, pos)?;
        prune(&self.dir, self.state.cfg.keep_checkpoints);
        Ok(path)
    }

    /// Runs to the end (or `stop_at`, or a cancel), reporting through `emit`. Returns the
    /// final event.
    pub fn run(&mut self, control: &JobControl, mut emit: impl FnMut(TrainEvent)) -> TrainEvent {
        let end = match self.run_inner(control, &mut emit) {
            Ok(ev) => ev,
            Err(e) => TrainEvent::Failed {
                reason: e.to_string(),
            },
        };
        emit(end.clone());
        end
    }

    fn run_inner(
        &mut self,
        control: &JobControl,
        emit: &mut impl FnMut(TrainEvent),
    ) -> Result<TrainEvent> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        remove_partial_files(&self.dir);
        let log = self.dir.join("log.jsonl");
        let total = self.state.cfg.schedules.total_steps;
        let last = self.stop_at.map_or(total, |s| s.min(total));
        emit(TrainEvent::Started {
            step: self.state.step,
            total,
            files: self.data.train_files().len(),
            held_out: self.data.held_out_files().len(),
        });
        let device = self.state.device().clone();
        let batch = self.state.cfg.batch_size;
        let started = Instant::now();
        let first = self.state.step;
        let mut cancelled = false;
        while self.state.step < last {
            if control.checkpoint().is_err() {
                cancelled = true;
                break;
            }
            let t0 = Instant::now();
            let crops = self.data.next_batch(batch, &device, |p, why| {
                emit(TrainEvent::Unusable {
                    path: p.display().to_string(),
                    reason: why.to_string(),
                })
            })?;
            let stats = self.state.train_step(&crops)?;
            let dt = t0.elapsed().as_secs_f64();
            let done = (self.state.step - first) as f64;
            let per_step = started.elapsed().as_secs_f64() / done.max(1.0);
            let ev = TrainEvent::Step {
                stats,
                samples_per_s: batch as f64 / dt.max(1e-9),
                eta_s: per_step * (last - self.state.step) as f64,
            };
            append_log(&log, &ev)?;
            emit(ev);
            let k = self.state.step;
            let every = self.state.cfg.checkpoint_every;
            if every > 0 && k.is_multiple_of(every) && k < last {
                let path = self.checkpoint()?;
                emit(TrainEvent::Checkpoint { step: k, path });
            }
            let eval_every = self.state.cfg.eval_every;
            if eval_every > 0
                && k.is_multiple_of(eval_every)
                && let Some(ev) = self.evaluate(&device)?
            {
                append_log(&log, &ev)?;
                emit(ev);
            }
        }
        let path = self.checkpoint()?;
        emit(TrainEvent::Checkpoint {
            step: self.state.step,
            path,
        });
        export_model(&self.state, &self.model_path, self.precision)?;
        Ok(TrainEvent::Finished {
            step: self.state.step,
            complete: !cancelled && self.state.step >= total,
            model: self.model_path.clone(),
        })
    }

    fn evaluate(&mut self, device: &candle_core::Device) -> Result<Option<TrainEvent>> {
        let Some(crops) = self.data.held_out_batch(16, device)? else {
            return Ok(None);
        };
        let (loss_pred, loss_cls, ppl) = self.state.evaluate(&crops, 0xE7A1)?;
        Ok(Some(TrainEvent::Eval {
            step: self.state.step,
            loss_pred,
            loss_cls,
            teacher_perplexity: ppl,
        }))
    }
}

/// Removes temporary files that a killed run left behind (never a complete checkpoint).
/// Reports a run that ended before or outside [`TrainRun::run`] as failed.
fn failed(tx: &Sender<TrainEvent>, reason: String) -> TrainEvent {
    let ev = TrainEvent::Failed { reason };
    let _ = tx.try_send(ev.clone());
    ev
}

fn remove_partial_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(".partial-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A run on its own thread: events, pause, resume, stop.
pub struct TrainHandle {
    control: Arc<JobControl>,
    events: Receiver<TrainEvent>,
    thread: Option<JoinHandle<TrainEvent>>,
}

impl TrainHandle {
    /// Prepares a run with `prepare` (listing files, building the state) and trains it, both on
    /// the worker thread, so the caller never waits; a failed preparation ends in
    /// [`TrainEvent::Failed`].
    pub fn spawn_with(prepare: impl FnOnce() -> Result<TrainRun> + Send + 'static) -> Result<Self> {
        Self::spawn_inner(Box::new(prepare))
    }

    /// Starts `run` on a named worker thread.
    pub fn spawn(run: TrainRun) -> Result<Self> {
        Self::spawn_inner(Box::new(move || Ok(run)))
    }

    fn spawn_inner(prepare: Box<dyn FnOnce() -> Result<TrainRun> + Send>) -> Result<Self> {
        let control = Arc::new(JobControl::new());
        let (tx, rx): (Sender<TrainEvent>, Receiver<TrainEvent>) = bounded(4096);
        let c = control.clone();
        let thread = std::thread::Builder::new()
            .name("earmark-train".into())
            .spawn(move || {
                let events = tx.clone();
                let work = move || -> Result<TrainEvent> {
                    let mut run = prepare()?;
                    Ok(run.run(&c, |ev| {
                        // A full channel drops step events rather than stalling training.
                        let _ = events.try_send(ev);
                    }))
                };
                // A panic in preparation or in an update ends the run failed with its message.
                match crate::jobs::guard::run_caught(work) {
                    Ok(Ok(end)) => end,
                    Ok(Err(e)) => failed(&tx, e.to_string()),
                    Err(panicked) => failed(&tx, panicked.to_string()),
                }
            })
            .map_err(|e| Error::InvalidInput(format!("cannot start the training thread: {e}")))?;
        Ok(TrainHandle {
            control,
            events: rx,
            thread: Some(thread),
        })
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<TrainEvent> {
        &self.events
    }

    /// The run's control (for stopping it from a signal handler or another thread).
    pub fn control(&self) -> Arc<JobControl> {
        self.control.clone()
    }

    /// Holds the run after the current update.
    pub fn pause(&self) {
        self.control.pause();
    }

    /// Lets a paused run go on.
    pub fn resume(&self) {
        self.control.resume();
    }

    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        self.control.is_paused()
    }

    /// Stops after the current update (checkpoint and export follow).
    pub fn stop(&self) {
        self.control.cancel();
    }

    /// Waits for the end and returns the final event.
    pub fn join(mut self) -> TrainEvent {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(ev)) => ev,
            _ => TrainEvent::Failed {
                reason: "the training thread ended unexpectedly".into(),
            },
        }
    }
}
