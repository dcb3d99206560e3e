//! The DINO-style classification head and the teacher centre (spec §7.3–7.4).
//!
//! `Linear → GELU → Linear → GELU → Linear` to a bottleneck, L2 normalisation, then a
//! weight-normalised linear layer without bias (`W = g ⊙ v / ‖v‖_row`, `g` trainable). The
//! teacher's probabilities are sharpened with a temperature after subtracting a centre that
//! follows the batch-mean of earlier teacher **probabilities**, updated lazily at the start of the
//! next step.

use candle_core::{D, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::fast::rows::softmax_row;
use super::layers::{Dense, softmax_last};
use crate::error::{Error, Result};

/// Hyper-parameters of the classification head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadConfig {
    /// Hidden width of the MLP (2048).
    pub hidden: usize,
    /// Bottleneck width before the prototypes (256).
    pub bottleneck: usize,
    /// Number of prototypes / outputs (2048).
    pub outputs: usize,
}

/// One classification head (`mlp.{0,2,4}`, `last_layer.weight_{g,v}`).
#[derive(Debug, Clone)]
pub struct ClsHead {
    l0: Dense,
    l2: Dense,
    l4: Dense,
    g: Tensor,
    v: Tensor,
}

/// L2 normalisation over the last dimension, `x / max(‖x‖, eps)`.
pub fn l2_normalise(x: &Tensor, eps: f64) -> Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(eps)?;
    Ok(x.broadcast_div(&norm)?)
}

impl ClsHead {
    /// Takes the head's tensors from `vb`; `input` is the token width.
    pub fn new(vb: &VarBuilder, input: usize, cfg: &HeadConfig) -> Result<Self> {
        let mlp = vb.pp("mlp");
        let last = vb.pp("last_layer");
        Ok(ClsHead {
            l0: Dense::new(&mlp.pp(0), input, cfg.hidden)?,
            l2: Dense::new(&mlp.pp(2), cfg.hidden, cfg.hidden)?,
            l4: Dense::new(&mlp.pp(4), cfg.hidden, cfg.bottleneck)?,
            g: last.get((cfg.outputs, 1), "weight_g")?,
            v: last.get((cfg.outputs, cfg.bottleneck), "weight_v")?,
        })
    }

    /// Logits `[.., outputs]` of tokens `[.., input]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.l0.forward(x)?.gelu_erf()?;
        let h = self.l2.forward(&h)?.gelu_erf()?;
        let h = l2_normalise(&self.l4.forward(&h)?, 1e-12)?;
        let v_norm = self.v.sqr()?.sum_keepdim(1)?.sqrt()?;
        let w = self.v.broadcast_mul(&self.g.broadcast_div(&v_norm)?)?;
        Dense::from_parts(w, None).forward(&h)
    }
}

/// The teacher centre with its pending (lazy) update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Centre {
    /// Current centre, one value per output.
    pub value: Vec<f32>,
    /// Batch-mean teacher probabilities of the last step, applied at the next softmax.
    pub pending: Option<Vec<f32>>,
    /// Momentum (0.9).
    pub momentum: f32,
}

impl Centre {
    /// A zero centre of `outputs` values.
    pub fn new(outputs: usize) -> Self {
        Centre {
            value: vec![0.0; outputs],
            pending: None,
            momentum: 0.9,
        }
    }

    /// Applies any pending update, then returns `softmax((logits − c)/τ)` over the last dim.
    pub fn teacher_probs(&mut self, logits: &Tensor, temperature: f64) -> Result<Tensor> {
        self.apply_pending();
        let k = logits.dim(D::Minus1)?;
        if k != self.value.len() {
            return Err(Error::InvalidInput(format!(
                "centre has {} outputs, logits {k}",
                self.value.len()
            )));
        }
        let c = Tensor::from_slice(&self.value, k, logits.device())?;
        softmax_last(&(logits.broadcast_sub(&c)? / temperature)?)
    }

    /// [`Centre::teacher_probs`] on host values: `logits` holds rows of `outputs` values.
    pub fn teacher_probs_host(&mut self, logits: &[f32], temperature: f64) -> Result<Vec<f32>> {
        self.apply_pending();
        let k = self.value.len();
        if k == 0 || !logits.len().is_multiple_of(k) {
            return Err(Error::InvalidInput(format!(
                "centre has {k} outputs, logits {} values",
                logits.len()
            )));
        }
        Ok(centred_softmax(logits, &self.value, temperature))
    }

    /// [`Centre::schedule_update`] on host probabilities (rows of `outputs` values).
    pub fn schedule_update_host(&mut self, probs: &[f32]) {
        self.pending = Some(column_means(probs, self.value.len()));
    }

    fn apply_pending(&mut self) {
        if let Some(mean) = self.pending.take() {
            for (c, m) in self.value.iter_mut().zip(mean) {
                *c = *c * self.momentum + m * (1.0 - self.momentum);
            }
        }
    }

    /// Schedules the next update with the mean of `probs` over all tokens.
    pub fn schedule_update(&mut self, probs: &Tensor) -> Result<()> {
        let k = probs.dim(D::Minus1)?;
        let rows = probs.elem_count() / k;
        let mean = probs.reshape((rows, k))?.mean(0)?.to_vec1::<f32>()?;
        self.pending = Some(mean);
        Ok(())
    }
}

/// The mean of each column of `rows [_, k]` (f64 sums).
pub fn column_means(rows: &[f32], k: usize) -> Vec<f32> {
    let n = rows.len() / k.max(1);
    let mut sums = vec![0.0f64; k];
    for row in rows.chunks(k) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v as f64;
        }
    }
    sums.iter().map(|s| (s / n.max(1) as f64) as f32).collect()
}

/// `softmax((logits − centre)/τ)` per row.
pub fn centred_softmax(logits: &[f32], centre: &[f32], temperature: f64) -> Vec<f32> {
    let k = centre.len();
    let inv = (1.0 / temperature) as f32;
    let mut p = logits.to_vec();
    p.par_chunks_mut(k).for_each(|row| {
        for (v, &c) in row.iter_mut().zip(centre) {
            *v = (*v - c) * inv;
        }
        softmax_row(row);
    });
    p
}
