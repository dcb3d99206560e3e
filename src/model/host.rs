//! The encoder's parameters as plain host arrays, for engines outside candle (the wgpu path).

use candle_core::Tensor;

use super::config::EncoderConfig;
use super::encoder::Encoder;
use super::layers::{Linear, Norm};
use crate::error::Result;

/// A dense layer: `weight` is `[out, in]` row-major (PyTorch's layout), `bias` is `[out]`.
#[derive(Debug, Clone)]
pub struct HostLinear {
    /// `[out, in]` row-major.
    pub weight: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
    /// Output features.
    pub out_features: usize,
    /// Input features.
    pub in_features: usize,
}

/// A LayerNorm's scale and shift.
#[derive(Debug, Clone)]
pub struct HostNorm {
    /// γ.
    pub weight: Vec<f32>,
    /// β.
    pub bias: Vec<f32>,
    /// ε.
    pub eps: f32,
}

/// One transformer block.
#[derive(Debug, Clone)]
pub struct HostBlock {
    /// LN before attention.
    pub norm1: HostNorm,
    /// Fused q|k|v projection.
    pub qkv: HostLinear,
    /// Attention output projection.
    pub proj: HostLinear,
    /// LN before the MLP.
    pub norm2: HostNorm,
    /// MLP expansion.
    pub fc1: HostLinear,
    /// MLP contraction.
    pub fc2: HostLinear,
}

/// Every parameter of an [`Encoder`].
#[derive(Debug, Clone)]
pub struct HostWeights {
    /// The configuration.
    pub config: EncoderConfig,
    /// Patch embedding as a `[D, 256]` linear layer.
    pub patch: HostLinear,
    /// `[D]`.
    pub cls_token: Vec<f32>,
    /// `[1 + 5·G, D]`.
    pub pos_embed: Vec<f32>,
    /// The blocks.
    pub blocks: Vec<HostBlock>,
    /// Final LayerNorm.
    pub norm: HostNorm,
    /// Whether the attention scale `1/sqrt(head_dim)` is already folded into the query rows of
    /// every `qkv` layer (the candle encoder folds it at load time).
    pub query_prescaled: bool,
}

fn flat(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?
        .to_dtype(candle_core::DType::F32)?
        .to_vec1()?)
}

fn linear(l: &Linear) -> Result<HostLinear> {
    let w = l.weight_t.t()?.contiguous()?;
    let (out_features, in_features) = w.dims2()?;
    Ok(HostLinear {
        weight: flat(&w)?,
        bias: flat(&l.bias)?,
        out_features,
        in_features,
    })
}

fn norm(n: &Norm) -> Result<HostNorm> {
    Ok(HostNorm {
        weight: flat(&n.weight)?,
        bias: flat(&n.bias)?,
        eps: n.eps,
    })
}

impl Encoder {
    /// Copies every parameter to host memory.
    pub fn host_weights(&self) -> Result<HostWeights> {
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                Ok(HostBlock {
                    norm1: norm(&b.norm1)?,
                    qkv: linear(&b.qkv)?,
                    proj: linear(&b.proj)?,
                    norm2: norm(&b.norm2)?,
                    fc1: linear(&b.fc1)?,
                    fc2: linear(&b.fc2)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(HostWeights {
            config: self.cfg.clone(),
            patch: linear(&self.patch)?,
            cls_token: flat(&self.cls_token)?,
            pos_embed: flat(&self.pos_embed)?,
            blocks,
            norm: norm(&self.norm)?,
            query_prescaled: true,
        })
    }
}
