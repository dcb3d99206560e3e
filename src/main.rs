//! The `earmark` binary: command-line front end (encoder commands only in this build).

use clap::{Parser, Subcommand};

mod cli {
    pub mod bench_encoder;
    pub mod embed;
    pub mod models;
    pub mod predict;
}

#[derive(Parser)]
#[command(
    name = "earmark",
    version,
    about = "Local MATPAC audio embeddings and tags"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compute embeddings.
    Embed(cli::embed::EmbedArgs),
    /// Print the top labels of a head.
    Predict(cli::predict::PredictArgs),
    /// Convert or inspect model files.
    Models(cli::models::ModelsArgs),
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Encoder inference speed.
    Encoder(cli::bench_encoder::BenchEncoderArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Embed(a) => cli::embed::run(&a),
        Cmd::Predict(a) => cli::predict::run(&a),
        Cmd::Models(a) => cli::models::run(&a),
        Cmd::Bench {
            what: BenchCmd::Encoder(a),
        } => cli::bench_encoder::run(&a),
    }
}
