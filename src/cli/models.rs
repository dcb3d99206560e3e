//! `earmark models list | download NAME | import FILE | convert X.pt Y.safetensors | inspect FILE`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use earmark::catalog::installed::{
    ImportOutcome, ModelSource, format_size, import_file, installed_models,
};
use earmark::catalog::{
    Catalog, EntryStatus, FetchOptions, Fetcher, Installer, describe_transfer, status,
};
use earmark::config::models_dir;
use earmark::model::{EncoderConfig, WeightFile, load};

/// Arguments of `earmark models`.
#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// `earmark models` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// List the downloadable official models (with whether each is installed) and the model
    /// files in the models folder.
    List {
        /// Catalog file to use instead of the built-in one (also `EARMARK_CATALOG`).
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
    /// Download a catalog entry (resuming an interrupted download) into the models folder.
    Download {
        /// Catalog name (see `earmark models list`).
        name: String,
        /// Catalog file to use instead of the built-in one (also `EARMARK_CATALOG`).
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
    /// Copy a checkpoint (.safetensors or .pt, with its .json description if any) into the
    /// models folder, after checking that it loads. An existing model is never replaced: a name
    /// that is taken (or the bundled model's) gets a number (`name-2.safetensors`).
    Import {
        /// The checkpoint.
        file: PathBuf,
    },
    /// Convert a checkpoint (.pt or .safetensors) to safetensors with its description embedded;
    /// training-only entries are dropped, head tensors kept.
    Convert {
        /// Source checkpoint.
        src: PathBuf,
        /// Destination .safetensors file.
        dst: PathBuf,
        /// Configuration preset (vit-base, vit-base-audioset, small, tiny) when the source has no
        /// description and is not the official ViT-B.
        #[arg(long)]
        preset: Option<String>,
    },
    /// Print a weight file's format, configuration and tensors.
    Inspect {
        /// Weight file.
        file: PathBuf,
    },
}

/// Runs `earmark models`.
pub fn run(args: &ModelsArgs) -> anyhow::Result<()> {
    match &args.command {
        ModelsCommand::List { catalog } => list(catalog.as_deref())?,
        ModelsCommand::Download { name, catalog } => download(name, catalog.as_deref())?,
        ModelsCommand::Import { file } => {
            let dir = folder()?;
            let done = import_file(file, &dir)?;
            match done.outcome {
                ImportOutcome::Copied => println!("imported {}", done.path.display()),
                ImportOutcome::Renamed { wanted } => println!(
                    "imported {} (renamed: {wanted} is taken by another model or reserved for \
                     the bundled one)",
                    done.path.display()
                ),
                ImportOutcome::AlreadyInstalled => {
                    println!("already installed as {}", done.path.display())
                }
            }
        }
        ModelsCommand::Convert { src, dst, preset } => {
            let cfg = preset.as_deref().map(EncoderConfig::preset).transpose()?;
            let cfg = load::convert(src, dst, cfg.as_ref())?;
            println!(
                "wrote {} ({}-d, {} blocks, {} heads, n_t {})",
                dst.display(),
                cfg.embed_dim,
                cfg.depth,
                cfg.num_heads,
                cfg.n_t
            );
        }
        ModelsCommand::Inspect { file } => {
            let f = WeightFile::open(file)?;
            println!("{}: {:?}", file.display(), f.format());
            match load::resolve_config(&f) {
                Ok(c) => println!("encoder: {c:?}"),
                Err(e) => println!("encoder: {e}"),
            }
            for name in f.tensor_names() {
                println!("  {name} {:?}", f.shape(&name).unwrap_or_default());
            }
            for name in f.non_tensor_names() {
                println!("  {name} (not a tensor)");
            }
        }
    }
    Ok(())
}

/// The models folder, or why there is none.
fn folder() -> anyhow::Result<PathBuf> {
    models_dir().context("no data directory to keep models in (set HOME or EARMARK_DATA_DIR)")
}

fn list(catalog: Option<&Path>) -> anyhow::Result<()> {
    let catalog = Catalog::load(catalog)?;
    let dir = folder()?;
    println!("Available to download (into {}):", dir.display());
    for e in &catalog.entries {
        let state = match status(e, &dir) {
            EntryStatus::Installed => "installed".to_string(),
            EntryStatus::Partial { bytes } => format!("partial ({})", format_size(bytes)),
            EntryStatus::Missing => "not installed".to_string(),
        };
        let size = e
            .size
            .map(format_size)
            .unwrap_or_else(|| "size unknown".into());
        println!(
            "  {:<26} {:<14} {:<14} {size}",
            e.name,
            e.kind.label(),
            state
        );
        println!("      {}", e.description);
        if let Some(cfg) = &e.config {
            println!("      needs: {}", cfg.summary());
        }
    }
    let folders = [(dir.clone(), ModelSource::Installed)];
    let files = installed_models(Some(&folders));
    println!("Installed model files:");
    if files.is_empty() {
        println!("  none");
    }
    for m in files {
        let what = match &m.config {
            Ok(c) => format!("{}-d, {} blocks, n_t {}", c.embed_dim, c.depth, c.n_t),
            Err(e) => format!("not an encoder: {e}"),
        };
        println!(
            "  {} ({}) {what}",
            m.path.file_name().unwrap_or_default().to_string_lossy(),
            format_size(m.size)
        );
    }
    Ok(())
}

fn download(name: &str, catalog: Option<&Path>) -> anyhow::Result<()> {
    let catalog = Catalog::load(catalog)?;
    catalog.require(name)?;
    let dir = folder()?;
    let installer = Installer::new(&catalog, dir, Fetcher::new(FetchOptions::default()));
    let cancel = Arc::new(AtomicBool::new(false));
    let on_ctrl_c = Arc::clone(&cancel);
    // Ctrl+C stops the transfer; the part received stays for the next download to resume.
    let _ = ctrlc::set_handler(move || on_ctrl_c.store(true, Ordering::SeqCst));
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = installer.install(name, &cancel, &mut |p| {
        bar.set_length(p.total.unwrap_or(0));
        bar.set_position(p.done);
        bar.set_message(describe_transfer(p));
    });
    bar.finish_and_clear();
    let report = match result {
        Err(earmark::Error::Cancelled) => {
            anyhow::bail!("download cancelled; run the same command again to resume")
        }
        other => other?,
    };
    if !report.resumed_from.is_empty() {
        println!(
            "resumed from byte {}",
            report
                .resumed_from
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    for p in &report.reused {
        println!("already in place: {}", p.display());
    }
    println!("installed {}", report.path.display());
    for p in &report.extra {
        println!("  with {}", p.display());
    }
    Ok(())
}
