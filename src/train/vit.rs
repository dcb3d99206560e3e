//! The trainable encoder pieces: the patch embedding with CLS token and positions (shared by
//! student and teacher, trained through the student) and a stack of blocks with its final
//! LayerNorm (one for the student, one for the EMA teacher).

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::layers::Dense;
use crate::error::{Error, Result};
use crate::model::layers::Norm;
use crate::model::{Block, EncoderConfig, Ops};

/// Patch projection, CLS token and the fixed positional table.
#[derive(Debug, Clone)]
pub struct PatchEmbed {
    proj: Dense,
    cls_token: Tensor,
    pos_embed: Tensor,
    cfg: EncoderConfig,
}

impl PatchEmbed {
    /// Takes `patch_embed.proj.{weight [D,1,p,p], bias}` and `cls_token` from `vb`; `pos_embed`
    /// `[1, 1 + F·G, D]` is the fixed table (not trained).
    pub fn new(vb: &VarBuilder, cfg: &EncoderConfig, pos_embed: Tensor) -> Result<Self> {
        let d = cfg.embed_dim;
        let p = cfg.patch_size;
        let pe = vb.pp("patch_embed").pp("proj");
        let weight = pe.get((d, 1, p, p), "weight")?.reshape((d, p * p))?;
        Ok(PatchEmbed {
            proj: Dense::from_parts(weight, Some(pe.get(d, "bias")?)),
            cls_token: vb.get((1, 1, d), "cls_token")?,
            pos_embed,
            cfg: cfg.clone(),
        })
    }

    /// Full-chunk patch tokens with positions, `[B, n_mels, n_t]` → `[B, F·G, D]`.
    pub fn tokens(&self, x: &Tensor) -> Result<Tensor> {
        let (b, mels, frames) = x.dims3()?;
        let p = self.cfg.patch_size;
        let (f, g) = (self.cfg.freq_patches(), self.cfg.time_patches());
        if mels != self.cfg.n_mels || frames != self.cfg.n_t {
            return Err(Error::InvalidInput(format!(
                "training crops must be [B, {}, {}], got [{b}, {mels}, {frames}]",
                self.cfg.n_mels, self.cfg.n_t
            )));
        }
        let patches = x
            .reshape((b, f, p, g, p))?
            .permute((0, 1, 3, 2, 4))?
            .reshape((b, f * g, p * p))?;
        let tokens = self.proj.forward(&patches)?;
        Ok(tokens.broadcast_add(&self.pos_embed.narrow(1, 1, f * g)?)?)
    }

    /// Patch tokens of crops of any whole number of columns up to a chunk, `[B, n_mels, 16·G']`
    /// → `[B, F·G', D]`, with the positions of the first `G'` columns (as the encoder places
    /// the last, shorter chunk of a file at inference).
    pub fn tokens_prefix(&self, x: &Tensor) -> Result<Tensor> {
        let (b, mels, frames) = x.dims3()?;
        let p = self.cfg.patch_size;
        let (f, g) = (self.cfg.freq_patches(), self.cfg.time_patches());
        if mels != self.cfg.n_mels || frames % p != 0 || frames == 0 || frames > self.cfg.n_t {
            return Err(Error::InvalidInput(format!(
                "crops must be [B, {}, a multiple of {p} up to {}], got [{b}, {mels}, {frames}]",
                self.cfg.n_mels, self.cfg.n_t
            )));
        }
        let cols = frames / p;
        let patches = x
            .reshape((b, f, p, cols, p))?
            .permute((0, 1, 3, 2, 4))?
            .reshape((b, f * cols, p * p))?;
        let tokens = self.proj.forward(&patches)?;
        let rows: Vec<u32> = (0..f)
            .flat_map(|fi| (0..cols).map(move |c| (1 + fi * g + c) as u32))
            .collect();
        let index = Tensor::from_vec(rows, f * cols, self.pos_embed.device())?;
        let pos = self.pos_embed.squeeze(0)?.index_select(&index, 0)?;
        Ok(tokens.broadcast_add(&pos.unsqueeze(0)?)?)
    }

    /// `cls_token + pos_embed[0]`, `[1, 1, D]`.
    pub fn cls(&self) -> Result<Tensor> {
        Ok((&self.cls_token + self.pos_embed.narrow(1, 0, 1)?)?)
    }
}

/// Blocks followed by a final LayerNorm: the encoders (`student_encoder.*`,
/// `teacher_encoder.*`) and the predictor's (`decoder_blocks.*`, `decoder_norm`).
#[derive(Debug, Clone)]
pub struct BlockStack {
    blocks: Vec<Block>,
    norm: Norm,
}

impl BlockStack {
    /// Takes `blocks.N.*` and `norm.*` from `vb`; the blocks run with [`Ops::Graph`].
    pub fn new(
        vb: &VarBuilder,
        depth: usize,
        dim: usize,
        heads: usize,
        mlp: usize,
        eps: f64,
    ) -> Result<Self> {
        Self::from_parts(
            &vb.pp("blocks"),
            &vb.pp("norm"),
            depth,
            dim,
            heads,
            mlp,
            eps,
        )
    }

    /// Takes blocks `0 .. depth` from `blocks` and the final norm from `norm`; everything runs
    /// with operations that carry gradients ([`Ops::Graph`]).
    pub fn from_parts(
        blocks: &VarBuilder,
        norm: &VarBuilder,
        depth: usize,
        dim: usize,
        heads: usize,
        mlp: usize,
        eps: f64,
    ) -> Result<Self> {
        let blocks = (0..depth)
            .map(|i| Ok(Block::new(&blocks.pp(i), dim, heads, mlp, eps)?.with_ops(Ops::Graph)))
            .collect::<Result<Vec<_>>>()?;
        Ok(BlockStack {
            blocks,
            norm: Norm::new(norm, dim, eps)?.with_ops(Ops::Graph),
        })
    }

    /// The encoder stack of `cfg`.
    pub fn encoder(vb: &VarBuilder, cfg: &EncoderConfig) -> Result<Self> {
        Self::new(
            vb,
            cfg.depth,
            cfg.embed_dim,
            cfg.num_heads,
            cfg.mlp_hidden_dim,
            cfg.layer_norm_eps,
        )
    }

    /// Prepends `cls [1,1,D]` to `tokens [B,K,D]`, runs the blocks and the final norm →
    /// `[B, 1 + K, D]`.
    pub fn forward(&self, cls: &Tensor, tokens: &Tensor) -> Result<Tensor> {
        let (b, _, d) = tokens.dims3()?;
        self.forward_sequence(&Tensor::cat(&[&cls.broadcast_as((b, 1, d))?, tokens], 1)?)
    }

    /// Runs the blocks and the final norm on a sequence that already has its CLS row.
    pub fn forward_sequence(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for block in &self.blocks {
            h = block.forward(&h)?;
        }
        self.norm.forward(&h)
    }
}
