//! `earmark predict FILE --model M --head H [--labels V]`: the top-5 labels of a head.
//!
//! The head decides the embedding it takes (a probe: precise, frequency-concatenated, pooled;
//! the AudioSet head: precise, frequency-averaged, pooled). Labels come from `--labels`, else from
//! the class names a download put beside the head (`X.vocab.*`), else from the official mapping
//! file named after the probe's task when it sits next to the head, else `class_N`.
//! Audio is decoded and encoded as a stream; a precomputed log-mel is read whole.

use std::path::{Path, PathBuf};

use anyhow::Context;
use earmark::model::embed;
use earmark::model::embed_stream::file_clip_vector;
use earmark::tags::{Head, Vocabulary, format_label, top_k, vocab};

use super::embed::{load_encoder, load_input};

/// Whether `path` holds a precomputed normalised log-mel rather than audio.
fn is_precomputed(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    ext == "safetensors" || ext == "npy"
}

/// Arguments of `earmark predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// Audio file (or a precomputed normalised log-mel as .safetensors / .npy).
    pub file: PathBuf,
    /// Encoder weights (.pt or .safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Head weights: a probe (.pth / .safetensors) or a checkpoint with the AudioSet head.
    #[arg(long)]
    pub head: PathBuf,
    /// Class vocabulary (official mapping .json/.csv, or one label per line).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Number of labels printed.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Device: auto, cpu, wgpu, cuda[:N], metal[:N] (a failing GPU falls back to the CPU).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// The labels of a head: `labels` when given, else the downloaded class names beside it, else the
/// official mapping file named after the probe's task when it sits next to the head, else
/// `class_N`.
pub fn head_vocabulary(
    head: &Path,
    labels: Option<&Path>,
    classes: usize,
) -> anyhow::Result<Vocabulary> {
    let official = earmark::catalog::head_vocabulary(head).or_else(|| {
        vocab::official_mapping_for(head)
            .and_then(|name| head.parent().map(|d| d.join(name)))
            .filter(|p| p.is_file())
    });
    Ok(Vocabulary::for_head(
        head,
        labels.or(official.as_deref()),
        classes,
    )?)
}

/// Runs `earmark predict`.
pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let encoder = load_encoder(&args.model, &args.device)?;
    let head =
        Head::load(&args.head).with_context(|| format!("loading {}", args.head.display()))?;
    let vocab = head_vocabulary(&args.head, args.labels.as_deref(), head.classes())?;
    if matches!(head, Head::AudioSet { .. }) && encoder.config().n_t != 992 {
        eprintln!(
            "warning: the AudioSet head belongs to the 992-frame fine-tuned encoder; {} has n_t {}",
            args.model.display(),
            encoder.config().n_t
        );
    }
    // Audio streams (decode → log-mel → encoder chunks), so memory does not grow with its length.
    let opts = head.embed_options();
    let clip = if is_precomputed(&args.file) {
        embed(&encoder, &load_input(&args.file)?, &opts)?.clip_vector()
    } else {
        file_clip_vector(&encoder, &args.file, &opts)?
    };
    anyhow::ensure!(
        clip.len() == head.inputs(),
        "the head takes {}-d inputs but the encoder gives {}-d embeddings",
        head.inputs(),
        clip.len()
    );
    for (i, p) in top_k(&head.probabilities(&clip)?, args.top) {
        println!("{}", format_label(&vocab.labels[i], p));
    }
    Ok(())
}
