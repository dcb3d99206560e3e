//! The one pre-norm transformer block of Earmark (spec §3), used by inference and training alike:
//! the encoder's blocks, the trainer's student and EMA teacher stacks and the predictor's blocks
//! are all [`Block`]s; only the way their operations run ([`Ops`]) differs.
//!
//! `x + proj(attention(LN1 x))`, then `x + fc2(GELU(fc1(LN2 x)))`, with LayerNorm eps from the
//! configuration, qkv bias, softmax scale `head_dim^-½` folded into the query rows of the qkv
//! layer when the block is built, and exact-erf GELU. The names follow the checkpoints
//! (`norm1`, `attn.qkv`, `attn.proj`, `norm2`, `mlp.fc1`, `mlp.fc2`).

use candle_core::{D, Tensor};
use candle_nn::VarBuilder;

use super::attention::FusedAttention;
use super::layers::{Epilogue, Linear, Norm, Ops};
use crate::error::Result;

/// The intermediate values of one block, for diagnostics and parity tests.
#[derive(Debug, Clone)]
pub struct BlockParts {
    /// LN1 output `[B, N, D]`.
    pub norm1_out: Tensor,
    /// Attention branch output (after `proj`, before the residual add).
    pub attn_out: Tensor,
    /// MLP branch output (before the residual add).
    pub mlp_out: Tensor,
    /// Block output (raw residual stream).
    pub out: Tensor,
}

/// One pre-norm transformer block (`student_encoder.blocks.N`, `decoder_blocks.N`, …).
#[derive(Debug, Clone)]
pub struct Block {
    pub(super) norm1: Norm,
    pub(super) qkv: Linear,
    pub(super) proj: Linear,
    pub(super) norm2: Norm,
    pub(super) fc1: Linear,
    pub(super) fc2: Linear,
    pub(super) num_heads: usize,
    ops: Ops,
}

impl Block {
    /// Takes the block's tensors from `vb` (`norm1`, `attn.qkv`, `attn.proj`, `norm2`,
    /// `mlp.fc1`, `mlp.fc2`), for width `dim`, `num_heads` heads and an MLP of `mlp_hidden`.
    /// Its operations are the device's inference ones ([`Ops::for_inference`]); the query
    /// scaling is folded with candle operations, so gradients reach the variables behind `vb`.
    pub fn new(
        vb: &VarBuilder,
        dim: usize,
        num_heads: usize,
        mlp_hidden: usize,
        eps: f64,
    ) -> Result<Self> {
        let d = dim;
        let scale = ((dim / num_heads) as f64).powf(-0.5);
        let qkv_vb = vb.pp("attn").pp("qkv");
        let (w, b) = (
            qkv_vb.get((3 * d, d), "weight")?,
            qkv_vb.get(3 * d, "bias")?,
        );
        let fold = |t: &Tensor| -> Result<Tensor> {
            Ok(Tensor::cat(
                &[&(t.narrow(0, 0, d)? * scale)?, &t.narrow(0, d, 2 * d)?],
                0,
            )?)
        };
        let ops = Ops::for_inference(vb.device());
        Ok(Block {
            norm1: Norm::new(&vb.pp("norm1"), d, eps)?,
            qkv: Linear::from_parts(&fold(&w)?, fold(&b)?)?,
            proj: Linear::new(&vb.pp("attn").pp("proj"), d, d)?,
            norm2: Norm::new(&vb.pp("norm2"), d, eps)?,
            fc1: Linear::new(&vb.pp("mlp").pp("fc1"), mlp_hidden, d)?,
            fc2: Linear::new(&vb.pp("mlp").pp("fc2"), d, mlp_hidden)?,
            num_heads,
            ops,
        })
    }

    /// Runs the block's operations as `ops` from now on.
    pub fn set_ops(&mut self, ops: Ops) {
        self.ops = ops;
        for l in self.linears_mut() {
            l.ops = ops;
        }
        self.norm1.ops = ops;
        self.norm2.ops = ops;
    }

    /// The block with its operations run as `ops` (e.g. [`Ops::Graph`] for training).
    pub fn with_ops(mut self, ops: Ops) -> Self {
        self.set_ops(ops);
        self
    }

    /// The four dense layers, for precision and operation changes.
    pub(super) fn linears_mut(&mut self) -> [&mut Linear; 4] {
        [&mut self.qkv, &mut self.proj, &mut self.fc1, &mut self.fc2]
    }

    /// Splits fused q|k|v rows `[B·N, 3D]` into contiguous per-head `q`, `k`, `v`
    /// `[B, heads, N, head_dim]`.
    fn split_heads(
        &self,
        qkv: &Tensor,
        b: usize,
        n: usize,
        hd: usize,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let qkv = qkv
            .reshape((b, n, 3, self.num_heads, hd))?
            .permute((2, 0, 3, 1, 4))?;
        Ok((
            qkv.get(0)?.contiguous()?,
            qkv.get(1)?.contiguous()?,
            qkv.get(2)?.contiguous()?,
        ))
    }

    /// Multi-head attention on the normalised input `h` `[B, N, D]`: the concatenated head
    /// outputs `[B·N, D]`, before `proj`.
    fn attention_heads(&self, h: &Tensor) -> Result<Tensor> {
        let (b, n, d) = h.dims3()?;
        self.attend(&self.qkv.forward(&h.reshape((b * n, d))?)?, b, n)
    }

    /// Attention from the fused q|k|v rows `[B·N, 3D]` (queries pre-scaled) to the merged head
    /// outputs `[B·N, D]`: one fused pass with [`Ops::Fused`], candle's softmax kernel with
    /// [`Ops::Candle`], and a softmax made of differentiable operations with [`Ops::Graph`].
    pub(super) fn attend(&self, qkv: &Tensor, b: usize, n: usize) -> Result<Tensor> {
        if self.ops == Ops::Fused {
            let op = FusedAttention {
                batch: b,
                tokens: n,
                heads: self.num_heads,
            };
            return Ok(qkv.apply_op1_no_bwd(&op)?);
        }
        let d = qkv.dim(1)? / 3;
        let (q, k, v) = self.split_heads(qkv, b, n, d / self.num_heads)?;
        let scores = q.matmul(&k.t()?)?;
        let att = match self.ops {
            Ops::Graph => candle_nn::ops::softmax(&scores, D::Minus1)?,
            _ => candle_nn::ops::softmax_last_dim(&scores)?,
        };
        Ok(att.matmul(&v)?.transpose(1, 2)?.reshape((b * n, d))?)
    }

    /// Attention branch output (after `proj`, before the residual add), `[B·N, D]`.
    fn attention(&self, h: &Tensor) -> Result<Tensor> {
        self.proj.forward(&self.attention_heads(h)?)
    }

    /// MLP branch on the normalised input, rows `[B·N, D]`.
    fn mlp(&self, h: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.apply(h, Epilogue::BiasGelu)?)
    }

    /// Runs the block on `x` `[B, N, D]`; with [`Ops::Fused`] biases, GELU and residual adds
    /// are fused into the products' outputs.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let rows = x.reshape((b * n, d))?;
        let heads = self.attention_heads(&self.norm1.forward(x)?)?;
        let x = self.proj.apply(&heads, Epilogue::BiasResidual(&rows))?;
        let h = self.norm2.forward(&x)?;
        let m = self.fc1.apply(&h, Epilogue::BiasGelu)?;
        Ok(self
            .fc2
            .apply(&m, Epilogue::BiasResidual(&x))?
            .reshape((b, n, d))?)
    }

    /// Runs the block and keeps every intermediate value.
    pub fn forward_parts(&self, x: &Tensor) -> Result<BlockParts> {
        let (b, n, d) = x.dims3()?;
        let norm1_out = self.norm1.forward(x)?;
        let attn_out = self.attention(&norm1_out)?.reshape((b, n, d))?;
        let x = (x + &attn_out)?;
        let h = self.norm2.forward(&x)?.reshape((b * n, d))?;
        let mlp_out = self.mlp(&h)?.reshape((b, n, d))?;
        let out = (&x + &mlp_out)?;
        Ok(BlockParts {
            norm1_out,
            attn_out,
            mlp_out,
            out,
        })
    }
}
