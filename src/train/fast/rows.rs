//! The fast training path's row passes with their backward passes: LayerNorm, GELU, softmax
//! and column sums, multi-threaded by whole rows. The bias / GELU / residual epilogues, the erf
//! and the exponential are the inference encoder's own.

use rayon::prelude::*;

use super::kernels::{PAR_MIN, block_rows, par_rows, threads};
use super::pool::Buf;
use crate::model::fused;

/// `Σ` of 8 independent lanes (vectorisable).
#[inline]
fn sum8(v: &[f32], f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let whole = v.len() / 8 * 8;
    for i in (0..whole).step_by(8) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(i + l);
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in whole..v.len() {
        s += f(i);
    }
    s
}

/// LayerNorm of `x [rows, d]` → `(y, mean, rstd)`.
pub fn layer_norm(
    x: &[f32],
    d: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) -> (Buf, Vec<f32>, Vec<f32>) {
    let rows = x.len() / d;
    let mut y = Buf::scratch(x.len());
    let mut stats = vec![0.0f32; 2 * rows];
    let per = block_rows(rows, d);
    y.par_chunks_mut(per * d)
        .zip(stats.par_chunks_mut(per * 2))
        .enumerate()
        .for_each(|(bi, (yb, sb))| {
            for (r, (yr, s)) in yb.chunks_mut(d).zip(sb.chunks_mut(2)).enumerate() {
                let row = bi * per + r;
                let xr = &x[row * d..(row + 1) * d];
                let mean = sum8(xr, |i| xr[i]) / d as f32;
                let var = sum8(xr, |i| (xr[i] - mean) * (xr[i] - mean)) / d as f32;
                let rstd = 1.0 / (var + eps).sqrt();
                for i in 0..d {
                    yr[i] = (xr[i] - mean) * rstd * gamma[i] + beta[i];
                }
                s[0] = mean;
                s[1] = rstd;
            }
        });
    let mean = stats.iter().step_by(2).copied().collect();
    let rstd = stats.iter().skip(1).step_by(2).copied().collect();
    (y, mean, rstd)
}

/// LayerNorm backward: `dx` of `dy`, adding `dγ` and `dβ` into `dgamma`, `dbeta`.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward(
    dy: &[f32],
    x: &[f32],
    mean: &[f32],
    rstd: &[f32],
    gamma: &[f32],
    d: usize,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) -> Buf {
    let rows = x.len() / d;
    let mut dx = Buf::scratch(x.len());
    let per = block_rows(rows, d);
    let partials: Vec<Vec<f32>> = dx
        .par_chunks_mut(per * d)
        .enumerate()
        .map(|(bi, dxb)| {
            let mut part = vec![0.0f32; 2 * d];
            let mut xhat = vec![0.0f32; d];
            let mut g = vec![0.0f32; d];
            for (r, dxr) in dxb.chunks_mut(d).enumerate() {
                let row = bi * per + r;
                let xr = &x[row * d..(row + 1) * d];
                let dyr = &dy[row * d..(row + 1) * d];
                let (m, s) = (mean[row], rstd[row]);
                for i in 0..d {
                    xhat[i] = (xr[i] - m) * s;
                    g[i] = dyr[i] * gamma[i];
                    part[i] += dyr[i] * xhat[i];
                    part[d + i] += dyr[i];
                }
                let mg = sum8(&g, |i| g[i]) / d as f32;
                let mgx = sum8(&g, |i| g[i] * xhat[i]) / d as f32;
                for i in 0..d {
                    dxr[i] = s * (g[i] - mg - xhat[i] * mgx);
                }
            }
            part
        })
        .collect();
    for part in &partials {
        for i in 0..d {
            dgamma[i] += part[i];
            dbeta[i] += part[d + i];
        }
    }
    dx
}

/// `y += b` per row of `y [rows, n]`, then GELU when `gelu`.
pub fn bias_act(y: &mut [f32], b: Option<&[f32]>, n: usize, gelu: bool) {
    if b.is_none() && !gelu {
        return;
    }
    par_rows(y, n, |_, block| {
        for row in block.chunks_mut(n) {
            match (b, gelu) {
                (Some(b), true) => fused::add_bias_gelu_row(row, b),
                (Some(b), false) => fused::add_bias_row(row, b),
                (None, _) => row.iter_mut().for_each(|v| *v = gelu_of(*v)),
            }
        }
    });
}

/// `y += b + r` per row of `y [rows, n]` (bias and residual in one pass).
pub fn bias_residual(y: &mut [f32], b: Option<&[f32]>, r: &[f32], n: usize) {
    par_rows(y, n, |start, block| {
        let r = &r[start * n..start * n + block.len()];
        for (row, rr) in block.chunks_mut(n).zip(r.chunks(n)) {
            match b {
                Some(b) => fused::add_bias_residual_row(row, b, rr),
                None => {
                    for (v, &ri) in row.iter_mut().zip(rr) {
                        *v += ri;
                    }
                }
            }
        }
    });
}

/// GELU of every value of `x`.
pub fn gelu_all(x: &[f32]) -> Buf {
    let mut y = Buf::scratch(x.len());
    par_rows(&mut y, 1024, |start, block| {
        let x = &x[start * 1024..start * 1024 + block.len()];
        for (v, &a) in block.iter_mut().zip(x) {
            *v = gelu_of(a);
        }
    });
    y
}

/// Exact (erf) GELU: the inference kernels' own.
pub use crate::model::fused::gelu as gelu_of;

/// `dy · GELU'(pre)` in place over `dy`.
pub fn gelu_backward(dy: &mut [f32], pre: &[f32]) {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    par_rows(dy, 1024, |start, block| {
        let pre = &pre[start * 1024..start * 1024 + block.len()];
        for (g, &x) in block.iter_mut().zip(pre) {
            let cdf = 0.5 * (1.0 + erf_fast(x * std::f32::consts::FRAC_1_SQRT_2));
            let pdf = INV_SQRT_2PI * exp_fast(-0.5 * x * x);
            *g *= cdf + x * pdf;
        }
    });
}

/// In place softmax of one row.
#[inline]
pub fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in row.iter_mut() {
        *v = exp_fast(*v - max);
    }
    let s = sum8(row, |i| row[i]);
    let inv = 1.0 / s;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `acc[j] += Σ_r y[r, j]` for `y [rows, n]` (parallel over column blocks).
pub fn add_column_sums(acc: &mut [f32], y: &[f32], n: usize) {
    let rows = y.len() / n.max(1);
    let per = if rows * n < PAR_MIN {
        n.max(1)
    } else {
        n.div_ceil(threads() * 2).max(16)
    };
    acc.par_chunks_mut(per).enumerate().for_each(|(bi, a)| {
        let c0 = bi * per;
        for r in 0..rows {
            let yr = &y[r * n + c0..r * n + c0 + a.len()];
            for (x, &v) in a.iter_mut().zip(yr) {
                *x += v;
            }
        }
    });
}

/// The inference kernels' erf and exponential, shared by the training passes.
pub use crate::model::fused::{erf_fast, exp_fast};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_norm_backward_matches_finite_differences() {
        let d = 5;
        let x: Vec<f32> = (0..10).map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.0).collect();
        let gamma: Vec<f32> = (0..d).map(|i| 0.5 + i as f32 * 0.1).collect();
        let beta = vec![0.1f32; d];
        let dy: Vec<f32> = (0..10).map(|i| (i as f32 * 0.37).sin()).collect();
        let loss = |x: &[f32]| -> f64 {
            let (y, _, _) = layer_norm(x, d, &gamma, &beta, 1e-6);
            y.iter()
                .zip(&dy)
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum()
        };
        let (_, mean, rstd) = layer_norm(&x, d, &gamma, &beta, 1e-6);
        let (mut dg, mut db) = (vec![0.0; d], vec![0.0; d]);
        let dx = layer_norm_backward(&dy, &x, &mean, &rstd, &gamma, d, &mut dg, &mut db);
        for i in 0..x.len() {
            let mut xp = x.clone();
            xp[i] += 1e-2;
            let mut xm = x.clone();
            xm[i] -= 1e-2;
            let fd = (loss(&xp) - loss(&xm)) / 2e-2;
            assert!((fd - dx[i] as f64).abs() < 2e-3, "x{i}: {fd} vs {}", dx[i]);
        }
        let db_want: Vec<f32> = (0..d).map(|i| dy[i] + dy[d + i]).collect();
        assert_eq!(db, db_want);
    }

    #[test]
    fn gelu_backward_matches_finite_differences() {
        let pre: Vec<f32> = (0..40).map(|i| i as f32 * 0.2 - 4.0).collect();
        let mut g = vec![1.0f32; pre.len()];
        gelu_backward(&mut g, &pre);
        for (i, &x) in pre.iter().enumerate() {
            let fd = (gelu_of(x + 1e-3) - gelu_of(x - 1e-3)) / 2e-3;
            assert!((fd - g[i]).abs() < 2e-3, "{x}: {fd} vs {}", g[i]);
        }
    }
}
