//! Fused CPU epilogues for the linear layers, applied in place to a matmul output: the encoder's
//! as candle in-place operations, the trainer's fast path through the same row functions.
//!
//! candle applies a bias, a GELU and a residual add as separate single-threaded passes, each
//! allocating a new tensor. On the CPU the encoder instead finishes each product in one
//! multi-threaded pass over the fresh output: `y + b` (qkv), `GELU(y + b)` (fc1) and
//! `y + b + x` (proj, fc2). GELU is the exact erf form with a rational erf approximation
//! (absolute error below 1e-6, see the tests). [`exp_fast`] is the exponential the fused
//! attention (`super::attention`) vectorises. Other devices use candle's own ops.

use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout, Result, bail};

/// Below this many values a pass runs on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// `erf(x)` for f32 as a rational function of `x` on `[-4, 4]` (±1 outside); max abs error ≈ 1e-7.
#[inline(always)]
pub fn erf_fast(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906e-4;
    p = p * x2 + -2.954_600_1e-3;
    p = p * x2 + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329e-3;
    q = q * x2 + -1.426_474e-2;
    p / q
}

/// Exact (erf) GELU.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_fast(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `e^x` for f32 by range reduction and a degree-6 polynomial (relative error below 3e-7);
/// branch-free so that loops over it vectorise. Inputs are clamped to `[-87, 88]`.
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    // ln 2 split so that `n · LN2_HI` is exact for |n| < 2^15 (LN2_HI has 9 significant bits).
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding and subtracting it rounds to an integer
    let x = x.clamp(-87.0, 88.0);
    let z = x * std::f32::consts::LOG2_E + ROUND;
    let n = z - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // `z`'s low mantissa bits hold the integer `n`: build 2^n from them without a float-to-int
    // conversion (which would keep the loop from vectorising).
    let two_n = z.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23;
    p * f32::from_bits(two_n)
}

/// `row ← row + b`.
#[inline]
pub fn add_bias_row(row: &mut [f32], b: &[f32]) {
    row.iter_mut().zip(b).for_each(|(v, &bb)| *v += bb);
}

/// `row ← GELU(row + b)`.
#[inline]
pub fn add_bias_gelu_row(row: &mut [f32], b: &[f32]) {
    row.iter_mut()
        .zip(b)
        .for_each(|(v, &bb)| *v = gelu(*v + bb));
}

/// `row ← row + b + x`: bias and residual in one pass.
#[inline]
pub fn add_bias_residual_row(row: &mut [f32], b: &[f32], x: &[f32]) {
    for ((v, &bb), &xx) in row.iter_mut().zip(b).zip(x) {
        *v += bb + xx;
    }
}

/// Runs `f(row_block_start, rows)` over blocks of whole rows of `data`, on up to candle's thread
/// count (`RAYON_NUM_THREADS`) scoped threads.
fn par_rows(data: &mut [f32], row: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = data.len() / row.max(1);
    let threads = candle_core::utils::get_num_threads().clamp(1, rows.max(1));
    if threads == 1 || data.len() < PAR_MIN {
        f(0, data);
        return;
    }
    let per = rows.div_ceil(threads);
    std::thread::scope(|s| {
        for (i, block) in data.chunks_mut(per * row).enumerate() {
            let f = &f;
            s.spawn(move || f(i * per, block));
        }
    });
}

fn slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("{what}: expected f32")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("{what}: expected a contiguous tensor"),
    }
}

fn slice_mut<'a>(s: &'a mut CpuStorage, l: &Layout, what: &str) -> Result<&'a mut [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("{what}: expected f32")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&mut v[a..b]),
        None => bail!("{what}: expected a contiguous tensor"),
    }
}

/// In place `y ← y + b` (or `GELU(y + b)`) for `y [rows, n]`, `b [n]`.
#[derive(Debug, Clone, Copy)]
pub struct BiasAct {
    /// Apply GELU after the bias.
    pub gelu: bool,
}

impl InplaceOp2 for BiasAct {
    fn name(&self) -> &'static str {
        if self.gelu { "bias-gelu" } else { "bias" }
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let b = slice(s2, l2, self.name())?;
        let y = slice_mut(s1, l1, self.name())?;
        let n = b.len();
        if n == 0 || y.len() % n != 0 {
            bail!(
                "{}: bias of {n} does not divide {} values",
                self.name(),
                y.len()
            );
        }
        let gelu_on = self.gelu;
        par_rows(y, n, |_, rows| {
            for r in rows.chunks_exact_mut(n) {
                if gelu_on {
                    add_bias_gelu_row(r, b);
                } else {
                    add_bias_row(r, b);
                }
            }
        });
        Ok(())
    }
}

/// In place `y ← y + b + x` for `y, x [rows, n]`, `b [n]`: bias and residual in one pass.
#[derive(Debug, Clone, Copy)]
pub struct BiasResidual;

impl InplaceOp3 for BiasResidual {
    fn name(&self) -> &'static str {
        "bias-residual"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<()> {
        let b = slice(s2, l2, self.name())?;
        let x = slice(s3, l3, self.name())?;
        let y = slice_mut(s1, l1, self.name())?;
        let n = b.len();
        if n == 0 || y.len() % n != 0 || x.len() != y.len() {
            bail!("{}: shapes do not match", self.name());
        }
        par_rows(y, n, |row0, rows| {
            let xs = &x[row0 * n..row0 * n + rows.len()];
            for (r, xr) in rows.chunks_exact_mut(n).zip(xs.chunks_exact(n)) {
                add_bias_residual_row(r, b, xr);
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_erf_and_gelu_match_candle_reference() {
        let mut worst_erf = 0f32;
        let mut worst_gelu = 0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            let e = (erf_fast(x) - candle_core::cpu::erf::erf_f32(x)).abs();
            worst_erf = worst_erf.max(e);
            let want = (candle_core::cpu::erf::erf_f64(f64::from(x) / 2f64.sqrt()) + 1.0)
                * 0.5
                * f64::from(x);
            worst_gelu = worst_gelu.max((f64::from(gelu(x)) - want).abs() as f32);
        }
        assert!(worst_erf < 1e-6, "erf error {worst_erf}");
        assert!(worst_gelu < 2e-6, "gelu error {worst_gelu}");
        assert!((gelu(50.0) - 50.0).abs() < 1e-5 && gelu(-50.0).abs() < 1e-5);
        assert!(gelu(f32::NAN).is_nan());
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut worst = 0f64;
        for i in -86_900..=87_900 {
            let x = i as f32 * 1e-3;
            let want = f64::from(x).exp();
            worst = worst.max(((f64::from(exp_fast(x)) - want) / want).abs());
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert!(exp_fast(f32::NAN).is_nan());
    }
}
