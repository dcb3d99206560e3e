//! Supervised fine-tuning of an encoder on labelled crops, so that its clip embedding separates
//! sound *types* (drum kinds, instrument families, speech, effect categories).
//!
//! The clip embedding is the one every Earmark feature uses: the final-norm tokens averaged over
//! time per frequency row and concatenated (`F·D` values, precise mode). A cosine classifier on
//! it — `z = s · cos(e, w_l)` — is trained with label-smoothed softmax cross-entropy, which pulls
//! files of a label together in cosine distance (what similarity search and k-NN measure).
//! Optimiser, clipping and schedule are the pretraining's ([`super::optim`]).

use std::collections::{BTreeMap, HashMap};

use candle_core::{D, DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::export::{NamedTensors, encoder_tensors_of};
use super::init::encoder_positions;
use super::labelled::{COLUMN, CropGroup};
use super::layers::var_builder;
use super::optim::{AdamState, AdamStep, clip};
use super::vit::{BlockStack, PatchEmbed};
use crate::error::{Error, Result};
use crate::model::EncoderConfig;
use crate::model::keys::expected_encoder_keys;
use crate::model::pos::SplitMix;

/// Name of the classifier's weight `[labels, F·D]` among the variables.
pub const CLASSIFIER: &str = "tags_classifier.weight";

/// Settings of a fine-tuning run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FineTuneConfig {
    /// Updates in all.
    pub steps: u64,
    /// Crops per update.
    pub batch: usize,
    /// Peak learning rate of the encoder (the classifier learns 10× faster).
    pub lr: f64,
    /// Linear warm-up updates.
    pub warmup: u64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Global gradient-norm clip.
    pub clip_norm: f64,
    /// Longest crop in 16-frame columns.
    pub max_cols: usize,
    /// Label smoothing of the targets.
    pub label_smoothing: f64,
    /// Cosine logit scale `s`.
    pub scale: f64,
    /// Seed of the draws and the classifier's start.
    pub seed: u64,
    /// Train only the classifier (the encoder stays as it is).
    #[serde(default)]
    pub freeze_encoder: bool,
}

impl Default for FineTuneConfig {
    fn default() -> Self {
        FineTuneConfig {
            steps: 3000,
            batch: 32,
            lr: 1e-4,
            warmup: 100,
            weight_decay: 0.05,
            clip_norm: 3.0,
            max_cols: 19,
            label_smoothing: 0.1,
            scale: 16.0,
            seed: 2026,
            freeze_encoder: false,
        }
    }
}

impl FineTuneConfig {
    /// Learning rate at update `k`: linear warm-up (at most a tenth of the run), then
    /// half-cosine to zero.
    pub fn lr_at(&self, k: u64) -> f64 {
        let warmup = self.warmup.min(self.steps / 10).max(1);
        if k < warmup {
            return self.lr * (k + 1) as f64 / warmup as f64;
        }
        let span = self.steps.saturating_sub(warmup).max(1) as f64;
        let x = ((k - warmup) as f64 / span).min(1.0);
        self.lr * 0.5 * (1.0 + (std::f64::consts::PI * x).cos())
    }
}

/// What one update measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FineTuneStats {
    /// Update index (0-based).
    pub step: u64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Share of crops whose top label is right.
    pub accuracy: f64,
    /// Learning rate of the encoder.
    pub lr: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    /// Seconds of the update.
    pub seconds: f64,
}

/// Encoder and classifier variables, optimiser and random state of a fine-tuning run.
pub struct FineTune {
    /// The run's settings.
    pub cfg: FineTuneConfig,
    /// The encoder's sizes.
    pub encoder: EncoderConfig,
    /// The label of each classifier row.
    pub labels: Vec<String>,
    /// Encoder variables (official names, `pos_embed` excepted) and the classifier.
    pub params: BTreeMap<String, Var>,
    /// The optimiser's moments.
    pub adam: AdamState,
    /// Updates done.
    pub step: u64,
    /// Source of the draws.
    pub rng: SplitMix,
    pos_embed: Tensor,
    device: Device,
}

impl FineTune {
    /// A run starting from `encoder_tensors` (name → tensor, official names) with a classifier
    /// of `labels` drawn from `cfg.seed`.
    pub fn new(
        cfg: FineTuneConfig,
        encoder: EncoderConfig,
        labels: Vec<String>,
        encoder_tensors: &HashMap<String, Tensor>,
        device: &Device,
    ) -> Result<Self> {
        let mut params = BTreeMap::new();
        for (name, shape) in expected_encoder_keys(&encoder) {
            if name == "pos_embed" {
                continue;
            }
            let t = encoder_tensors
                .get(&name)
                .ok_or_else(|| Error::Model(format!("the encoder has no tensor `{name}`")))?;
            if t.dims() != shape.as_slice() {
                return Err(Error::Model(format!(
                    "`{name}` has shape {:?}, expected {shape:?}",
                    t.dims()
                )));
            }
            params.insert(name, Var::from_tensor(&t.to_dtype(DType::F32)?)?);
        }
        let width = encoder.freq_patches() * encoder.embed_dim;
        let mut rng = SplitMix(cfg.seed);
        let w: Vec<f32> = (0..labels.len() * width).map(|_| rng.normal()).collect();
        let w = Tensor::from_vec(w, (labels.len(), width), device)?;
        params.insert(CLASSIFIER.to_string(), Var::from_tensor(&w)?);
        Self::from_parts(cfg, encoder, labels, params, device)
    }

    /// Assembles a run from its variables (fresh optimiser, step 0).
    pub fn from_parts(
        cfg: FineTuneConfig,
        encoder: EncoderConfig,
        labels: Vec<String>,
        params: BTreeMap<String, Var>,
        device: &Device,
    ) -> Result<Self> {
        let rows = 1 + encoder.freq_patches() * encoder.time_patches();
        let pos_embed = Tensor::from_vec(
            encoder_positions(&encoder),
            (1, rows, encoder.embed_dim),
            device,
        )?;
        let rng = SplitMix(cfg.seed ^ 0x7475_6e65);
        Ok(FineTune {
            cfg,
            encoder,
            labels,
            params,
            adam: AdamState::default(),
            step: 0,
            rng,
            pos_embed,
            device: device.clone(),
        })
    }

    /// The device of the run.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn modules(&self) -> Result<(PatchEmbed, BlockStack)> {
        let vb = var_builder(&self.params, &self.device);
        Ok((
            PatchEmbed::new(&vb, &self.encoder, self.pos_embed.clone())?,
            BlockStack::encoder(&vb.pp("student_encoder"), &self.encoder)?,
        ))
    }

    /// Clip embeddings `[n, F·D]` of a group of crops (with gradients).
    pub fn embed(&self, group: &CropGroup) -> Result<Tensor> {
        let (patch, blocks) = self.modules()?;
        self.embed_with(&patch, &blocks, group)
    }

    fn embed_with(
        &self,
        patch: &PatchEmbed,
        blocks: &BlockStack,
        group: &CropGroup,
    ) -> Result<Tensor> {
        let n = group.len();
        let frames = group.cols * COLUMN;
        let x = Tensor::from_slice(&group.data, (n, self.encoder.n_mels, frames), &self.device)?;
        let tokens = patch.tokens_prefix(&x)?;
        let out = blocks.forward(&patch.cls()?, &tokens)?;
        let f = self.encoder.freq_patches();
        let d = self.encoder.embed_dim;
        let body = out.narrow(1, 1, f * group.cols)?;
        Ok(body
            .reshape((n, f, group.cols, d))?
            .mean(2)?
            .reshape((n, f * d))?)
    }

    /// Cosine logits `[n, labels]` of embeddings `[n, F·D]`.
    fn logits(&self, embeddings: &Tensor) -> Result<Tensor> {
        let w = self
            .params
            .get(CLASSIFIER)
            .ok_or_else(|| Error::Model("the run has no classifier".into()))?
            .as_tensor();
        let e = l2_rows(embeddings)?;
        let w = l2_rows(w)?;
        Ok((e.matmul(&w.t()?)? * self.cfg.scale)?)
    }

    /// `(Σ loss, correct)` of groups, as a tensor to differentiate and a count.
    fn loss_sum(&self, groups: &[CropGroup]) -> Result<(Tensor, usize, usize)> {
        let (patch, blocks) = self.modules()?;
        let classes = self.labels.len();
        let eps = self.cfg.label_smoothing;
        let mut total: Option<Tensor> = None;
        let (mut correct, mut count) = (0, 0);
        for group in groups.iter().filter(|g| !g.is_empty()) {
            let logits = self.logits(&self.embed_with(&patch, &blocks, group)?)?;
            let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
            let mut q = vec![(eps / classes as f64) as f32; group.len() * classes];
            for (i, &l) in group.labels.iter().enumerate() {
                q[i * classes + l as usize] += (1.0 - eps) as f32;
            }
            let q = Tensor::from_vec(q, (group.len(), classes), &self.device)?;
            let loss = (q * &logp)?.sum_all()?.neg()?;
            total = Some(match total {
                Some(t) => (t + loss)?,
                None => loss,
            });
            let best = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
            correct += best
                .iter()
                .zip(&group.labels)
                .filter(|(a, b)| a == b)
                .count();
            count += group.len();
        }
        let total = total.ok_or_else(|| Error::InvalidInput("an empty batch".into()))?;
        Ok((total, correct, count))
    }

    /// One update on the crops of `groups`.
    pub fn train_step(&mut self, groups: &[CropGroup]) -> Result<FineTuneStats> {
        let t0 = std::time::Instant::now();
        let k = self.step;
        let (sum, correct, count) = self.loss_sum(groups)?;
        let mean = (sum / count as f64)?;
        let loss = f64::from(mean.to_scalar::<f32>()?);
        if !loss.is_finite() {
            return Err(Error::Tensor(format!("loss became {loss} at step {k}")));
        }
        let grads = mean.backward()?;
        let mut flat = Vec::with_capacity(self.params.len());
        for (name, var) in &self.params {
            if self.cfg.freeze_encoder && name != CLASSIFIER {
                continue;
            }
            if let Some(g) = grads.get(var.as_tensor()) {
                flat.push((name.as_str(), g.flatten_all()?.to_vec1::<f32>()?));
            }
        }
        let grad_norm = clip(&mut flat, self.cfg.clip_norm);
        let lr = self.cfg.lr_at(k);
        let settings = |lr: f64| AdamStep {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: self.cfg.weight_decay,
        };
        let (head, body): (Vec<_>, Vec<_>) = flat.into_iter().partition(|(n, _)| *n == CLASSIFIER);
        // One optimiser clock: the body's update counts the step, the head's reuses it.
        self.adam.update(&self.params, &body, settings(lr))?;
        self.adam.t -= 1;
        self.adam.update(&self.params, &head, settings(lr * 10.0))?;
        self.step += 1;
        Ok(FineTuneStats {
            step: k,
            loss,
            accuracy: correct as f64 / count.max(1) as f64,
            lr,
            grad_norm,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// Mean loss and accuracy over `groups` without changing anything.
    pub fn evaluate(&self, groups: &[CropGroup]) -> Result<(f64, f64)> {
        let (sum, correct, count) = self.loss_sum(groups)?;
        Ok((
            f64::from(sum.to_scalar::<f32>()?) / count.max(1) as f64,
            correct as f64 / count.max(1) as f64,
        ))
    }

    /// Cosine logits of every crop of `groups` (no gradients kept), with their labels.
    pub fn logits_of(&self, groups: &[CropGroup]) -> Result<(Vec<Vec<f32>>, Vec<u32>)> {
        let (patch, blocks) = self.modules()?;
        let (mut rows, mut labels) = (Vec::new(), Vec::new());
        for group in groups.iter().filter(|g| !g.is_empty()) {
            let z = self
                .logits(&self.embed_with(&patch, &blocks, group)?.detach())?
                .to_vec2::<f32>()?;
            rows.extend(z);
            labels.extend_from_slice(&group.labels);
        }
        Ok((rows, labels))
    }

    /// The encoder's tensors in the official layout (with the positional table), for export.
    pub fn encoder_tensors(&self) -> Result<NamedTensors> {
        encoder_tensors_of(&self.encoder, &self.params)
    }

    /// The classifier's rows, each scaled to unit length times `s`: `[labels, F·D]`.
    pub fn classifier_rows(&self) -> Result<Vec<Vec<f32>>> {
        let w = self
            .params
            .get(CLASSIFIER)
            .ok_or_else(|| Error::Model("the run has no classifier".into()))?;
        Ok((l2_rows(w.as_tensor())? * self.cfg.scale)?.to_vec2::<f32>()?)
    }
}

/// Rows of `x [n, d]` scaled to unit length.
fn l2_rows(x: &Tensor) -> Result<Tensor> {
    let norm = (x.sqr()?.sum_keepdim(D::Minus1)? + 1e-12)?.sqrt()?;
    Ok(x.broadcast_div(&norm)?)
}
