//! `earmark bench train`: training speed (updates/s and crops/s) per preset and batch size on
//! random crops.

use std::time::Instant;

use candle_core::{Device, Tensor};
use earmark::train::{TrainConfig, TrainPreset, TrainState};

/// Arguments of `earmark bench train`.
#[derive(Debug, clap::Args)]
pub struct TrainBenchArgs {
    /// Presets to measure.
    #[arg(long, value_delimiter = ',', default_value = "tiny,small,base")]
    pub presets: Vec<String>,
    /// Batch sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "8,32")]
    pub batches: Vec<usize>,
    /// Timed updates per case (after one warm-up update).
    #[arg(long, default_value_t = 3)]
    pub steps: u64,
}

/// Runs the benchmark and prints one line per case.
pub fn run(args: &TrainBenchArgs) -> anyhow::Result<()> {
    let device = Device::Cpu;
    println!(
        "training speed on the CPU ({} threads), {} timed updates after one warm-up",
        rayon::current_num_threads(),
        args.steps
    );
    println!(
        "{:<8} {:>6} {:>12} {:>12} {:>12}",
        "preset", "batch", "s/update", "updates/s", "crops/s"
    );
    for name in &args.presets {
        let preset = TrainPreset::named(name)?;
        for &batch in &args.batches {
            let cfg = TrainConfig::new(preset.clone(), 1000, batch, 3e-4);
            let n_t = cfg.preset.encoder.n_t;
            let mut state = TrainState::new(cfg, &device)?;
            let crops = Tensor::randn(0f32, 1.0, (batch, 80, n_t), &device)?;
            state.train_step(&crops)?;
            let t0 = Instant::now();
            let mut parts = [0.0; 3];
            for _ in 0..args.steps {
                let s = state.train_step(&crops)?;
                for (p, x) in parts.iter_mut().zip(s.seconds) {
                    *p += x / args.steps.max(1) as f64;
                }
            }
            let per = t0.elapsed().as_secs_f64() / args.steps.max(1) as f64;
            println!(
                "{name:<8} {batch:>6} {per:>12.3} {:>12.3} {:>12.2}   forward {:.3} s, backward {:.3} s, updates {:.3} s",
                1.0 / per,
                batch as f64 / per,
                parts[0],
                parts[1],
                parts[2]
            );
        }
    }
    Ok(())
}
