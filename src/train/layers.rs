//! Differentiable building blocks of the trainer: dense layers, LayerNorm and pre-norm
//! transformer blocks made of candle operations that carry gradients.
//!
//! The inference encoder (`crate::model::encoder`) uses fused CPU kernels without gradients;
//! these layers compute the same functions (the parity tests check both against the reference)
//! and are built from a [`VarBuilder`] over trainable variables (student, decoder, heads) or over
//! plain tensors (EMA teachers). Names follow the official state dict (`norm1`, `attn.qkv`, …).

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

/// LayerNorm over the last dimension (biased variance, as PyTorch).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    /// Takes `weight [dim]` and `bias [dim]` from `vb`.
    pub fn new(vb: &VarBuilder, dim: usize, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            weight: vb.get(dim, "weight")?,
            bias: vb.get(dim, "bias")?,
            eps,
        })
    }

    /// Normalises `x` over its last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }
}

/// Softmax over the last dimension, with gradients.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    Ok(candle_nn::ops::softmax(x, D::Minus1)?)
}

/// One pre-norm transformer block: `x + attn(LN1 x)`, then `x + mlp(LN2 x)`.
#[derive(Debug, Clone)]
pub struct TrainBlock {
    norm1: LayerNorm,
    qkv: Dense,
    proj: Dense,
    norm2: LayerNorm,
    fc1: Dense,
    fc2: Dense,
    num_heads: usize,
}

impl TrainBlock {
    /// Takes the block's tensors (`norm1`, `attn.qkv`, `attn.proj`, `norm2`, `mlp.fc1`,
    /// `mlp.fc2`) from `vb`.
    pub fn new(
        vb: &VarBuilder,
        dim: usize,
        num_heads: usize,
        mlp_hidden: usize,
        eps: f64,
    ) -> Result<Self> {
        Ok(TrainBlock {
            norm1: LayerNorm::new(&vb.pp("norm1"), dim, eps)?,
            qkv: Dense::new(&vb.pp("attn").pp("qkv"), dim, 3 * dim)?,
            proj: Dense::new(&vb.pp("attn").pp("proj"), dim, dim)?,
            norm2: LayerNorm::new(&vb.pp("norm2"), dim, eps)?,
            fc1: Dense::new(&vb.pp("mlp").pp("fc1"), dim, mlp_hidden)?,
            fc2: Dense::new(&vb.pp("mlp").pp("fc2"), mlp_hidden, dim)?,
            num_heads,
        })
    }

    /// Applies the block to `[B, N, D]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = (x + self.attention(&self.norm1.forward(x)?)?)?;
        let h = self.fc1.forward(&self.norm2.forward(&x)?)?.gelu_erf()?;
        Ok((&x + self.fc2.forward(&h)?)?)
    }

    fn attention(&self, x: &Tensor) -> Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let h = self.num_heads;
        let hd = d / h;
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((b, n, 3, h, hd))?
            .permute((2, 0, 3, 1, 4))?;
        let q = (qkv.get(0)?.contiguous()? * (hd as f64).powf(-0.5))?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let att = softmax_last(&q.matmul(&k.t()?)?)?;
        let out = att.matmul(&v)?.transpose(1, 2)?.reshape((b, n, d))?;
        self.proj.forward(&out)
    }
}

/// Picks, per sample, the rows `idx[b]` of `x [B, N, D]` → `[B, K, D]` (gradients flow to `x`).
pub fn gather_rows(x: &Tensor, idx: &[&[u32]]) -> Result<Tensor> {
    let (b, _, d) = x.dims3()?;
    let k = idx.first().map_or(0, |r| r.len());
    let flat: Vec<u32> = idx.iter().flat_map(|r| r.iter().copied()).collect();
    let index = Tensor::from_vec(flat, (b, k, 1), x.device())?.broadcast_as((b, k, d))?;
    Ok(x.contiguous()?.gather(&index.contiguous()?, 1)?)
}
