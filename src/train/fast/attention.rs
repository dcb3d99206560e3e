//! Softmax attention with its backward pass for the fast training path: per sample, on strided
//! views of the fused `q|k|v` rows (nothing is split or permuted), keeping the probabilities
//! that the backward pass needs.

use rayon::prelude::*;

use super::kernels::{View, matmul};
use super::pool::Buf;
use super::rows::softmax_row;

/// The shape of a token batch: `b` sequences of `n` tokens of width `d`.
#[derive(Debug, Clone, Copy)]
pub struct Seq {
    /// Sequences.
    pub b: usize,
    /// Tokens per sequence.
    pub n: usize,
    /// Width.
    pub d: usize,
}

/// The view of head `h`'s part `part` (0 q, 1 k, 2 v) of sample `bi` in `qkv [b·n, 3d]`.
fn head_view(qkv: &[f32], s: Seq, hd: usize, bi: usize, part: usize, h: usize) -> View<'_> {
    let start = bi * s.n * 3 * s.d + part * s.d + h * hd;
    View {
        data: &qkv[start..],
        rows: s.n,
        cols: hd,
        rs: 3 * s.d,
        cs: 1,
    }
}

/// Softmax attention of fused `qkv [b·n, 3d]` → `(out [b·n, d], probabilities [b, h, n, n])`.
pub(super) fn attention(qkv: &[f32], s: Seq, heads: usize) -> (Buf, Buf) {
    let hd = s.d / heads;
    let scale = (hd as f64).powf(-0.5) as f32;
    let n = s.n;
    let mut out = Buf::scratch(s.b * n * s.d);
    let mut probs = Buf::scratch(s.b * heads * n * n);
    out.par_chunks_mut(n * s.d)
        .zip(probs.par_chunks_mut(heads * n * n))
        .enumerate()
        .for_each(|(bi, (ob, pb))| {
            for h in 0..heads {
                let p = &mut pb[h * n * n..(h + 1) * n * n];
                let q = head_view(qkv, s, hd, bi, 0, h);
                let k = head_view(qkv, s, hd, bi, 1, h);
                matmul(p, n, q, k.t(), scale, false, false);
                for row in p.chunks_mut(n) {
                    softmax_row(row);
                }
                let v = head_view(qkv, s, hd, bi, 2, h);
                matmul(
                    &mut ob[h * hd..],
                    s.d,
                    View::rows(p, n, n),
                    v,
                    1.0,
                    false,
                    false,
                );
            }
        });
    (out, probs)
}

/// The gradient of `qkv` from the gradient of the attention output.
pub(super) fn attention_backward(
    dout: &[f32],
    qkv: &[f32],
    probs: &[f32],
    s: Seq,
    heads: usize,
) -> Buf {
    let hd = s.d / heads;
    let scale = (hd as f64).powf(-0.5) as f32;
    let n = s.n;
    let mut dqkv = Buf::scratch(s.b * n * 3 * s.d);
    dqkv.par_chunks_mut(n * 3 * s.d)
        .enumerate()
        .for_each(|(bi, dq)| {
            let mut ds = vec![0.0f32; n * n];
            for h in 0..heads {
                let p = &probs[(bi * heads + h) * n * n..(bi * heads + h + 1) * n * n];
                let dout_h = View {
                    data: &dout[bi * n * s.d + h * hd..],
                    rows: n,
                    cols: hd,
                    rs: s.d,
                    cs: 1,
                };
                let (q, k, v) = (
                    head_view(qkv, s, hd, bi, 0, h),
                    head_view(qkv, s, hd, bi, 1, h),
                    head_view(qkv, s, hd, bi, 2, h),
                );
                let pv = View::rows(p, n, n);
                matmul(
                    &mut dq[2 * s.d + h * hd..],
                    3 * s.d,
                    pv.t(),
                    dout_h,
                    1.0,
                    false,
                    false,
                );
                matmul(&mut ds, n, dout_h, v.t(), 1.0, false, false);
                for (dr, pr) in ds.chunks_mut(n).zip(p.chunks(n)) {
                    let dot: f32 = dr.iter().zip(pr).map(|(a, b)| a * b).sum();
                    for (a, &b) in dr.iter_mut().zip(pr) {
                        *a = b * (*a - dot);
                    }
                }
                let dsv = View::rows(&ds, n, n);
                matmul(&mut dq[h * hd..], 3 * s.d, dsv, k, scale, false, false);
                matmul(
                    &mut dq[s.d + h * hd..],
                    3 * s.d,
                    dsv.t(),
                    q,
                    scale,
                    false,
                    false,
                );
            }
        });
    dqkv
}
