//! A dense layer's weights in reduced precision, applied as one candle operation on the CPU with
//! the bias, GELU and residual add fused into the product's epilogue.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor, bail};

use super::Precision;
use super::bf16::PackedBf16;
use super::int8::PackedInt8;
use super::tiles::{self, Panels, TileFormat};
use crate::error::Result;
use crate::model::fused;

/// Packed weights of one precision.
#[derive(Debug, Clone)]
enum Packed {
    Bf16(PackedBf16),
    Int8(PackedInt8),
}

/// `y = x·W + b` (optionally GELU, optionally `+ residual`) with `W` packed in bf16 or int8.
#[derive(Debug, Clone)]
pub struct LowpLinear {
    packed: Packed,
    bias: Vec<f32>,
}

impl LowpLinear {
    /// Packs `weight_t` (`[in, out]`, f32) and `bias` (`[out]`) for `precision`; `None` for f32
    /// (and `auto`, which callers resolve first).
    pub fn new(weight_t: &Tensor, bias: &Tensor, precision: Precision) -> Result<Option<Self>> {
        let (k, n) = weight_t.dims2()?;
        let w = weight_t.flatten_all()?.to_vec1::<f32>()?;
        let packed = match precision {
            Precision::Bf16 => Packed::Bf16(PackedBf16::pack(&w, k, n)),
            Precision::Int8 => Packed::Int8(PackedInt8::pack(&w, k, n)),
            Precision::F32 | Precision::Auto => return Ok(None),
        };
        Ok(Some(LowpLinear {
            packed,
            bias: bias.to_vec1::<f32>()?,
        }))
    }

    fn panels(&self) -> &Panels {
        match &self.packed {
            Packed::Bf16(p) => p.panels(),
            Packed::Int8(p) => p.panels(),
        }
    }

    /// Applies the layer to rows `x` `[m, in]`: `+ b`, then GELU when `gelu`, then `+ residual`.
    pub fn apply(&self, x: &Tensor, gelu: bool, residual: Option<&Tensor>) -> Result<Tensor> {
        let x = x.contiguous()?;
        Ok(match residual {
            None => x.apply_op1_no_bwd(&Product { layer: self, gelu })?,
            Some(r) => x.apply_op2_no_bwd(&r.contiguous()?, &Product { layer: self, gelu })?,
        })
    }

    /// Runs the product with `epilogue(row, col0, values)`.
    fn run(&self, a: &[f32], m: usize, out: &mut [f32], gelu_on: bool, residual: Option<&[f32]>) {
        let n = self.panels().n();
        let bias = &self.bias;
        // The f32 encoder's epilogue row functions, on each tile of the product.
        let epilogue = |row: usize, col0: usize, values: &mut [f32]| {
            let b = &bias[col0..col0 + values.len()];
            let r = residual.map(|r| &r[row * n + col0..row * n + col0 + values.len()]);
            match (gelu_on, r) {
                (false, Some(r)) => fused::add_bias_residual_row(values, b, r),
                (false, None) => fused::add_bias_row(values, b),
                (true, r) => {
                    fused::add_bias_gelu_row(values, b);
                    if let Some(r) = r {
                        values.iter_mut().zip(r).for_each(|(v, &rr)| *v += rr);
                    }
                }
            }
        };
        let ran = match &self.packed {
            Packed::Bf16(p) => tiles::matmul(a, m, p, out, &epilogue),
            Packed::Int8(p) => tiles::matmul(a, m, p, out, &epilogue),
        };
        // Layers are only packed after `resolve` confirmed the CPU's support.
        debug_assert!(ran, "reduced-precision kernel unavailable after resolve");
    }
}

/// The candle operation around [`LowpLinear::run`].
struct Product<'a> {
    layer: &'a LowpLinear,
    gelu: bool,
}

impl Product<'_> {
    fn forward(
        &self,
        x: &CpuStorage,
        xl: &Layout,
        r: Option<&[f32]>,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let panels = self.layer.panels();
        let (k, n) = (panels.k(), panels.n());
        let a = contiguous_f32(x, xl)?;
        if xl.dims().len() != 2 || xl.dims()[1] != k {
            bail!(
                "reduced-precision linear: input {:?} for {k} inputs",
                xl.dims()
            );
        }
        let m = xl.dims()[0];
        if r.is_some_and(|r| r.len() != m * n) {
            bail!("reduced-precision linear: residual of the wrong size");
        }
        let mut out = vec![0f32; m * n];
        self.layer.run(a, m, &mut out, self.gelu, r);
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }
}

fn contiguous_f32<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("reduced-precision linear: expected f32 input")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("reduced-precision linear: expected a contiguous input"),
    }
}

impl CustomOp1 for Product<'_> {
    fn name(&self) -> &'static str {
        "lowp-linear"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        self.forward(s, l, None)
    }
}

impl CustomOp2 for Product<'_> {
    fn name(&self) -> &'static str {
        "lowp-linear-residual"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let r = contiguous_f32(s2, l2)?;
        self.forward(s1, l1, Some(r))
    }
}
