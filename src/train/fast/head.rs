//! The classification head (`train::cls_head`) and the two MATPAC losses (`train::losses`) with
//! explicit backward passes.

use rayon::prelude::*;

use super::block::Linear;
use super::kernels::{View, matmul};
use super::params::{Grads, Weights};
use super::pool::Buf;
use super::rows::{exp_fast, gelu_all, gelu_backward};
use crate::error::Result;
use crate::train::cls_head::HeadConfig;
use crate::train::losses::STUDENT_TEMP;

/// The smallest norm `l2_normalise` divides by.
const NORM_EPS: f32 = 1e-12;

/// `Linear → GELU → Linear → GELU → Linear`, L2 normalisation, weight-normalised prototypes.
pub struct Head<'a> {
    l0: Linear<'a>,
    l2: Linear<'a>,
    l4: Linear<'a>,
    g: &'a [f32],
    v: &'a [f32],
    cfg: HeadConfig,
    prefix: String,
}

/// What the head keeps for its backward pass.
pub struct HeadCache {
    a0: Buf,
    h0: Buf,
    a2: Buf,
    h2: Buf,
    norm: Vec<f32>,
    n: Buf,
    w: Buf,
    v_norm: Vec<f32>,
}

/// `x / max(‖x‖, 1e-12)` per row of width `d`, and the (clamped) norms.
fn normalise_rows(x: &[f32], d: usize) -> (Buf, Vec<f32>) {
    let mut n = Buf::copy_of(x);
    let norms: Vec<f32> = n
        .par_chunks_mut(d)
        .map(|r| {
            let s = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(NORM_EPS);
            for v in r.iter_mut() {
                *v /= s;
            }
            s
        })
        .collect();
    (n, norms)
}

impl<'a> Head<'a> {
    /// The head `prefix` (`student_head` or `teacher_head`) on tokens of width `input`.
    pub fn new(w: &Weights<'a>, prefix: &str, input: usize, cfg: &HeadConfig) -> Result<Self> {
        let mlp = format!("{prefix}.mlp");
        Ok(Head {
            l0: Linear::new(w, &format!("{mlp}.0"), input, cfg.hidden)?,
            l2: Linear::new(w, &format!("{mlp}.2"), cfg.hidden, cfg.hidden)?,
            l4: Linear::new(w, &format!("{mlp}.4"), cfg.hidden, cfg.bottleneck)?,
            g: w.get(&format!("{prefix}.last_layer.weight_g"), cfg.outputs)?,
            v: w.get(
                &format!("{prefix}.last_layer.weight_v"),
                cfg.outputs * cfg.bottleneck,
            )?,
            cfg: cfg.clone(),
            prefix: prefix.to_string(),
        })
    }

    /// `W = g ⊙ v / ‖v‖_row` and the row norms of `v`.
    fn prototypes(&self) -> (Buf, Vec<f32>) {
        let k = self.cfg.bottleneck;
        let mut w = Buf::copy_of(self.v);
        let mut v_norm = vec![0.0f32; self.cfg.outputs];
        for ((row, vn), &g) in w.chunks_mut(k).zip(v_norm.iter_mut()).zip(self.g) {
            *vn = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            let s = g / *vn;
            for x in row.iter_mut() {
                *x *= s;
            }
        }
        (w, v_norm)
    }

    /// Logits `[rows, outputs]` of `x [rows, input]`, keeping what the backward pass needs.
    pub fn forward(&self, x: &[f32]) -> (Buf, HeadCache) {
        let a0 = self.l0.forward(x, false);
        let h0 = gelu_all(&a0);
        let a2 = self.l2.forward(&h0, false);
        let h2 = gelu_all(&a2);
        let u = self.l4.forward(&h2, false);
        let (n, norm) = normalise_rows(&u, self.cfg.bottleneck);
        let (w, v_norm) = self.prototypes();
        let logits = self.logits(&n, &w);
        let cache = HeadCache {
            a0,
            h0,
            a2,
            h2,
            norm,
            n,
            w,
            v_norm,
        };
        (logits, cache)
    }

    /// Logits without keeping anything.
    pub fn infer(&self, x: &[f32]) -> Buf {
        let h0 = self.l0.forward(x, true);
        let h2 = self.l2.forward(&h0, true);
        let u = self.l4.forward(&h2, false);
        let (n, _) = normalise_rows(&u, self.cfg.bottleneck);
        let (w, _) = self.prototypes();
        self.logits(&n, &w)
    }

    fn logits(&self, n: &[f32], w: &[f32]) -> Buf {
        let (k, o) = (self.cfg.bottleneck, self.cfg.outputs);
        let rows = n.len() / k;
        let mut logits = Buf::zeros(rows * o);
        matmul(
            &mut logits,
            o,
            View::rows(n, rows, k),
            View::rows(w, o, k).t(),
            1.0,
            false,
            true,
        );
        logits
    }

    /// `dx` of `dlogits` (input `x`), adding every weight's gradient into `grads`.
    pub fn backward(&self, dlogits: &[f32], x: &[f32], c: HeadCache, grads: &mut Grads) -> Buf {
        let (k, o) = (self.cfg.bottleneck, self.cfg.outputs);
        let rows = dlogits.len() / o;
        let dl = View::rows(dlogits, rows, o);
        // Through the prototypes: dn = dlogits·W, dW = dlogitsᵀ·n.
        let mut dn = Buf::zeros(rows * k);
        matmul(&mut dn, k, dl, View::rows(&c.w, o, k), 1.0, false, true);
        let mut dw = Buf::zeros(o * k);
        matmul(
            &mut dw,
            k,
            dl.t(),
            View::rows(&c.n, rows, k),
            1.0,
            false,
            true,
        );
        let mut dg = grads.take(&format!("{}.last_layer.weight_g", self.prefix), o);
        let mut dv = grads.take(&format!("{}.last_layer.weight_v", self.prefix), o * k);
        for i in 0..o {
            let (v, dwr) = (&self.v[i * k..(i + 1) * k], &dw[i * k..(i + 1) * k]);
            let vn = c.v_norm[i];
            let dot: f32 = v.iter().zip(dwr).map(|(a, b)| a * b).sum();
            dg[i] += dot / vn;
            let (a, b) = (self.g[i] / vn, self.g[i] * dot / (vn * vn * vn));
            for ((g, &x), &d) in dv[i * k..(i + 1) * k].iter_mut().zip(v).zip(dwr) {
                *g += a * d - b * x;
            }
        }
        grads.put(&format!("{}.last_layer.weight_g", self.prefix), dg);
        grads.put(&format!("{}.last_layer.weight_v", self.prefix), dv);
        // Through the normalisation: du = (dn − n·⟨dn, n⟩)/‖u‖ (dn/eps where the norm was clamped).
        dn.par_chunks_mut(k)
            .zip(c.n.par_chunks(k))
            .zip(c.norm.par_iter())
            .for_each(|((d, n), &s)| {
                let dot: f32 = d.iter().zip(n).map(|(a, b)| a * b).sum();
                let raw = n.iter().map(|v| v * v).sum::<f32>();
                let clamped = raw < 0.5;
                for (a, &b) in d.iter_mut().zip(n) {
                    *a = if clamped { *a / s } else { (*a - b * dot) / s };
                }
            });
        let mut dh2 = self
            .l4
            .backward(&dn, &c.h2, grads, true)
            .unwrap_or_default();
        gelu_backward(&mut dh2, &c.a2);
        let mut dh0 = self
            .l2
            .backward(&dh2, &c.h0, grads, true)
            .unwrap_or_default();
        gelu_backward(&mut dh0, &c.a0);
        self.l0.backward(&dh0, x, grads, true).unwrap_or_default()
    }
}

/// The prediction loss `2 − 2·cos(p, t)` per row of width `d`: `(Σ loss, ∂(scale·Σ loss)/∂p)`.
pub fn prediction_loss(pred: &[f32], target: &[f32], d: usize, scale: f32) -> (f64, Buf) {
    let mut grad = Buf::zeros(pred.len());
    let losses: Vec<f32> = grad
        .par_chunks_mut(d)
        .zip(pred.par_chunks(d))
        .zip(target.par_chunks(d))
        .map(|((g, p), t)| {
            let pn = p.iter().map(|v| v * v).sum::<f32>().sqrt();
            let tn = t.iter().map(|v| v * v).sum::<f32>().sqrt().max(NORM_EPS);
            let ps = pn.max(NORM_EPS);
            let cos: f32 = p.iter().zip(t).map(|(a, b)| (a / ps) * (b / tn)).sum();
            for ((gi, &a), &b) in g.iter_mut().zip(p).zip(t) {
                let dcos = if pn >= NORM_EPS {
                    (b / tn - cos * a / ps) / ps
                } else {
                    b / tn / ps
                };
                *gi = -2.0 * scale * dcos;
            }
            2.0 - 2.0 * cos
        })
        .collect();
    (losses.iter().map(|&l| l as f64).sum(), grad)
}

/// The classification loss `−Σ P·log softmax(s/τ_s)` per row of `outputs`:
/// `(Σ loss, ∂(scale·Σ loss)/∂s)`.
pub fn classification_loss(
    logits: &[f32],
    probs: &[f32],
    outputs: usize,
    scale: f32,
) -> (f64, Buf) {
    let inv_t = (1.0 / STUDENT_TEMP) as f32;
    let mut grad = Buf::copy_of(logits);
    let losses: Vec<f32> = grad
        .par_chunks_mut(outputs)
        .zip(probs.par_chunks(outputs))
        .map(|(z, p)| {
            for v in z.iter_mut() {
                *v *= inv_t;
            }
            let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let psum: f32 = p.iter().sum();
            let mut sum = 0.0f32;
            let mut dot = 0.0f32;
            for (v, &pi) in z.iter_mut().zip(p) {
                dot += pi * (*v - max);
                *v = exp_fast(*v - max);
                sum += *v;
            }
            // −Σ p·(z − max − ln Σe) = psum·ln Σe − Σ p·(z − max)
            let loss = psum * sum.ln() - dot;
            let inv = 1.0 / sum;
            for (v, &pi) in z.iter_mut().zip(p) {
                *v = scale * inv_t * (*v * inv * psum - pi);
            }
            loss
        })
        .collect();
    (losses.iter().map(|&l| l as f64).sum(), grad)
}
