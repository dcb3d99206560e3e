//! `earmark bench search|scan|rescan`: similarity-search latency, scan throughput and the cost
//! of an unchanged rescan, with peak memory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use earmark::engine::Engine;
use earmark::jobs::{EventSink, JobContext, JobControl};
use earmark::library::Library;
use earmark::library::analyse::Budget;
use earmark::library::model_id::ModelIdentity;
use earmark::library::query::Candidate;
use earmark::library::scan::{ScanOptions, ScanReport, scan};
use earmark::library::walk::WalkOptions;
use earmark::model::{Encoder, EncoderConfig, Precision};
use earmark::search::{ClipIndex, Filter};

use super::output::peak_rss_mib;

/// `earmark bench search`.
#[derive(clap::Args, Debug)]
pub struct SearchBenchArgs {
    /// Library sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// Vector width (3840 for ViT-B clip embeddings).
    #[arg(long, default_value_t = 3840)]
    dim: usize,
    /// Queries per size.
    #[arg(long, default_value_t = 20)]
    queries: usize,
}

/// `earmark bench scan` and `earmark bench rescan`.
#[derive(clap::Args, Debug)]
pub struct ScanBenchArgs {
    /// Files to generate.
    #[arg(long, default_value_t = 200)]
    files: usize,
    /// Seconds per generated file.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Model: `tiny` (the test fixture), `vit-b-random`, or a weight file.
    #[arg(long, default_value = "tiny")]
    model: String,
    /// Analyse files whole (otherwise the CPU budget applies).
    #[arg(long)]
    full: bool,
    /// Keep generated files here (reused when present) instead of a temporary folder.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Precisions of the encoder's CPU matrix products to scan with, one scan each (f32, bf16,
    /// int8, auto).
    #[arg(long, value_delimiter = ',', default_value = "auto")]
    precision: Vec<Precision>,
}

/// Top-10 latency over synthetic normalised vectors.
pub fn search(args: &SearchBenchArgs) -> anyhow::Result<ExitCode> {
    let k = 10;
    for &n in &args.sizes {
        let started = Instant::now();
        let mut index = ClipIndex::new(args.dim);
        let mut rng = earmark::model::pos::SplitMix(n as u64);
        let mut v = vec![0f32; args.dim];
        for i in 0..n {
            v.iter_mut().for_each(|x| *x = rng.normal());
            let c = Candidate {
                file_id: i as i64,
                path: format!("/bench/{i}.wav"),
                fingerprint: format!("{i:x}"),
                duration_s: 10.0,
            };
            index.push(c, &v)?;
        }
        let build = started.elapsed().as_secs_f64();
        let (mut times, mut exact_times) = (Vec::new(), Vec::new());
        let (mut found, mut wanted) = (0usize, 0usize);
        for _ in 0..args.queries {
            v.iter_mut().for_each(|x| *x = rng.normal());
            let t = Instant::now();
            let hits = index.top_k(&v, k, &Filter::default())?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            anyhow::ensure!(hits.len() == k, "expected {k} hits");
            let t = Instant::now();
            let exact = index.exact_top_k(&v, k, &Filter::default())?;
            exact_times.push(t.elapsed().as_secs_f64() * 1e3);
            wanted += exact.len();
            found += exact
                .iter()
                .filter(|e| {
                    hits.iter()
                        .any(|h| h.candidate.file_id == e.candidate.file_id)
                })
                .count();
        }
        times.sort_by(f64::total_cmp);
        exact_times.sort_by(f64::total_cmp);
        println!(
            "search n={n:>8} dim={}: top-{k} median {:.2} ms, p90 {:.2} ms; recall@{k} {:.4} against the exact f16 scan (median {:.2} ms, {:.1}x slower); index {:.0} MiB, built in {build:.1} s, {} threads",
            args.dim,
            times[times.len() / 2],
            times[times.len() * 9 / 10],
            found as f64 / wanted.max(1) as f64,
            exact_times[exact_times.len() / 2],
            exact_times[exact_times.len() / 2] / times[times.len() / 2],
            (n * args.dim * 3) as f64 / (1 << 20) as f64,
            rayon::current_num_threads()
        );
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory: {mib:.0} MiB");
    }
    Ok(ExitCode::SUCCESS)
}

fn model(name: &str, precision: Precision) -> anyhow::Result<(Engine, ModelIdentity)> {
    let dev = candle_core::Device::Cpu;
    let engine = |mut encoder: Encoder| -> anyhow::Result<Engine> {
        encoder.set_precision(precision)?;
        Ok(Engine::from_encoder(encoder))
    };
    Ok(match name {
        "tiny" => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/matpac/tiny.safetensors");
            let file = earmark::model::WeightFile::open(&p)?;
            let cfg = earmark::model::load::resolve_config(&file)?;
            (
                engine(Encoder::load_with_config(&p, &cfg, &dev)?)?,
                ModelIdentity::of_file(&p, &cfg)?,
            )
        }
        "vit-b-random" => {
            let cfg = EncoderConfig::vit_base();
            (
                engine(Encoder::random(&cfg, 1, &dev)?)?,
                ModelIdentity::new("random-seed-1", "vit-b-random", &cfg)?,
            )
        }
        path => {
            let p = Path::new(path);
            let file = earmark::model::WeightFile::open(p)?;
            let cfg = earmark::model::load::resolve_config(&file)?;
            (
                engine(Encoder::load_with_config(p, &cfg, &dev)?)?,
                ModelIdentity::of_file(p, &cfg)?,
            )
        }
    })
}

/// Writes `n` mono 16-bit 44.1 kHz WAV files of `secs` seconds (tones with noise) under `dir`.
pub(super) fn generate(dir: &Path, n: usize, secs: f64) -> anyhow::Result<()> {
    let frames = (secs * 44_100.0) as usize;
    let mut rng = earmark::model::pos::SplitMix(9);
    for i in 0..n {
        let sub = dir.join(format!("{:03}", i / 500));
        let path = sub.join(format!("f{i:06}.wav"));
        if path.exists() {
            continue;
        }
        std::fs::create_dir_all(&sub)?;
        let f = 100.0 + (i % 400) as f32 * 7.0;
        let mut data = Vec::with_capacity(frames * 2);
        for t in 0..frames {
            let x =
                0.3 * (std::f32::consts::TAU * f * t as f32 / 44_100.0).sin() + 0.05 * rng.normal();
            data.extend_from_slice(&((x.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
        }
        let mut bytes = Vec::with_capacity(44 + data.len());
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&44_100u32.to_le_bytes());
        bytes.extend_from_slice(&88_200u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&16u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&data);
        std::fs::write(&path, bytes)?;
    }
    Ok(())
}

fn run_scan(
    lib: &mut Library,
    enc: &Engine,
    id: &ModelIdentity,
    root: &Path,
    budget: Budget,
) -> anyhow::Result<(ScanReport, f64)> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let ctx = JobContext {
        events: EventSink::new(tx),
        control: Arc::new(JobControl::new()),
    };
    let opts = ScanOptions {
        roots: vec![root.to_path_buf()],
        walk: WalkOptions::default(),
        budget,
        max_batch: 8,
        heads: Vec::new(),
    };
    let t = Instant::now();
    let report = scan(lib, enc, id, &opts, &ctx)?;
    let secs = t.elapsed().as_secs_f64();
    drop(rx);
    Ok((report, secs))
}

fn workdir(dir: Option<&PathBuf>) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(d) => Ok((d.clone(), None)),
        None => {
            let t = tempfile::tempdir()?;
            Ok((t.path().to_path_buf(), Some(t)))
        }
    }
}

/// Scan throughput: files per minute and × real time.
pub fn scan_throughput(args: &ScanBenchArgs) -> anyhow::Result<ExitCode> {
    let (dir, _keep) = workdir(args.dir.as_ref())?;
    let root = dir.join("audio");
    generate(&root, args.files, args.seconds)?;
    let budget = if args.full {
        Budget::Full
    } else {
        Budget::CPU_DEFAULT
    };
    for &precision in &args.precision {
        let (enc, id) = model(&args.model, precision)?;
        let lib_path = dir.join(format!("bench-{}-{precision}.sqlite", std::process::id()));
        let mut lib = Library::open(&lib_path)?;
        let (report, secs) = run_scan(&mut lib, &enc, &id, &root, budget)?;
        // Every file under the folder counts (a reused --dir may hold more than --files).
        let files = report.analysed.len() as f64;
        let audio_s = files * args.seconds;
        println!(
            "scan {} files × {:.1} s, model {} ({}), {}, budget {}: {:.1} s → {:.0} files/min, {:.1}× real time ({} analysed, {} failed)",
            files,
            args.seconds,
            id.name,
            enc.config().embed_dim,
            enc.precision(),
            budget.label(),
            secs,
            files / secs * 60.0,
            audio_s / secs,
            report.analysed.len(),
            report.failed.len()
        );
        drop(lib);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", lib_path.display()));
        }
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory: {mib:.0} MiB");
    }
    Ok(ExitCode::SUCCESS)
}

/// First scan of many small files (peak memory), then an unchanged rescan (time).
pub fn rescan(args: &ScanBenchArgs) -> anyhow::Result<ExitCode> {
    let (dir, _keep) = workdir(args.dir.as_ref())?;
    let root = dir.join("audio");
    let t = Instant::now();
    generate(&root, args.files, args.seconds).context("generating files")?;
    println!(
        "generated {} files in {:.1} s",
        args.files,
        t.elapsed().as_secs_f64()
    );
    let (enc, id) = model(
        &args.model,
        args.precision.first().copied().unwrap_or_default(),
    )?;
    let lib_path = dir.join(format!("bench-{}.sqlite", std::process::id()));
    let mut lib = Library::open(&lib_path)?;
    let (report, first) = run_scan(&mut lib, &enc, &id, &root, Budget::CPU_DEFAULT)?;
    println!(
        "first scan: {} analysed in {first:.1} s ({:.0} files/min); peak memory {:.0} MiB",
        report.analysed.len(),
        report.analysed.len() as f64 / first * 60.0,
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    drop(lib);
    let mut lib = Library::open(&lib_path)?;
    let (report, again) = run_scan(&mut lib, &enc, &id, &root, Budget::CPU_DEFAULT)?;
    println!(
        "unchanged rescan of {} files: {again:.2} s ({} analysed)",
        args.files,
        report.analysed.len()
    );
    drop(lib);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", lib_path.display()));
    }
    Ok(ExitCode::SUCCESS)
}
