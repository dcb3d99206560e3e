//! `earmark bench tags`: how long a personal tag takes to refit (the wait after a click in the
//! review list), on generated embeddings of the ViT-B width.

use std::process::ExitCode;
use std::time::Instant;

use earmark::model::pos::SplitMix;
use earmark::personal::BACKGROUND_WEIGHT;
use earmark::tags::classifier::Scaling;
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
    /// Background negatives added in the library case (weight 0.2 each).
    #[arg(long, default_value_t = earmark::personal::BACKGROUND_MAX)]
    background: usize,
}

/// Embeddings with a weak class signal spread over many features (as real clip embeddings
/// are): positives are shifted by 0.15 σ along a random 10 % of the features. The
/// `extra_negatives` rows after the labelled ones are negatives (the library's background).
fn generate(args: &TagsBenchArgs, extra_negatives: usize) -> (Vec<f32>, Vec<bool>) {
    let mut rng = SplitMix(42);
    let signal: Vec<bool> = (0..args.dim).map(|_| rng.uniform() < 0.1).collect();
    let mut rows = Vec::with_capacity((args.items + extra_negatives) * args.dim);
    let mut positive = Vec::with_capacity(args.items + extra_negatives);
    for i in 0..args.items + extra_negatives {
        let p = (i as f64 + 0.5) / args.items as f64 <= args.positive_share;
        for &s in &signal {
            let shift = if p && s { 0.15 } else { 0.0 };
            rows.push(0.3 * rng.normal() + shift);
        }
        positive.push(p);
    }
    (rows, positive)
}

/// Times the refit with and without the calibration's cross-validation, and as the library
/// runs it (with background negatives).
pub fn run(args: &TagsBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.items >= 4 && args.dim > 0 && args.repeats > 0,
        "need at least 4 items, a positive width and one repeat"
    );
    println!(
        "personal tag refit: {} labelled items ({:.0} % positive) × {}-d, {} threads",
        args.items,
        100.0 * args.positive_share,
        args.dim,
        rayon::current_num_threads()
    );
    let cases = [
        ("fit + 5-fold calibration", 5, 0),
        ("fit only", 0, 0),
        ("library: + background", 5, args.background),
    ];
    for (name, folds, background) in cases {
        let (rows, positive) = generate(args, background);
        let weights: Vec<f64> = (0..positive.len())
            .map(|i| {
                if i < args.items {
                    1.0
                } else {
                    BACKGROUND_WEIGHT
                }
            })
            .collect();
        let training = Training {
            rows: &rows,
            dim: args.dim,
            positive: &positive,
            weights: &weights,
        };
        let name = if background > 0 {
            format!("{name} ({background} at weight {BACKGROUND_WEIGHT})")
        } else {
            name.to_string()
        };
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
            "  {name:<50} min {:.3} s  median {:.3} s  ({} iterations, converged: {})",
            times[0],
            times[times.len() / 2],
            summary.map_or(0, |s| s.iterations),
            summary.is_some_and(|s| s.converged)
        );
    }
    timeline_figures()?;
    Ok(ExitCode::SUCCESS)
}

/// What a tag timeline would cost computed on demand when a file is selected (a ViT-B probe of
/// 527 classes over the 240 one-second segments of a 4-minute file), against reading the stored
/// one: why scans store timelines.
fn timeline_figures() -> anyhow::Result<()> {
    use earmark::library::head_tags::pick_timeline;
    use earmark::tags::probe::{Head, LinearHead};
    let (dim, classes, segments) = (3840, 527, 240);
    let mut rng = SplitMix(7);
    let head = Head::Probe(LinearHead {
        weight: (0..dim * classes).map(|_| rng.normal() * 0.02).collect(),
        bias: vec![0.0; classes],
        inputs: dim,
    });
    let vectors: Vec<Vec<f32>> = (0..segments)
        .map(|_| (0..dim).map(|_| rng.normal()).collect())
        .collect();
    let names: Vec<String> = (0..classes).map(|c| format!("c{c}")).collect();
    let t0 = Instant::now();
    let probs = vectors
        .iter()
        .map(|v| head.probabilities(v))
        .collect::<earmark::Result<Vec<_>>>()?;
    let starts = (0..segments).map(|i| i as f32 * 0.96).collect();
    let timeline = pick_timeline(starts, &probs, &names, 6);
    let on_demand = t0.elapsed().as_secs_f64();
    let mut lib = earmark::library::Library::in_memory()?;
    let root = lib.ensure_root("/bench")?;
    let id = lib.insert_pending(root, "/bench/a.wav", 1, 0, "f")?;
    lib.store_head_tags(id, "bench", &[], &timeline)?;
    let t0 = Instant::now();
    let stored = lib.segment_tags(id, Some("bench"))?;
    let read = t0.elapsed().as_secs_f64();
    anyhow::ensure!(stored.is_some(), "the stored timeline was not read back");
    println!(
        "tag timeline of a 4-minute file ({segments} segments, {dim}-d probe, {classes} classes): \
         on demand {:.1} ms, stored row read {:.2} ms ({} bytes)",
        on_demand * 1e3,
        read * 1e3,
        timeline.scores.len() * 4 + timeline.starts.len() * 4
    );
    Ok(())
}
