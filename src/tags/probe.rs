//! The official heads: downstream linear probes and the AudioSet head (spec §1.2, §4.5, §4.6).
//!
//! - A **probe** (`probe.weight [C, 3840]`, `probe.bias [C]`) takes the precise, frequency-
//!   concatenated, time-pooled last-layer embedding: `softmax(W·e + b)`.
//! - The **AudioSet head** (`head_norm.running_mean/var [768]`, `head.weight [527, 768]`,
//!   `head.bias [527]`, stored in the `…_enc_and_head.pt` checkpoint) takes the time-pooled mean of
//!   the frequency tokens: BatchNorm without affine (eps 1e-5), linear, softmax. Softmax, not a
//!   sigmoid, as in the reference.
//!
//! - A **multi-label tag head** (`tags.weight [C, E]`, `tags.bias [C]`), like the starter head
//!   of Earmark's bundled model, takes the same clip embedding as a probe, scaled to unit
//!   length: `sigmoid(W·e/|e| + b)`, one independent probability per label.
//!
//! Heads are small, so they run in plain f64 arithmetic on the CPU whatever device the encoder uses.

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::embed::EmbedOptions;
use crate::model::keys::{HEAD_PREFIXES, TRAINING_PREFIXES};
use crate::model::weights::WeightFile;

/// BatchNorm epsilon of the AudioSet head.
pub const AUDIOSET_BN_EPS: f64 = 1e-5;

/// A linear layer `[classes, inputs]` with bias.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearHead {
    /// Row-major `[classes, inputs]`.
    pub weight: Vec<f32>,
    /// `[classes]`.
    pub bias: Vec<f32>,
    /// Input width.
    pub inputs: usize,
}

impl LinearHead {
    /// Number of outputs.
    pub fn classes(&self) -> usize {
        self.bias.len()
    }

    /// `W·x + b` in f64.
    pub fn logits(&self, x: &[f64]) -> Result<Vec<f64>> {
        if x.len() != self.inputs {
            return Err(Error::InvalidInput(format!(
                "head takes {} inputs, got {}",
                self.inputs,
                x.len()
            )));
        }
        Ok(self
            .weight
            .chunks_exact(self.inputs)
            .zip(&self.bias)
            .map(|(row, &b)| {
                row.iter()
                    .zip(x)
                    .map(|(&w, &v)| f64::from(w) * v)
                    .sum::<f64>()
                    + f64::from(b)
            })
            .collect())
    }
}

/// Softmax of `logits`, computed stably in f64.
pub fn softmax(logits: &[f64]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|&z| (z - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// A head on top of the encoder.
#[derive(Debug, Clone, PartialEq)]
pub enum Head {
    /// A downstream linear probe on the 3840-d clip embedding.
    Probe(LinearHead),
    /// A multi-label head on the unit-length clip embedding (sigmoid per label).
    MultiLabel(LinearHead),
    /// The AudioSet head: BatchNorm statistics, then a linear layer on the 768-d clip mean.
    AudioSet {
        /// BatchNorm running mean.
        running_mean: Vec<f32>,
        /// BatchNorm running variance.
        running_var: Vec<f32>,
        /// The classifier.
        linear: LinearHead,
    },
}

fn err(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {why}", path.display()))
}

fn read(file: &mut WeightFile, name: &str, rank: usize) -> Result<(Vec<usize>, Vec<f32>)> {
    let (shape, values) = file.read_f32(name)?;
    if shape.len() != rank {
        return Err(err(
            file.path(),
            format!("key `{name}` has shape {shape:?}, expected rank {rank}"),
        ));
    }
    Ok((shape, values))
}

fn linear(file: &mut WeightFile, prefix: &str) -> Result<LinearHead> {
    let (ws, weight) = read(file, &format!("{prefix}.weight"), 2)?;
    let (bs, bias) = read(file, &format!("{prefix}.bias"), 1)?;
    if bs[0] != ws[0] {
        return Err(err(
            file.path(),
            format!(
                "`{prefix}.bias` has {} entries, `{prefix}.weight` {} rows",
                bs[0], ws[0]
            ),
        ));
    }
    Ok(LinearHead {
        weight,
        bias,
        inputs: ws[1],
    })
}

fn is_encoder_key(name: &str) -> bool {
    ["cls_token", "pos_embed", "patch_embed.", "student_encoder."]
        .iter()
        .any(|p| name.starts_with(p))
}

impl Head {
    /// Loads a head: a probe file (`probe.weight`, `probe.bias`) or a checkpoint holding the
    /// AudioSet head. Keys that belong to neither a head, an encoder nor the known training-only
    /// entries are an error naming the key.
    pub fn load(path: &Path) -> Result<Head> {
        let mut file = WeightFile::open(path)?;
        let names = file.tensor_names();
        for n in names.iter().chain(&file.non_tensor_names()) {
            let known = is_encoder_key(n)
                || HEAD_PREFIXES
                    .iter()
                    .chain(&TRAINING_PREFIXES)
                    .any(|p| n.starts_with(p));
            if !known {
                return Err(err(path, format!("unexpected key `{n}` in a head file")));
            }
        }
        let has = |k: &str| names.iter().any(|n| n == k);
        if has("probe.weight") || has("probe.bias") {
            return Ok(Head::Probe(linear(&mut file, "probe")?));
        }
        if has("tags.weight") || has("tags.bias") {
            return Ok(Head::MultiLabel(linear(&mut file, "tags")?));
        }
        if has("head.weight") || has("head_norm.running_mean") {
            let linear = linear(&mut file, "head")?;
            let (_, running_mean) = read(&mut file, "head_norm.running_mean", 1)?;
            let (_, running_var) = read(&mut file, "head_norm.running_var", 1)?;
            if running_mean.len() != linear.inputs || running_var.len() != linear.inputs {
                return Err(err(
                    path,
                    format!(
                        "head_norm statistics do not match head.weight's {} inputs",
                        linear.inputs
                    ),
                ));
            }
            if running_var
                .iter()
                .any(|&v| v.is_nan() || f64::from(v) + AUDIOSET_BN_EPS <= 0.0)
            {
                return Err(err(
                    path,
                    "`head_norm.running_var` has negative or NaN entries",
                ));
            }
            return Ok(Head::AudioSet {
                running_mean,
                running_var,
                linear,
            });
        }
        Err(err(
            path,
            "missing key `probe.weight` (or `head.weight`): not a head file",
        ))
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        match self {
            Head::Probe(l) | Head::MultiLabel(l) | Head::AudioSet { linear: l, .. } => l.classes(),
        }
    }

    /// Input width (3840 for a ViT-B probe, 768 for the AudioSet head).
    pub fn inputs(&self) -> usize {
        match self {
            Head::Probe(l) | Head::MultiLabel(l) | Head::AudioSet { linear: l, .. } => l.inputs,
        }
    }

    /// The embedding options whose [`crate::model::Embeddings::clip_vector`] this head takes.
    pub fn embed_options(&self) -> EmbedOptions {
        match self {
            Head::Probe(_) | Head::MultiLabel(_) => EmbedOptions::for_probe(),
            Head::AudioSet { .. } => EmbedOptions::for_audioset_head(),
        }
    }

    /// Class probabilities for a clip vector (a multi-label head: one independent probability
    /// per label).
    pub fn probabilities(&self, clip: &[f32]) -> Result<Vec<f32>> {
        let x: Vec<f64> = match self {
            Head::Probe(_) => clip.iter().map(|&v| f64::from(v)).collect(),
            Head::MultiLabel(_) => {
                let norm = clip
                    .iter()
                    .map(|&v| f64::from(v) * f64::from(v))
                    .sum::<f64>()
                    .sqrt()
                    .max(1e-12);
                clip.iter().map(|&v| f64::from(v) / norm).collect()
            }
            Head::AudioSet {
                running_mean,
                running_var,
                ..
            } => {
                if clip.len() != running_mean.len() {
                    return Err(Error::InvalidInput(format!(
                        "AudioSet head takes {} inputs, got {}",
                        running_mean.len(),
                        clip.len()
                    )));
                }
                clip.iter()
                    .zip(running_mean.iter().zip(running_var))
                    .map(|(&v, (&m, &var))| {
                        (f64::from(v) - f64::from(m)) / (f64::from(var) + AUDIOSET_BN_EPS).sqrt()
                    })
                    .collect()
            }
        };
        match self {
            Head::MultiLabel(l) => Ok(l
                .logits(&x)?
                .iter()
                .map(|&z| (1.0 / (1.0 + (-z).exp())) as f32)
                .collect()),
            Head::Probe(l) | Head::AudioSet { linear: l, .. } => Ok(softmax(&l.logits(&x)?)),
        }
    }
}
