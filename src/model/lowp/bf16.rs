//! Matrix products in bfloat16 with f32 accumulation, for CPUs with AVX512-BF16.
//!
//! A weight matrix `W` (`[k, n]`, the layout [`super::super::layers::Linear`] keeps) is packed
//! once into panels of [`NR`] columns, each row pair `(2p, 2p + 1)` of a panel interleaved so
//! that one `vdpbf16ps` multiplies a broadcast pair of activations with 16 column pairs. The
//! activations are rounded to bfloat16 (round to nearest even) per call. A tile of [`MR`] rows ×
//! [`NR`] columns lives in 24 registers for the whole inner dimension, then goes through the
//! caller's epilogue (bias, GELU, residual) while it is still in cache.

use super::bf16_bits;
use super::tiles::{self, MR, NR, Panels, TileFormat};

/// A weight matrix `[k, n]` packed for the bf16 kernel: word `p` of column `c` holds the bf16
/// pair `(W[2p][c], W[2p + 1][c])` (zero beyond `k` and `n`).
#[derive(Debug, Clone)]
pub struct PackedBf16 {
    panels: Panels,
}

impl PackedBf16 {
    /// Packs the row-major `[k, n]` matrix `w`.
    pub fn pack(w: &[f32], k: usize, n: usize) -> Self {
        let at = |row: usize, col: usize| -> u32 {
            if row < k && col < n {
                u32::from(bf16_bits(w[row * n + col]))
            } else {
                0
            }
        };
        PackedBf16 {
            panels: Panels::pack(k, n, Self::PER_WORD, |p, col| {
                at(2 * p, col) | (at(2 * p + 1, col) << 16)
            }),
        }
    }
}

/// Whether this CPU runs the bf16 kernel.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl TileFormat for PackedBf16 {
    type Acc = f32;
    const PER_WORD: usize = 2;
    const ZERO_WORD: u32 = 0;

    fn available() -> bool {
        available()
    }

    fn panels(&self) -> &Panels {
        &self.panels
    }

    /// The row as bf16 pairs (the last pair zero-padded when `k` is odd).
    #[inline(always)]
    fn pack_row(src: &[f32], dst: &mut [u32]) -> f32 {
        let mut pairs = src.chunks_exact(2);
        for (d, p) in dst.iter_mut().zip(&mut pairs) {
            *d = u32::from(bf16_bits(p[0])) | (u32::from(bf16_bits(p[1])) << 16);
        }
        if let ([last], Some(d)) = (pairs.remainder(), dst.last_mut()) {
            *d = u32::from(bf16_bits(*last));
        }
        1.0
    }

    #[inline(always)]
    fn tile(a: &[u32], b: &[u32], pairs: usize, tile: &mut [[f32; NR]; MR]) {
        assert!(a.len() >= MR * pairs && b.len() >= NR * pairs);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `tiles::matmul` only runs after `available()` confirmed AVX512F and
        // AVX512-BF16, and the slices were checked above to hold every element the kernel reads.
        #[allow(unsafe_code)]
        unsafe {
            x86::tile(a.as_ptr(), b.as_ptr(), pairs, tile)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (a, b, pairs, tile);
            unreachable!("bf16 kernel without x86-64")
        }
    }

    #[inline(always)]
    fn finish(&self, sums: &[f32; NR], _row_scale: f32, _col0: usize, out: &mut [f32]) {
        out.copy_from_slice(&sums[..out.len()]);
    }

    fn run_rows_fast<E>(&self, a: &[f32], rows: usize, row0: usize, out: &mut [f32], epilogue: &E)
    where
        E: Fn(usize, usize, &mut [f32]) + Sync,
    {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: only called from `tiles::matmul` after `available()` confirmed the CPU features.
        #[allow(unsafe_code)]
        unsafe {
            x86::run_rows(self, a, rows, row0, out, epilogue)
        }
        #[cfg(not(target_arch = "x86_64"))]
        tiles::run_rows(self, a, rows, row0, out, epilogue)
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    /// The shared tile loop with the kernel's CPU features enabled.
    ///
    /// # Safety
    /// The CPU supports avx512f and avx512bf16.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn run_rows<E>(
        w: &super::PackedBf16,
        a: &[f32],
        rows: usize,
        row0: usize,
        out: &mut [f32],
        epilogue: &E,
    ) where
        E: Fn(usize, usize, &mut [f32]) + Sync,
    {
        super::tiles::run_rows(w, a, rows, row0, out, epilogue)
    }

    /// `tile[r][c] = Σ_p a[r·pairs + p] · b[p·NR + c]` over bf16 pairs.
    ///
    /// # Safety
    /// The CPU supports AVX512F and AVX512-BF16; `a` points to `MR · pairs` and `b` to
    /// `NR · pairs` readable values.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn tile(
        a: *const u32,
        b: *const u32,
        pairs: usize,
        tile: &mut [[f32; NR]; MR],
    ) {
        let mut lo = [_mm512_setzero_ps(); MR];
        let mut hi = [_mm512_setzero_ps(); MR];
        for p in 0..pairs {
            // SAFETY (all reads): `p < pairs`, within the extents the caller guarantees.
            let bp = unsafe { b.add(p * NR) };
            let b0: __m512bh = unsafe { std::mem::transmute(_mm512_loadu_si512(bp.cast())) };
            let b1: __m512bh =
                unsafe { std::mem::transmute(_mm512_loadu_si512(bp.add(16).cast())) };
            for r in 0..MR {
                let pair = unsafe { *a.add(r * pairs + p) };
                let av: __m512bh = unsafe { std::mem::transmute(_mm512_set1_epi32(pair as i32)) };
                lo[r] = _mm512_dpbf16_ps(lo[r], av, b0);
                hi[r] = _mm512_dpbf16_ps(hi[r], av, b1);
            }
        }
        for r in 0..MR {
            // SAFETY: each row of `tile` holds NR = 32 f32 values.
            unsafe {
                _mm512_storeu_ps(tile[r].as_mut_ptr(), lo[r]);
                _mm512_storeu_ps(tile[r].as_mut_ptr().add(16), hi[r]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(x: f32) -> f32 {
        f32::from_bits(u32::from(bf16_bits(x)) << 16)
    }

    #[test]
    fn product_equals_f32_arithmetic_on_bf16_inputs() {
        // Odd sizes: partial tiles, a partial panel and an odd inner dimension.
        for (m, k, n) in [(1, 1, 1), (13, 37, 45), (100, 64, 70), (25, 256, 33)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
                .collect();
            let w: Vec<f32> = (0..k * n)
                .map(|i| ((i * 53 % 89) as f32 - 44.0) / 23.0)
                .collect();
            let packed = PackedBf16::pack(&w, k, n);
            let mut out = vec![f32::NAN; m * n];
            let ran = tiles::matmul(&a, m, &packed, &mut out, &|_, _, _: &mut [f32]| {});
            if !available() {
                assert!(
                    !ran && out[0].is_nan(),
                    "no AVX512-BF16: nothing may be written"
                );
                continue;
            }
            assert!(ran);
            for r in 0..m {
                for c in 0..n {
                    let want: f64 = (0..k)
                        .map(|i| f64::from(round(a[r * k + i])) * f64::from(round(w[i * n + c])))
                        .sum();
                    let got = f64::from(out[r * n + c]);
                    assert!(
                        (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                        "{m}x{k}x{n} at ({r},{c}): {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_epilogue_sees_every_value_once_with_its_position() {
        if !available() {
            return assert!(!available());
        }
        let (m, k, n) = (29, 8, 70);
        let a = vec![1.0f32; m * k];
        let w: Vec<f32> = (0..k * n).map(|i| (i % n) as f32).collect();
        let mut out = vec![0f32; m * n];
        let seen = std::sync::Mutex::new(vec![0u32; m * n]);
        let add_row = |row: usize, col0: usize, v: &mut [f32]| {
            if let Ok(mut seen) = seen.lock() {
                for (j, x) in v.iter_mut().enumerate() {
                    seen[row * n + col0 + j] += 1;
                    *x += row as f32 * 1000.0;
                }
            }
        };
        assert!(tiles::matmul(
            &a,
            m,
            &PackedBf16::pack(&w, k, n),
            &mut out,
            &add_row
        ));
        for r in 0..m {
            for c in 0..n {
                assert_eq!(
                    out[r * n + c],
                    8.0 * c as f32 + 1000.0 * r as f32,
                    "({r},{c})"
                );
            }
        }
        assert!(seen.into_inner().is_ok_and(|s| s.iter().all(|&c| c == 1)));
    }
}
