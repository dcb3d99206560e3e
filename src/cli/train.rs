//! `earmark train`: MATPAC pretraining on the audio under some folders, from scratch with a
//! preset or continuing an existing encoder; resumable; Ctrl+C stops cleanly (checkpoint and
//! model export).

use std::path::PathBuf;

use anyhow::{Context, bail};
use earmark::model::device::{DeviceChoice, open};
use earmark::train::dataset::TrainData;
use earmark::train::export::{Precision, state_from_model};
use earmark::train::trainer::{TrainHandle, TrainRun};
use earmark::train::{TrainConfig, TrainEvent, TrainPreset, TrainState};

/// Arguments of `earmark train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Model size: tiny, small or base (ViT-B).
    #[arg(long, default_value = "small")]
    pub preset: String,
    /// Updates of the whole run (schedules are laid out over them).
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    /// Crops per update.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 3e-4)]
    pub lr: f64,
    /// Fraction of patches hidden from the student.
    #[arg(long, default_value_t = 0.7)]
    pub mask_ratio: f64,
    /// Folders of training audio (searched recursively).
    #[arg(long, num_args = 1..)]
    pub roots: Vec<PathBuf>,
    /// The run's folder (checkpoints, log, exported model).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue a run: its folder (newest checkpoint) or a checkpoint file.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Start from this encoder instead of random weights (continued pretraining).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// MATPAC++: five prediction heads with winner-takes-all.
    #[arg(long)]
    pub mcl: bool,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1337)]
    pub seed: u64,
    /// Checkpoint every N updates.
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: u64,
    /// Held-out evaluation every N updates (0 = never).
    #[arg(long, default_value_t = 50)]
    pub eval_every: u64,
    /// Stop (checkpoint + export) after this update even if the run is longer; resume later.
    #[arg(long)]
    pub stop_at: Option<u64>,
    /// Export the model in 16-bit floats (half the size).
    #[arg(long)]
    pub f16: bool,
    /// Where to export the model (default: RUN/model.safetensors).
    #[arg(long)]
    pub model_out: Option<PathBuf>,
    /// Device: cpu, cuda[:N] or metal[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Print every event as a JSON line instead of a progress line.
    #[arg(long)]
    pub json: bool,
    /// Only export the model of the checkpoint given with --resume (to --model-out), no training.
    #[arg(long, requires = "resume")]
    pub export_only: bool,
}

fn default_run_dir() -> anyhow::Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("org", "Earmark", "earmark")
        .context("no home directory for training runs; pass --out DIR")?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(dirs
        .data_dir()
        .join("training")
        .join(format!("run-{stamp}")))
}

fn prepare(args: &TrainArgs) -> anyhow::Result<TrainRun> {
    let choice: DeviceChoice = args.device.parse()?;
    if choice == DeviceChoice::Wgpu {
        bail!("training runs on candle devices (cpu, cuda, metal); wgpu serves inference only");
    }
    let device = open(choice)?;
    let data_for = |state: &TrainState| {
        let n_t = state.cfg.preset.encoder.n_t;
        TrainData::from_roots(&state.cfg.roots, n_t, state.cfg.seed)
    };
    let mut run = if let Some(path) = &args.resume {
        TrainRun::resume(path, &device, data_for)?
    } else {
        if args.roots.is_empty() {
            bail!("give the folders to train on with --roots DIR... (or --resume RUN)");
        }
        let configure = |preset: TrainPreset| {
            let mut cfg =
                TrainConfig::new(preset.with_mcl(args.mcl), args.steps, args.batch, args.lr);
            cfg.mask_ratio = args.mask_ratio;
            cfg.seed = args.seed;
            cfg.checkpoint_every = args.checkpoint_every;
            cfg.eval_every = args.eval_every;
            cfg.roots = args.roots.clone();
            cfg
        };
        let state = match &args.init {
            Some(model) => state_from_model(model, &device, configure)?,
            None => TrainState::new(configure(TrainPreset::named(&args.preset)?), &device)?,
        };
        let data = data_for(&state)?;
        let dir = match &args.out {
            Some(d) => d.clone(),
            None => default_run_dir()?,
        };
        TrainRun::new(state, data, &dir)
    };
    run.stop_at = args.stop_at;
    run.precision = if args.f16 {
        Precision::F16
    } else {
        Precision::F32
    };
    if let Some(p) = &args.model_out {
        run.model_path = p.clone();
    }
    Ok(run)
}

fn print_event(ev: &TrainEvent, json: bool) {
    if json {
        if let Ok(line) = serde_json::to_string(ev) {
            println!("{line}");
        }
        return;
    }
    match ev {
        TrainEvent::Started { step, total, .. } => {
            println!(
                "{}, from update {step} of {total}",
                earmark::train::trainer::files_used(ev)
            )
        }
        TrainEvent::Unusable { path, reason } => eprintln!("skipped {path}: {reason}"),
        TrainEvent::Step {
            stats,
            samples_per_s,
            eta_s,
        } => println!(
            "step {:>6}  pred {:.4}  cls {:.4}  lr {:.2e}  τt {:.4}  ppl {:>7.1}  |g| {:.3}  {:.1} crops/s  ETA {:.0} s",
            stats.step + 1,
            stats.loss_pred,
            stats.loss_cls,
            stats.lr,
            stats.teacher_temp,
            stats.teacher_perplexity,
            stats.grad_norm,
            samples_per_s,
            eta_s
        ),
        TrainEvent::Eval {
            step,
            loss_pred,
            loss_cls,
            teacher_perplexity,
        } => println!(
            "held-out after {step}: pred {loss_pred:.4}  cls {loss_cls:.4}  ppl {teacher_perplexity:.1}"
        ),
        TrainEvent::Checkpoint { path, .. } => println!("checkpoint {}", path.display()),
        TrainEvent::Finished {
            step,
            complete,
            model,
        } => println!(
            "{} after {step} updates; model: {}",
            if *complete { "finished" } else { "stopped" },
            model.display()
        ),
        TrainEvent::Failed { reason } => eprintln!("training failed: {reason}"),
    }
}

/// Writes the student of a checkpoint as a model file.
fn export_only(args: &TrainArgs) -> anyhow::Result<std::process::ExitCode> {
    let Some(source) = &args.resume else {
        bail!("--export-only needs --resume CHECKPOINT");
    };
    let file = if source.is_dir() {
        earmark::train::checkpoint::latest(source)
            .with_context(|| format!("{}: no checkpoint", source.display()))?
    } else {
        source.clone()
    };
    let (state, _) = earmark::train::checkpoint::load(&file, &candle_core::Device::Cpu)?;
    let out = match &args.model_out {
        Some(p) => p.clone(),
        None => file.with_file_name(format!("model-{:07}.safetensors", state.step)),
    };
    let precision = if args.f16 {
        Precision::F16
    } else {
        Precision::F32
    };
    earmark::train::export::export_model(&state, &out, precision)?;
    println!(
        "exported the student after {} updates to {}",
        state.step,
        out.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

/// Runs `earmark train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.export_only {
        return export_only(args);
    }
    let run = prepare(args)?;
    let handle = TrainHandle::spawn(run)?;
    let control = handle.control();
    // Ctrl+C stops after the current update; the checkpoint and export follow.
    let _ = ctrlc::set_handler(move || control.cancel());
    while let Ok(ev) = handle.events().recv() {
        let end = matches!(ev, TrainEvent::Finished { .. } | TrainEvent::Failed { .. });
        print_event(&ev, args.json);
        if end {
            break;
        }
    }
    match handle.join() {
        TrainEvent::Failed { reason } => bail!("training failed: {reason}"),
        _ => Ok(std::process::ExitCode::SUCCESS),
    }
}
