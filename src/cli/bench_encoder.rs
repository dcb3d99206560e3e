//! `earmark bench encoder`: ViT-B inference speed on the CPU, with random weights.
//!
//! Times one 6.08 s chunk (608 frames, 191 tokens; 33.86 GFLOP) at batch 1 and 8, with 1 and 2
//! threads, and reports seconds per batch and per chunk, the GFLOP/s achieved and the speed
//! relative to real time. Each thread count runs in a child process (`earmark bench encoder
//! --worker-threads N`) started with `RAYON_NUM_THREADS=N`: candle's CPU kernels and the matrix
//! products read that variable, and the child's global rayon pool is sized from it, so the count
//! holds for every operation. `--profile` adds a per-stage breakdown of one batch-1 forward pass.

use std::process::Command;
use std::time::Instant;

use candle_core::{Device, Tensor};
use earmark::model::{Encoder, EncoderConfig};

/// FLOPs of one 608-frame ViT-B chunk (patch embedding + 12 blocks, multiply-add = 2).
pub fn vit_b_chunk_flops() -> f64 {
    let cfg = EncoderConfig::vit_base();
    let (d, h) = (cfg.embed_dim as f64, cfg.mlp_hidden_dim as f64);
    let n = (1 + cfg.freq_patches() * cfg.time_patches()) as f64; // 191 tokens
    let patches = (cfg.freq_patches() * cfg.time_patches()) as f64;
    let patch = 2.0 * patches * 256.0 * d;
    let block = 2.0 * n * d * (3.0 * d) // qkv
        + 2.0 * 2.0 * n * n * d // scores and weighted sum
        + 2.0 * n * d * d // proj
        + 2.0 * 2.0 * n * d * h; // fc1, fc2
    patch + cfg.depth as f64 * block
}

/// Arguments of `earmark bench encoder`.
#[derive(Debug, clap::Args)]
pub struct BenchEncoderArgs {
    /// Thread counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Batch sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub batches: Vec<usize>,
    /// Timed repetitions per case (the minimum is reported).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Also print where the time of a batch-1 forward pass goes.
    #[arg(long)]
    pub profile: bool,
    /// Use candle's separate bias / GELU / add operations instead of the fused ones.
    #[arg(long)]
    pub candle_ops: bool,
    /// Also measure the encoder on this device (`wgpu`) and print it beside the CPU figures.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Internal: run the measurements in this process with this many threads.
    #[arg(long, hide = true)]
    pub worker_threads: Option<usize>,
}

/// Runs `earmark bench encoder`.
pub fn run(args: &BenchEncoderArgs) -> anyhow::Result<()> {
    if let Some(threads) = args.worker_threads {
        return worker(args, threads);
    }
    let flops = vit_b_chunk_flops();
    println!("earmark bench encoder: ViT-B (768-d, 12 blocks, 12 heads), random weights, f32, CPU");
    println!(
        "one chunk = 608 frames (6.08 s) = 191 tokens = {:.2} GFLOP",
        flops / 1e9
    );
    println!("cpu: {}", cpu_description());
    println!(
        "{:>7} {:>5} {:>10} {:>10} {:>8} {:>10}",
        "threads", "batch", "s/batch", "s/chunk", "GFLOP/s", "x realtime"
    );
    let exe = std::env::current_exe()?;
    for &t in &args.threads {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "encoder", "--worker-threads", &t.to_string()])
            .args(["--iters", &args.iters.to_string()])
            .arg("--batches")
            .arg(
                args.batches
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .env("RAYON_NUM_THREADS", t.to_string());
        if args.profile {
            cmd.arg("--profile");
        }
        if args.candle_ops {
            cmd.arg("--candle-ops");
        }
        let status = cmd.status()?;
        anyhow::ensure!(
            status.success(),
            "benchmark worker with {t} threads failed ({status})"
        );
    }
    match args.device.as_str() {
        "cpu" => Ok(()),
        "wgpu" => super::bench_gpu::run(&args.batches, args.iters),
        other => anyhow::bail!("bench encoder --device {other}: use cpu or wgpu"),
    }
}

/// The CPU's model name and its widest vector extension, for the benchmark header.
fn cpu_description() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown model".to_owned());
    #[cfg(target_arch = "x86_64")]
    let simd = if std::arch::is_x86_feature_detected!("avx512f") {
        "AVX-512"
    } else if std::arch::is_x86_feature_detected!("avx2") {
        "AVX2"
    } else {
        "SSE2"
    };
    #[cfg(not(target_arch = "x86_64"))]
    let simd = std::env::consts::ARCH;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{model}, {simd}, {cores} logical cores")
}

fn worker(args: &BenchEncoderArgs, threads: usize) -> anyhow::Result<()> {
    let cfg = EncoderConfig::vit_base();
    let device = Device::Cpu;
    let mut encoder = Encoder::random(&cfg, 0x5eed, &device)?;
    encoder.set_fused_ops(!args.candle_ops);
    let flops = vit_b_chunk_flops();
    for &batch in &args.batches {
        let values: Vec<f32> = (0..batch * 80 * 608)
            .map(|i| ((i % 97) as f32 / 48.0) - 1.0)
            .collect();
        let x = Tensor::from_vec(values, (batch, 80, 608), &device)?;
        encoder.forward(&x, true)?; // warm-up
        let mut best = f64::MAX;
        for _ in 0..args.iters.max(1) {
            let t = Instant::now();
            let out = encoder.forward(&x, true)?;
            std::hint::black_box(&out);
            best = best.min(t.elapsed().as_secs_f64());
        }
        let per_chunk = best / batch as f64;
        println!(
            "{threads:>7} {batch:>5} {best:>10.3} {per_chunk:>10.3} {:>8.1} {:>10.1}",
            flops / per_chunk / 1e9,
            6.08 / per_chunk
        );
    }
    if args.profile {
        let values: Vec<f32> = (0..80 * 608)
            .map(|i| ((i % 97) as f32 / 48.0) - 1.0)
            .collect();
        let x = Tensor::from_vec(values, (1, 80, 608), &device)?;
        let mut stages = encoder.profile(&x)?;
        let total: f64 = stages.iter().map(|s| s.1).sum();
        stages.sort_by(|a, b| b.1.total_cmp(&a.1));
        println!("  where the time goes ({threads} thread(s), batch 1, {total:.3} s):");
        for (name, secs) in stages {
            println!(
                "    {name:<28} {:>7.1} ms {:>5.1} %",
                secs * 1e3,
                100.0 * secs / total
            );
        }
    }
    Ok(())
}
