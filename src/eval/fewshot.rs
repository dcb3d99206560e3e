//! Few-shot classification accuracy: `k` training examples per class, the rest as test items,
//! repeated over seeded draws.
//!
//! The classifier is the personal-tag one ([`crate::tags::classifier`]), one per class against
//! the others (one-vs-rest, same penalty and standardisation, without the calibration step);
//! an item gets the class with the highest logit. Features are standardised with the
//! statistics of the whole evaluation set (labels unused), as the library does with its files.
//! A class needs more than `k` items to take part at `k` shots; the accuracy is over all test
//! items of the classes taking part. Mean and sample standard deviation are over the repeats.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::model::pos::SplitMix;
use crate::tags::classifier::{Scaling, Standardiser, TagClassifier, TagOptions, Training};

/// Accuracy at one number of shots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShotAccuracy {
    /// Training examples per class.
    pub shots: usize,
    /// Classes that had more than `shots` items.
    pub classes: usize,
    /// Mean accuracy over the repeats (`NaN` when fewer than two classes took part).
    pub mean: f64,
    /// Sample standard deviation over the repeats.
    pub std: f64,
    /// Repeats run.
    pub repeats: usize,
}

/// The data set and settings every draw shares.
struct Setup<'a> {
    features: &'a [f32],
    dim: usize,
    labels: &'a [usize],
    stats: Standardiser,
    opts: TagOptions,
}

/// One draw: train on `shots` items per eligible class, return the test accuracy.
fn one_draw(setup: &Setup<'_>, eligible: &[usize], shots: usize, seed: u64) -> Result<f64> {
    let Setup {
        features,
        dim,
        labels,
        ref stats,
        ref opts,
    } = *setup;
    let mut rng = SplitMix(seed);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for &c in eligible {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        for i in (1..idx.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            idx.swap(i, j);
        }
        train.extend_from_slice(&idx[..shots]);
        test.extend_from_slice(&idx[shots..]);
    }
    let rows: Vec<f32> = train
        .iter()
        .flat_map(|&i| features[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let weights = vec![1.0; train.len()];
    let heads = eligible
        .iter()
        .map(|&c| {
            let positive: Vec<bool> = train.iter().map(|&i| labels[i] == c).collect();
            TagClassifier::fit(
                &Training {
                    rows: &rows,
                    dim,
                    positive: &positive,
                    weights: &weights,
                },
                Scaling::Fixed(stats),
                opts,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let correct = test
        .iter()
        .filter(|&&i| {
            let x = &features[i * dim..(i + 1) * dim];
            let best = heads
                .iter()
                .enumerate()
                .map(|(h, head)| (head.logit(x), h))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            best.is_some_and(|(_, h)| eligible[h] == labels[i])
        })
        .count();
    Ok(correct as f64 / test.len().max(1) as f64)
}

/// Few-shot accuracy at each number of `shots`, over `repeats` seeded draws.
/// `features` is `n × dim`; `labels[i]` is item `i`'s class.
pub fn few_shot_accuracy(
    features: &[f32],
    dim: usize,
    labels: &[usize],
    shots: &[usize],
    repeats: usize,
    seed: u64,
    opts: &TagOptions,
) -> Result<Vec<ShotAccuracy>> {
    let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let setup = Setup {
        features,
        dim,
        labels,
        stats: Standardiser::from_rows(features, dim)?,
        opts: TagOptions { folds: 0, ..*opts },
    };
    let mut out = Vec::with_capacity(shots.len());
    for &k in shots {
        let eligible: Vec<usize> = (0..classes)
            .filter(|&c| labels.iter().filter(|&&l| l == c).count() > k)
            .collect();
        if k == 0 || eligible.len() < 2 {
            out.push(ShotAccuracy {
                shots: k,
                classes: eligible.len(),
                mean: f64::NAN,
                std: f64::NAN,
                repeats: 0,
            });
            continue;
        }
        let accs = (0..repeats.max(1))
            .into_par_iter()
            .map(|r| {
                let draw_seed = seed ^ ((k as u64) << 32) ^ (r as u64).wrapping_mul(0x9E37_79B9);
                one_draw(&setup, &eligible, k, draw_seed)
            })
            .collect::<Result<Vec<f64>>>()?;
        let n = accs.len() as f64;
        let mean = accs.iter().sum::<f64>() / n;
        let std = if accs.len() > 1 {
            (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        out.push(ShotAccuracy {
            shots: k,
            classes: eligible.len(),
            mean,
            std,
            repeats: accs.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes as tight clusters around far-apart centres (one axis each): every draw
    /// classifies every test item right; a class with too few items sits out of the larger
    /// shot counts.
    #[test]
    fn separable_clusters_are_classified_perfectly() {
        let dim = 3;
        let mut rng = SplitMix(5);
        let (mut f, mut labels) = (Vec::new(), Vec::new());
        for (c, n) in [(0usize, 12), (1, 12), (2, 4)] {
            for _ in 0..n {
                for j in 0..dim {
                    let centre = if j == c { 5.0 } else { 0.0 };
                    f.push(centre + 0.1 * rng.normal());
                }
                labels.push(c);
            }
        }
        let r =
            few_shot_accuracy(&f, dim, &labels, &[1, 5, 12], 4, 9, &TagOptions::default()).unwrap();
        assert_eq!((r[0].classes, r[0].mean, r[0].std), (3, 1.0, 0.0));
        assert_eq!((r[1].classes, r[1].mean, r[1].repeats), (2, 1.0, 4));
        assert_eq!(r[2].classes, 0);
        assert!(r[2].mean.is_nan());
    }
}
