//! `earmark status`, `earmark errors` and `earmark export`: what the library holds.

use std::process::ExitCode;

use anyhow::Context;

use super::library_args::LibraryArg;

/// Arguments of `earmark status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    library: LibraryArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `earmark errors`.
#[derive(clap::Args, Debug)]
pub struct ErrorsArgs {
    #[command(flatten)]
    library: LibraryArg,
    /// Print one JSON object per file.
    #[arg(long)]
    json: bool,
}

/// Export formats.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON array.
    Json,
}

/// Arguments of `earmark export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    library: LibraryArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: ExportFormat,
}

/// Prints the library's counts.
pub fn status(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let lib = args.library.open()?;
    let s = lib.status()?;
    if args.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        if let Some(p) = lib.path() {
            println!("library:   {}", p.display());
        }
        for (_, root) in lib.roots()? {
            println!("root:      {root}");
        }
        println!(
            "files:     {} ({} indexed, {} pending, {} errors)",
            s.files, s.indexed, s.pending, s.errors
        );
        println!("duration:  {:.1} h indexed", s.duration_s / 3600.0);
        println!(
            "models:    {} ({} clip embeddings)",
            s.models, s.clip_embeddings
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists files that could not be read, with the reason.
pub fn errors(args: &ErrorsArgs) -> anyhow::Result<ExitCode> {
    let lib = args.library.open()?;
    for (path, reason) in lib.errors()? {
        if args.json {
            println!("{}", serde_json::json!({"path": path, "reason": reason}));
        } else {
            println!("{path}\n  {reason}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes every file row to standard output.
pub fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let lib = args.library.open()?;
    let rows = lib.export_rows()?;
    let stdout = std::io::stdout().lock();
    match args.format {
        ExportFormat::Json => serde_json::to_writer_pretty(stdout, &rows)?,
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(stdout);
            for row in &rows {
                w.serialize(row).context("writing CSV")?;
            }
            w.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
