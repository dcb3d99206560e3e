//! Matrix products in 8-bit integers for CPUs with AVX512-VNNI.
//!
//! Weights are quantised once, symmetrically per output column (`W ≈ s_c · q`, `q ∈ [-127,
//! 127]`); activations per row on each call (`a ≈ s_r · u`, `u ∈ [-127, 127]`). `vpdpbusd`
//! multiplies unsigned by signed bytes, so the kernel feeds `u + 128` and subtracts
//! `128 · Σ_k q[k][c]` afterwards: `y[r][c] = s_r · s_c · (Σ_k (u + 128) · q − 128 · Σ_k q)`,
//! exact in 32-bit integers. Tiles of [`MR`] rows × [`NR`] columns as in [`super::bf16`].

use super::tiles::{self, MR, NR, Panels, TileFormat};

/// A weight matrix `[k, n]` quantised for the int8 kernel: word `p` of column `c` holds the four
/// signed bytes `q[4p .. 4p + 4][c]` (zero beyond `k` and `n`).
#[derive(Debug, Clone)]
pub struct PackedInt8 {
    panels: Panels,
    /// `s_c` per column.
    scales: Vec<f32>,
    /// `128 · Σ_k q[k][c]` per column.
    offsets: Vec<i32>,
}

impl PackedInt8 {
    /// Quantises and packs the row-major `[k, n]` matrix `w`.
    pub fn pack(w: &[f32], k: usize, n: usize) -> Self {
        let mut scales = vec![0f32; n];
        for (c, s) in scales.iter_mut().enumerate() {
            let max = (0..k).map(|r| w[r * n + c].abs()).fold(0f32, f32::max);
            *s = if max > 0.0 { max / 127.0 } else { 1.0 };
        }
        let q = |row: usize, col: usize| -> i8 {
            if row < k && col < n {
                (w[row * n + col] / scales[col])
                    .round()
                    .clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        };
        let offsets = (0..n)
            .map(|c| 128 * (0..k).map(|r| i32::from(q(r, c))).sum::<i32>())
            .collect();
        let panels = Panels::pack(k, n, Self::PER_WORD, |p, col| {
            u32::from_le_bytes([0, 1, 2, 3].map(|i| q(4 * p + i, col) as u8))
        });
        PackedInt8 {
            panels,
            scales,
            offsets,
        }
    }
}

/// Whether this CPU runs the int8 kernel.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl TileFormat for PackedInt8 {
    type Acc = i32;
    const PER_WORD: usize = 4;
    /// Four bytes `0 + 128`.
    const ZERO_WORD: u32 = 0x8080_8080;

    fn available() -> bool {
        available()
    }

    fn panels(&self) -> &Panels {
        &self.panels
    }

    /// Quantises the row to `u + 128` bytes (four per word); returns the row's scale.
    #[inline(always)]
    fn pack_row(src: &[f32], dst: &mut [u32]) -> f32 {
        let max = src.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 && max.is_finite() {
            max / 127.0
        } else {
            1.0
        };
        let inv = 1.0 / scale;
        let byte = |v: f32| ((v * inv).round_ties_even().clamp(-127.0, 127.0) as i32 + 128) as u8;
        let mut quads = src.chunks_exact(4);
        for (d, q) in dst.iter_mut().zip(&mut quads) {
            *d = u32::from_le_bytes([byte(q[0]), byte(q[1]), byte(q[2]), byte(q[3])]);
        }
        let rest = quads.remainder();
        if let (false, Some(d)) = (rest.is_empty(), dst.last_mut()) {
            let mut bytes = [128u8; 4];
            for (b, &v) in bytes.iter_mut().zip(rest) {
                *b = byte(v);
            }
            *d = u32::from_le_bytes(bytes);
        }
        scale
    }

    #[inline(always)]
    fn tile(a: &[u32], b: &[u32], quads: usize, tile: &mut [[i32; NR]; MR]) {
        assert!(a.len() >= MR * quads && b.len() >= NR * quads);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `tiles::matmul` only runs after `available()` confirmed AVX512F and
        // AVX512-VNNI, and the slices were checked above to hold every element the kernel reads.
        #[allow(unsafe_code)]
        unsafe {
            x86::tile(a.as_ptr(), b.as_ptr(), quads, tile)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (a, b, quads, tile);
            unreachable!("int8 kernel without x86-64")
        }
    }

    /// `s_r · s_c · (Σ (u + 128) · q − 128 · Σ q)` per column.
    #[inline(always)]
    fn finish(&self, sums: &[i32; NR], row_scale: f32, col0: usize, out: &mut [f32]) {
        let cols = out.len();
        let scales = &self.scales[col0..col0 + cols];
        let offsets = &self.offsets[col0..col0 + cols];
        for (j, v) in out.iter_mut().enumerate() {
            *v = (sums[j] - offsets[j]) as f32 * (row_scale * scales[j]);
        }
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
    /// The CPU supports avx512f and avx512vnni.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn run_rows<E>(
        w: &super::PackedInt8,
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

    /// `tile[r][c] = Σ_p Σ_i a[r·quads + p].byte(i) · b[p·NR + c].byte(i)` (unsigned × signed).
    ///
    /// # Safety
    /// The CPU supports AVX512F and AVX512-VNNI; `a` points to `MR · quads` and `b` to
    /// `NR · quads` readable values.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn tile(
        a: *const u32,
        b: *const u32,
        quads: usize,
        tile: &mut [[i32; NR]; MR],
    ) {
        let mut lo = [_mm512_setzero_si512(); MR];
        let mut hi = [_mm512_setzero_si512(); MR];
        for p in 0..quads {
            // SAFETY (all reads): `p < quads`, within the extents the caller guarantees.
            let bp = unsafe { b.add(p * NR) };
            let b0 = unsafe { _mm512_loadu_si512(bp.cast()) };
            let b1 = unsafe { _mm512_loadu_si512(bp.add(16).cast()) };
            for r in 0..MR {
                let av = _mm512_set1_epi32(unsafe { *a.add(r * quads + p) } as i32);
                lo[r] = _mm512_dpbusd_epi32(lo[r], av, b0);
                hi[r] = _mm512_dpbusd_epi32(hi[r], av, b1);
            }
        }
        for r in 0..MR {
            // SAFETY: each row of `tile` holds NR = 32 i32 values.
            unsafe {
                _mm512_storeu_si512(tile[r].as_mut_ptr().cast(), lo[r]);
                _mm512_storeu_si512(tile[r].as_mut_ptr().add(16).cast(), hi[r]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same quantisation done independently in f64.
    fn reference(a: &[f32], m: usize, w: &[f32], k: usize, n: usize) -> Vec<f64> {
        let col_scale: Vec<f64> = (0..n)
            .map(|c| {
                (0..k)
                    .map(|r| f64::from(w[r * n + c]).abs())
                    .fold(0.0, f64::max)
                    / 127.0
            })
            .collect();
        let mut out = vec![0f64; m * n];
        for r in 0..m {
            let row = &a[r * k..(r + 1) * k];
            let max = row.iter().map(|v| f64::from(*v).abs()).fold(0.0, f64::max);
            let rs = if max > 0.0 { max / 127.0 } else { 1.0 };
            for c in 0..n {
                let sum: f64 = (0..k)
                    .map(|i| {
                        let qa = (f64::from(row[i]) / rs).round_ties_even();
                        let qw = (f64::from(w[i * n + c]) / col_scale[c]).round_ties_even();
                        qa * qw
                    })
                    .sum();
                out[r * n + c] = sum * rs * col_scale[c];
            }
        }
        out
    }

    #[test]
    fn product_equals_the_quantised_arithmetic_and_stays_near_f32() {
        for (m, k, n) in [(1, 4, 1), (13, 37, 45), (50, 256, 70)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
                .collect();
            let w: Vec<f32> = (0..k * n)
                .map(|i| ((i * 53 % 89) as f32 - 44.0) / 23.0)
                .collect();
            let mut out = vec![f32::NAN; m * n];
            let ran = tiles::matmul(
                &a,
                m,
                &PackedInt8::pack(&w, k, n),
                &mut out,
                &|_, _, _: &mut [f32]| {},
            );
            if !available() {
                assert!(
                    !ran && out[0].is_nan(),
                    "no AVX512-VNNI: nothing may be written"
                );
                continue;
            }
            assert!(ran);
            let want = reference(&a, m, &w, k, n);
            let mut err2 = 0f64;
            let mut ref2 = 0f64;
            for r in 0..m {
                for c in 0..n {
                    let got = f64::from(out[r * n + c]);
                    let q = want[r * n + c];
                    // Ties in f32 vs f64 division may move one product by one step; allow a
                    // few steps of the smallest unit.
                    assert!(
                        (got - q).abs() <= 1e-4 * (1.0 + q.abs()) + 0.05,
                        "({r},{c}): {got} vs {q}"
                    );
                    let exact: f64 = (0..k)
                        .map(|i| f64::from(a[r * k + i]) * f64::from(w[i * n + c]))
                        .sum();
                    err2 += (got - exact).powi(2);
                    ref2 += exact.powi(2);
                }
            }
            assert!(
                (err2 / ref2.max(1e-30)).sqrt() < 0.02,
                "relative error {}",
                (err2 / ref2).sqrt()
            );
        }
    }
}
