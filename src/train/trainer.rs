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
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use serde::{Deserialize, Serialize};

use super::checkpoint::{append_log, checkpoint_name, latest, prune, save};
use super::dataset::{DataPosition, TrainData};
use super::export::{Precision, export_model};
use super::state::{StepStats, TrainState};
use crate::error::{Error, Result};
use crate::jobs::{EventSink, JobContext, JobControl, JobEvent, Progress, run_caught};
use crate::wording::count;

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
        /// Audio files found in the data folders (training, held-out and set aside).
        #[serde(default)]
        found: usize,
        /// Files set aside before the run: shorter than 1 s (each also reported as
        /// [`TrainEvent::Unusable`]).
        #[serde(default)]
        too_short: usize,
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
            found: self.data.found(),
            too_short: self.data.set_aside().len(),
        });
        for (path, why) in self.data.set_aside() {
            emit(TrainEvent::Unusable {
                path: path.display().to_string(),
                reason: why.clone(),
            });
        }
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
        super::fast::pool::release();
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

/// What a run's start says about its files: "training on 63 of 120 files (3 held out): 57
/// shorter than 1 s". Empty for other events.
pub fn files_used(ev: &TrainEvent) -> String {
    let TrainEvent::Started {
        files,
        held_out,
        found,
        too_short,
        ..
    } = ev
    else {
        return String::new();
    };
    let used = files + held_out;
    let mut line = if *found > used {
        format!("training on {used} of {}", count(*found, "file"))
    } else {
        format!("training on {}", count(used, "file"))
    };
    if *held_out > 0 {
        line += &format!(" ({held_out} held out to measure the loss)");
    }
    if *too_short > 0 {
        line += &format!(": {too_short} shorter than 1 s");
    }
    line
}

/// What a run's event means for the job around it: progress (updates done of the run, with the
/// time left), a note, or a file that could not be used.
fn report(events: &EventSink, ev: &TrainEvent, total: &mut u64, started: Instant) {
    match ev {
        TrainEvent::Started { step, total: t, .. } => {
            *total = *t;
            events.send(JobEvent::Note(format!(
                "{} from update {step}",
                files_used(ev)
            )));
        }
        TrainEvent::Unusable { path, reason } => events.send(JobEvent::ItemFailed {
            item: path.clone(),
            reason: reason.clone(),
        }),
        TrainEvent::Step { stats, eta_s, .. } => events.progress(Progress {
            done: usize::try_from(stats.step + 1).unwrap_or(usize::MAX),
            total: usize::try_from(*total).unwrap_or(usize::MAX),
            failed: 0,
            current: Some(format!(
                "update {} of {total} · prediction loss {:.3}",
                stats.step + 1,
                stats.loss_pred
            )),
            elapsed: started.elapsed(),
            eta: Some(Duration::from_secs_f64(eta_s.max(0.0))),
        }),
        TrainEvent::Checkpoint { step, .. } => {
            events.send(JobEvent::Note(format!("checkpoint after update {step}")));
        }
        TrainEvent::Eval { .. } | TrainEvent::Finished { .. } | TrainEvent::Failed { .. } => {}
    }
}

/// Prepares a run with `prepare` (listing files, building the state) and trains it as a
/// background job: every [`TrainEvent`] goes to `emit`, the progress (updates done, time left,
/// files that could not be used) to `ctx.events`, and `ctx.control` pauses or stops it. A
/// stopped run still checkpoints and exports its model ([`TrainEvent::Finished`]), then ends
/// [`Error::Cancelled`]. A failed preparation or update, or a panic in either, ends the run
/// [`TrainEvent::Failed`] and the job with the same error ("internal error: …" for a panic).
pub fn run_job(
    prepare: impl FnOnce() -> Result<TrainRun>,
    ctx: &JobContext,
    mut emit: impl FnMut(TrainEvent),
) -> Result<String> {
    let (events, control) = (&ctx.events, &ctx.control);
    let started = Instant::now();
    let mut total = 0;
    let work = || -> Result<TrainEvent> {
        let mut run = prepare()?;
        run.run_inner(control, &mut |ev: TrainEvent| {
            report(events, &ev, &mut total, started);
            emit(ev);
        })
    };
    let outcome = run_caught(work).unwrap_or_else(|panicked| Err(panicked.into()));
    match outcome {
        Ok(end) => {
            emit(end.clone());
            match end {
                TrainEvent::Finished { .. } if control.is_cancelled() => Err(Error::Cancelled),
                TrainEvent::Finished { step, model, .. } => {
                    Ok(format!("{step} updates; the model is {}", model.display()))
                }
                _ => Ok(String::new()),
            }
        }
        Err(e) => {
            emit(TrainEvent::Failed {
                reason: e.to_string(),
            });
            Err(e)
        }
    }
}

/// A run on its own thread, for the command line: events, pause, resume, stop. (The window runs
/// [`run_job`] through its background service instead.)
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
        // Nobody reads the job events here: the train events say it all.
        let (job_tx, _) = crossbeam_channel::bounded(1);
        let ctx = JobContext {
            events: EventSink::new(job_tx),
            control: Arc::clone(&control),
        };
        let thread = crate::jobs::spawn_named("earmark-train", move || {
            let mut end = None;
            let _ = run_job(prepare, &ctx, |ev| {
                if matches!(ev, TrainEvent::Finished { .. } | TrainEvent::Failed { .. }) {
                    end = Some(ev.clone());
                }
                // A full channel drops step events rather than stalling training.
                let _ = tx.try_send(ev);
            });
            end.unwrap_or_else(|| TrainEvent::Failed {
                reason: "the run ended without a result".into(),
            })
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_says_how_many_files_are_really_used() {
        let started = |files, held_out, found, too_short| TrainEvent::Started {
            step: 0,
            total: 10,
            files,
            held_out,
            found,
            too_short,
        };
        assert_eq!(
            files_used(&started(60, 3, 120, 57)),
            "training on 63 of 120 files (3 held out to measure the loss): 57 shorter than 1 s"
        );
        assert_eq!(files_used(&started(1, 0, 1, 0)), "training on 1 file");
        // A log written before the counts existed reads as "every file used".
        let old: TrainEvent = serde_json::from_str(
            r#"{"event":"started","step":0,"total":4,"files":4,"held_out":0}"#,
        )
        .unwrap();
        assert_eq!(files_used(&old), "training on 4 files");
    }
}
