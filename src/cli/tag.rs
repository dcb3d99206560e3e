//! `earmark tag add|list|review|accept|reject|show`: personal tags from a few examples;
//! `earmark tag write|undo` (in [`super::tag_write`]): the tags into the files' own tag fields.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use earmark::library::Library;
use earmark::personal::{self, ExampleSource, RefitReport, Region, ReviewOrder, TagOptions};

use super::library_args::{LibraryArg, ModelArg};

/// Arguments of `earmark tag`.
#[derive(clap::Args, Debug)]
pub struct TagArgs {
    #[command(subcommand)]
    action: TagAction,
}

#[derive(clap::Subcommand, Debug)]
enum TagAction {
    /// Mark files (or a region of them) as examples of a tag, then refit it and tag the library.
    Add(AddArgs),
    /// List the personal tags with their examples and tagged files.
    List(ListArgs),
    /// Files to review for a tag: the most uncertain (default) or the most likely.
    Review(ReviewArgs),
    /// Confirm files as members of a tag (from the review list), then refit.
    Accept(AnswerArgs),
    /// Reject files as members of a tag (from the review list), then refit.
    Reject(AnswerArgs),
    /// A file's tags (every source) and the examples it is part of.
    Show(ShowArgs),
    /// Write the library's tags into the files' tag fields (genre, mood, a custom field), with a
    /// dry run and an undo journal.
    Write(super::tag_write::WriteArgs),
    /// Restore the files of a write-back to their original bytes.
    Undo(super::tag_write::UndoArgs),
}

#[derive(clap::Args, Debug)]
struct AddArgs {
    /// The tag.
    tag: String,
    /// Files of the library.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Start of a region, in seconds (the example is then that region only).
    #[arg(long, requires = "end")]
    start: Option<f64>,
    /// End of the region, in seconds.
    #[arg(long, requires = "start")]
    end: Option<f64>,
    /// The files do not carry the tag.
    #[arg(long)]
    negative: bool,
    #[command(flatten)]
    library: LibraryArg,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArg,
}

#[derive(clap::Args, Debug)]
struct ReviewArgs {
    /// The tag.
    tag: String,
    /// Number of files.
    #[arg(short, default_value_t = 10)]
    n: usize,
    /// Which files first.
    #[arg(long, value_enum, default_value = "uncertain")]
    order: ReviewOrder,
    /// Print one JSON object per file.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArg,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(clap::Args, Debug)]
struct AnswerArgs {
    /// The tag.
    tag: String,
    /// Files of the library.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    library: LibraryArg,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(clap::Args, Debug)]
struct ShowArgs {
    /// A file of the library.
    file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArg,
}

/// Runs the chosen action.
pub fn run(args: &TagArgs) -> anyhow::Result<ExitCode> {
    match &args.action {
        TagAction::Add(a) => add(a),
        TagAction::List(a) => list(a),
        TagAction::Review(a) => review(a),
        TagAction::Accept(a) => answer(a, true),
        TagAction::Reject(a) => answer(a, false),
        TagAction::Show(a) => show(a),
        TagAction::Write(a) => super::tag_write::write(a),
        TagAction::Undo(a) => super::tag_write::undo(a),
    }
}

/// The id of a file of the library.
fn file_id(lib: &Library, file: &Path) -> anyhow::Result<i64> {
    let path = file
        .canonicalize()
        .with_context(|| format!("{}", file.display()))?;
    match lib.file_by_path(&path.to_string_lossy())? {
        Some((id, _)) => Ok(id),
        None => bail!(
            "{} is not in the library: scan its folder first (`earmark scan DIR`)",
            path.display()
        ),
    }
}

fn print_refit(r: &RefitReport) {
    for (path, why) in &r.skipped {
        eprintln!("skipped example {path}: {why}");
    }
    let calibration = if r.folds > 0 {
        format!("{}-fold calibration", r.folds)
    } else {
        "uncalibrated: too few examples to cross-validate".to_string()
    };
    println!(
        "tag `{}`: {} positive and {} negative examples, {} background files; fitted in {:.3} s \
         ({} iterations, {calibration}); {} file(s) carry it",
        r.label, r.positives, r.negatives, r.background, r.fit_seconds, r.iterations, r.tagged
    );
}

fn add(args: &AddArgs) -> anyhow::Result<ExitCode> {
    let mut lib = args.library.open()?;
    let ids = args
        .files
        .iter()
        .map(|f| file_id(&lib, f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let region = args
        .start
        .zip(args.end)
        .map(|(start_s, end_s)| Region { start_s, end_s });
    let mut added = Vec::with_capacity(ids.len());
    for &id in &ids {
        added.push(lib.add_example(
            &args.tag,
            id,
            region,
            !args.negative,
            ExampleSource::Manual,
        )?);
    }
    let (model_id, refused) = if region.is_some() {
        let active = args.model.load(&lib)?;
        let model_id = lib.ensure_model(&active.identity)?;
        let failed =
            personal::embed_missing_regions(&lib, &active.encoder, model_id, Some(&args.tag))?;
        // A region that cannot be embedded now never will be: its new example is taken back.
        let mut refused = 0;
        for f in &failed {
            eprintln!("cannot embed the region of {}: {}", f.path, f.reason);
            if added.contains(&f.example_id) {
                lib.remove_example(f.example_id)?;
                refused += 1;
            }
        }
        if refused == added.len() {
            bail!("no example of `{}` was added", args.tag);
        }
        (model_id, refused)
    } else {
        (args.model.model_id(&lib)?.0, 0)
    };
    println!(
        "{} {} example(s) of `{}` stored",
        added.len() - refused,
        if args.negative {
            "negative"
        } else {
            "positive"
        },
        args.tag
    );
    if lib.examples(Some(&args.tag))?.iter().any(|e| e.positive) {
        print_refit(&personal::refit(
            &mut lib,
            model_id,
            &args.tag,
            &TagOptions::default(),
        )?);
    } else {
        println!("the tag is fitted once it has a positive example");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let lib = args.library.open()?;
    let tags = lib.personal_tags()?;
    if args.json {
        println!("{}", serde_json::to_string(&tags)?);
        return Ok(ExitCode::SUCCESS);
    }
    if tags.is_empty() {
        println!("no personal tags yet: `earmark tag add TAG FILE...`");
    }
    for t in &tags {
        println!(
            "{:<24} {:>4} positive  {:>4} negative  {:>6} files tagged",
            t.label, t.positives, t.negatives, t.tagged_files
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn review(args: &ReviewArgs) -> anyhow::Result<ExitCode> {
    let mut lib = args.library.open()?;
    let (model_id, _) = args.model.model_id(&lib)?;
    let items = personal::review(
        &mut lib,
        model_id,
        &args.tag,
        args.n,
        args.order,
        &TagOptions::default(),
    )?;
    for (rank, item) in items.iter().enumerate() {
        if args.json {
            println!(
                "{}",
                serde_json::json!({"rank": rank + 1, "probability": item.probability,
                    "path": item.path})
            );
        } else {
            println!("{:>3}  {:.3}  {}", rank + 1, item.probability, item.path);
        }
    }
    if !args.json && !items.is_empty() {
        println!(
            "answer with `earmark tag accept|reject {} FILE...`",
            args.tag
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn answer(args: &AnswerArgs, positive: bool) -> anyhow::Result<ExitCode> {
    let mut lib = args.library.open()?;
    let ids = args
        .files
        .iter()
        .map(|f| file_id(&lib, f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (model_id, _) = args.model.model_id(&lib)?;
    let report = personal::answer(
        &mut lib,
        model_id,
        &args.tag,
        &ids,
        positive,
        &TagOptions::default(),
    )?;
    print_refit(&report);
    Ok(ExitCode::SUCCESS)
}

fn show(args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let lib = args.library.open()?;
    let id = file_id(&lib, &args.file)?;
    let tags = lib.tags_of_file(id)?;
    let examples = lib.examples_of_file(id)?;
    if args.json {
        let tags: Vec<_> = tags
            .iter()
            .map(|(source, label, score)| {
                serde_json::json!({"source": source, "label": label, "score": score})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"tags": tags, "examples": examples})
        );
        return Ok(ExitCode::SUCCESS);
    }
    if tags.is_empty() {
        println!("no tags");
    }
    for (source, label, score) in &tags {
        println!("{score:.3}  {label:<24} ({source})");
    }
    for e in &examples {
        let region = e
            .region
            .map(|r| format!(" {:.2}–{:.2} s", r.start_s, r.end_s))
            .unwrap_or_default();
        println!(
            "example: {} {}{region} ({})",
            if e.positive { "+" } else { "−" },
            e.label,
            e.source.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}
