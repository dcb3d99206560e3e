//! Linear layers, pre-norm transformer blocks and block stacks with explicit backward passes:
//! the forward pass keeps what the backward pass needs (a [`BlockCache`] per block), the backward
//! pass adds every weight's gradient into [`Grads`] and returns the input's gradient.
//!
//! The functions are those of [`crate::model::Block`] (LayerNorm with biased variance,
//! `q·k/√d` attention, exact GELU), computed on `[rows, width]` slices with the inference
//! encoder's epilogue and attention kernels where no backward pass follows; attention with a
//! backward pass runs per sample on strided views of the fused `q|k|v` rows, so nothing is split
//! or permuted, and keeps its probabilities.

use super::attention::{attention, attention_backward};
use super::kernels::{View, matmul, par_rows};
use super::params::{Grads, Weights};
use super::pool::Buf;
use super::rows::{
    add_column_sums, bias_act, bias_residual, gelu_all, gelu_backward, layer_norm,
    layer_norm_backward,
};
use crate::error::Result;
use crate::model::attention::attention_rows;

pub use super::attention::Seq;

/// `y = x·Wᵀ + b` with `W [out, inp]`, named by its prefix.
#[derive(Debug, Clone)]
pub struct Linear<'a> {
    w: &'a [f32],
    b: Option<&'a [f32]>,
    inp: usize,
    out: usize,
    prefix: String,
}

impl<'a> Linear<'a> {
    /// `prefix.weight [out, inp]` and `prefix.bias [out]` from `w`.
    pub fn new(w: &Weights<'a>, prefix: &str, inp: usize, out: usize) -> Result<Self> {
        Ok(Linear {
            w: w.get(&format!("{prefix}.weight"), out * inp)?,
            b: Some(w.get(&format!("{prefix}.bias"), out)?),
            inp,
            out,
            prefix: prefix.to_string(),
        })
    }

    /// The product of `x [rows, inp]`; `gelu` applies GELU after the bias.
    pub fn forward(&self, x: &[f32], gelu: bool) -> Buf {
        let mut y = self.product(x);
        bias_act(&mut y, self.b, self.out, gelu);
        y
    }

    /// The product of `x [rows, inp]` plus `residual [rows, out]`.
    pub fn forward_add(&self, x: &[f32], residual: &[f32]) -> Buf {
        let mut y = self.product(x);
        bias_residual(&mut y, self.b, residual, self.out);
        y
    }

    fn product(&self, x: &[f32]) -> Buf {
        let rows = x.len() / self.inp;
        let mut y = Buf::scratch(rows * self.out);
        let w = View::rows(self.w, self.out, self.inp).t();
        let xv = View::rows(x, rows, self.inp);
        matmul(&mut y, self.out, xv, w, 1.0, false, true);
        y
    }

    /// Adds `dW`, `db` of `dy [rows, out]` (input `x`) into `grads`; returns `dx` when asked.
    pub fn backward(&self, dy: &[f32], x: &[f32], grads: &mut Grads, dx: bool) -> Option<Buf> {
        let rows = dy.len() / self.out;
        let dyv = View::rows(dy, rows, self.out);
        let gw = grads.slot(&format!("{}.weight", self.prefix), self.out * self.inp);
        matmul(
            gw,
            self.inp,
            dyv.t(),
            View::rows(x, rows, self.inp),
            1.0,
            true,
            true,
        );
        if self.b.is_some() {
            let gb = grads.slot(&format!("{}.bias", self.prefix), self.out);
            add_column_sums(gb, dy, self.out);
        }
        dx.then(|| {
            let mut dx = Buf::scratch(rows * self.inp);
            let w = View::rows(self.w, self.out, self.inp);
            matmul(&mut dx, self.inp, dyv, w, 1.0, false, true);
            dx
        })
    }
}

/// LayerNorm weights, named by prefix.
#[derive(Debug, Clone)]
pub struct Norm<'a> {
    gamma: &'a [f32],
    beta: &'a [f32],
    eps: f32,
    prefix: String,
}

/// What a LayerNorm keeps for its backward pass.
pub struct NormCache {
    mean: Vec<f32>,
    rstd: Vec<f32>,
}

impl<'a> Norm<'a> {
    /// `prefix.weight`, `prefix.bias` of width `d`.
    pub fn new(w: &Weights<'a>, prefix: &str, d: usize, eps: f64) -> Result<Self> {
        Ok(Norm {
            gamma: w.get(&format!("{prefix}.weight"), d)?,
            beta: w.get(&format!("{prefix}.bias"), d)?,
            eps: eps as f32,
            prefix: prefix.to_string(),
        })
    }

    /// Normalises the rows of `x`.
    pub fn forward(&self, x: &[f32]) -> (Buf, NormCache) {
        let (y, mean, rstd) = layer_norm(x, self.gamma.len(), self.gamma, self.beta, self.eps);
        (y, NormCache { mean, rstd })
    }

    /// `dx` of `dy` (input `x`), adding the weights' gradients into `grads`.
    pub fn backward(&self, dy: &[f32], x: &[f32], c: &NormCache, grads: &mut Grads) -> Buf {
        let d = self.gamma.len();
        let mut dg = grads.take(&format!("{}.weight", self.prefix), d);
        let mut db = grads.take(&format!("{}.bias", self.prefix), d);
        let dx = layer_norm_backward(dy, x, &c.mean, &c.rstd, self.gamma, d, &mut dg, &mut db);
        grads.put(&format!("{}.weight", self.prefix), dg);
        grads.put(&format!("{}.bias", self.prefix), db);
        dx
    }
}

/// One pre-norm block: `x + proj(attn(LN1 x))`, then `x + fc2(GELU(fc1(LN2 x)))`.
pub struct Block<'a> {
    norm1: Norm<'a>,
    qkv: Linear<'a>,
    proj: Linear<'a>,
    norm2: Norm<'a>,
    fc1: Linear<'a>,
    fc2: Linear<'a>,
    heads: usize,
}

/// What a block keeps for its backward pass.
pub struct BlockCache {
    x: Buf,
    ln1: Buf,
    n1: NormCache,
    qkv: Buf,
    probs: Buf,
    att: Buf,
    x1: Buf,
    ln2: Buf,
    n2: NormCache,
    hpre: Buf,
    h: Buf,
}

fn add_into(y: &mut [f32], x: &[f32]) {
    par_rows(y, 1024, |start, block| {
        for (a, &b) in block.iter_mut().zip(&x[start * 1024..]) {
            *a += b;
        }
    });
}

impl<'a> Block<'a> {
    /// The block `prefix` (`….blocks.N`) of width `d`.
    pub fn new(
        w: &Weights<'a>,
        prefix: &str,
        d: usize,
        heads: usize,
        mlp: usize,
        eps: f64,
    ) -> Result<Self> {
        Ok(Block {
            norm1: Norm::new(w, &format!("{prefix}.norm1"), d, eps)?,
            qkv: Linear::new(w, &format!("{prefix}.attn.qkv"), d, 3 * d)?,
            proj: Linear::new(w, &format!("{prefix}.attn.proj"), d, d)?,
            norm2: Norm::new(w, &format!("{prefix}.norm2"), d, eps)?,
            fc1: Linear::new(w, &format!("{prefix}.mlp.fc1"), d, mlp)?,
            fc2: Linear::new(w, &format!("{prefix}.mlp.fc2"), mlp, d)?,
            heads,
        })
    }

    /// Applies the block to `x [b·n, d]`.
    pub fn forward(&self, x: Buf, s: Seq) -> (Buf, BlockCache) {
        let (ln1, n1) = self.norm1.forward(&x);
        let qkv = self.qkv.forward(&ln1, false);
        let (att, probs) = attention(&qkv, s, self.heads);
        let x1 = self.proj.forward_add(&att, &x);
        let (ln2, n2) = self.norm2.forward(&x1);
        let hpre = self.fc1.forward(&ln2, false);
        let h = gelu_all(&hpre);
        let out = self.fc2.forward_add(&h, &x1);
        let cache = BlockCache {
            x,
            ln1,
            n1,
            qkv,
            probs,
            att,
            x1,
            ln2,
            n2,
            hpre,
            h,
        };
        (out, cache)
    }

    /// Applies the block without keeping anything for a backward pass; attention is the
    /// inference encoder's one-pass kernel.
    pub fn infer(&self, x: &[f32], s: Seq) -> Buf {
        let (ln1, _) = self.norm1.forward(x);
        let qkv = self.qkv.forward(&ln1, false);
        drop(ln1);
        let mut att = Buf::scratch(s.b * s.n * s.d);
        let scale = ((s.d / self.heads) as f64).powf(-0.5) as f32;
        attention_rows(&qkv, s.b, s.n, self.heads, s.d, scale, &mut att);
        drop(qkv);
        let x1 = self.proj.forward_add(&att, x);
        let (ln2, _) = self.norm2.forward(&x1);
        let h = self.fc1.forward(&ln2, true);
        self.fc2.forward_add(&h, &x1)
    }

    /// `dx` of `dy`, adding every weight's gradient into `grads`.
    pub fn backward(&self, dy: &[f32], c: BlockCache, s: Seq, grads: &mut Grads) -> Buf {
        let mut dh = self.fc2.backward(dy, &c.h, grads, true).unwrap_or_default();
        drop(c.h);
        gelu_backward(&mut dh, &c.hpre);
        drop(c.hpre);
        let dln2 = self
            .fc1
            .backward(&dh, &c.ln2, grads, true)
            .unwrap_or_default();
        drop(dh);
        let mut dx1 = self.norm2.backward(&dln2, &c.x1, &c.n2, grads);
        add_into(&mut dx1, dy);
        let datt = self
            .proj
            .backward(&dx1, &c.att, grads, true)
            .unwrap_or_default();
        let dqkv = attention_backward(&datt, &c.qkv, &c.probs, s, self.heads);
        drop(datt);
        let dln1 = self
            .qkv
            .backward(&dqkv, &c.ln1, grads, true)
            .unwrap_or_default();
        let mut dx = self.norm1.backward(&dln1, &c.x, &c.n1, grads);
        add_into(&mut dx, &dx1);
        dx
    }
}

/// Blocks followed by a final LayerNorm.
pub struct Stack<'a> {
    blocks: Vec<Block<'a>>,
    norm: Norm<'a>,
}

/// What a stack keeps for its backward pass.
pub struct StackCache {
    blocks: Vec<BlockCache>,
    last: Buf,
    norm: NormCache,
}

impl<'a> Stack<'a> {
    /// Blocks `{blocks}.N` (`depth` of them) and the norm `norm`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        w: &Weights<'a>,
        blocks: &str,
        norm: &str,
        depth: usize,
        d: usize,
        heads: usize,
        mlp: usize,
        eps: f64,
    ) -> Result<Self> {
        Ok(Stack {
            blocks: (0..depth)
                .map(|i| Block::new(w, &format!("{blocks}.{i}"), d, heads, mlp, eps))
                .collect::<Result<_>>()?,
            norm: Norm::new(w, norm, d, eps)?,
        })
    }

    /// Runs the blocks and the norm on `x [b·n, d]`, keeping what the backward pass needs.
    pub fn forward(&self, x: Buf, s: Seq) -> (Buf, StackCache) {
        let mut h = x;
        let mut caches = Vec::with_capacity(self.blocks.len());
        for b in &self.blocks {
            let (y, c) = b.forward(h, s);
            caches.push(c);
            h = y;
        }
        let (out, norm) = self.norm.forward(&h);
        let cache = StackCache {
            blocks: caches,
            last: h,
            norm,
        };
        (out, cache)
    }

    /// Runs the blocks and the norm without keeping anything.
    pub fn infer(&self, x: &[f32], s: Seq) -> Buf {
        let mut h = Buf::copy_of(x);
        for b in &self.blocks {
            h = b.infer(&h, s);
        }
        self.norm.forward(&h).0
    }

    /// `dx` of `dy`, adding every weight's gradient into `grads`.
    pub fn backward(&self, dy: &[f32], c: StackCache, s: Seq, grads: &mut Grads) -> Buf {
        let mut g = self.norm.backward(dy, &c.last, &c.norm, grads);
        for (b, cache) in self.blocks.iter().zip(c.blocks).rev() {
            g = b.backward(&g, cache, s, grads);
        }
        g
    }
}
