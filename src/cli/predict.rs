//! `earmark predict FILE... [--model M] [--head H] [--labels V] [--top N] [--json]`: the top
//! labels a tag head gives each file.
//!
//! With no `--model`, the active model (the window's choice in `settings.toml`, else the bundled
//! model); with no `--head`, the head in force for it (the chosen head, else the bundled model's
//! starter head: see [`earmark::model::bundled::head_in_force`]).
//!
//! The head decides the embedding it takes (a probe or the starter head: precise,
//! frequency-concatenated, pooled; the AudioSet head: precise, frequency-averaged, pooled). A
//! probe and the AudioSet head give class probabilities (a softmax: they sum to 1); a
//! multi-label head such as the starter head gives each label its own score (a sigmoid).
//! Labels come from `--labels`, else from the class names beside the head (`X.vocab.*`), else
//! from the official mapping file named after the probe's task when it sits next to the head,
//! else `class_N`. Audio is decoded and encoded as a stream; a precomputed log-mel is read whole.

use std::path::{Path, PathBuf};

use anyhow::Context;
use earmark::config::Settings;
use earmark::engine::Engine;
use earmark::library::analyse::MIN_TAG_SAMPLES;
use earmark::model::bundled::{bundled_model_path, head_in_force};
use earmark::model::embed;
use earmark::model::embed_stream::file_clip_vector_padded;
use earmark::model::lowp::Precision;
use earmark::tags::{Head, Vocabulary, format_label, top_k, vocab};

use super::embed::{load_encoder, load_input, use_precision};

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
    /// Audio files (or precomputed normalised log-mels as .safetensors / .npy).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Encoder weights (.pt or .safetensors); default: the active model, else the bundled one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Head weights: a probe (.pth / .safetensors), a multi-label tag head, or a checkpoint
    /// with the AudioSet head; default: the chosen head, else the bundled model's starter head.
    #[arg(long)]
    pub head: Option<PathBuf>,
    /// Class vocabulary (official mapping .json/.csv, or one label per line).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Number of labels printed per file.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// One JSON object per file and line: `{"path", "head", "labels": [{"label", "score"}]}`,
    /// best first (`{"path", "error"}` for a file that cannot be read).
    #[arg(long)]
    pub json: bool,
    /// Device: auto, cpu, wgpu, cuda[:N], metal[:N] (a failing GPU falls back to the CPU).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Precision of the encoder's matrix products on the CPU: f32, bf16 (AVX512-BF16), int8
    /// (AVX512-VNNI) or auto (the fastest this CPU runs within Earmark's accuracy bars).
    #[arg(long, default_value = "auto", value_name = "P")]
    pub precision: Precision,
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

/// The model and head to use: the arguments, else the active model and the head in force.
fn choose(args: &PredictArgs) -> anyhow::Result<(PathBuf, PathBuf, Option<PathBuf>)> {
    let settings = Settings::load();
    let model = match (&args.model, &settings.model) {
        (Some(m), _) => m.clone(),
        (None, Some(m)) if m.is_file() => m.clone(),
        _ => bundled_model_path()?,
    };
    if let Some(head) = &args.head {
        return Ok((model, head.clone(), args.labels.clone()));
    }
    let in_force = head_in_force(&settings, Some(&model));
    match in_force.head() {
        Some((head, labels)) => Ok((model, head, args.labels.clone().or(labels))),
        None => anyhow::bail!(
            "{} Model: {}. Pass --head to choose a head.",
            in_force.why_none().unwrap_or_default(),
            model.display()
        ),
    }
}

/// One label of `--json` output.
#[derive(serde::Serialize)]
struct Scored<'a> {
    label: &'a str,
    score: f32,
}

/// One file of `--json` output (fields in this order).
#[derive(serde::Serialize)]
struct Predicted<'a> {
    path: &'a Path,
    head: &'a str,
    labels: Vec<Scored<'a>>,
}

/// Scores of `head` for the file at `path`.
fn scores(encoder: &Engine, head: &Head, path: &Path) -> anyhow::Result<Vec<f32>> {
    // Audio streams (decode → log-mel → encoder chunks), so memory does not grow with its length.
    let opts = head.embed_options();
    let clip = if is_precomputed(path) {
        embed(encoder, &load_input(path)?, &opts)?.clip_vector()
    } else {
        // A short clip is heard as a scan's tag heads hear it: with silence after it.
        file_clip_vector_padded(encoder, path, &opts, MIN_TAG_SAMPLES)?
    };
    anyhow::ensure!(
        clip.len() == head.inputs(),
        "{}: the head takes {}-d inputs but the encoder gives {}-d embeddings",
        path.display(),
        head.inputs(),
        clip.len()
    );
    Ok(head.probabilities(&clip)?)
}

/// Runs `earmark predict`.
pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let (model, head_path, labels) = choose(args)?;
    use_precision(args.precision)?;
    let encoder = load_encoder(&model, &args.device)?;
    let head =
        Head::load(&head_path).with_context(|| format!("loading {}", head_path.display()))?;
    let vocab = head_vocabulary(&head_path, labels.as_deref(), head.classes())?;
    if matches!(head, Head::AudioSet { .. }) && encoder.config().n_t != 992 {
        eprintln!(
            "warning: the AudioSet head belongs to the 992-frame fine-tuned encoder; {} has n_t {}",
            model.display(),
            encoder.config().n_t
        );
    }
    let multi_label = matches!(head, Head::MultiLabel(_));
    let head_name = earmark::library::tagging::source_name(&head_path);
    let several = args.files.len() > 1;
    let mut failed = 0;
    for path in &args.files {
        // The error names the file already.
        let result = scores(&encoder, &head, path);
        let top = match result {
            Ok(s) => top_k(&s, args.top),
            Err(e) if !several && !args.json => return Err(e),
            Err(e) => {
                failed += 1;
                if args.json {
                    let line = serde_json::json!({"path": path, "error": e.to_string()});
                    println!("{line}");
                }
                eprintln!("error: {e}");
                continue;
            }
        };
        if args.json {
            let labels = top
                .iter()
                .map(|&(i, score)| Scored {
                    label: &vocab.labels[i],
                    score,
                })
                .collect();
            let line = Predicted {
                path,
                head: &head_name,
                labels,
            };
            println!("{}", serde_json::to_string(&line)?);
            continue;
        }
        if several {
            println!("{}:", path.display());
        }
        let indent = if several { "  " } else { "" };
        for (i, p) in top {
            let label = &vocab.labels[i];
            if multi_label {
                println!("{indent}{label} (score {p:.2})");
            } else {
                println!("{indent}{}", format_label(label, p));
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => anyhow::bail!(
            "{} of {} could not be read",
            n,
            earmark::wording::count(args.files.len(), "file")
        ),
    }
}
