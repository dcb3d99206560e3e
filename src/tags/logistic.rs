//! L2-regularised, sample-weighted binary logistic regression, fitted by L-BFGS.
//!
//! Minimises
//! ```text
//! J(w, b) = (1/S) · Σᵢ sᵢ · ℓ(tᵢ, xᵢ·w + b) + (λ/2) · ‖w‖²,   S = Σᵢ sᵢ,
//! ℓ(t, z) = log(1 + eᶻ) − t·z
//! ```
//! with targets `tᵢ ∈ [0, 1]` (0/1 labels, or Platt's smoothed targets) and an unpenalised
//! intercept `b`. This is scikit-learn's `LogisticRegression(penalty="l2", C=1/(λ·S))` fitted
//! with `sample_weight = s` — the unit tests compare against numbers from it.
//!
//! `J` is strictly convex when `λ > 0` and both classes carry weight, so L-BFGS (Nocedal &
//! Wright, *Numerical Optimization*, alg. 7.5: two-loop recursion, memory 10, backtracking
//! Armijo line search) converges to the unique optimum. Each evaluation of `J` and its gradient
//! is two passes over the data, split into row blocks across threads.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows per parallel block of the objective evaluation.
const BLOCK_ROWS: usize = 64;

/// A weighted binary problem: `n` rows of `dim` features (row-major), a target and a weight
/// per row.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a> {
    /// Features, `n × dim`, row-major.
    pub x: &'a [f64],
    /// Features per row.
    pub dim: usize,
    /// Target per row, in `[0, 1]`.
    pub targets: &'a [f64],
    /// Non-negative weight per row.
    pub weights: &'a [f64],
}

impl Problem<'_> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.targets.len()
    }

    fn check(&self) -> Result<()> {
        let n = self.rows();
        if self.dim == 0 || self.x.len() != n * self.dim || self.weights.len() != n {
            return Err(Error::InvalidInput(format!(
                "logistic regression: {} feature values, {n} targets and {} weights do not \
                 make rows of {} features",
                self.x.len(),
                self.weights.len(),
                self.dim
            )));
        }
        if self.x.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(
                "logistic regression: features hold non-finite values".into(),
            ));
        }
        let bad_t = self.targets.iter().any(|t| !(0.0..=1.0).contains(t));
        let bad_w = self.weights.iter().any(|w| !(w.is_finite() && *w >= 0.0));
        if bad_t || bad_w {
            return Err(Error::InvalidInput(
                "logistic regression: targets must lie in [0, 1] and weights be ≥ 0".into(),
            ));
        }
        if self.weights.iter().sum::<f64>() <= 0.0 {
            return Err(Error::InvalidInput(
                "logistic regression: every row has weight 0".into(),
            ));
        }
        Ok(())
    }
}

/// Solver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    /// L2 penalty `λ` on the weights (not the intercept).
    pub lambda: f64,
    /// Stop when the largest gradient component is below this.
    pub tolerance: f64,
    /// Most L-BFGS iterations.
    pub max_iterations: usize,
    /// Correction pairs kept by L-BFGS.
    pub memory: usize,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            lambda: 1e-2,
            tolerance: 1e-7,
            max_iterations: 500,
            memory: 10,
        }
    }
}

/// A fitted linear decision function `z = x·w + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
}

impl LinearModel {
    /// The decision value (logit) of one row.
    pub fn logit(&self, x: &[f64]) -> f64 {
        dot(&self.weights, x) + self.bias
    }
}

/// How the solver ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverReport {
    /// Iterations taken.
    pub iterations: usize,
    /// Objective and gradient evaluations.
    pub evaluations: usize,
    /// Whether the gradient tolerance was reached.
    pub converged: bool,
    /// Final objective `J`.
    pub objective: f64,
    /// Final largest gradient component.
    pub gradient_max: f64,
}

/// `log(1 + eᶻ)` without overflow.
pub fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// The logistic function `1 / (1 + e⁻ᶻ)`, without overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Dot product with four accumulators (vectorised by the compiler).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    acc[0] + acc[1] + acc[2] + acc[3] + tail
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += alpha * x);
}

/// `J(θ)` and its gradient, `θ = [w; b]`; the gradient is written into `grad`.
fn objective(p: &Problem<'_>, lambda: f64, theta: &[f64], grad: &mut [f64]) -> f64 {
    let d = p.dim;
    let (w, b) = (&theta[..d], theta[d]);
    let total: f64 = p.weights.iter().sum();
    let partials: Vec<(f64, Vec<f64>)> =
        p.x.par_chunks(BLOCK_ROWS * d)
            .zip(p.targets.par_chunks(BLOCK_ROWS))
            .zip(p.weights.par_chunks(BLOCK_ROWS))
            .map(|((rows, targets), weights)| {
                let mut g = vec![0f64; d + 1];
                let mut loss = 0.0;
                for ((x, &t), &s) in rows.chunks_exact(d).zip(targets).zip(weights) {
                    if s == 0.0 {
                        continue;
                    }
                    let z = dot(w, x) + b;
                    loss += s * (softplus(z) - t * z);
                    let r = s * (sigmoid(z) - t);
                    axpy(r, x, &mut g[..d]);
                    g[d] += r;
                }
                (loss, g)
            })
            .collect();
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut loss = 0.0;
    for (l, g) in partials {
        loss += l;
        axpy(1.0, &g, grad);
    }
    grad.iter_mut().for_each(|g| *g /= total);
    axpy(lambda, w, &mut grad[..d]);
    loss / total + 0.5 * lambda * dot(w, w)
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Fits the model, starting from `start` (a previous fit) or from zero.
pub fn fit(
    p: &Problem<'_>,
    opts: &SolverOptions,
    start: Option<&LinearModel>,
) -> Result<(LinearModel, SolverReport)> {
    p.check()?;
    if !(opts.lambda.is_finite() && opts.lambda > 0.0) {
        return Err(Error::InvalidInput(format!(
            "logistic regression: the penalty must be positive, got {}",
            opts.lambda
        )));
    }
    let d = p.dim;
    let mut theta = vec![0f64; d + 1];
    if let Some(s) = start.filter(|s| s.weights.len() == d) {
        theta[..d].copy_from_slice(&s.weights);
        theta[d] = s.bias;
    }
    let mut grad = vec![0f64; d + 1];
    let mut f = objective(p, opts.lambda, &theta, &mut grad);
    let mut report = SolverReport {
        iterations: 0,
        evaluations: 1,
        converged: false,
        objective: f,
        gradient_max: max_abs(&grad),
    };
    let memory = opts.memory.max(1);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::with_capacity(memory);
    let mut new_theta = vec![0f64; d + 1];
    let mut new_grad = vec![0f64; d + 1];
    while report.iterations < opts.max_iterations {
        if report.gradient_max <= opts.tolerance {
            report.converged = true;
            break;
        }
        let mut dir = two_loop(&grad, &history);
        let mut slope = dot(&dir, &grad);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            history.clear();
            dir = grad.iter().map(|g| -g).collect();
            slope = dot(&dir, &grad);
        }
        let mut step = if history.is_empty() {
            (1.0 / max_abs(&grad)).min(1.0)
        } else {
            1.0
        };
        let mut accepted = false;
        for _ in 0..60 {
            new_theta
                .iter_mut()
                .zip(&theta)
                .zip(&dir)
                .for_each(|((n, t), s)| *n = t + step * s);
            let nf = objective(p, opts.lambda, &new_theta, &mut new_grad);
            report.evaluations += 1;
            if nf <= f + 1e-4 * step * slope {
                accepted = true;
                let s: Vec<f64> = new_theta.iter().zip(&theta).map(|(a, b)| a - b).collect();
                let y: Vec<f64> = new_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
                    if history.len() == memory {
                        history.pop_front();
                    }
                    history.push_back((s, y, 1.0 / sy));
                }
                std::mem::swap(&mut theta, &mut new_theta);
                std::mem::swap(&mut grad, &mut new_grad);
                f = nf;
                break;
            }
            step *= 0.5;
        }
        report.iterations += 1;
        report.objective = f;
        report.gradient_max = max_abs(&grad);
        if !accepted {
            // No decrease is possible at floating-point resolution: this is the optimum.
            report.converged = report.gradient_max <= opts.tolerance.sqrt();
            break;
        }
    }
    if report.gradient_max <= opts.tolerance {
        report.converged = true;
    }
    let bias = theta[d];
    theta.truncate(d);
    Ok((
        LinearModel {
            weights: theta,
            bias,
        },
        report,
    ))
}

/// The L-BFGS direction `−H·g` from the stored pairs `(s, y, 1/(s·y))`, oldest first.
fn two_loop(
    grad: &[f64],
    history: &std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)>,
) -> Vec<f64> {
    let mut q = grad.to_vec();
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let a = rho * dot(s, &q);
        axpy(-a, y, &mut q);
        alphas.push(a);
    }
    if let Some((s, y, _)) = history.back() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        axpy(a - b, s, &mut q);
    }
    q.iter_mut().for_each(|v| *v = -*v);
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solve(x: &[f64], dim: usize, t: &[f64], s: &[f64], lambda: f64) -> LinearModel {
        let p = Problem {
            x,
            dim,
            targets: t,
            weights: s,
        };
        let opts = SolverOptions {
            lambda,
            tolerance: 1e-10,
            max_iterations: 2000,
            ..SolverOptions::default()
        };
        let (m, r) = fit(&p, &opts, None).unwrap();
        assert!(r.converged, "{r:?}");
        m
    }

    /// Two points x = ±1 with labels 1/0: by symmetry b = 0 and J(w) = log(1 + e⁻ʷ) + λw²/2,
    /// whose stationarity condition 1/(1 + eʷ) = λw puts the optimum at w = 1 when
    /// λ = 1/(1 + e).
    #[test]
    fn symmetric_pair_reaches_the_derived_optimum() {
        let lambda = 1.0 / (1.0 + std::f64::consts::E);
        let m = solve(&[1.0, -1.0], 1, &[1.0, 0.0], &[1.0, 1.0], lambda);
        assert!((m.weights[0] - 1.0).abs() < 1e-8, "{m:?}");
        assert!(m.bias.abs() < 1e-8, "{m:?}");
    }

    /// scikit-learn 1.9.1: `LogisticRegression(C=1/(λ·S), tol=1e-12, max_iter=10000)
    /// .fit(X, y, sample_weight=s)` on the rows below (λ = 0.05, S = Σs = 9.5).
    #[test]
    fn weighted_problem_matches_scikit_learn() {
        let x = [
            0.3, 1.2, -0.7, //
            -1.1, 0.4, 0.9, //
            2.0, -0.3, 0.1, //
            0.5, 0.5, 0.5, //
            -0.8, -1.5, 1.3, //
            1.4, 0.9, -1.2, //
            -0.2, 2.2, 0.6, //
            0.9, -1.0, -0.4,
        ];
        let y = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        let s = [1.0, 2.0, 0.5, 1.0, 1.5, 1.0, 1.0, 1.5];
        let m = solve(&x, 3, &y, &s, 0.05);
        let want_w = [REF_W0, REF_W1, REF_W2];
        for (g, w) in m.weights.iter().zip(want_w) {
            assert!((g - w).abs() < 1e-6, "{:?} vs {want_w:?}", m.weights);
        }
        assert!((m.bias - REF_B).abs() < 1e-6, "{} vs {REF_B}", m.bias);
    }

    const REF_W0: f64 = 1.207_144_844_723_378_1;
    const REF_W1: f64 = 0.714_020_312_228_737_4;
    const REF_W2: f64 = -0.609_272_629_824_491_6;
    const REF_B: f64 = -1.074_861_014_224_557;

    /// Soft targets: a row with target t and weight s is the pair (label 1, weight s·t),
    /// (label 0, weight s·(1 − t)), which scikit-learn 1.9.1 fits (λ = 1e-3, S = 7):
    /// w = 0.1914030009541426, b = 0.2542817448982771.
    #[test]
    fn soft_targets_match_scikit_learn_on_split_rows() {
        let z = [-2.0, -0.5, 0.3, 1.7, 2.5, -1.2];
        let t = [0.9, 0.1, 0.9, 0.9, 0.1, 0.1];
        let s = [1.0, 1.0, 2.0, 1.0, 0.5, 1.5];
        let m = solve(&z, 1, &t, &s, 1e-3);
        assert!(
            (m.weights[0] - 0.191_403_000_954_142_6).abs() < 1e-6,
            "{m:?}"
        );
        assert!((m.bias - 0.254_281_744_898_277_1).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x = [0.3, -1.0, 2.0, 0.5, -0.4, 0.8];
        let (t, s) = ([1.0, 0.2, 0.0], [1.0, 0.5, 2.0]);
        let p = Problem {
            x: &x,
            dim: 2,
            targets: &t,
            weights: &s,
        };
        let theta = [0.7, -0.3, 0.2];
        let mut g = [0.0; 3];
        objective(&p, 0.1, &theta, &mut g);
        for k in 0..3 {
            let h = 1e-6;
            let (mut a, mut b) = (theta, theta);
            a[k] += h;
            b[k] -= h;
            let mut tmp = [0.0; 3];
            let fd =
                (objective(&p, 0.1, &a, &mut tmp) - objective(&p, 0.1, &b, &mut tmp)) / (2.0 * h);
            assert!((fd - g[k]).abs() < 1e-8, "component {k}: {fd} vs {}", g[k]);
        }
    }

    #[test]
    fn bad_problems_are_errors() {
        let p = Problem {
            x: &[1.0, f64::NAN],
            dim: 1,
            targets: &[1.0, 0.0],
            weights: &[1.0, 1.0],
        };
        assert!(fit(&p, &SolverOptions::default(), None).is_err());
        let p = Problem {
            x: &[1.0, 2.0],
            dim: 1,
            targets: &[1.0, 0.0],
            weights: &[0.0, 0.0],
        };
        assert!(fit(&p, &SolverOptions::default(), None).is_err());
    }
}
