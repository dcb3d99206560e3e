//! `earmark scan DIR...`: add folders to the library and analyse what is new or changed.

use std::path::PathBuf;
use std::process::ExitCode;

use earmark::jobs::{JobEvent, JobQueue};
use earmark::library::analyse::Budget;
use earmark::library::scan::{ScanOptions, ScanReport, scan};
use earmark::library::tagging::{HeadChoice, TagLimits};
use earmark::library::walk::WalkOptions;
use indicatif::{ProgressBar, ProgressStyle};

use super::library_args::{LibraryArg, ModelArg};

/// Arguments of `earmark scan`.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Folders to scan (recursively).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    #[command(flatten)]
    library: LibraryArg,
    #[command(flatten)]
    model: ModelArg,
    /// Analyse every file whole (the default on a GPU; on the CPU long files get --windows).
    #[arg(long)]
    full: bool,
    /// On the CPU, windows of 6.08 s analysed per file longer than --full-up-to.
    #[arg(long, default_value_t = 5)]
    windows: usize,
    /// Files up to this many seconds are always analysed whole.
    #[arg(long, default_value_t = 30.0)]
    full_up_to: f64,
    /// Also scan hidden folders and files.
    #[arg(long)]
    hidden: bool,
    /// Encoder chunks per batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// A tag head run on the library after the scan: a probe file, a multi-label tag head, or an
    /// AudioSet encoder+head checkpoint (which runs its own encoder pass). Default: the head
    /// chosen in the window, else the bundled model's starter head when the bundled model is
    /// active.
    #[arg(long)]
    head: Option<PathBuf>,
    /// The head's vocabulary (official mapping file or one label per line).
    #[arg(long, requires = "head")]
    labels: Option<PathBuf>,
    /// Lowest probability a file's tag keeps (default: the head's saved threshold, 0.05 for a
    /// probe, 0.3 for the starter head).
    #[arg(long)]
    threshold: Option<f32>,
    /// Most tags per file from the head (default: the head's saved top-N, 5, 3 for the starter
    /// head).
    #[arg(long)]
    top_n: Option<usize>,
    /// Print the scan report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// The head that tags the library: `--head`, else the head in force for the model at `weights`
/// (the chosen one, else the bundled model's starter head), with its limits.
fn head_choice(args: &ScanArgs, weights: &std::path::Path) -> Option<HeadChoice> {
    let settings = earmark::config::Settings::load();
    let (path, labels) = match &args.head {
        Some(h) => (h.clone(), args.labels.clone()),
        None => {
            let in_force = earmark::model::bundled::head_in_force(&settings, Some(weights));
            if let Some(why) = in_force.why_none()
                && !args.json
                && !args.quiet
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
            {
                eprintln!("note: {why} (Or pass --head.)");
            }
            in_force.head()?
        }
    };
    let saved = if args.head.is_some() {
        TagLimits::default()
    } else {
        settings.limits_for(&earmark::library::tagging::source_name(&path))
    };
    Some(HeadChoice {
        limits: TagLimits {
            threshold: args.threshold.unwrap_or(saved.threshold),
            top_n: args.top_n.unwrap_or(saved.top_n),
        },
        path,
        labels,
        device: args.model.device,
    })
}

/// Runs the scan job on the job queue and shows its events.
pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let mut lib = args.library.open_writable()?;
    let weights = args.model.weights(&lib)?;
    let active = args.model.load(&lib)?;
    let budget = if args.full || active.on_gpu {
        Budget::Full
    } else {
        Budget::Windows {
            count: args.windows,
            full_up_to_s: args.full_up_to,
        }
    };
    let opts = ScanOptions {
        roots: args.dirs.clone(),
        walk: WalkOptions {
            hidden: args.hidden,
        },
        budget,
        max_batch: args.batch,
        heads: head_choice(args, &weights).into_iter().collect(),
    };
    let (report_tx, report_rx) = crossbeam_channel::bounded::<ScanReport>(1);
    let queue = JobQueue::new()?;
    let handle = queue.submit("scan", move |ctx| {
        let report = scan(&mut lib, &active.encoder, &active.identity, &opts, ctx)?;
        let summary = report.summary();
        let _ = report_tx.send(report);
        Ok(summary)
    })?;
    let bar = if args.quiet || args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} eta {eta} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut code = ExitCode::SUCCESS;
    for event in handle.events.iter() {
        match event {
            JobEvent::Started { .. } => {}
            JobEvent::Note(n) => {
                if !bar.is_hidden() {
                    bar.println(n);
                } else if !args.json && is_problem(&n) {
                    // Not on a terminal (or --quiet): problems still get a line each.
                    eprintln!("{n}");
                }
            }
            JobEvent::Progress(p) => {
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
                bar.set_message(p.current.unwrap_or_default());
            }
            JobEvent::ItemFailed { item, reason } => {
                let line = format!("error: {item}: {reason}");
                if !bar.is_hidden() {
                    bar.println(line);
                } else if !args.json {
                    eprintln!("{line}");
                }
            }
            JobEvent::Done { summary } => {
                bar.finish_and_clear();
                if !args.json {
                    println!("{summary}");
                }
            }
            JobEvent::Cancelled => {
                bar.abandon();
                eprintln!("scan cancelled");
                code = ExitCode::FAILURE;
            }
            JobEvent::Failed { reason } => {
                bar.abandon();
                eprintln!("earmark: scan failed: {reason}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if let (true, Ok(report)) = (args.json, report_rx.try_recv()) {
        println!("{}", report_json(&report));
    }
    Ok(code)
}

/// Notes that report a problem, printed even without a progress bar.
fn is_problem(note: &str) -> bool {
    ["offline:", "walk problem:"]
        .iter()
        .any(|p| note.starts_with(p))
        || note.contains(" not used: ")
}

fn report_json(r: &ScanReport) -> serde_json::Value {
    let roots: Vec<_> = r
        .roots
        .iter()
        .map(|(root, f)| {
            serde_json::json!({
                "root": root, "new": f.new, "changed": f.changed, "touched": f.touched,
                "moved": f.moved, "removed": f.removed, "restored": f.restored,
                "purged": f.purged, "unchanged": f.unchanged, "offline": f.offline,
                "walk_problems": f.walk_problems,
            })
        })
        .collect();
    let failed: Vec<_> = r
        .failed
        .iter()
        .map(|(p, why)| serde_json::json!({"path": p, "reason": why}))
        .collect();
    let too_short: Vec<_> = r
        .too_short
        .iter()
        .map(|(p, s)| serde_json::json!({"path": p, "duration_s": s}))
        .collect();
    serde_json::json!({
        "roots": roots, "analysed": r.analysed, "failed": failed, "tagged": r.tagged,
        "too_short": too_short, "measured": r.measured,
    })
}
