//! `earmark tag write` and `earmark tag undo`: the library's tags into the files' own tag fields
//! (planned, shown, written atomically with an undo journal), and back.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use earmark::jobs::{JobControl, Progress};
use earmark::writeback::apply::{self, ApplyReport};
use earmark::writeback::fields::{DEFAULT_FIELD, DEFAULT_THRESHOLD, DEFAULT_TOP};
use earmark::writeback::undo::{self, UndoReport};
use earmark::writeback::{
    self, Action, FieldSpec, Plan, Policy, Selection, WritebackOptions, journal,
};
use indicatif::{ProgressBar, ProgressStyle};

use super::library_args::LibraryArg;

/// Arguments of `earmark tag write`.
#[derive(clap::Args, Debug)]
pub struct WriteArgs {
    /// Library files, or folders whose library files to write (default: the whole library).
    paths: Vec<PathBuf>,
    /// A field to fill: `FIELD=SOURCES[:THRESHOLD[:TOP]]`. FIELD is genre, mood or a custom
    /// name (written as TXXX / Vorbis comment / MP4 freeform); SOURCES is a comma-separated
    /// list of tag sources (`personal`, a head's name) or `*` for all. Repeatable; default
    /// `EARMARK_TAGS=*`, the window's default too. Formats: MP3, FLAC, Ogg Vorbis, Opus, M4A,
    /// WAV and AIFF (an ID3v2 chunk; a WAV's genre also in RIFF INFO).
    #[arg(long = "field", value_name = "FIELD=SOURCES[:T[:N]]")]
    fields: Vec<String>,
    /// Lowest score a label needs (fields without their own threshold).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f32,
    /// Most labels per field (fields without their own top-N).
    #[arg(long, default_value_t = DEFAULT_TOP)]
    top: usize,
    /// Replace fields that already hold a value (by default they are kept as they are).
    #[arg(long, conflicts_with = "merge")]
    overwrite: bool,
    /// Add the missing labels to fields that already hold a value.
    #[arg(long)]
    merge: bool,
    /// Show what would change and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write ID3v2.3 tags into MP3 files instead of ID3v2.4.
    #[arg(long)]
    id3v23: bool,
    /// Where the undo journal goes (default: `writeback/` in the data directory).
    #[arg(long, value_name = "DIR")]
    journal_dir: Option<PathBuf>,
    /// Most megabytes of one original file the journal may keep to undo its write.
    #[arg(long, value_name = "MB", default_value_t = writeback::DEFAULT_MAX_UNDO_BYTES >> 20)]
    max_undo_mb: u64,
    /// Print the plan and what was done as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArg,
}

/// Arguments of `earmark tag undo`.
#[derive(clap::Args, Debug)]
pub struct UndoArgs {
    /// The journal to undo (default: the newest one not undone yet).
    #[arg(conflicts_with = "last")]
    journal: Option<PathBuf>,
    /// Undo the newest journal not undone yet.
    #[arg(long)]
    last: bool,
    /// List the journals instead.
    #[arg(long, conflicts_with_all = ["journal", "last"])]
    list: bool,
    /// Where the journals are (default: `writeback/` in the data directory).
    #[arg(long, value_name = "DIR")]
    journal_dir: Option<PathBuf>,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArg,
}

fn journal_dir(arg: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match arg {
        Some(d) => Ok(d.clone()),
        None => Ok(journal::default_dir()?),
    }
}

fn progress_bar(hidden: bool) -> ProgressBar {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn on_progress(bar: &ProgressBar) -> impl FnMut(&Progress) + '_ {
    move |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(p.current.clone().unwrap_or_default());
    }
}

fn options(args: &WriteArgs) -> anyhow::Result<WritebackOptions> {
    if !(0.0..=1.0).contains(&args.threshold) {
        bail!("--threshold must be from 0 to 1");
    }
    if args.top == 0 {
        bail!("--top must be above 0");
    }
    // The same default field as the window's (see `writeback::fields::DEFAULT_FIELD`).
    let specs = if args.fields.is_empty() {
        vec![DEFAULT_FIELD.to_owned()]
    } else {
        args.fields.clone()
    };
    let fields = specs
        .iter()
        .map(|s| FieldSpec::parse(s, args.threshold, args.top))
        .collect::<earmark::Result<Vec<_>>>()?;
    let policy = if args.overwrite {
        Policy::Overwrite
    } else if args.merge {
        Policy::Merge
    } else {
        Policy::Keep
    };
    Ok(WritebackOptions {
        fields,
        policy,
        id3v23: args.id3v23,
        max_undo_bytes: args.max_undo_mb.saturating_mul(1 << 20),
    })
}

fn quoted(v: &Option<String>) -> String {
    v.as_ref()
        .map_or_else(|| "(empty)".to_owned(), |s| format!("\"{s}\""))
}

/// Prints the plan as a diff.
fn print_plan(plan: &Plan, policy: Policy) {
    for file in &plan.files {
        println!("{} ({})", file.path, file.format.describe());
        for c in &file.changes {
            let line = match c.action {
                Action::Write | Action::Overwrite | Action::Merge => {
                    format!("{} → {}", quoted(&c.current), quoted(&c.new))
                }
                Action::Keep => format!(
                    "{} kept (it has a value; --overwrite replaces it, --merge adds to it)",
                    quoted(&c.current)
                ),
                Action::Same => format!("{} already", quoted(&c.current)),
                Action::NoLabels => {
                    format!("{} (no label above the threshold)", quoted(&c.current))
                }
            };
            let tag = match c.action {
                Action::Write => "+",
                Action::Overwrite | Action::Merge => "~",
                _ => "=",
            };
            println!("  {tag} {}: {line}", c.field);
        }
        if let Some(note) = &file.note {
            println!("  note: {note}");
        }
    }
    for (path, why) in &plan.problems {
        println!("{path}: cannot be tagged: {why}");
    }
    let policy = match policy {
        Policy::Keep => "existing values kept",
        Policy::Merge => "existing values merged",
        Policy::Overwrite => "existing values overwritten",
    };
    println!(
        "{} file(s) to write, {} unchanged, {} without labels above the threshold, {} cannot be \
         tagged ({policy})",
        plan.to_write(),
        plan.files.len() - plan.to_write(),
        plan.without_labels,
        plan.problems.len()
    );
}

fn selection(lib: &earmark::library::Library, paths: &[PathBuf]) -> anyhow::Result<Selection> {
    if paths.is_empty() {
        return Ok(Selection::All);
    }
    let known = lib.all_known_files()?;
    let mut out = Vec::new();
    for p in paths {
        let c = p
            .canonicalize()
            .with_context(|| format!("{}", p.display()))?;
        if !known
            .iter()
            .any(|k| std::path::Path::new(&k.path).starts_with(&c))
        {
            bail!(
                "{} is not in the library: scan its folder first (`earmark scan DIR`)",
                c.display()
            );
        }
        out.push(c);
    }
    Ok(Selection::Paths(out))
}

/// `earmark tag write`.
pub fn write(args: &WriteArgs) -> anyhow::Result<ExitCode> {
    let opts = options(args)?;
    let mut lib = args.library.open()?;
    let selection = selection(&lib, &args.paths)?;
    let control = JobControl::new();
    let bar = progress_bar(args.json);
    let plan = writeback::plan::plan(&lib, &opts, &selection, &mut on_progress(&bar), &control)?;
    bar.finish_and_clear();
    if args.dry_run {
        if args.json {
            println!("{}", serde_json::json!({ "plan": plan, "dry_run": true }));
        } else {
            print_plan(&plan, opts.policy);
            println!("dry run: nothing was written");
        }
        return Ok(exit_code(plan.problems.is_empty()));
    }
    if !args.json {
        print_plan(&plan, opts.policy);
    }
    let dir = journal_dir(&args.journal_dir)?;
    let bar = progress_bar(args.json);
    let report = apply::apply(
        &mut lib,
        &plan,
        &opts,
        &dir,
        &mut on_progress(&bar),
        &control,
    )?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::json!({ "plan": plan, "report": report }));
    } else {
        print_report(&report);
    }
    Ok(exit_code(
        plan.problems.is_empty() && report.failed.is_empty(),
    ))
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Names the temporary copies an interrupted earlier run had left, now removed.
fn print_removed(removed: &[String]) {
    for path in removed {
        println!("removed {path} (a temporary copy left by an interrupted run)");
    }
}

fn print_report(r: &ApplyReport) {
    print_removed(&r.removed_temporaries);
    for (path, why) in &r.failed {
        eprintln!("error: {path}: {why}");
    }
    for (path, why) in &r.index_warnings {
        eprintln!(
            "warning: {path}: written, but the library was not updated ({why}); the next scan analyses it again"
        );
    }
    println!(
        "{} file(s) written, {} failed",
        r.written.len(),
        r.failed.len()
    );
    if let Some(j) = &r.journal {
        println!(
            "undo journal: {} (undo with `earmark tag undo --last`)",
            j.display()
        );
    }
}

fn print_undo(r: &UndoReport) {
    print_removed(&r.removed_temporaries);
    for (path, why) in &r.refused {
        eprintln!("error: {path}: {why}");
    }
    println!(
        "{} file(s) restored, {} already original, {} refused ({})",
        r.restored.len(),
        r.already.len(),
        r.refused.len(),
        r.journal.display()
    );
}

/// `earmark tag undo`.
pub fn undo(args: &UndoArgs) -> anyhow::Result<ExitCode> {
    let dir = journal_dir(&args.journal_dir)?;
    if args.list {
        let journals = journal::list(&dir)?;
        if args.json {
            println!("{}", serde_json::to_string(&journals)?);
        } else if journals.is_empty() {
            println!("no write-back journals in {}", dir.display());
        }
        if !args.json {
            for j in &journals {
                let entries = journal::read(&j.path).map(|e| e.len());
                let count =
                    entries.map_or_else(|e| format!("unreadable: {e}"), |n| format!("{n} file(s)"));
                let state = if j.undone { "undone" } else { "can be undone" };
                println!("{}  {count}, {state}", j.path.display());
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = match &args.journal {
        Some(p) => p.clone(),
        None => match journal::last_pending(&dir)? {
            Some(p) => p,
            None => bail!("no write-back to undo in {}", dir.display()),
        },
    };
    let mut lib = args.library.open()?;
    let control = JobControl::new();
    let bar = progress_bar(args.json);
    let report = undo::undo(Some(&mut lib), &path, &mut on_progress(&bar), &control)?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_undo(&report);
    }
    Ok(exit_code(report.refused.is_empty()))
}
