//! `earmark finetune`: teaches an encoder sound types from labelled files (supervised), and
//! writes the fine-tuned model with a calibrated multi-label tag head.
//!
//! Input: a label table (`path, label, package, split`: rows of split `train` are trained on,
//! every tenth of them is kept apart to calibrate the head; rows of split `val` are scored at
//! each evaluation) and a vocabulary (`label<TAB>…`, one row per head output). Output in the
//! run folder: `finetune-*.safetensors` checkpoints (`--resume RUN` continues exactly),
//! `log.jsonl`, `model.safetensors` (16-bit, loads like any Earmark model) and `head.safetensors`
//! with `head.vocab.txt`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use earmark::model::device::{DeviceChoice, open};
use earmark::train::checkpoint::append_log;
use earmark::train::export::{Precision, write_model};
use earmark::train::finetune::{FineTune, FineTuneConfig};
use earmark::train::finetune_io::{
    checkpoint_name, encoder_tensors, export_head, latest_checkpoint, load_checkpoint,
    prune_checkpoints, save_checkpoint,
};
use earmark::train::labelled::{LabelledFile, LabelledSet, read_table, read_vocabulary};

/// Arguments of `earmark finetune`.
#[derive(Debug, clap::Args)]
pub struct FinetuneArgs {
    /// The encoder to start from (an Earmark model or an official checkpoint).
    #[arg(long, required_unless_present = "resume")]
    pub model: Option<PathBuf>,
    /// Label table: path, label, package, split (tab-separated, header row first).
    #[arg(long)]
    pub labels: PathBuf,
    /// Vocabulary: one label per row in the first column (tab-separated, header row first).
    #[arg(long, required_unless_present = "resume")]
    pub vocab: Option<PathBuf>,
    /// The run's folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this folder (its newest checkpoint).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Updates of the whole run.
    #[arg(long, default_value_t = 3000)]
    pub steps: u64,
    /// Crops per update.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Peak learning rate of the encoder.
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Longest crop in 16-frame columns (19 = 3.04 s).
    #[arg(long, default_value_t = 19)]
    pub max_cols: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Train only the tag classifier; the encoder stays as it is.
    #[arg(long)]
    pub freeze_encoder: bool,
    /// Checkpoint and evaluate every N updates.
    #[arg(long, default_value_t = 200)]
    pub every: u64,
    /// Stop (checkpoint + export) after this update; resume later.
    #[arg(long)]
    pub stop_at: Option<u64>,
    /// Device: cpu, cuda[:N] or metal[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `earmark finetune`.
pub fn run(args: &FinetuneArgs) -> anyhow::Result<()> {
    let choice: DeviceChoice = args.device.parse()?;
    if choice == DeviceChoice::Wgpu {
        bail!("fine-tuning runs on candle devices (cpu, cuda, metal)");
    }
    let device = open(choice)?;
    let (mut run, dir) = match &args.resume {
        Some(dir) => {
            let ckpt = latest_checkpoint(dir)
                .with_context(|| format!("no checkpoint in {}", dir.display()))?;
            (load_checkpoint(&ckpt, &device)?, dir.clone())
        }
        None => {
            let (Some(model), Some(vocab)) = (&args.model, &args.vocab) else {
                bail!("give --model and --vocab (or --resume RUN)");
            };
            let dir = args
                .out
                .clone()
                .context("give the run's folder with --out")?;
            let labels = read_vocabulary(vocab)?;
            let (encoder, tensors) = encoder_tensors(model, &device)?;
            let cfg = FineTuneConfig {
                steps: args.steps,
                batch: args.batch,
                lr: args.lr,
                max_cols: args.max_cols.clamp(1, encoder.time_patches()),
                seed: args.seed,
                freeze_encoder: args.freeze_encoder,
                ..FineTuneConfig::default()
            };
            (FineTune::new(cfg, encoder, labels, &tensors, &device)?, dir)
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (train_rows, calibration_rows) = set_apart(read_table(&args.labels, "train")?);
    let train = load(&train_rows, &run.labels, "train")?;
    let calibration = load(&calibration_rows, &run.labels, "calibration")?;
    let val = load(&read_table(&args.labels, "val")?, &run.labels, "val")?;
    let log = dir.join("log.jsonl");
    let val_groups = val.all(64, run.cfg.max_cols);
    let end = args.stop_at.unwrap_or(run.cfg.steps).min(run.cfg.steps);
    while run.step < end {
        let mut rng = run.rng.clone();
        let groups = train.draw(run.cfg.batch, run.cfg.max_cols, true, &mut rng);
        run.rng = rng;
        let stats = run.train_step(&groups)?;
        append_log(&log, &serde_json::json!({"event": "step", "stats": stats}))?;
        if stats.step % 10 == 0 {
            println!(
                "step {:>6}  loss {:.4}  acc {:.3}  lr {:.2e}  |g| {:.3}  {:.2} s",
                stats.step + 1,
                stats.loss,
                stats.accuracy,
                stats.lr,
                stats.grad_norm,
                stats.seconds
            );
        }
        if run.step % args.every == 0 || run.step == end {
            if !val_groups.is_empty() {
                let (loss, acc) = run.evaluate(&val_groups)?;
                println!("val    {:>6}  loss {loss:.4}  acc {acc:.3}", run.step);
                append_log(
                    &log,
                    &serde_json::json!({"event": "val", "step": run.step, "loss": loss, "accuracy": acc}),
                )?;
            }
            save_checkpoint(&run, &dir.join(checkpoint_name(run.step)))?;
            prune_checkpoints(&dir, 3);
        }
    }
    let model = dir.join("model.safetensors");
    let trained = format!(
        "fine-tuned on {} labels, {} updates, batch {}",
        run.labels.len(),
        run.step,
        run.cfg.batch
    );
    write_model(
        &run.encoder_tensors()?,
        &run.encoder,
        &trained,
        &model,
        Precision::F16,
    )?;
    let (logits, labels) = run.logits_of(&calibration.all(64, run.cfg.max_cols))?;
    let head = dir.join("head.safetensors");
    export_head(&run, &logits, &labels, &head)?;
    println!("model: {}\nhead:  {}", model.display(), head.display());
    Ok(())
}

/// Splits the training rows: of each label's files, the 5th, 15th, 25th… calibrate the head
/// and are not trained on (a label with five files or more has at least one).
fn set_apart(rows: Vec<LabelledFile>) -> (Vec<LabelledFile>, Vec<LabelledFile>) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    rows.into_iter().partition(|row| {
        let n = seen.entry(row.label.clone()).or_default();
        *n += 1;
        *n % 10 != 5
    })
}

fn load(rows: &[LabelledFile], labels: &[String], what: &str) -> anyhow::Result<LabelledSet> {
    let set = LabelledSet::load(rows, labels)?;
    for (path, why) in &set.unusable {
        eprintln!("skipped {}: {why}", path.display());
    }
    let counts = set.counts();
    let present = counts.iter().filter(|&&c| c > 0).count();
    println!(
        "{what}: {} files, {present} of {} labels",
        set.len(),
        labels.len()
    );
    Ok(set)
}
