//! The whole training state and one MATPAC update (spec §7.2): masking, student, teacher,
//! predictor, losses, centre, EMA teachers, clipped AdamW.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::cls_head::{Centre, ClsHead};
use super::decoder::{Decoder, teacher_latents};
use super::fast::inplace::{ema, ema_in_place};
use super::fast::pool::Buf;
use super::fast::step::{StepInput, forward_backward};
use super::init::{Values, decoder_positions, encoder_positions, initial_values};
use super::layers::{gather_rows, var_builder};
use super::losses::{
    classification_loss, multiple_choice_loss, perplexity, perplexity_host, prediction_loss,
    select_heads,
};
use super::masking::Masking;
use super::optim::{AdamState, AdamStep, clip};
use super::preset::TrainConfig;
use super::vit::{BlockStack, PatchEmbed};
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

/// The modules of the student side, rebuilt from the variables for each step.
struct Student {
    patch: PatchEmbed,
    encoder: BlockStack,
    decoder: Decoder,
    head: ClsHead,
}

/// The EMA teacher's modules.
struct Teacher {
    encoder: BlockStack,
    head: ClsHead,
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
        self.student()?;
        self.teacher()?;
        Ok(())
    }

    /// The device the state lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn student(&self) -> Result<Student> {
        let vb = var_builder(&self.params, &self.device);
        let p = &self.cfg.preset;
        let e = &p.encoder;
        Ok(Student {
            patch: PatchEmbed::new(&vb, e, self.pos_embed.clone())?,
            encoder: BlockStack::encoder(&vb.pp("student_encoder"), e)?,
            decoder: Decoder::new(
                &vb.pp("decoder"),
                &p.decoder,
                e.embed_dim,
                e.layer_norm_eps,
                self.dec_pos_embed.clone(),
            )?,
            head: ClsHead::new(&vb.pp("student_head"), e.embed_dim, &p.head)?,
        })
    }

    fn teacher(&self) -> Result<Teacher> {
        let map: HashMap<String, Tensor> = self
            .teacher
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let vb = VarBuilder::from_tensors(map, DType::F32, &self.device);
        let p = &self.cfg.preset;
        Ok(Teacher {
            encoder: BlockStack::encoder(&vb.pp("teacher_encoder"), &p.encoder)?,
            head: ClsHead::new(&vb.pp("teacher_head"), p.encoder.embed_dim, &p.head)?,
        })
    }

    fn draw_masking(&mut self, batch: usize) -> Result<Masking> {
        let e = &self.cfg.preset.encoder;
        let n = e.freq_patches() * e.time_patches();
        let noise: Vec<Vec<f32>> = (0..batch)
            .map(|_| (0..n).map(|_| self.rng.uniform()).collect())
            .collect();
        Masking::from_noise(&noise, self.cfg.mask_ratio)
    }

    /// Forward pass: `(Σℓ_pred, Σℓ_cls, teacher probabilities, masked-token count, optimised
    /// loss)`. `centre` is the centre to use (its pending update is applied and replaced).
    fn losses(
        &self,
        crops: &Tensor,
        masking: &Masking,
        centre: &mut Centre,
    ) -> Result<(Tensor, Tensor, Tensor, usize, Tensor)> {
        let k = self.step;
        let s = &self.cfg.schedules;
        let student = self.student()?;
        let teacher = self.teacher()?;
        let tokens = student.patch.tokens(crops)?;
        let cls = student.patch.cls()?;
        let visible = gather_rows(&tokens, &masking.visible())?;
        let z_v = student.encoder.forward(&cls, &visible)?;
        let z_m = teacher_latents(&teacher.encoder, &cls, &tokens, masking)?;
        let preds = student.decoder.forward(&z_v, masking)?;
        let (pred_loss, head_in) = if preds.len() == 1 {
            (prediction_loss(&preds[0], &z_m)?, preds[0].clone())
        } else {
            let stacked = Tensor::stack(&preds, 2)?;
            let mcl = multiple_choice_loss(&stacked, &z_m, s.mcl_temperature(k))?;
            let best = select_heads(&stacked, &mcl.best)?;
            (mcl.loss, best)
        };
        let s_logits = student.head.forward(&head_in)?;
        let t_logits = teacher.head.forward(&z_m)?.detach();
        let probs = centre.teacher_probs(&t_logits, s.teacher_temp(k))?.detach();
        let cls_loss = classification_loss(&s_logits, &probs)?;
        let count = pred_loss.elem_count();
        let (wc, wp) = self.cfg.loss_weights;
        let pred_sum = pred_loss.sum_all()?;
        let cls_sum = cls_loss.sum_all()?;
        let total = (((&cls_sum * wc)? + (&pred_sum * wp)?)? / count as f64)?;
        Ok((pred_sum, cls_sum, probs, count, total))
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
        let masking = self.draw_masking(crops.dim(0)?)?;
        let mut centre = self.centre.clone();
        let pos = self.pos_embed.flatten_all()?.to_vec1::<f32>()?;
        let dec_pos = self.dec_pos_embed.flatten_all()?.to_vec1::<f32>()?;
        let input = StepInput {
            cfg: &self.cfg,
            params: &self.params,
            teacher: &self.teacher,
            pos: &pos,
            dec_pos: &dec_pos,
            teacher_temp: s.teacher_temp(k),
        };
        let mut out = forward_backward(&input, crops, &masking, &mut centre)?;
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
        let masking = self.draw_masking(crops.dim(0)?)?;
        let mut centre = self.centre.clone();
        let (pred_sum, cls_sum, probs, count, total) = self.losses(crops, &masking, &mut centre)?;
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
        let e = &self.cfg.preset.encoder;
        let n = e.freq_patches() * e.time_patches();
        let mut rng = SplitMix(seed);
        let noise: Vec<Vec<f32>> = (0..crops.dim(0)?)
            .map(|_| (0..n).map(|_| rng.uniform()).collect())
            .collect();
        let masking = Masking::from_noise(&noise, self.cfg.mask_ratio)?;
        let mut centre = self.centre.clone();
        let (pred_sum, cls_sum, probs, count, _) = self.losses(crops, &masking, &mut centre)?;
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
        let e = &self.cfg.preset.encoder;
        let n = e.freq_patches() * e.time_patches();
        let mut rng = SplitMix(seed);
        let noise: Vec<Vec<f32>> = (0..crops.dim(0)?)
            .map(|_| (0..n).map(|_| rng.uniform()).collect())
            .collect();
        let masking = Masking::from_noise(&noise, self.cfg.mask_ratio)?;
        let mut centre = self.centre.clone();
        if fast {
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
            let out = forward_backward(&input, crops, &masking, &mut centre)?;
            return Ok((out.loss, out.grads));
        }
        let (_, _, _, _, total) = self.losses(crops, &masking, &mut centre)?;
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
