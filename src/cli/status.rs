//! `earmark status`, `earmark errors` and `earmark export`: what the library holds (CSV, JSON,
//! or an M3U playlist of a tag).

use std::process::ExitCode;

use std::io::Write;

use anyhow::Context;
use earmark::library::Access;
use earmark::library::playlist::{PlaylistEntry, m3u};
use earmark::library::reconcile::GRACE_DAYS;

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
    /// An M3U playlist of the files carrying `--tag`, best score first.
    M3u,
}

/// Arguments of `earmark export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    library: LibraryArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: ExportFormat,
    /// The tag of an M3U playlist (any source: personal tags, heads).
    #[arg(long, required_if_eq("format", "m3u"))]
    tag: Option<String>,
    /// Lowest tag score in an M3U playlist.
    #[arg(long, default_value_t = 0.5)]
    min_score: f64,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "PATH")]
    out: Option<std::path::PathBuf>,
}

/// Prints the library's counts.
pub fn status(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let lib = args.library.open()?;
    let s = lib.status()?;
    let roots = lib.root_states()?;
    if args.json {
        let mut v = serde_json::to_value(&s)?;
        v["root_folders"] = serde_json::to_value(&roots)?;
        v["read_only"] = serde_json::Value::Bool(lib.access() == Access::ReadOnly);
        println!("{}", serde_json::to_string(&v)?);
    } else {
        if let Some(p) = lib.path() {
            let ro = if lib.access() == Access::ReadOnly {
                " (read-only)"
            } else {
                ""
            };
            println!("library:   {}{ro}", p.display());
        }
        for root in &roots {
            let offline = if root.offline_since.is_some() {
                " (offline: not found at the last scan; nothing removed)"
            } else {
                ""
            };
            println!("root:      {}{offline}", root.path);
        }
        let short = match s.too_short {
            0 => String::new(),
            n => format!(", {n} too short to analyse"),
        };
        println!(
            "files:     {} ({} indexed, {} pending, {}{short})",
            s.files,
            s.indexed,
            s.pending,
            match s.errors {
                1 => "1 error".to_string(),
                n => format!("{n} errors"),
            }
        );
        if s.missing > 0 {
            println!(
                "missing:   {} gone from disk, kept {} days with their examples (a rescan finds \
                 them again when they return)",
                s.missing, GRACE_DAYS
            );
        }
        println!("duration:  {:.1} h indexed", s.duration_s / 3600.0);
        println!(
            "models:    {} ({} clip embeddings)",
            s.models, s.clip_embeddings
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists files that could not be read or are too short to analyse, with the reason.
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
    let text = match args.format {
        ExportFormat::M3u => {
            let tag = args
                .tag
                .as_deref()
                .context("--format m3u needs --tag TAG")?;
            let entries: Vec<PlaylistEntry> = lib
                .tagged_files(tag, args.min_score)?
                .iter()
                .map(|f| {
                    PlaylistEntry::new(
                        &f.path,
                        f.duration_s,
                        f.artist.as_deref(),
                        f.title.as_deref(),
                    )
                })
                .collect();
            if entries.is_empty() {
                eprintln!(
                    "no file carries `{tag}` with a score of at least {}",
                    args.min_score
                );
            }
            m3u(&entries).into_bytes()
        }
        ExportFormat::Json => serde_json::to_vec_pretty(&lib.export_rows()?)?,
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            for row in &lib.export_rows()? {
                w.serialize(row).context("writing CSV")?;
            }
            w.into_inner().context("writing CSV")?
        }
    };
    match &args.out {
        Some(path) => {
            earmark::atomic_file::write_bytes(path, &text)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => std::io::stdout().lock().write_all(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}
