//! The optimiser's and the EMA teachers' updates applied in place to CPU tensors (no copies
//! through the host), split over the threads in fixed blocks.

use std::cell::RefCell;

use candle_core::{CpuStorage, InplaceOp1, Layout, Tensor};
use rayon::prelude::*;

use super::params::{cpu_slice, cpu_slice_mut};
use crate::error::{Error, Result};

/// Values per parallel block.
const BLOCK: usize = 16 * 1024;

/// One AdamW update (fairseq's rule, as `optim::AdamState::update`) of one tensor.
pub struct AdamInPlace<'a> {
    /// The gradient.
    pub grad: &'a [f32],
    /// First moments.
    pub m: RefCell<&'a mut [f32]>,
    /// Second moments.
    pub v: RefCell<&'a mut [f32]>,
    /// `lr·√(1−β2ᵗ)/(1−β1ᵗ)`.
    pub step_size: f32,
    /// `1 − lr·wd`.
    pub decay: f32,
    /// `β1`.
    pub b1: f32,
    /// `β2`.
    pub b2: f32,
    /// `ε`.
    pub eps: f32,
}

impl InplaceOp1 for AdamInPlace<'_> {
    fn name(&self) -> &'static str {
        "adamw-in-place"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let p = cpu_slice_mut(storage, layout)
            .ok_or_else(|| candle_core::Error::msg("adamw: expected a contiguous f32 tensor"))?;
        let mut m = self.m.borrow_mut();
        let mut v = self.v.borrow_mut();
        if p.len() != self.grad.len() || m.len() != p.len() || v.len() != p.len() {
            return Err(candle_core::Error::msg("adamw: sizes differ"));
        }
        let (b1, b2, eps, step, decay) = (self.b1, self.b2, self.eps, self.step_size, self.decay);
        p.par_chunks_mut(BLOCK)
            .zip(m.par_chunks_mut(BLOCK))
            .zip(v.par_chunks_mut(BLOCK))
            .zip(self.grad.par_chunks(BLOCK))
            .for_each(|(((p, m), v), g)| {
                for (((x, m), v), &gi) in p.iter_mut().zip(m).zip(v).zip(g) {
                    *m = b1 * *m + (1.0 - b1) * gi;
                    *v = b2 * *v + (1.0 - b2) * gi * gi;
                    *x *= decay;
                    *x -= step * *m / (v.sqrt() + eps);
                }
            });
        Ok(())
    }
}

/// `θ_T ← d·θ_T + (1 − d)·θ_S` on a CPU tensor.
struct EmaInPlace<'a> {
    student: &'a [f32],
    decay: f64,
}

impl InplaceOp1 for EmaInPlace<'_> {
    fn name(&self) -> &'static str {
        "ema-in-place"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let t = cpu_slice_mut(storage, layout)
            .ok_or_else(|| candle_core::Error::msg("ema: expected a contiguous f32 tensor"))?;
        if t.len() != self.student.len() {
            return Err(candle_core::Error::msg("ema: sizes differ"));
        }
        t.par_chunks_mut(BLOCK)
            .zip(self.student.par_chunks(BLOCK))
            .for_each(|(t, s)| ema(t, s, self.decay));
        Ok(())
    }
}

/// Moves `teacher` towards `student` in place (both CPU tensors of the same size).
pub fn ema_in_place(teacher: &Tensor, student: &Tensor, decay: f64, name: &str) -> Result<()> {
    let (guard, layout) = student.storage_and_layout();
    let src = cpu_slice(&guard, layout, name)?;
    teacher
        .inplace_op1(&EmaInPlace {
            student: src,
            decay,
        })
        .map_err(|e| Error::Tensor(format!("{name}: {e}")))
}

/// `θ_T ← d·θ_T + (1 − d)·θ_S` over flat values.
pub fn ema(teacher: &mut [f32], student: &[f32], decay: f64) {
    let d = decay as f32;
    let s = (1.0 - decay) as f32;
    for (t, &x) in teacher.iter_mut().zip(student) {
        *t = d * *t + s * x;
    }
}
