//! `earmark generate`: writes the manual pages and shell completions that packages ship, built from
//! the same command definition the program parses, so every subcommand is covered as it is added.
//! Hidden from `--help`: it is a packaging step, not something people run day to day.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// Arguments of `earmark generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    #[command(subcommand)]
    what: GenerateWhat,
}

/// What `earmark generate` writes.
#[derive(clap::Subcommand, Debug)]
enum GenerateWhat {
    /// Manual pages (roff): `earmark.1` plus one `earmark-SUBCOMMAND.1` per subcommand.
    Man {
        /// Folder to write the pages into (created if missing).
        dir: PathBuf,
    },
    /// The completion script for one shell.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: Shell,
        /// Folder to write the script into (created if missing).
        dir: PathBuf,
    },
}

/// Writes what was asked and prints the paths written, one a line.
pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let written = match &args.what {
        GenerateWhat::Man { dir } => write_manual_pages(dir)?,
        GenerateWhat::Completions { shell, dir } => vec![write_completions(*shell, dir)?],
    };
    for path in written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders the top-level page and one page per visible subcommand (nested ones too); returns the
/// pages in the folder, sorted.
fn write_manual_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create_dir(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
    let mut pages = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "1") {
            pages.push(path);
        }
    }
    pages.sort();
    Ok(pages)
}

fn write_completions(shell: Shell, dir: &Path) -> anyhow::Result<PathBuf> {
    create_dir(dir)?;
    let mut cmd = Cli::command();
    clap_complete::generate_to(shell, &mut cmd, "earmark", dir)
        .with_context(|| format!("cannot write the {shell} completions into {}", dir.display()))
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}
