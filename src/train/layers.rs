//! Differentiable helpers of the trainer: the builder over its variables, the heads' dense
//! layer, a softmax and a row gather, all candle operations that carry gradients.
//!
//! The transformer blocks are the inference encoder's own ([`crate::model::Block`]) run with
//! [`crate::model::Ops::Graph`], built from a [`VarBuilder`] over trainable variables (student,
//! decoder, heads) or over plain tensors (EMA teachers). Names follow the official state dict
//! (`norm1`, `attn.qkv`, …).

use std::collections::{BTreeMap, HashMap};

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::VarBuilder;

use crate::error::Result;

/// A builder over the current values of trainable variables (by checkpoint name), from which a
/// step's modules are built so that gradients reach the variables.
pub fn var_builder(params: &BTreeMap<String, Var>, device: &Device) -> VarBuilder<'static> {
    let map: HashMap<String, Tensor> = params
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    VarBuilder::from_tensors(map, DType::F32, device)
}

/// `y = x·Wᵀ + b` over the last dimension of any rank.
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Dense {
    /// Takes `weight [out, in]` and `bias [out]` from `vb`.
    pub fn new(vb: &VarBuilder, inp: usize, out: usize) -> Result<Self> {
        Ok(Dense {
            weight: vb.get((out, inp), "weight")?,
            bias: Some(vb.get(out, "bias")?),
        })
    }

    /// Builds a layer from its weight and optional bias.
    pub fn from_parts(weight: Tensor, bias: Option<Tensor>) -> Self {
        Dense { weight, bias }
    }

    /// Applies the layer.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let inp = dims.last().copied().unwrap_or(0);
        let rows = x.elem_count() / inp.max(1);
        let y = x.reshape((rows, inp))?.matmul(&self.weight.t()?)?;
        let y = match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let mut out_dims = dims;
        if let Some(last) = out_dims.last_mut() {
            *last = self.weight.dim(0)?;
        }
        Ok(y.reshape(out_dims)?)
    }
}

/// Softmax over the last dimension, with gradients.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    Ok(candle_nn::ops::softmax(x, D::Minus1)?)
}

/// Picks, per sample, the rows `idx[b]` of `x [B, N, D]` → `[B, K, D]` (gradients flow to `x`).
pub fn gather_rows(x: &Tensor, idx: &[&[u32]]) -> Result<Tensor> {
    let (b, _, d) = x.dims3()?;
    let k = idx.first().map_or(0, |r| r.len());
    let flat: Vec<u32> = idx.iter().flat_map(|r| r.iter().copied()).collect();
    let index = Tensor::from_vec(flat, (b, k, 1), x.device())?.broadcast_as((b, k, d))?;
    Ok(x.contiguous()?.gather(&index.contiguous()?, 1)?)
}
