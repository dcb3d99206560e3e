//! Command-line parsing and dispatch. Each subcommand lives in its own file.

mod bench;
mod bench_encoder;
mod bench_frontend;
mod bench_gpu;
#[cfg(feature = "gui")]
mod bench_gui;
mod bench_library;
#[cfg(feature = "live")]
mod bench_live;
mod bench_tags;
pub(crate) mod bench_torch;
mod bench_train;
mod embed;
mod embed_out;
mod eval;
mod finetune;
mod generate;
mod info;
mod library_args;
#[cfg(feature = "live")]
mod listen;
mod logmel;
mod map;
mod models;
mod output;
mod predict;
mod scan;
mod similar;
mod status;
mod tag;
mod tag_write;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::LazyLock;

use clap::{Parser, Subcommand};

/// Earmark: tag, search and learn from your sound library with the MATPAC audio encoder.
#[derive(Parser, Debug)]
#[command(
    name = "earmark",
    version = VERSION.as_str(),
    about,
    long_about = None,
    override_usage = "earmark [--library FILE] [--model FILE]   (opens the window)\n       \
                      earmark <COMMAND> [OPTIONS]              (runs headless)",
    args_conflicts_with_subcommands = true,
    after_help = WINDOW_HELP
)]
pub struct Cli {
    /// Open the window on this library index (created if missing) instead of the one used
    /// last; the same as EARMARK_LIBRARY=FILE.
    #[arg(long, value_name = "FILE")]
    library: Option<PathBuf>,
    /// Use these model weights in the window instead of the chosen model; the same as
    /// EARMARK_MODEL=FILE.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// What to do; without a subcommand the desktop window opens.
    #[command(subcommand)]
    command: Option<Command>,
}

/// The end of `earmark --help`: how the window starts.
const WINDOW_HELP: &str = "\
Without a command, the desktop window opens: `earmark --library ~/sounds.sqlite` opens that
library, `earmark --model my.safetensors` uses those weights. The environment variables
EARMARK_LIBRARY and EARMARK_MODEL do the same; the options win over them.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what audio files are: container, codec, channels, rate, duration, embedded tags.
    Info(info::InfoArgs),
    /// Compute the MATPAC log-mel spectrogram of a file and save it (.safetensors or .npy).
    Logmel(logmel::LogmelArgs),
    /// Compute MATPAC embeddings of audio files.
    Embed(embed::EmbedArgs),
    /// Print the top labels a head predicts for a file.
    Predict(predict::PredictArgs),
    /// List, download, import, convert or inspect model files.
    Models(models::ModelsArgs),
    /// Measure speed (front end, encoder, scan, search, personal tags).
    Bench(bench::BenchArgs),
    /// Add folders to the library and analyse new or changed audio files.
    Scan(scan::ScanArgs),
    /// Show what the library holds.
    Status(status::StatusArgs),
    /// List the files that could not be read, with the reason.
    Errors(status::ErrorsArgs),
    /// Find the library's files most similar to a file (or a time region of it).
    Similar(similar::SimilarArgs),
    /// Write every file's metadata, status and tags as CSV or JSON, or a tag as an M3U playlist.
    Export(status::ExportArgs),
    /// Personal tags: add examples, review, accept or reject, show a file's tags; write tags
    /// into the files and undo that.
    #[command(alias = "tags")]
    Tag(tag::TagArgs),
    /// Measure a model on labelled sounds (k-NN and few-shot), next to a log-mel baseline.
    Eval(eval::EvalArgs),
    /// Compute and store the 2-D map of the library (PCA, then t-SNE).
    Map(map::MapArgs),
    /// Pretrain a MATPAC encoder on your own audio (self-supervised).
    Train(train::TrainArgs),
    /// Teach an encoder sound types from labelled files, and make its tag head (supervised).
    Finetune(finetune::FinetuneArgs),
    /// Listen to an input device: tags (or an embedding summary) every hop, headless.
    #[cfg(feature = "live")]
    Listen(listen::ListenArgs),
    /// Write the manual pages or shell completions that packages ship.
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

/// The version line: version plus the features and devices this build carries.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let features: Vec<&str> = [
        ("gui", cfg!(feature = "gui")),
        ("live", cfg!(feature = "live")),
        ("cuda", cfg!(feature = "cuda")),
        ("metal", cfg!(feature = "metal")),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(name, _)| *name)
    .collect();
    let mut devices = vec!["cpu", "wgpu"];
    if cfg!(feature = "cuda") {
        devices.push("cuda");
    }
    if cfg!(feature = "metal") {
        devices.push("metal");
    }
    format!(
        "{} (features: {}; devices: {})",
        env!("CARGO_PKG_VERSION"),
        if features.is_empty() {
            "none".to_string()
        } else {
            features.join(", ")
        },
        devices.join(", ")
    )
});

/// Parses the command line and runs it; errors are printed once, here.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => open_window(cli.library, cli.model),
        Some(Command::Info(args)) => info::run(&args),
        Some(Command::Logmel(args)) => logmel::run(&args),
        Some(Command::Embed(args)) => embed::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Predict(args)) => predict::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Models(args)) => models::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Scan(args)) => scan::run(&args),
        Some(Command::Status(args)) => status::status(&args),
        Some(Command::Errors(args)) => status::errors(&args),
        Some(Command::Similar(args)) => similar::run(&args),
        Some(Command::Export(args)) => status::export(&args),
        Some(Command::Map(args)) => map::run(&args),
        Some(Command::Train(args)) => train::run(&args),
        Some(Command::Finetune(args)) => finetune::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Tag(args)) => tag::run(&args),
        Some(Command::Eval(args)) => eval::run(&args),
        #[cfg(feature = "live")]
        Some(Command::Listen(args)) => listen::run(&args),
        Some(Command::Generate(args)) => generate::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("earmark: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the window on `library` with `model` (each `None`: the environment's, else the one
/// remembered).
#[cfg(feature = "gui")]
fn open_window(library: Option<PathBuf>, model: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    if let Some(m) = &model {
        anyhow::ensure!(m.is_file(), "--model {}: no such file", m.display());
    }
    if let Some(l) = &library {
        anyhow::ensure!(
            !l.is_dir(),
            "--library {}: a folder, not an index file (e.g. {}/library.sqlite)",
            l.display(),
            l.display()
        );
        if let Some(parent) = l.parent().filter(|p| !p.as_os_str().is_empty()) {
            anyhow::ensure!(
                parent.is_dir(),
                "--library {}: the folder {} does not exist",
                l.display(),
                parent.display()
            );
        }
    }
    let opts = earmark::gui::options_with(library, model);
    earmark::gui::run_with(opts).context("the window could not open")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "gui"))]
fn open_window(_library: Option<PathBuf>, _model: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    Cli::command().print_help()?;
    println!("\n\nThis build has no desktop window (built without the `gui` feature).");
    Ok(ExitCode::SUCCESS)
}
