//! Evaluation built into the product: how well a model's embeddings tell the user's own
//! labelled sounds apart, next to a log-mel statistics baseline that needs no model.
//!
//! For every labelled file: decode, log-mel (the analysis budget applies as in a scan), then
//! - the model's clip embedding — precise mode, frequency-concatenated, time-pooled, last layer
//!   (3840-d for ViT-B, what the official probes take);
//! - the baseline: mean and standard deviation of each of the 80 normalised log-mel bands over
//!   the same frames (160-d, [`baseline`]).
//!
//! Both feature sets get the same scores: leave-one-out k-NN precision@1 and @10 under cosine
//! similarity ([`knn`]) and few-shot accuracy at 1, 5 and 10 examples per class, mean ± std over
//! seeded repeats ([`fewshot`]). Files that cannot be decoded are reported and left out. A tag
//! head, when given, scores each file as a scan tags it: a clip shorter than
//! [`crate::library::analyse::MIN_TAG_SECONDS`] with silence after it.
//!
//! [`evaluate`] runs as a job (progress, cancel) and returns an [`EvalReport`]; the CLI, the
//! model card and the training panel all call it.

pub mod baseline;
pub mod dataset;
pub mod fewshot;
pub mod head_scores;
pub mod knn;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::jobs::{JobContext, JobEvent, ProgressTracker};
use crate::library::analyse::{Budget, prepare};
use crate::model::chunk::ChunkEncoder;
use crate::model::{EmbedOptions, embed};
use crate::tags::TagOptions;
pub use baseline::{BASELINE_DIM, logmel_stats};
pub use dataset::LabelledFile;
pub use fewshot::{ShotAccuracy, few_shot_accuracy};
pub use head_scores::{HeadScores, score_head};
pub use knn::knn_precision;

/// Chunk length and patch size assumed for the budget when no model is evaluated.
const DEFAULT_GRID: (usize, usize) = (608, 16);

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Examples per class of the few-shot scores.
    pub shots: Vec<usize>,
    /// Seeded repeats per shot count.
    pub repeats: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// How much of each file is analysed.
    pub budget: Budget,
    /// The classifier's settings.
    pub classifier: TagOptions,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            shots: vec![1, 5, 10],
            repeats: 10,
            seed: 0,
            budget: Budget::CPU_DEFAULT,
            classifier: TagOptions::default(),
        }
    }
}

/// The scores of one feature set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureScores {
    /// What the features are (the model's name, or the baseline's).
    pub name: String,
    /// Values per item.
    pub dim: usize,
    /// Leave-one-out precision@1 (cosine).
    pub knn_precision_at_1: f64,
    /// Leave-one-out precision@10 (cosine).
    pub knn_precision_at_10: f64,
    /// Few-shot accuracy per shot count.
    pub few_shot: Vec<ShotAccuracy>,
}

impl FeatureScores {
    /// The few-shot accuracy at `shots`, if measured.
    pub fn at_shots(&self, shots: usize) -> Option<&ShotAccuracy> {
        self.few_shot.iter().find(|s| s.shots == shots)
    }
}

/// A class and how many files it has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassCount {
    /// The label.
    pub label: String,
    /// Files evaluated.
    pub items: usize,
}

/// A file left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedFile {
    /// The file.
    pub path: String,
    /// The reason.
    pub reason: String,
}

/// Everything an evaluation measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Files evaluated.
    pub items: usize,
    /// Classes, sorted by label.
    pub classes: Vec<ClassCount>,
    /// Files that could not be used.
    pub skipped: Vec<SkippedFile>,
    /// Accuracy of always answering one class: 1 / number of classes.
    pub chance: f64,
    /// The model's scores (when a model was given).
    pub model: Option<FeatureScores>,
    /// The log-mel statistics baseline's scores.
    pub baseline: FeatureScores,
    /// How the model's tag head names the classes (when a head was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<HeadScores>,
}

/// The model to evaluate.
#[derive(Clone, Copy)]
pub struct EvalModel<'a> {
    /// Shown name.
    pub name: &'a str,
    /// The encoder.
    pub encoder: &'a dyn ChunkEncoder,
    /// A tag head on the encoder's clip embedding, scored when the set's class names are
    /// labels of it.
    pub head: Option<EvalHead<'a>>,
}

/// A tag head and the names of its outputs.
#[derive(Clone, Copy)]
pub struct EvalHead<'a> {
    /// The head.
    pub head: &'a crate::tags::Head,
    /// Its labels, one per output.
    pub vocabulary: &'a [String],
}

/// Scores one feature set: `features` is `n × dim`, `labels[i]` the class of item `i`.
pub fn score_features(
    name: &str,
    features: &[f32],
    dim: usize,
    labels: &[usize],
    opts: &EvalOptions,
) -> Result<FeatureScores> {
    let p = knn_precision(features, dim, labels, &[1, 10]);
    Ok(FeatureScores {
        name: name.to_owned(),
        dim,
        knn_precision_at_1: p[0],
        knn_precision_at_10: p[1],
        few_shot: few_shot_accuracy(
            features,
            dim,
            labels,
            &opts.shots,
            opts.repeats,
            opts.seed,
            &opts.classifier,
        )?,
    })
}

/// One evaluated file: its label, baseline features and (with a model) clip embedding.
struct Features<'a> {
    label: &'a str,
    baseline: Vec<f32>,
    clip: Option<Vec<f32>>,
    /// What the tag head scores a short clip from (see [`crate::library::analyse`]).
    tag_clip: Option<Vec<f32>>,
}

/// A file's baseline features, clip embedding and, for a short clip, the tag heads' input.
type FileFeatures = (Vec<f32>, Option<Vec<f32>>, Option<Vec<f32>>);

/// One file's features: the baseline's and, with a model, its clip embedding.
fn file_features(
    file: &LabelledFile,
    model: Option<EvalModel<'_>>,
    budget: Budget,
) -> Result<FileFeatures> {
    let (n_t, patch) = model.map_or(DEFAULT_GRID, |m| {
        (m.encoder.config().n_t, m.encoder.config().patch_size)
    });
    let prepared = prepare(&file.path, budget, n_t, patch)?;
    let base = logmel_stats(&prepared.mel);
    let Some(m) = model else {
        return Ok((base, None, None));
    };
    let clip = embed(m.encoder, &prepared.mel, &EmbedOptions::for_probe())?.clip_vector();
    let tag_clip = match (&prepared.tag_input, m.head) {
        (Some(mel), Some(_)) => {
            Some(embed(m.encoder, mel, &EmbedOptions::for_probe())?.clip_vector())
        }
        _ => None,
    };
    Ok((base, Some(clip), tag_clip))
}

/// Computes the features of `files` and scores them, reporting progress through `ctx`; a
/// cancel stops it with [`Error::Cancelled`].
pub fn evaluate(
    files: &[LabelledFile],
    model: Option<EvalModel<'_>>,
    opts: &EvalOptions,
    ctx: &JobContext,
) -> Result<EvalReport> {
    let mut tracker = ProgressTracker::new(files.len());
    let mut kept: Vec<Features<'_>> = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        ctx.control.checkpoint()?;
        let shown = file.path.display().to_string();
        ctx.events.progress(tracker.snapshot(Some(shown.clone())));
        match file_features(file, model, opts.budget) {
            Ok((baseline, clip, tag_clip)) => {
                kept.push(Features {
                    label: &file.label,
                    baseline,
                    clip,
                    tag_clip,
                });
                tracker.finish_item(false);
            }
            Err(e) => {
                ctx.events.send(JobEvent::ItemFailed {
                    item: shown.clone(),
                    reason: e.to_string(),
                });
                skipped.push(SkippedFile {
                    path: shown,
                    reason: e.to_string(),
                });
                tracker.finish_item(true);
            }
        }
    }
    ctx.events.progress(tracker.snapshot(None));
    let mut names: Vec<&str> = kept.iter().map(|k| k.label).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() < 2 {
        return Err(Error::InvalidInput(format!(
            "an evaluation needs at least two classes with readable files (have {})",
            names.len()
        )));
    }
    let labels: Vec<usize> = kept
        .iter()
        .map(|k| names.binary_search(&k.label).unwrap_or(0))
        .collect();
    ctx.events.send(JobEvent::Note(format!(
        "scoring {} files in {} classes",
        kept.len(),
        names.len()
    )));
    let base: Vec<f32> = kept
        .iter()
        .flat_map(|k| k.baseline.iter().copied())
        .collect();
    let baseline = score_features("log-mel statistics", &base, BASELINE_DIM, &labels, opts)?;
    let head = match model.and_then(|m| m.head) {
        Some(h) => {
            let rows = kept
                .iter()
                .filter_map(|k| k.tag_clip.as_ref().or(k.clip.as_ref()))
                .map(|clip| h.head.probabilities(clip))
                .collect::<Result<Vec<_>>>()?;
            Some(score_head(&rows, &labels, &names, h.vocabulary))
        }
        None => None,
    };
    let model_scores = match model {
        Some(m) => {
            let clips: Vec<&Vec<f32>> = kept.iter().filter_map(|k| k.clip.as_ref()).collect();
            let dim = clips.first().map_or(0, |c| c.len());
            let flat: Vec<f32> = clips.iter().flat_map(|c| c.iter().copied()).collect();
            Some(score_features(m.name, &flat, dim, &labels, opts)?)
        }
        None => None,
    };
    let classes = names
        .iter()
        .enumerate()
        .map(|(c, name)| ClassCount {
            label: (*name).to_owned(),
            items: labels.iter().filter(|&&l| l == c).count(),
        })
        .collect();
    Ok(EvalReport {
        items: kept.len(),
        classes,
        skipped,
        chance: 1.0 / names.len() as f64,
        model: model_scores,
        baseline,
        head,
    })
}
