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
use earmark::model::lowp::{self, Precision};
use earmark::model::{Encoder, EncoderConfig};

use super::bench_torch::{self, Case};

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
    /// Precisions of the CPU matrix products to measure (f32, bf16, int8, auto); each row also
    /// gives the cosine of its output tokens to f32's.
    #[arg(long, value_delimiter = ',', default_value = "f32,auto")]
    pub precision: Vec<Precision>,
    /// A Python interpreter with PyTorch: also run the PyTorch reference (f32 and bf16 autocast)
    /// with the same threads and batches and print both sides with their ratio.
    #[arg(long, value_name = "PYTHON")]
    pub torch: Option<std::path::PathBuf>,
    /// The PyTorch reference script (default: `shared/perf/torch_vitb.py` found beside or above
    /// the current folder).
    #[arg(long, value_name = "FILE")]
    pub torch_script: Option<std::path::PathBuf>,
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
    println!("earmark bench encoder: ViT-B (768-d, 12 blocks, 12 heads), random weights, CPU");
    println!(
        "one chunk = 608 frames (6.08 s) = 191 tokens = {:.2} GFLOP; `auto` runs {} here",
        flops / 1e9,
        lowp::auto_choice()
    );
    println!("cpu: {}", cpu_description());
    println!(
        "{:>9} {:>7} {:>5} {:>10} {:>10} {:>8} {:>10} {:>10}",
        "precision",
        "threads",
        "batch",
        "s/batch",
        "s/chunk",
        "GFLOP/s",
        "x realtime",
        "cos to f32"
    );
    let exe = std::env::current_exe()?;
    let mut ours = Vec::new();
    for &t in &args.threads {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "encoder", "--worker-threads", &t.to_string()])
            .args(["--iters", &args.iters.to_string()])
            .args(["--batches", &join(&args.batches)])
            .args(["--precision", &join(&args.precision)])
            .env("RAYON_NUM_THREADS", t.to_string())
            .stderr(std::process::Stdio::inherit());
        if args.profile {
            cmd.arg("--profile");
        }
        if args.candle_ops {
            cmd.arg("--candle-ops");
        }
        let out = cmd.output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        print!("{text}");
        anyhow::ensure!(
            out.status.success(),
            "benchmark worker with {t} threads failed ({})",
            out.status
        );
        ours.extend(bench_torch::parse_cases(&text));
    }
    if let Some(python) = &args.torch {
        compare_with_torch(args, python, &ours);
    }
    match args.device.as_str() {
        "cpu" => Ok(()),
        "wgpu" => super::bench_gpu::run(&args.batches, args.iters),
        other => anyhow::bail!("bench encoder --device {other}: use cpu or wgpu"),
    }
}

fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// Runs the PyTorch ViT-B reference with the same threads and batches and prints both sides.
fn compare_with_torch(args: &BenchEncoderArgs, python: &std::path::Path, ours: &[Case]) {
    let script_args = [
        join(&args.threads),
        join(&args.batches),
        args.iters.max(1).to_string(),
        "f32,bf16".to_owned(),
    ];
    println!();
    let theirs = match bench_torch::run_script(
        python,
        args.torch_script.as_deref(),
        "torch_vitb.py",
        &script_args,
    ) {
        Ok(cases) => cases,
        Err(message) => {
            println!("{message}");
            return;
        }
    };
    println!("side by side, seconds per chunk (ratio > 1: Earmark is faster)");
    println!(
        "{:>9} {:>7} {:>5} {:>10} {:>11} {:>12} {:>9} {:>10}",
        "earmark", "threads", "batch", "earmark", "torch f32", "torch bf16", "vs f32", "vs bf16"
    );
    for p in &args.precision {
        for t in &args.threads {
            for b in &args.batches {
                let key = |mode: String| {
                    [
                        ("mode", mode),
                        ("threads", t.to_string()),
                        ("batch", b.to_string()),
                    ]
                };
                let mine = bench_torch::lookup(ours, &key(p.to_string()), "s/chunk");
                let f32 = bench_torch::lookup(&theirs, &key("f32".into()), "s/chunk");
                let bf16 = bench_torch::lookup(&theirs, &key("bf16".into()), "s/chunk");
                let cell = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
                let ratio = |o: Option<f64>| match (mine, o) {
                    (Some(m), Some(o)) if m > 0.0 => format!("{:.2}x", o / m),
                    _ => "-".to_owned(),
                };
                println!(
                    "{:>9} {t:>7} {b:>5} {:>10} {:>11} {:>12} {:>9} {:>10}",
                    p.to_string(),
                    cell(mine),
                    cell(f32),
                    cell(bf16),
                    ratio(f32),
                    ratio(bf16)
                );
            }
        }
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
            .map(|i| ((i % 97) as f32 / 48.0) - 1.0 + 0.3 * ((i as f32) * 0.001).sin())
            .collect();
        let x = Tensor::from_vec(values, (batch, 80, 608), &device)?;
        encoder.set_precision(Precision::F32)?;
        let reference = last_layer(&encoder, &x)?;
        for &requested in &args.precision {
            let precision = encoder.set_precision(requested)?;
            let out = last_layer(&encoder, &x)?; // also the warm-up
            let cosine = min_row_cosine(&reference, &out);
            let mut best = f64::MAX;
            for _ in 0..args.iters.max(1) {
                let t = Instant::now();
                let out = encoder.forward(&x, true)?;
                std::hint::black_box(&out);
                best = best.min(t.elapsed().as_secs_f64());
            }
            let per_chunk = best / batch as f64;
            let name = if requested == Precision::Auto {
                format!("auto={precision}")
            } else {
                precision.to_string()
            };
            // `key=value` fields after the table's columns let the parent read the row back.
            println!(
                "{name:>9} {threads:>7} {batch:>5} {best:>10.3} {per_chunk:>10.4} {:>8.1} {:>10.1} {cosine:>10.6}  \
                 mode={requested} threads={threads} batch={batch} s/chunk={per_chunk:.4}",
                flops / per_chunk / 1e9,
                6.08 / per_chunk
            );
        }
    }
    encoder.set_precision(args.precision.first().copied().unwrap_or_default())?;
    if args.profile {
        let values: Vec<f32> = (0..80 * 608)
            .map(|i| ((i % 97) as f32 / 48.0) - 1.0)
            .collect();
        let x = Tensor::from_vec(values, (1, 80, 608), &device)?;
        let mut stages = encoder.profile(&x)?;
        println!("  profile in {}:", encoder.precision());
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

/// The last layer's tokens of a forward pass, as rows.
fn last_layer(encoder: &Encoder, x: &Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
    let out = encoder.forward(x, false)?;
    let last = out
        .last()
        .ok_or_else(|| anyhow::anyhow!("no layer output"))?;
    let (b, n, d) = last.dims3()?;
    Ok(last.reshape((b * n, d))?.to_vec2::<f32>()?)
}

/// The smallest cosine similarity between corresponding rows.
fn min_row_cosine(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let dot: f64 = x
                .iter()
                .zip(y)
                .map(|(p, q)| f64::from(*p) * f64::from(*q))
                .sum();
            let nx: f64 = x.iter().map(|p| f64::from(*p).powi(2)).sum::<f64>().sqrt();
            let ny: f64 = y.iter().map(|q| f64::from(*q).powi(2)).sum::<f64>().sqrt();
            dot / (nx * ny).max(1e-30)
        })
        .fold(1.0, f64::min)
}
