//! `earmark bench tags`: how long a personal tag takes to refit (the wait after a click in the
//! review list), on generated embeddings of the ViT-B width.

use std::process::ExitCode;
use std::time::Instant;

use earmark::model::pos::SplitMix;
use earmark::tags::personal::Scaling;
use earmark::tags::{TagClassifier, TagOptions, Training};

/// Arguments of `earmark bench tags`.
#[derive(clap::Args, Debug)]
pub struct TagsBenchArgs {
    /// Labelled items.
    #[arg(long, default_value_t = 1000)]
    items: usize,
    /// Embedding width.
    #[arg(long, default_value_t = 3840)]
    dim: usize,
    /// Share of positive items.
    #[arg(long, default_value_t = 0.2)]
    positive_share: f64,
    /// Timed repeats (the minimum and the median are printed).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
}

/// Embeddings with a weak class signal spread over many features (as real clip embeddings
/// are): positives are shifted by 0.15 σ along a random 10 % of the features.
fn generate(args: &TagsBenchArgs) -> (Vec<f32>, Vec<bool>) {
    let mut rng = SplitMix(42);
    let signal: Vec<bool> = (0..args.dim).map(|_| rng.uniform() < 0.1).collect();
    let mut rows = Vec::with_capacity(args.items * args.dim);
    let mut positive = Vec::with_capacity(args.items);
    for i in 0..args.items {
        let p = (i as f64 + 0.5) / args.items as f64 <= args.positive_share;
        for &s in &signal {
            let shift = if p && s { 0.15 } else { 0.0 };
            rows.push(0.3 * rng.normal() + shift);
        }
        positive.push(p);
    }
    (rows, positive)
}

/// Times the refit with and without the calibration's cross-validation.
pub fn run(args: &TagsBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.items >= 4 && args.dim > 0 && args.repeats > 0,
        "need at least 4 items, a positive width and one repeat"
    );
    let (rows, positive) = generate(args);
    let weights = vec![1.0; positive.len()];
    let training = Training {
        rows: &rows,
        dim: args.dim,
        positive: &positive,
        weights: &weights,
    };
    println!(
        "personal tag refit: {} labelled items ({} positive) × {}-d, {} threads",
        args.items,
        positive.iter().filter(|&&p| p).count(),
        args.dim,
        rayon::current_num_threads()
    );
    for (name, folds) in [("fit + 5-fold calibration", 5), ("fit only", 0)] {
        let opts = TagOptions {
            folds,
            ..TagOptions::default()
        };
        let mut times = Vec::with_capacity(args.repeats);
        let mut last = None;
        for _ in 0..args.repeats {
            let t0 = Instant::now();
            let c = TagClassifier::fit(&training, Scaling::Training, &opts)?;
            times.push(t0.elapsed().as_secs_f64());
            last = Some(c);
        }
        times.sort_by(f64::total_cmp);
        let summary = last.map(|c| c.summary);
        println!(
            "  {name:<26} min {:.3} s  median {:.3} s  ({} iterations, converged: {})",
            times[0],
            times[times.len() / 2],
            summary.map_or(0, |s| s.iterations),
            summary.is_some_and(|s| s.converged)
        );
    }
    Ok(ExitCode::SUCCESS)
}
