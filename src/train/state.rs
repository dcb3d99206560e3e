//! The whole training state and one MATPAC update (spec §7.2): masking, student, teacher,
//! predictor, losses, centre, EMA teachers, clipped AdamW.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::cls_head::Centre;
use super::fast::inplace::{ema, ema_in_place};
use super::fast::pool::Buf;
use super::fast::step::{StepInput, StepOutput, forward_backward};
use super::graph::{GraphModel, GraphWeights, Losses};
use super::init::{Values, decoder_positions, encoder_positions, initial_values};
use super::losses::{perplexity, perplexity_host};
use super::masking::Masking;
use super::optim::{AdamState, AdamStep, clip};
use super::preset::TrainConfig;
use crate::error::{Error, Result};
use crate::model::pos::SplitMix;

/// What one update measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    /// Update index (0-based) this step ran as.
    pub step: u64,
    /// Mean prediction loss per masked token.
    pub loss_pred: f64,
    /// Mean classification loss per masked token.
    pub loss_cls: f64,
    /// The optimised loss `(w_c·Σℓ_cls + w_p·Σℓ_pred)/S`.
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Teacher temperature used.
    pub teacher_temp: f64,
    /// Encoder EMA decay used.
    pub ema_decay: f64,
    /// Perplexity of the batch-mean teacher distribution (1 = collapse).
    pub teacher_perplexity: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    /// Seconds spent in the forward pass, the backward pass and the parameter updates
    /// (optimiser and EMA).
    #[serde(default)]
    pub seconds: [f64; 3],
}

/// Student, teacher, optimiser, centre and random state of a run.
pub struct TrainState {
    /// The run's options.
    pub cfg: TrainConfig,
    /// Trainable tensors by checkpoint name.
    pub params: BTreeMap<String, Var>,
    /// EMA teacher tensors (`teacher_encoder.*`, `teacher_head.*`).
    pub teacher: BTreeMap<String, Tensor>,
    /// The optimiser's moments.
    pub adam: AdamState,
    /// The teacher centre.
    pub centre: Centre,
    /// Updates done so far.
    pub step: u64,
    /// Source of the mask noise.
    pub rng: SplitMix,
    pos_embed: Tensor,
    dec_pos_embed: Tensor,
    device: Device,
}

fn tensors(values: &Values, device: &Device) -> Result<BTreeMap<String, Tensor>> {
    values
        .iter()
        .map(|(k, (shape, v))| Ok((k.clone(), Tensor::from_slice(v, shape.as_slice(), device)?)))
        .collect()
}

/// Masks for a batch from `rng` (the run's own, or one seeded for an evaluation that must
/// leave the run's random state alone).
fn draw_masks(cfg: &TrainConfig, batch: usize, rng: &mut SplitMix) -> Result<Masking> {
    let e = &cfg.preset.encoder;
    let n = e.freq_patches() * e.time_patches();
    let noise: Vec<Vec<f32>> = (0..batch)
        .map(|_| (0..n).map(|_| rng.uniform()).collect())
        .collect();
    Masking::from_noise(&noise, cfg.mask_ratio)
}

impl TrainState {
    /// A fresh run: initial values from `cfg.seed` (spec §7.6).
    pub fn new(cfg: TrainConfig, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let (student, teacher) = initial_values(&cfg.preset, cfg.seed);
        let params = tensors(&student, device)?
            .into_iter()
            .map(|(k, t)| Ok((k, Var::from_tensor(&t)?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        Self::from_parts(cfg, params, tensors(&teacher, device)?, device)
    }

    /// Assembles a state from its tensors (fresh optimiser, zero centre, step 0).
    pub fn from_parts(
        cfg: TrainConfig,
        params: BTreeMap<String, Var>,
        teacher: BTreeMap<String, Tensor>,
        device: &Device,
    ) -> Result<Self> {
        let e = &cfg.preset.encoder;
        let rows = 1 + e.freq_patches() * e.time_patches();
        let pos_embed = Tensor::from_vec(encoder_positions(e), (1, rows, e.embed_dim), device)?;
        let dd = cfg.preset.decoder.dim;
        let dec_pos_embed = Tensor::from_vec(decoder_positions(e, dd), (1, rows, dd), device)?;
        let outputs = cfg.preset.head.outputs;
        let rng = SplitMix(cfg.seed ^ 0x6D61_736B);
        Ok(TrainState {
            cfg,
            params,
            teacher,
            adam: AdamState::default(),
            centre: Centre::new(outputs),
            step: 0,
            rng,
            pos_embed,
            dec_pos_embed,
            device: device.clone(),
        })
    }

    /// Checks that the student, predictor, heads and teacher find every tensor they need, with
    /// the right shape (a missing one is named).
    pub fn check_complete(&self) -> Result<()> {
        self.graph().map(|_| ())
    }

    /// The device the state lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The student, predictor, heads and teacher as candle modules on the current tensors.
    fn graph(&self) -> Result<GraphModel> {
        GraphModel::build(&GraphWeights {
            cfg: &self.cfg,
            params: &self.params,
            teacher: &self.teacher,
            pos_embed: &self.pos_embed,
            dec_pos_embed: &self.dec_pos_embed,
            device: &self.device,
        })
    }

    /// The losses of the current step through candle's graph (`centre`'s pending update is
    /// applied and replaced).
    fn losses(&self, crops: &Tensor, masking: &Masking, centre: &mut Centre) -> Result<Losses> {
        self.graph()?
            .losses(&self.cfg, self.step, crops, masking, centre)
    }

    /// Whether [`TrainState::train_step`] takes the hand-written CPU path ([`super::fast`]):
    /// on the CPU with one prediction head.
    pub fn uses_fast_path(&self) -> bool {
        self.device.is_cpu() && self.cfg.preset.decoder.prediction_heads <= 1
    }

    /// One update on crops `[B, n_mels, n_t]`.
    pub fn train_step(&mut self, crops: &Tensor) -> Result<StepStats> {
        if self.uses_fast_path() {
            self.train_step_fast(crops)
        } else {
            self.train_step_graph(crops)
        }
    }

    /// One update through the hand-written CPU forward and backward passes.
    pub fn train_step_fast(&mut self, crops: &Tensor) -> Result<StepStats> {
        let k = self.step;
        let s = self.cfg.schedules.clone();
        let t0 = std::time::Instant::now();
        let masking = draw_masks(&self.cfg, crops.dim(0)?, &mut self.rng)?;
        let mut centre = self.centre.clone();
        let mut out = self.fast_forward_backward(crops, &masking, &mut centre)?;
        centre.schedule_update_host(&out.probs);
        self.centre = centre;
        let ppl = perplexity_host(&out.probs, self.cfg.preset.head.outputs);
        let loss = out.loss;
        if !loss.is_finite() {
            return Err(Error::Tensor(format!("loss became {loss} at step {k}")));
        }
        let t_forward = out.forward_s;
        let t_backward = t0.elapsed().as_secs_f64() - t_forward;
        let ema_decay = s.ema_encoder(k);
        if k > 0 {
            self.update_teacher("teacher_head", "student_head", s.ema_head(k))?;
            self.update_teacher("teacher_encoder", "student_encoder", ema_decay)?;
        }
        let mut flat = Vec::with_capacity(self.params.len());
        for name in self.params.keys() {
            if let Some(g) = out.grads.remove(name) {
                flat.push((name.as_str(), g));
            }
        }
        let lr = Self::apply_update(&self.cfg, &mut self.adam, &self.params, &mut flat, k)?;
        // The gradients' memory serves the next update.
        flat.into_iter().for_each(|(_, g)| drop(Buf::from_vec(g)));
        self.step += 1;
        let grad_norm = lr.1;
        let count = out.count as f64;
        Ok(StepStats {
            step: k,
            loss_pred: out.pred_sum / count,
            loss_cls: out.cls_sum / count,
            loss,
            lr: lr.0,
            teacher_temp: s.teacher_temp(k),
            ema_decay,
            teacher_perplexity: ppl,
            grad_norm,
            seconds: [
                t_forward,
                t_backward,
                t0.elapsed().as_secs_f64() - t_forward - t_backward,
            ],
        })
    }

    /// The hand-written forward and backward passes of the current step (the teacher
    /// temperature of `self.step`), with `centre` updated by the batch.
    fn fast_forward_backward(
        &self,
        crops: &Tensor,
        masking: &Masking,
        centre: &mut Centre,
    ) -> Result<StepOutput> {
        let pos = self.pos_embed.flatten_all()?.to_vec1::<f32>()?;
        let dec_pos = self.dec_pos_embed.flatten_all()?.to_vec1::<f32>()?;
        let input = StepInput {
            cfg: &self.cfg,
            params: &self.params,
            teacher: &self.teacher,
            pos: &pos,
            dec_pos: &dec_pos,
            teacher_temp: self.cfg.schedules.teacher_temp(self.step),
        };
        forward_backward(&input, crops, masking, centre)
    }

    /// Clips `grads` and applies the optimiser for update `k`: `(learning rate, norm before
    /// clipping)`.
    fn apply_update(
        cfg: &TrainConfig,
        adam: &mut AdamState,
        params: &BTreeMap<String, Var>,
        grads: &mut [(&str, Vec<f32>)],
        k: u64,
    ) -> Result<(f64, f64)> {
        let grad_norm = clip(grads, cfg.clip_norm);
        let lr = cfg.schedules.lr(k);
        let step = AdamStep {
            lr,
            betas: cfg.betas,
            eps: cfg.adam_eps,
            weight_decay: cfg.weight_decay,
        };
        adam.update(params, grads, step)?;
        Ok((lr, grad_norm))
    }

    /// One update through candle's autograd graph (the reference of the fast path, and the path
    /// of MATPAC++ runs and of other devices).
    pub fn train_step_graph(&mut self, crops: &Tensor) -> Result<StepStats> {
        let k = self.step;
        let s = self.cfg.schedules.clone();
        let t0 = std::time::Instant::now();
        let masking = draw_masks(&self.cfg, crops.dim(0)?, &mut self.rng)?;
        let mut centre = self.centre.clone();
        let Losses {
            pred_sum,
            cls_sum,
            probs,
            count,
            total,
        } = self.losses(crops, &masking, &mut centre)?;
        centre.schedule_update(&probs)?;
        self.centre = centre;
        let ppl = perplexity(&probs)?;
        let loss = total.to_scalar::<f32>()? as f64;
        if !loss.is_finite() {
            return Err(Error::Tensor(format!("loss became {loss} at step {k}")));
        }
        let t_forward = t0.elapsed().as_secs_f64();
        let grads = total.backward()?;
        let t_backward = t0.elapsed().as_secs_f64() - t_forward;
        // EMA teachers follow the student before this step's update (none at k = 0).
        let ema_decay = s.ema_encoder(k);
        if k > 0 {
            self.update_teacher("teacher_head", "student_head", s.ema_head(k))?;
            self.update_teacher("teacher_encoder", "student_encoder", ema_decay)?;
        }
        let mut flat = Vec::with_capacity(self.params.len());
        for (name, var) in &self.params {
            if let Some(g) = grads.get(var.as_tensor()) {
                flat.push((name.as_str(), g.flatten_all()?.to_vec1::<f32>()?));
            }
        }
        let (lr, grad_norm) =
            Self::apply_update(&self.cfg, &mut self.adam, &self.params, &mut flat, k)?;
        self.step += 1;
        Ok(StepStats {
            step: k,
            loss_pred: pred_sum.to_scalar::<f32>()? as f64 / count as f64,
            loss_cls: cls_sum.to_scalar::<f32>()? as f64 / count as f64,
            loss,
            lr,
            teacher_temp: s.teacher_temp(k),
            ema_decay,
            teacher_perplexity: ppl,
            grad_norm,
            seconds: [
                t_forward,
                t_backward,
                t0.elapsed().as_secs_f64() - t_forward - t_backward,
            ],
        })
    }

    /// Losses on crops without changing anything (held-out evaluation): masks from `seed`,
    /// returns `(mean ℓ_pred, mean ℓ_cls, teacher perplexity)`.
    pub fn evaluate(&self, crops: &Tensor, seed: u64) -> Result<(f64, f64, f64)> {
        let masking = draw_masks(&self.cfg, crops.dim(0)?, &mut SplitMix(seed))?;
        let mut centre = self.centre.clone();
        let Losses {
            pred_sum,
            cls_sum,
            probs,
            count,
            ..
        } = self.losses(crops, &masking, &mut centre)?;
        Ok((
            pred_sum.to_scalar::<f32>()? as f64 / count as f64,
            cls_sum.to_scalar::<f32>()? as f64 / count as f64,
            perplexity(&probs)?,
        ))
    }

    /// The optimised loss and the student's gradients on `crops` with masks from `seed`,
    /// through the fast path or candle's graph, changing nothing (for checking one against the
    /// other).
    pub fn gradients(
        &self,
        crops: &Tensor,
        seed: u64,
        fast: bool,
    ) -> Result<(f64, BTreeMap<String, Vec<f32>>)> {
        let masking = draw_masks(&self.cfg, crops.dim(0)?, &mut SplitMix(seed))?;
        let mut centre = self.centre.clone();
        if fast {
            let out = self.fast_forward_backward(crops, &masking, &mut centre)?;
            return Ok((out.loss, out.grads));
        }
        let total = self.losses(crops, &masking, &mut centre)?.total;
        let grads = total.backward()?;
        let mut map = BTreeMap::new();
        for (name, var) in &self.params {
            if let Some(g) = grads.get(var.as_tensor()) {
                map.insert(name.clone(), g.flatten_all()?.to_vec1::<f32>()?);
            }
        }
        Ok((total.to_scalar::<f32>()? as f64, map))
    }

    fn update_teacher(&mut self, teacher_prefix: &str, student_prefix: &str, d: f64) -> Result<()> {
        if d >= 1.0 {
            return Ok(());
        }
        for (name, t) in self.teacher.iter_mut() {
            let Some(rest) = name.strip_prefix(teacher_prefix) else {
                continue;
            };
            let source = format!("{student_prefix}{rest}");
            let s = self.params.get(&source).ok_or_else(|| {
                Error::Model(format!("teacher tensor `{name}` has no student `{source}`"))
            })?;
            if t.device().is_cpu() && s.device().is_cpu() {
                ema_in_place(t, s.as_tensor(), d, name)?;
                continue;
            }
            let mut tv = t.flatten_all()?.to_vec1::<f32>()?;
            ema(&mut tv, &s.as_tensor().flatten_all()?.to_vec1::<f32>()?, d);
            *t = Tensor::from_vec(tv, t.shape(), &self.device)?;
        }
        Ok(())
    }
}
