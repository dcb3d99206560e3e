//! One MATPAC forward pass through candle's graph (spec §7.2): the student, predictor, heads
//! and EMA teacher built as modules on the run's tensors, and the losses that autograd
//! differentiates. This is the path of MATPAC++ runs and of other devices, and the reference
//! that the hand-written CPU update ([`super::fast`]) is tested against.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;

use super::cls_head::{Centre, ClsHead};
use super::decoder::{Decoder, teacher_latents};
use super::layers::{gather_rows, var_builder};
use super::losses::{classification_loss, multiple_choice_loss, prediction_loss, select_heads};
use super::masking::Masking;
use super::preset::TrainConfig;
use super::vit::{BlockStack, PatchEmbed};
use crate::error::Result;

/// The tensors the modules are built on.
pub(super) struct GraphWeights<'a> {
    pub cfg: &'a TrainConfig,
    /// Trainable tensors by checkpoint name.
    pub params: &'a BTreeMap<String, Var>,
    /// EMA teacher tensors by checkpoint name.
    pub teacher: &'a BTreeMap<String, Tensor>,
    pub pos_embed: &'a Tensor,
    pub dec_pos_embed: &'a Tensor,
    pub device: &'a Device,
}

/// What one forward pass yields.
pub(super) struct Losses {
    /// `Σ ℓ_pred` over the masked tokens.
    pub pred_sum: Tensor,
    /// `Σ ℓ_cls` over the masked tokens.
    pub cls_sum: Tensor,
    /// The teacher's centred, sharpened probabilities.
    pub probs: Tensor,
    /// Masked tokens in the batch.
    pub count: usize,
    /// The optimised loss `(w_c·Σℓ_cls + w_p·Σℓ_pred)/S`.
    pub total: Tensor,
}

/// The student side (trainable) and the EMA teacher as candle modules.
pub(super) struct GraphModel {
    patch: PatchEmbed,
    encoder: BlockStack,
    decoder: Decoder,
    head: ClsHead,
    teacher_encoder: BlockStack,
    teacher_head: ClsHead,
}

impl GraphModel {
    /// Builds every module; a missing or misshapen tensor is named in the error.
    pub(super) fn build(w: &GraphWeights<'_>) -> Result<Self> {
        let vb = var_builder(w.params, w.device);
        let p = &w.cfg.preset;
        let e = &p.encoder;
        let teacher: HashMap<String, Tensor> = w
            .teacher
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let tb = VarBuilder::from_tensors(teacher, DType::F32, w.device);
        Ok(GraphModel {
            patch: PatchEmbed::new(&vb, e, w.pos_embed.clone())?,
            encoder: BlockStack::encoder(&vb.pp("student_encoder"), e)?,
            decoder: Decoder::new(
                &vb.pp("decoder"),
                &p.decoder,
                e.embed_dim,
                e.layer_norm_eps,
                w.dec_pos_embed.clone(),
            )?,
            head: ClsHead::new(&vb.pp("student_head"), e.embed_dim, &p.head)?,
            teacher_encoder: BlockStack::encoder(&tb.pp("teacher_encoder"), e)?,
            teacher_head: ClsHead::new(&tb.pp("teacher_head"), e.embed_dim, &p.head)?,
        })
    }

    /// The losses of update `step` on crops `[B, n_mels, n_t]`. `centre` is the centre to use
    /// (its pending update is applied and replaced).
    pub(super) fn losses(
        &self,
        cfg: &TrainConfig,
        step: u64,
        crops: &Tensor,
        masking: &Masking,
        centre: &mut Centre,
    ) -> Result<Losses> {
        let s = &cfg.schedules;
        let tokens = self.patch.tokens(crops)?;
        let cls = self.patch.cls()?;
        let visible = gather_rows(&tokens, &masking.visible())?;
        let z_v = self.encoder.forward(&cls, &visible)?;
        let z_m = teacher_latents(&self.teacher_encoder, &cls, &tokens, masking)?;
        let preds = self.decoder.forward(&z_v, masking)?;
        let (pred_loss, head_in) = if preds.len() == 1 {
            (prediction_loss(&preds[0], &z_m)?, preds[0].clone())
        } else {
            let stacked = Tensor::stack(&preds, 2)?;
            let mcl = multiple_choice_loss(&stacked, &z_m, s.mcl_temperature(step))?;
            let best = select_heads(&stacked, &mcl.best)?;
            (mcl.loss, best)
        };
        let s_logits = self.head.forward(&head_in)?;
        let t_logits = self.teacher_head.forward(&z_m)?.detach();
        let probs = centre
            .teacher_probs(&t_logits, s.teacher_temp(step))?
            .detach();
        let cls_loss = classification_loss(&s_logits, &probs)?;
        let count = pred_loss.elem_count();
        let (wc, wp) = cfg.loss_weights;
        let pred_sum = pred_loss.sum_all()?;
        let cls_sum = cls_loss.sum_all()?;
        let total = (((&cls_sum * wc)? + (&pred_sum * wp)?)? / count as f64)?;
        Ok(Losses {
            pred_sum,
            cls_sum,
            probs,
            count,
            total,
        })
    }
}
