//! The MATPAC losses (spec §7.2 steps 6–12 and §8): latent prediction `2 − 2·cos`, the
//! classification cross-entropy against the centred, sharpened teacher, the MATPAC++
//! winner-takes-all combination and the teacher's perplexity (a collapse detector).

use candle_core::{D, Tensor};

use super::cls_head::l2_normalise;
use super::layers::softmax_last;
use crate::error::Result;

/// Student temperature (fixed).
pub const STUDENT_TEMP: f64 = 0.1;

/// Below this MATPAC++ temperature the winner-takes-all is hard (`min` over heads).
pub const MCL_HARD_BELOW: f64 = 1e-4;

/// `2 − 2·⟨p/‖p‖, t/‖t‖⟩` per token: `[.., D]` → `[..]`.
pub fn prediction_loss(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    let p = l2_normalise(pred, 1e-12)?;
    let t = l2_normalise(target, 1e-12)?;
    let cos = (p * t)?.sum(D::Minus1)?;
    Ok(((cos * -2.0)? + 2.0)?)
}

/// `−Σ_k P_k · log softmax(s/τ_s)_k` per token: `[.., K]` → `[..]`.
pub fn classification_loss(student_logits: &Tensor, teacher_probs: &Tensor) -> Result<Tensor> {
    let log_p = candle_nn::ops::log_softmax(&(student_logits / STUDENT_TEMP)?, D::Minus1)?;
    Ok((teacher_probs * log_p)?.sum(D::Minus1)?.neg()?)
}

/// The MATPAC++ prediction loss over `H` heads and the best head per token.
#[derive(Debug, Clone)]
pub struct McLoss {
    /// Loss per token `[B, M]`.
    pub loss: Tensor,
    /// Index of the head with the smallest loss, per token `[B, M]` (u32).
    pub best: Tensor,
}

/// Combines per-head predictions `[B, M, H, D]` against `target [B, M, D]`: soft
/// winner-takes-all with detached weights `softmax(−ℓ/τ)` while `τ > 1e-4`, else `min`.
pub fn multiple_choice_loss(preds: &Tensor, target: &Tensor, temperature: f64) -> Result<McLoss> {
    let target = target.unsqueeze(2)?.broadcast_as(preds.shape())?;
    let per_head = prediction_loss(preds, &target)?;
    let best = per_head.argmin_keepdim(D::Minus1)?;
    let loss = if temperature > MCL_HARD_BELOW {
        let w = softmax_last(&(per_head.detach().neg()? / temperature)?)?.detach();
        (w * &per_head)?.sum(D::Minus1)?
    } else {
        per_head.gather(&best, D::Minus1)?.squeeze(D::Minus1)?
    };
    Ok(McLoss {
        loss,
        best: best.squeeze(D::Minus1)?,
    })
}

/// Picks per token the prediction of head `best`: `[B, M, H, D]` × `[B, M]` → `[B, M, D]`.
pub fn select_heads(preds: &Tensor, best: &Tensor) -> Result<Tensor> {
    let (b, m, _, d) = preds.dims4()?;
    let idx = best
        .reshape((b, m, 1, 1))?
        .broadcast_as((b, m, 1, d))?
        .contiguous()?;
    Ok(preds.gather(&idx, 2)?.squeeze(2)?)
}

/// Perplexity `exp(H(p̄))` of the token-mean teacher distribution: the number of prototypes
/// effectively in use (1 = collapse).
pub fn perplexity(probs: &Tensor) -> Result<f64> {
    let k = probs.dim(D::Minus1)?;
    let rows = probs.elem_count() / k;
    let mean = probs.reshape((rows, k))?.mean(0)?.to_vec1::<f32>()?;
    let entropy: f64 = mean
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| -(p as f64) * (p as f64).ln())
        .sum();
    Ok(entropy.exp())
}

/// [`perplexity`] of host probabilities (rows of `k` values).
pub fn perplexity_host(probs: &[f32], k: usize) -> f64 {
    let mean = super::cls_head::column_means(probs, k);
    let entropy: f64 = mean
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| -(p as f64) * (p as f64).ln())
        .sum();
    entropy.exp()
}
