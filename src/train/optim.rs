//! fairseq's Adam with decoupled weight decay (spec §7.7), global gradient-norm clipping and
//! the EMA rule of the teachers. Updates run in a fixed (name) order and fixed blocks, in place on
//! CPU tensors, so a run is reproducible bit for bit.

use std::collections::BTreeMap;

use std::cell::RefCell;

use candle_core::{Tensor, Var};
use rayon::prelude::*;

use super::fast::inplace::AdamInPlace;
use crate::error::{Error, Result};

/// First and second moments of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// `m`.
    pub m: Vec<f32>,
    /// `v`.
    pub v: Vec<f32>,
}

/// The optimiser's state: moments per tensor name and the update count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdamState {
    /// Moments per tensor.
    pub moments: BTreeMap<String, Moments>,
    /// Updates applied so far (Adam's `t`).
    pub t: u64,
}

/// Optimiser settings of one update.
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f64,
    /// `(β1, β2)`.
    pub betas: (f64, f64),
    /// Added to the uncorrected `√v`.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

/// The global L2 norm of `grads` (f64 accumulation; tensors summed in parallel, then in order).
pub fn global_norm(grads: &[(&str, Vec<f32>)]) -> f64 {
    let sums: Vec<f64> = grads
        .par_iter()
        .map(|(_, g)| g.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>())
        .collect();
    sums.iter().sum::<f64>().sqrt()
}

/// Scales gradients so that their global norm is at most `max_norm` (PyTorch's rule:
/// coefficient `max_norm / (norm + 1e-6)` when below 1). Returns the norm before clipping.
pub fn clip(grads: &mut [(&str, Vec<f32>)], max_norm: f64) -> f64 {
    let norm = global_norm(grads);
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        grads.par_iter_mut().for_each(|(_, g)| {
            for x in g.iter_mut() {
                *x = (*x as f64 * coef) as f32;
            }
        });
    }
    norm
}

impl AdamState {
    /// Applies one update to `params` (name → variable) with the matching `grads`.
    pub fn update(
        &mut self,
        params: &BTreeMap<String, Var>,
        grads: &[(&str, Vec<f32>)],
        s: AdamStep,
    ) -> Result<()> {
        self.t += 1;
        let (b1, b2) = s.betas;
        let bc1 = 1.0 - b1.powf(self.t as f64);
        let bc2 = 1.0 - b2.powf(self.t as f64);
        let step_size = (s.lr * bc2.sqrt() / bc1) as f32;
        let decay = (1.0 - s.lr * s.weight_decay) as f32;
        let (b1f, b2f, eps) = (b1 as f32, b2 as f32, s.eps as f32);
        for (name, g) in grads {
            let Some(var) = params.get(*name) else {
                continue;
            };
            let len = var.elem_count();
            let mom = self
                .moments
                .entry((*name).to_string())
                .or_insert_with(|| Moments {
                    m: vec![0.0; len],
                    v: vec![0.0; len],
                });
            if var.device().is_cpu() {
                let op = AdamInPlace {
                    grad: g,
                    m: RefCell::new(&mut mom.m),
                    v: RefCell::new(&mut mom.v),
                    step_size,
                    decay,
                    b1: b1f,
                    b2: b2f,
                    eps,
                };
                var.as_tensor()
                    .inplace_op1(&op)
                    .map_err(|e| Error::Tensor(format!("{name}: {e}")))?;
                continue;
            }
            let mut p = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            for (((x, m), v), &gi) in p.iter_mut().zip(&mut mom.m).zip(&mut mom.v).zip(g) {
                *m = b1f * *m + (1.0 - b1f) * gi;
                *v = b2f * *v + (1.0 - b2f) * gi * gi;
                *x *= decay;
                *x -= step_size * *m / (v.sqrt() + eps);
            }
            let t = Tensor::from_vec(p, var.shape(), var.device())?;
            var.set(&t)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn first_adam_step_matches_the_closed_form() {
        // t = 1: m = (1−β1)g, v = (1−β2)g², step = lr·√(1−β2)/(1−β1) → Δ = lr·g/(|g| + eps/√(1−β2)).
        let var = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
        let mut params = BTreeMap::new();
        params.insert("w".to_string(), var.clone());
        let mut st = AdamState::default();
        let s = AdamStep {
            lr: 0.1,
            betas: (0.9, 0.95),
            eps: 1e-6,
            weight_decay: 0.05,
        };
        st.update(&params, &[("w", vec![0.5, -4.0])], s).unwrap();
        let got = var.as_tensor().to_vec1::<f32>().unwrap();
        let want = |p: f64, g: f64| {
            let p = p * (1.0 - 0.1 * 0.05);
            let m = 0.1 * g;
            let v = 0.05 * g * g;
            p - 0.1 * 0.05f64.sqrt() / 0.1 * m / (v.sqrt() + 1e-6)
        };
        assert!((got[0] as f64 - want(1.0, 0.5)).abs() < 1e-6);
        assert!((got[1] as f64 - want(-2.0, -4.0)).abs() < 1e-6);
    }

    #[test]
    fn clipping_scales_to_the_limit() {
        let mut g = vec![("a", vec![3.0f32, 4.0])];
        let n = clip(&mut g, 1.0);
        assert!((n - 5.0).abs() < 1e-9);
        assert!((global_norm(&g) - 1.0).abs() < 1e-5);
    }
}
