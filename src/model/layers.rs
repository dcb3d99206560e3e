//! The encoder's dense layers and LayerNorm on any candle device, with the CPU's fused
//! epilogues ([`super::fused`]) and reduced-precision products ([`super::lowp`]).

use std::sync::Arc;

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::fused;
use super::lowp::{Precision, linear::LowpLinear};
use crate::error::Result;

/// A dense layer `y = x·Wᵀ + b`. The weight is kept transposed (`[in, out]`, contiguous), the
/// layout the matrix-product kernels read fastest.
#[derive(Debug, Clone)]
pub struct Linear {
    pub(super) weight_t: Tensor,
    pub(super) bias: Tensor,
    pub(super) cpu: bool,
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
        let cpu = weight.device().is_cpu();
        Ok(Linear {
            weight_t: weight.t()?.contiguous()?,
            bias,
            cpu,
            lowp: None,
        })
    }

    /// Packs the weights for `precision` (a resolved one; f32 drops the packed copy).
    pub(super) fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.lowp = LowpLinear::new(&self.weight_t, &self.bias, precision)?.map(Arc::new);
        Ok(())
    }

    /// Applies the layer and its epilogue to rows `[n, in]`; on the CPU the epilogue is one fused
    /// in-place pass over the product.
    pub(super) fn apply(&self, x: &Tensor, epilogue: Epilogue) -> Result<Tensor> {
        if let (true, Some(lowp)) = (self.cpu, &self.lowp) {
            return match epilogue {
                Epilogue::Bias => lowp.apply(x, false, None),
                Epilogue::BiasGelu => lowp.apply(x, true, None),
                Epilogue::BiasResidual(r) => lowp.apply(x, false, Some(r)),
            };
        }
        let y = x.matmul(&self.weight_t)?;
        if self.cpu {
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

/// LayerNorm over the last dimension.
#[derive(Debug, Clone)]
pub struct Norm {
    pub(super) weight: Tensor,
    pub(super) bias: Tensor,
    pub(super) eps: f32,
}

impl Norm {
    pub(super) fn new(vb: &VarBuilder, dim: usize, eps: f64) -> Result<Self> {
        Ok(Norm {
            weight: vb.get(dim, "weight")?,
            bias: vb.get(dim, "bias")?,
            eps: eps as f32,
        })
    }

    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::layer_norm(
            &x.contiguous()?,
            &self.weight,
            &self.bias,
            self.eps,
        )?)
    }
}
