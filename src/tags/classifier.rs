//! The classifier of a personal tag: one binary classifier per tag, fitted on the clip
//! embeddings of the files (or regions) the user marked, with calibrated probabilities. Fitting
//! it on the library's stored examples is [`crate::personal`].
//!
//! # Recipe
//! 1. **Standardise** every feature with the mean and standard deviation of a population (the
//!    training rows, or a larger unlabelled set the caller passes — the library, an evaluation
//!    set). Each variance gets a floor of 10⁻³ × the mean variance, so near-constant features
//!    are not blown up.
//! 2. **Balance the classes**: each row keeps its own weight (explicit examples 1, weaker ones
//!    less) and the weights are rescaled so both classes carry half of the total.
//! 3. **Fit** the L2-regularised logistic regression of [`super::logistic`] (L-BFGS on all
//!    features: the optimum is exact whatever the ratio of features to rows, so no reduction is
//!    needed). The penalty is `λ = λ₀ · dim` so its strength does not depend on the width.
//! 4. **Calibrate** (Platt 1999): the logit of every row is predicted by a model fitted without
//!    it (stratified K-fold, K = min(5, positives, negatives), each fold started from the full
//!    fit), and a 1-D logistic `p = σ(a·z + c)` is fitted on these out-of-fold logits with
//!    Platt's smoothed targets `(N₊+1)/(N₊+2)` and `1/(N₋+2)` and the balanced weights. With
//!    fewer than two examples of a class there is nothing to cross-validate and `p = σ(z)`.
//!    The probabilities are therefore calibrated for a balanced prior: 0.5 is the decision
//!    boundary however many examples of each kind were given. A slope `a` is kept ≥ 10⁻³ so
//!    the ranking of files never flips; a classifier without skill then gives probabilities
//!    near 0.5.
//!
//! The standardisation is folded into the stored weights, so predicting is one dot product per
//! file on the raw embedding.

use rayon::prelude::*;

use super::logistic::{self, LinearModel, Problem, SolverOptions, sigmoid};
use crate::error::{Error, Result};

/// Variance floor relative to the mean variance of the features.
const VARIANCE_FLOOR: f64 = 1e-3;
/// Smallest calibration slope kept.
const MIN_SLOPE: f64 = 1e-3;

/// Fitting settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TagOptions {
    /// Penalty per feature: `λ = penalty_per_feature · dim`.
    pub penalty_per_feature: f64,
    /// Most cross-validation folds for the calibration (0 or 1: no calibration).
    pub folds: usize,
    /// Solver tolerance on the largest gradient component.
    pub tolerance: f64,
    /// Seed of the fold assignment.
    pub seed: u64,
}

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            penalty_per_feature: 1e-3,
            folds: 5,
            tolerance: 1e-6,
            seed: 0x7a65,
        }
    }
}

/// Labelled rows to fit on.
#[derive(Debug, Clone, Copy)]
pub struct Training<'a> {
    /// Embeddings, `n × dim`, row-major.
    pub rows: &'a [f32],
    /// Values per embedding.
    pub dim: usize,
    /// Whether each row is an example of the tag.
    pub positive: &'a [bool],
    /// Weight of each row before class balancing (1 for explicit examples).
    pub weights: &'a [f64],
}

/// Where the feature statistics of the standardisation come from.
#[derive(Debug, Clone, Copy)]
pub enum Scaling<'a> {
    /// The training rows themselves.
    Training,
    /// A larger, typically unlabelled population (`m × dim` rows).
    Population(&'a [f32]),
    /// Statistics computed once by the caller (many fits on one data set).
    Fixed(&'a Standardiser),
}

/// `p = σ(slope · z + offset)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Multiplies the logit.
    pub slope: f64,
    /// Added to the scaled logit.
    pub offset: f64,
}

impl Calibration {
    /// No change: `p = σ(z)`.
    pub const IDENTITY: Calibration = Calibration {
        slope: 1.0,
        offset: 0.0,
    };
}

/// What a fit did, for display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitSummary {
    /// Positive rows.
    pub positives: usize,
    /// Negative rows.
    pub negatives: usize,
    /// Cross-validation folds used by the calibration (0: none).
    pub folds: usize,
    /// Solver iterations of the main fit.
    pub iterations: usize,
    /// Whether the main fit reached its tolerance.
    pub converged: bool,
}

/// A fitted personal tag on raw embeddings: `p(x) = σ(a · (w·x + b) + c)`.
#[derive(Debug, Clone, PartialEq)]
pub struct TagClassifier {
    /// Weights on the raw embedding (standardisation folded in).
    pub weights: Vec<f32>,
    /// Intercept on the raw embedding.
    pub bias: f64,
    /// Logit to probability.
    pub calibration: Calibration,
    /// How the fit went.
    pub summary: FitSummary,
}

/// Per-feature mean and inverse standard deviation.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardiser {
    /// Mean of each feature.
    pub mean: Vec<f64>,
    /// `1/σ` of each feature (σ with the variance floor).
    pub inv_std: Vec<f64>,
}

impl Standardiser {
    /// Statistics of `rows` (`n × dim`, `n ≥ 1`).
    pub fn from_rows(rows: &[f32], dim: usize) -> Result<Self> {
        let n = rows.len() / dim.max(1);
        if dim == 0 || n == 0 || rows.len() != n * dim {
            return Err(Error::InvalidInput(format!(
                "cannot standardise {} values as rows of {dim}",
                rows.len()
            )));
        }
        let mut mean = vec![0f64; dim];
        for r in rows.chunks_exact(dim) {
            mean.iter_mut()
                .zip(r)
                .for_each(|(m, &v)| *m += f64::from(v));
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0f64; dim];
        for r in rows.chunks_exact(dim) {
            for ((s, &v), m) in var.iter_mut().zip(r).zip(&mean) {
                let d = f64::from(v) - m;
                *s += d * d;
            }
        }
        var.iter_mut().for_each(|s| *s /= n as f64);
        let floor = VARIANCE_FLOOR * var.iter().sum::<f64>() / dim as f64 + 1e-12;
        let inv_std = var.iter().map(|v| 1.0 / (v + floor).sqrt()).collect();
        Ok(Standardiser { mean, inv_std })
    }

    /// The standardised copy of `rows`.
    pub fn apply(&self, rows: &[f32]) -> Vec<f64> {
        let dim = self.mean.len();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.chunks_exact(dim) {
            out.extend(
                r.iter()
                    .zip(self.mean.iter().zip(&self.inv_std))
                    .map(|(&v, (m, s))| (f64::from(v) - m) * s),
            );
        }
        out
    }
}

/// Row weights rescaled so that both classes carry half of the total, restricted to `keep`.
fn balanced(positive: &[bool], weights: &[f64], keep: impl Fn(usize) -> bool) -> Vec<f64> {
    let (mut wp, mut wn) = (0.0, 0.0);
    for (i, (&p, &w)) in positive.iter().zip(weights).enumerate() {
        if keep(i) {
            if p {
                wp += w;
            } else {
                wn += w;
            }
        }
    }
    let total = wp + wn;
    positive
        .iter()
        .zip(weights)
        .enumerate()
        .map(|(i, (&p, &w))| match (keep(i), p) {
            (false, _) => 0.0,
            (true, true) => w * total / (2.0 * wp),
            (true, false) => w * total / (2.0 * wn),
        })
        .collect()
}

/// Stratified fold of each row: each class in a seeded shuffled order, dealt round-robin.
fn fold_of_rows(positive: &[bool], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = crate::model::pos::SplitMix(seed);
    let mut fold = vec![0; positive.len()];
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..positive.len())
            .filter(|&i| positive[i] == class)
            .collect();
        for i in (1..idx.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            idx.swap(i, j);
        }
        for (k, &i) in idx.iter().enumerate() {
            fold[i] = k % folds;
        }
    }
    fold
}

impl TagClassifier {
    /// Fits a tag on `training`, standardising features as `scaling` says.
    pub fn fit(training: &Training<'_>, scaling: Scaling<'_>, opts: &TagOptions) -> Result<Self> {
        let Training {
            rows,
            dim,
            positive,
            weights,
        } = *training;
        let n = positive.len();
        if dim == 0 || rows.len() != n * dim || weights.len() != n {
            return Err(Error::InvalidInput(format!(
                "personal tag: {} values, {n} labels and {} weights do not make rows of {dim}",
                rows.len(),
                weights.len()
            )));
        }
        let counts = |class: bool| {
            (0..n)
                .filter(|&i| positive[i] == class && weights[i] > 0.0)
                .count()
        };
        let (positives, negatives) = (counts(true), counts(false));
        if positives == 0 || negatives == 0 {
            return Err(Error::InvalidInput(format!(
                "a personal tag needs positive and negative examples (have {positives} and \
                 {negatives})"
            )));
        }
        let computed;
        let standardiser = match scaling {
            Scaling::Training => {
                computed = Standardiser::from_rows(rows, dim)?;
                &computed
            }
            Scaling::Population(p) => {
                computed = Standardiser::from_rows(p, dim)?;
                &computed
            }
            Scaling::Fixed(s) if s.mean.len() == dim => s,
            Scaling::Fixed(s) => {
                return Err(Error::InvalidInput(format!(
                    "feature statistics of width {} for rows of {dim}",
                    s.mean.len()
                )));
            }
        };
        let x = standardiser.apply(rows);
        let solver = SolverOptions {
            lambda: opts.penalty_per_feature * dim as f64,
            tolerance: opts.tolerance,
            ..SolverOptions::default()
        };
        let targets: Vec<f64> = positive.iter().map(|&p| f64::from(u8::from(p))).collect();
        let full_weights = balanced(positive, weights, |_| true);
        let problem = Problem {
            x: &x,
            dim,
            targets: &targets,
            weights: &full_weights,
        };
        let (model, report) = logistic::fit(&problem, &solver, None)?;
        let folds = opts.folds.min(positives).min(negatives);
        let calibration = if folds >= 2 {
            let logits = out_of_fold_logits(&problem, &model, positive, weights, folds, opts)?;
            platt(&logits, positive, &full_weights)?
        } else {
            Calibration::IDENTITY
        };
        // Fold the standardisation in: w·((x − μ)/σ) + b = (w/σ)·x + (b − Σ wμ/σ).
        let mut bias = model.bias;
        let raw: Vec<f32> = model
            .weights
            .iter()
            .zip(standardiser.mean.iter().zip(&standardiser.inv_std))
            .map(|(w, (m, s))| {
                bias -= w * s * m;
                (w * s) as f32
            })
            .collect();
        Ok(TagClassifier {
            weights: raw,
            bias,
            calibration,
            summary: FitSummary {
                positives,
                negatives,
                folds: if folds >= 2 { folds } else { 0 },
                iterations: report.iterations,
                converged: report.converged,
            },
        })
    }

    /// The uncalibrated decision value of an embedding.
    pub fn logit(&self, x: &[f32]) -> f64 {
        let mut acc = [0f64; 4];
        let (cw, cx) = (self.weights.chunks_exact(4), x.chunks_exact(4));
        let tail: f64 = cw
            .remainder()
            .iter()
            .zip(cx.remainder())
            .map(|(&w, &v)| f64::from(w) * f64::from(v))
            .sum();
        for (w, v) in cw.zip(cx) {
            for i in 0..4 {
                acc[i] += f64::from(w[i]) * f64::from(v[i]);
            }
        }
        acc.iter().sum::<f64>() + tail + self.bias
    }

    /// The calibrated probability that an embedding carries the tag.
    pub fn probability(&self, x: &[f32]) -> f64 {
        sigmoid(self.calibration.slope * self.logit(x) + self.calibration.offset)
    }

    /// Embedding width the classifier takes.
    pub fn dim(&self) -> usize {
        self.weights.len()
    }
}

/// The logit of every row from a model fitted without its fold (warm-started from `full`).
fn out_of_fold_logits(
    problem: &Problem<'_>,
    full: &LinearModel,
    positive: &[bool],
    weights: &[f64],
    folds: usize,
    opts: &TagOptions,
) -> Result<Vec<f64>> {
    let fold = fold_of_rows(positive, folds, opts.seed);
    let dim = problem.dim;
    let solver = SolverOptions {
        lambda: opts.penalty_per_feature * dim as f64,
        tolerance: opts.tolerance,
        ..SolverOptions::default()
    };
    let per_fold: Vec<Result<Vec<(usize, f64)>>> = (0..folds)
        .into_par_iter()
        .map(|k| {
            let w = balanced(positive, weights, |i| fold[i] != k);
            let p = Problem {
                weights: &w,
                ..*problem
            };
            let (m, _) = logistic::fit(&p, &solver, Some(full))?;
            Ok((0..positive.len())
                .filter(|&i| fold[i] == k)
                .map(|i| (i, m.logit(&problem.x[i * dim..(i + 1) * dim])))
                .collect())
        })
        .collect();
    let mut logits = vec![0f64; positive.len()];
    for part in per_fold {
        for (i, z) in part? {
            logits[i] = z;
        }
    }
    Ok(logits)
}

/// Platt's sigmoid fit on held-out logits (smoothed targets, balanced weights).
fn platt(logits: &[f64], positive: &[bool], weights: &[f64]) -> Result<Calibration> {
    let np = positive.iter().filter(|&&p| p).count() as f64;
    let nn = positive.len() as f64 - np;
    let (hi, lo) = ((np + 1.0) / (np + 2.0), 1.0 / (nn + 2.0));
    let targets: Vec<f64> = positive.iter().map(|&p| if p { hi } else { lo }).collect();
    let problem = Problem {
        x: logits,
        dim: 1,
        targets: &targets,
        weights,
    };
    let solver = SolverOptions {
        lambda: 1e-6,
        tolerance: 1e-9,
        ..SolverOptions::default()
    };
    let (m, _) = logistic::fit(&problem, &solver, None)?;
    Ok(Calibration {
        slope: m.weights[0].max(MIN_SLOPE),
        offset: m.bias,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardiser_uses_population_statistics_with_a_floor() {
        let rows = [1.0f32, 5.0, 3.0, 5.0];
        let s = Standardiser::from_rows(&rows, 2).unwrap();
        assert_eq!(s.mean, vec![2.0, 5.0]);
        // Variances 1 and 0; floor = 1e-3 · 0.5 (+1e-12).
        assert!((s.inv_std[0] - 1.0 / (1.0f64 + 5e-4 + 1e-12).sqrt()).abs() < 1e-12);
        assert!((s.inv_std[1] - 1.0 / (5e-4f64 + 1e-12).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn balancing_gives_each_class_half_the_weight() {
        let w = balanced(&[true, false, false, false], &[1.0, 1.0, 1.0, 0.5], |_| {
            true
        });
        assert!((w[0] - 1.75).abs() < 1e-12);
        assert!((w[1] + w[2] + w[3] - 1.75).abs() < 1e-12);
        assert!((w[3] / w[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn folds_are_stratified() {
        let pos: Vec<bool> = (0..23).map(|i| i % 3 == 0).collect();
        let f = fold_of_rows(&pos, 4, 1);
        for k in 0..4 {
            let p = (0..23).filter(|&i| f[i] == k && pos[i]).count();
            let n = (0..23).filter(|&i| f[i] == k && !pos[i]).count();
            assert!(
                (1..=2).contains(&p) && (3..=4).contains(&n),
                "fold {k}: {p} {n}"
            );
        }
    }

    /// Two Gaussian classes along the first axis in 40-d: held-out probabilities track the
    /// true posterior, and the raw-space weights equal the standardised fit's.
    #[test]
    fn separates_and_calibrates_gaussian_classes() {
        let dim = 40;
        let mut rng = crate::model::pos::SplitMix(3);
        let mut rows = Vec::new();
        let mut positive = Vec::new();
        for i in 0..400 {
            let p = i % 2 == 0;
            for j in 0..dim {
                let shift = if j == 0 && p { 1.5 } else { 0.0 };
                rows.push(rng.normal() + shift + 3.0);
            }
            positive.push(p);
        }
        let weights = vec![1.0; positive.len()];
        let t = Training {
            rows: &rows,
            dim,
            positive: &positive,
            weights: &weights,
        };
        let c = TagClassifier::fit(&t, Scaling::Training, &TagOptions::default()).unwrap();
        assert_eq!(c.summary.folds, 5);
        assert!(c.summary.converged);
        // True posterior at x0 (other features irrelevant): σ(1.5·(x0 − 3) − 1.125).
        for x0 in [1.5f32, 3.0, 3.75, 4.5, 6.0] {
            let mut x = vec![3.0f32; dim];
            x[0] = x0;
            let want = sigmoid(1.5 * f64::from(x0 - 3.0) - 1.125);
            let got = c.probability(&x);
            assert!((got - want).abs() < 0.08, "x0 = {x0}: {got} vs {want}");
        }
    }

    #[test]
    fn one_class_only_is_an_error() {
        let t = Training {
            rows: &[1.0, 2.0],
            dim: 1,
            positive: &[true, true],
            weights: &[1.0, 1.0],
        };
        let e = TagClassifier::fit(&t, Scaling::Training, &TagOptions::default()).unwrap_err();
        assert!(e.to_string().contains("positive and negative"), "{e}");
    }
}
