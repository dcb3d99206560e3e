//! `earmark generate`: writes the manual pages and shell completions that packages ship, built from
//! the same command definition the program parses, so every subcommand is covered as it is added.
//! Hidden from `--help`: it is a packaging step, not something people run day to day.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, VERSION};

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

/// Renders the top-level page and one page per visible subcommand (nested ones too), each footed
/// with the program's version line; returns the paths written.
fn write_manual_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create_dir(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_page_tree(cmd, dir, &mut written)?;
    Ok(written)
}

fn write_page_tree(
    cmd: clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_page_tree(sub.clone(), dir, written)?;
    }
    let page = clap_mangen::Man::new(cmd)
        .source(format!("earmark {}", VERSION.as_str()))
        .manual("Earmark Manual");
    let path = page
        .generate_to(dir)
        .with_context(|| format!("cannot write a manual page into {}", dir.display()))?;
    written.push(path);
    Ok(())
}

fn write_completions(shell: Shell, dir: &Path) -> anyhow::Result<PathBuf> {
    create_dir(dir)?;
    let mut cmd = Cli::command();
    clap_complete::generate_to(shell, &mut cmd, "earmark", dir).with_context(|| {
        format!(
            "cannot write the {shell} completions into {}",
            dir.display()
        )
    })
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}
