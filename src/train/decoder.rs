//! The MATPAC predictor (spec §7.2 step 5): it projects the student's outputs, fills the masked
//! positions with the learned mask token, restores patch order, adds its own fixed positions,
//! runs its blocks and predicts the teacher's latent for every masked patch, in the masked
//! patches' shuffle order. With MATPAC++ (spec §8) it has several prediction heads.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::layers::{Dense, gather_rows};
use super::masking::Masking;
use super::vit::BlockStack;
use crate::error::Result;

/// Hyper-parameters of the predictor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecoderConfig {
    /// Width (512 for the official model).
    pub dim: usize,
    /// Blocks (8).
    pub depth: usize,
    /// Attention heads (16).
    pub num_heads: usize,
    /// MLP hidden width (2048).
    pub mlp_hidden_dim: usize,
    /// Prediction heads: 1 for MATPAC, 5 for MATPAC++.
    pub prediction_heads: usize,
}

/// The predictor (`decoder.*` in checkpoints).
#[derive(Debug, Clone)]
pub struct Decoder {
    embed: Dense,
    mask_token: Tensor,
    pos_embed: Tensor,
    /// `decoder_blocks.N` and `decoder_norm`.
    stack: BlockStack,
    preds: Vec<Dense>,
}

impl Decoder {
    /// Takes `decoder_embed`, `mask_token`, `decoder_blocks.N`, `decoder_norm` and
    /// `decoder_pred` (or `decoder_pred.H` with several heads) from `vb`; `pos_embed`
    /// `[1, 1 + N, dim]` is the fixed table.
    pub fn new(
        vb: &VarBuilder,
        cfg: &DecoderConfig,
        encoder_dim: usize,
        eps: f64,
        pos_embed: Tensor,
    ) -> Result<Self> {
        let stack = BlockStack::from_parts(
            &vb.pp("decoder_blocks"),
            &vb.pp("decoder_norm"),
            cfg.depth,
            cfg.dim,
            cfg.num_heads,
            cfg.mlp_hidden_dim,
            eps,
        )?;
        let preds = if cfg.prediction_heads <= 1 {
            vec![Dense::new(&vb.pp("decoder_pred"), cfg.dim, encoder_dim)?]
        } else {
            (0..cfg.prediction_heads)
                .map(|h| Dense::new(&vb.pp("decoder_pred").pp(h), cfg.dim, encoder_dim))
                .collect::<Result<Vec<_>>>()?
        };
        Ok(Decoder {
            embed: Dense::new(&vb.pp("decoder_embed"), encoder_dim, cfg.dim)?,
            mask_token: vb.get((1, 1, cfg.dim), "mask_token")?,
            pos_embed,
            stack,
            preds,
        })
    }

    /// Predicts the masked patches from the student output `z_v [B, 1 + K, D]` (CLS first):
    /// one `[B, M, D]` tensor per prediction head, masked patches in shuffle order.
    pub fn forward(&self, z_v: &Tensor, masking: &Masking) -> Result<Vec<Tensor>> {
        let y = self.embed.forward(z_v)?;
        let (b, k1, dd) = y.dims3()?;
        let n = masking.len();
        let cls = y.narrow(1, 0, 1)?;
        let visible = y.narrow(1, 1, k1 - 1)?;
        let masks = self.mask_token.broadcast_as((b, n - (k1 - 1), dd))?;
        let shuffled = Tensor::cat(&[&visible, &masks.contiguous()?], 1)?;
        let restore: Vec<&[u32]> = masking.ids_restore.iter().map(Vec::as_slice).collect();
        let ordered = gather_rows(&shuffled, &restore)?;
        let h = Tensor::cat(&[&cls, &ordered], 1)?.broadcast_add(&self.pos_embed)?;
        let h = self.stack.forward_sequence(&h)?.narrow(1, 1, n)?;
        let masked = gather_rows(&h, &masking.masked())?;
        self.preds.iter().map(|p| p.forward(&masked)).collect()
    }
}

/// The teacher's latents of the masked patches: the teacher stack on
/// `[cls; tokens[masked]]`, CLS dropped → `[B, M, D]`. Inputs are detached: no gradient flows
/// through the teacher.
pub fn teacher_latents(
    teacher: &BlockStack,
    cls: &Tensor,
    tokens: &Tensor,
    masking: &Masking,
) -> Result<Tensor> {
    let masked = gather_rows(&tokens.detach(), &masking.masked())?;
    let z = teacher.forward(&cls.detach(), &masked)?;
    let m = masking.n_masked();
    Ok(z.narrow(1, 1, m)?.detach())
}
