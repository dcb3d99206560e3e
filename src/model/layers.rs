//! The dense layers and LayerNorm of Earmark's blocks on any candle device, with the CPU's fused
//! epilogues ([`super::fused`]) and reduced-precision products ([`super::lowp`]), or made of
//! differentiable candle operations for training.

use std::sync::Arc;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

use super::fused;
use super::lowp::{Precision, linear::LowpLinear};
use crate::error::Result;

/// How the operations of a layer or block run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ops {
    /// The CPU's own kernels: products with fused bias / GELU / residual epilogues, one-pass
    /// attention and reduced-precision products. No gradients.
    Fused,
    /// candle's operations and kernels, on any device (its LayerNorm and last-axis softmax
    /// kernels carry no gradients).
    Candle,
    /// candle operations that all carry gradients: the trainer's student, teacher and predictor.
    Graph,
}

impl Ops {
    /// The inference default: [`Ops::Fused`] on the CPU, [`Ops::Candle`] elsewhere.
    pub fn for_inference(device: &Device) -> Self {
        if device.is_cpu() {
            Ops::Fused
        } else {
            Ops::Candle
        }
    }
}

/// A dense layer `y = x·Wᵀ + b`. The weight is kept transposed (`[in, out]`, contiguous), the
/// layout the matrix-product kernels read fastest.
#[derive(Debug, Clone)]
pub struct Linear {
    pub(super) weight_t: Tensor,
    pub(super) bias: Tensor,
    pub(super) ops: Ops,
    /// The same weights packed in bf16 or int8, when the encoder runs in reduced precision.
    pub(super) lowp: Option<Arc<LowpLinear>>,
}

/// What follows the product of a [`Linear`].
pub(super) enum Epilogue<'a> {
    /// `+ b`.
    Bias,
    /// `GELU(· + b)`.
    BiasGelu,
    /// `+ b + residual`.
    BiasResidual(&'a Tensor),
}

impl Linear {
    pub(super) fn new(vb: &VarBuilder, out: usize, inp: usize) -> Result<Self> {
        let weight = vb.get((out, inp), "weight")?;
        Self::from_parts(&weight, vb.get(out, "bias")?)
    }

    pub(super) fn from_parts(weight: &Tensor, bias: Tensor) -> Result<Self> {
        Ok(Linear {
            ops: Ops::for_inference(weight.device()),
            weight_t: weight.t()?.contiguous()?,
            bias,
            lowp: None,
        })
    }

    /// Packs the weights for `precision` (a resolved one; f32 drops the packed copy).
    pub(super) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.lowp = LowpLinear::new(&self.weight_t, &self.bias, precision)?.map(Arc::new);
        Ok(())
    }

    /// Applies the layer and its epilogue to rows `[n, in]`; with [`Ops::Fused`] the epilogue is
    /// one in-place pass over the product.
    pub(super) fn apply(&self, x: &Tensor, epilogue: Epilogue) -> Result<Tensor> {
        let fused = self.ops == Ops::Fused;
        if let (true, Some(lowp)) = (fused, &self.lowp) {
            return match epilogue {
                Epilogue::Bias => lowp.apply(x, false, None),
                Epilogue::BiasGelu => lowp.apply(x, true, None),
                Epilogue::BiasResidual(r) => lowp.apply(x, false, Some(r)),
            };
        }
        let y = x.matmul(&self.weight_t)?;
        if fused {
            match epilogue {
                Epilogue::Bias => y.inplace_op2(&self.bias, &fused::BiasAct { gelu: false })?,
                Epilogue::BiasGelu => y.inplace_op2(&self.bias, &fused::BiasAct { gelu: true })?,
                Epilogue::BiasResidual(r) => {
                    y.inplace_op3(&self.bias, &r.contiguous()?, &fused::BiasResidual)?
                }
            }
            return Ok(y);
        }
        let y = y.broadcast_add(&self.bias)?;
        Ok(match epilogue {
            Epilogue::Bias => y,
            Epilogue::BiasGelu => y.gelu_erf()?,
            Epilogue::BiasResidual(r) => (y + r)?,
        })
    }

    /// `x·Wᵀ + b` for rows `[n, in]`.
    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.apply(x, Epilogue::Bias)
    }
}

/// LayerNorm over the last dimension (biased variance, as PyTorch).
#[derive(Debug, Clone)]
pub struct Norm {
    pub(super) weight: Tensor,
    pub(super) bias: Tensor,
    pub(super) eps: f32,
    pub(super) ops: Ops,
}

impl Norm {
    /// Takes `weight [dim]` and `bias [dim]` from `vb`, with the device's inference operations.
    pub fn new(vb: &VarBuilder, dim: usize, eps: f64) -> Result<Self> {
        Ok(Norm {
            weight: vb.get(dim, "weight")?,
            bias: vb.get(dim, "bias")?,
            eps: eps as f32,
            ops: Ops::for_inference(vb.device()),
        })
    }

    /// The norm with its operations run as `ops`.
    pub fn with_ops(mut self, ops: Ops) -> Self {
        self.ops = ops;
        self
    }

    /// Normalises `x` over its last dimension: candle's kernel for inference, explicit mean and
    /// variance operations (which carry gradients) with [`Ops::Graph`].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = x.contiguous()?;
        Ok(match self.ops {
            Ops::Graph => candle_nn::ops::layer_norm_slow(&x, &self.weight, &self.bias, self.eps)?,
            Ops::Fused | Ops::Candle => {
                candle_nn::ops::layer_norm(&x, &self.weight, &self.bias, self.eps)?
            }
        })
    }
}
