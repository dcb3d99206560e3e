//! Multi-head self-attention on the CPU in one pass: scores, softmax and the weighted sum of
//! values per (sample, head), straight from the fused q|k|v rows of the `qkv` layer.
//!
//! candle would split the heads into three contiguous tensors, run two batched matrix products
//! (which barely gain from a second thread at 191 tokens) and a softmax, and merge the heads
//! again. Here each thread takes whole (sample, head) pairs: it transposes the head's keys once,
//! builds each query's score row with 16-lane multiply-adds over the keys, normalises it in
//! place and accumulates the values, all in f32. The encoder's queries arrive already scaled by
//! `head_dim^-½` (folded into the `qkv` weights); the trainer's teacher passes the scale to
//! [`attention_rows`] instead.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, bail};

use super::fused::exp_fast;

/// Attention over rows `[B·N, 3D]` of fused q|k|v → rows `[B·N, D]` with the heads merged.
#[derive(Debug, Clone, Copy)]
pub struct FusedAttention {
    /// Samples in the batch.
    pub batch: usize,
    /// Tokens per sample.
    pub tokens: usize,
    /// Attention heads.
    pub heads: usize,
}

impl CustomOp1 for FusedAttention {
    fn name(&self) -> &'static str {
        "fused-attention"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(v) = s else {
            bail!("fused attention: expected f32")
        };
        let Some((start, end)) = l.contiguous_offsets() else {
            bail!("fused attention: expected a contiguous input")
        };
        let qkv = &v[start..end];
        let (b, n, h) = (self.batch, self.tokens, self.heads);
        let three_d = l.dims().last().copied().unwrap_or(0);
        if l.dims().len() != 2 || three_d % (3 * h.max(1)) != 0 || qkv.len() != b * n * three_d {
            bail!(
                "fused attention: input {:?} for {b}×{n} tokens, {h} heads",
                l.dims()
            );
        }
        let d = three_d / 3;
        let mut out = vec![0f32; b * n * d];
        attention_rows(qkv, b, n, h, d, 1.0, &mut out);
        Ok((CpuStorage::F32(out), Shape::from((b * n, d))))
    }
}

/// Fills `out` `[B·N, D]` with the attention of `qkv` `[B·N, 3D]`, queries multiplied by
/// `q_scale` (1 when the scale is folded into the weights).
pub(crate) fn attention_rows(
    qkv: &[f32],
    b: usize,
    n: usize,
    heads: usize,
    d: usize,
    q_scale: f32,
    out: &mut [f32],
) {
    let pairs = b * heads;
    let threads = candle_core::utils::get_num_threads().clamp(1, pairs.max(1));
    let per = pairs.div_ceil(threads);
    let hd = d / heads;
    // Each thread returns its pairs' outputs `[N, hd]`, merged into `out` afterwards.
    let results: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let first = t * per;
                    let last = (first + per).min(pairs);
                    let mut buf = vec![0f32; (last.saturating_sub(first)) * n * hd];
                    for (pair, o) in (first..last).zip(buf.chunks_exact_mut(n * hd)) {
                        let at = Head {
                            sample: pair / heads,
                            head: pair % heads,
                            n,
                            d,
                            hd,
                            q_scale,
                        };
                        head_fast(qkv, at, o);
                    }
                    buf
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for (t, buf) in results.iter().enumerate() {
        for (k, o) in buf.chunks_exact(n * hd).enumerate() {
            let pair = t * per + k;
            let (sample, head) = (pair / heads, pair % heads);
            for (i, row) in o.chunks_exact(hd).enumerate() {
                let at = (sample * n + i) * d + head * hd;
                out[at..at + hd].copy_from_slice(row);
            }
        }
    }
}

/// Which head of which sample, in a batch of `n` tokens of width `d`.
#[derive(Debug, Clone, Copy)]
struct Head {
    sample: usize,
    head: usize,
    n: usize,
    d: usize,
    hd: usize,
    q_scale: f32,
}

impl Head {
    /// The row of token `i`'s part `part` (0 q, 1 k, 2 v) for this head in `qkv`.
    fn row(self, qkv: &[f32], i: usize, part: usize) -> &[f32] {
        let at = (self.sample * self.n + i) * 3 * self.d + part * self.d + self.head * self.hd;
        &qkv[at..at + self.hd]
    }
}

/// Attention of one head into `o` `[N, hd]`: the AVX-512 kernel for 64-wide heads (every
/// Earmark preset and MATPAC's ViT-B) where the CPU has it, else the portable loop.
fn head_fast(qkv: &[f32], at: Head, o: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if at.hd == x86::HD && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX512F, checked above; the kernel reads only the slices.
        #[allow(unsafe_code)]
        unsafe {
            x86::head_64(qkv, at, o)
        };
        return;
    }
    head(qkv, at, o);
}

/// Lanes of the portable reductions.
const KB: usize = 16;

/// The largest value, over 16 independent lanes.
#[inline(always)]
fn lanes_max(v: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; KB];
    let mut chunks = v.chunks_exact(KB);
    for c in &mut chunks {
        for (a, &x) in m.iter_mut().zip(c) {
            *a = a.max(x);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    m.into_iter().fold(tail, f32::max)
}

/// The sum, over 16 independent lanes.
#[inline(always)]
fn lanes_sum(v: &[f32]) -> f32 {
    let mut s = [0f32; KB];
    let mut chunks = v.chunks_exact(KB);
    for c in &mut chunks {
        for (a, &x) in s.iter_mut().zip(c) {
            *a += x;
        }
    }
    chunks.remainder().iter().sum::<f32>() + s.into_iter().sum::<f32>()
}

/// Attention of one head into `o` `[N, hd]`, portable.
fn head(qkv: &[f32], at: Head, o: &mut [f32]) {
    let (n, hd) = (at.n, at.hd);
    let row = |i: usize, part: usize| at.row(qkv, i, part);
    // Keys transposed: `kt[c·N + j]` is component `c` of key `j`.
    let mut kt = vec![0f32; hd * n];
    for j in 0..n {
        for (c, &v) in row(j, 1).iter().enumerate() {
            kt[c * n + j] = v;
        }
    }
    let mut scores = vec![0f32; n];
    for (i, out) in o.chunks_exact_mut(hd).enumerate() {
        scores.fill(0.0);
        for (&qc, kc) in row(i, 0).iter().zip(kt.chunks_exact(n)) {
            let qc = qc * at.q_scale;
            scores.iter_mut().zip(kc).for_each(|(s, &k)| *s += qc * k);
        }
        let max = lanes_max(&scores);
        scores.iter_mut().for_each(|s| *s = exp_fast(*s - max));
        let sum = lanes_sum(&scores);
        out.fill(0.0);
        for (j, &w) in scores.iter().enumerate() {
            out.iter_mut()
                .zip(row(j, 2))
                .for_each(|(a, &v)| *a += w * v);
        }
        let inv = 1.0 / sum;
        out.iter_mut().for_each(|a| *a *= inv);
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use super::{Head, exp_fast, lanes_max, lanes_sum};
    use std::arch::x86_64::*;

    /// Head size of the kernel.
    pub const HD: usize = 64;
    /// Key blocks of 16 scored together.
    const GROUP: usize = 4;

    /// One head: `o[i] = Σ_j softmax_j(q_scale · q_i · k_j) v_j`, the 64-wide rows read straight
    /// from `qkv`.
    ///
    /// Keys are transposed into blocks of 16 (their only copy); two queries × four key blocks
    /// are scored at a time (eight independent multiply-add chains), and the value sums of both
    /// queries stay in eight registers.
    ///
    /// # Safety
    /// The CPU supports AVX512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn head_64(qkv: &[f32], at: Head, o: &mut [f32]) {
        let n = at.n;
        assert!(at.hd == HD && o.len() == n * HD && n > 0);
        let row = |i: usize, part: usize| at.row(qkv, i, part);
        let blocks = n.div_ceil(16).div_ceil(GROUP) * GROUP;
        // `kt[b][c]`: component `c` of keys `16b .. 16b + 16` (zero past the last key).
        let mut kt = vec![[[0f32; 16]; HD]; blocks];
        for j in 0..n {
            for (c, &x) in row(j, 1).iter().enumerate() {
                kt[j / 16][c][j % 16] = x;
            }
        }
        let mut scores = [vec![0f32; blocks * 16], vec![0f32; blocks * 16]];
        for i0 in (0..n).step_by(2) {
            let pair = [i0, (i0 + 1).min(n - 1)];
            let (q0, q1) = (row(pair[0], 0), row(pair[1], 0));
            for (g, group) in kt.chunks_exact(GROUP).enumerate() {
                let mut a0 = [_mm512_setzero_ps(); GROUP];
                let mut a1 = [_mm512_setzero_ps(); GROUP];
                for c in 0..HD {
                    let b0 = _mm512_set1_ps(q0[c] * at.q_scale);
                    let b1 = _mm512_set1_ps(q1[c] * at.q_scale);
                    for b in 0..GROUP {
                        // SAFETY: `group[b][c]` holds 16 values.
                        let kv = unsafe { _mm512_loadu_ps(group[b][c].as_ptr()) };
                        a0[b] = _mm512_fmadd_ps(b0, kv, a0[b]);
                        a1[b] = _mm512_fmadd_ps(b1, kv, a1[b]);
                    }
                }
                for b in 0..GROUP {
                    let at = (g * GROUP + b) * 16;
                    // SAFETY: both slices hold the 16 values written.
                    unsafe {
                        _mm512_storeu_ps(scores[0][at..at + 16].as_mut_ptr(), a0[b]);
                        _mm512_storeu_ps(scores[1][at..at + 16].as_mut_ptr(), a1[b]);
                    }
                }
            }
            let mut inv = [0f32; 2];
            for (row, iv) in scores.iter_mut().zip(&mut inv) {
                let live = &mut row[..n];
                let max = lanes_max(live);
                live.iter_mut().for_each(|s| *s = exp_fast(*s - max));
                *iv = 1.0 / lanes_sum(live);
            }
            let mut s0 = [_mm512_setzero_ps(); 4];
            let mut s1 = [_mm512_setzero_ps(); 4];
            let weights = scores[0].iter().zip(&scores[1]).take(n);
            for (j, (&p0, &p1)) in weights.enumerate() {
                let value = row(j, 2);
                let w0 = _mm512_set1_ps(p0);
                let w1 = _mm512_set1_ps(p1);
                for l in 0..4 {
                    // SAFETY: the slice holds 16 values.
                    let x = unsafe { _mm512_loadu_ps(value[16 * l..16 * l + 16].as_ptr()) };
                    s0[l] = _mm512_fmadd_ps(w0, x, s0[l]);
                    s1[l] = _mm512_fmadd_ps(w1, x, s1[l]);
                }
            }
            for (i, (acc, iv)) in [(s0, inv[0]), (s1, inv[1])].into_iter().enumerate() {
                let dst = &mut o[pair[i] * HD..(pair[i] + 1) * HD];
                let scale = _mm512_set1_ps(iv);
                for l in 0..4 {
                    // SAFETY: the slice holds the 16 values written.
                    unsafe {
                        _mm512_storeu_ps(
                            dst[16 * l..16 * l + 16].as_mut_ptr(),
                            _mm512_mul_ps(acc[l], scale),
                        )
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct softmax(q·kᵀ)·v in f64, for comparison.
    fn reference(qkv: &[f32], b: usize, n: usize, heads: usize, d: usize, qs: f64) -> Vec<f64> {
        let hd = d / heads;
        let mut out = vec![0f64; b * n * d];
        let at = |s: usize, i: usize, part: usize, h: usize, c: usize| {
            let scale = if part == 0 { qs } else { 1.0 };
            f64::from(qkv[(s * n + i) * 3 * d + part * d + h * hd + c]) * scale
        };
        for s in 0..b {
            for h in 0..heads {
                for i in 0..n {
                    let scores: Vec<f64> = (0..n)
                        .map(|j| (0..hd).map(|c| at(s, i, 0, h, c) * at(s, j, 1, h, c)).sum())
                        .collect();
                    let max = scores.iter().copied().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
                    let sum: f64 = e.iter().sum();
                    for c in 0..hd {
                        let v: f64 = (0..n).map(|j| e[j] * at(s, j, 2, h, c)).sum();
                        out[(s * n + i) * d + h * hd + c] = v / sum;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn matches_direct_attention_for_odd_sizes() {
        for (b, n, heads, d) in [
            (1, 7, 1, 4),
            (2, 19, 3, 12),
            (3, 33, 4, 32),
            (2, 37, 2, 128),
            (1, 191, 3, 192),
        ] {
            let len = b * n * 3 * d;
            let qkv: Vec<f32> = (0..len)
                .map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * 3.0)
                .collect();
            for q_scale in [1.0f32, 0.125] {
                let mut out = vec![0f32; b * n * d];
                attention_rows(&qkv, b, n, heads, d, q_scale, &mut out);
                let want = reference(&qkv, b, n, heads, d, f64::from(q_scale));
                let worst = out
                    .iter()
                    .zip(&want)
                    .map(|(a, w)| (f64::from(*a) - w).abs())
                    .fold(0f64, f64::max);
                assert!(
                    worst < 1e-4,
                    "b {b} n {n} heads {heads} scale {q_scale}: error {worst}"
                );
            }
        }
    }
}
