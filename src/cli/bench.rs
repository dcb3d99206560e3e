//! `earmark bench …`: speed measurements that print figures and ratios.

use std::process::ExitCode;

#[cfg(feature = "gui")]
use super::bench_gui;
use super::{bench_encoder, bench_frontend, bench_library, bench_tags, bench_train};

/// Arguments of `earmark bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchTarget,
}

#[derive(clap::Subcommand, Debug)]
enum BenchTarget {
    /// Decode + resample + log-mel speed, as × real time on one core.
    Frontend(bench_frontend::FrontendBenchArgs),
    /// Encoder speed: ViT-B with random weights, chunks/s and GFLOP/s at batch 1 and 8.
    Encoder(bench_encoder::BenchEncoderArgs),
    /// Top-10 similarity search latency over synthetic vectors.
    Search(bench_library::SearchBenchArgs),
    /// Scan throughput on generated files (files/min, × real time).
    Scan(bench_library::ScanBenchArgs),
    /// A first scan of many small files (peak memory), then an unchanged rescan (time).
    Rescan(bench_library::ScanBenchArgs),
    /// Training speed (updates/s, crops/s) per preset and batch size.
    Train(bench_train::TrainBenchArgs),
    /// Frame times of the window while it scans generated files (p50, p95, max).
    #[cfg(feature = "gui")]
    Gui(bench_gui::GuiBenchArgs),
    /// Personal tag refit time: 1,000 labelled 3840-d embeddings, with and without calibration.
    Tags(bench_tags::TagsBenchArgs),
    /// Live listening: onset-to-update latency, CPU load and dropped audio blocks (plays into a
    /// private PulseAudio null sink).
    #[cfg(feature = "live")]
    Live(super::bench_live::LiveBenchArgs),
}

/// Runs the chosen benchmark.
pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    match &args.what {
        BenchTarget::Frontend(a) => bench_frontend::run(a),
        BenchTarget::Encoder(a) => bench_encoder::run(a).map(|()| ExitCode::SUCCESS),
        BenchTarget::Search(a) => bench_library::search(a),
        BenchTarget::Scan(a) => bench_library::scan_throughput(a),
        BenchTarget::Rescan(a) => bench_library::rescan(a),
        BenchTarget::Train(a) => bench_train::run(a).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "gui")]
        BenchTarget::Gui(a) => bench_gui::run(a),
        BenchTarget::Tags(a) => bench_tags::run(a),
        #[cfg(feature = "live")]
        BenchTarget::Live(a) => super::bench_live::run(a),
    }
}
