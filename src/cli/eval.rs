//! `earmark eval --folders DIR | --labels FILE.csv`: what a model is worth on the user's own
//! labelled sounds (k-NN precision, few-shot accuracy), next to a log-mel statistics baseline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use earmark::config::Settings;
use earmark::engine::Engine;
use earmark::eval::{self, EvalHead, EvalModel, EvalOptions, EvalReport, FeatureScores};
use earmark::jobs::{JobEvent, JobQueue};
use earmark::library::analyse::Budget;
use earmark::library::{ACTIVE_MODEL_KEY, Library};
use earmark::model::Precision;
use earmark::model::device::DeviceChoice;
use earmark::tags::Head;
use earmark::tags::TagOptions;
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `earmark eval`.
#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("data").required(true).args(["folders", "labels"]))]
pub struct EvalArgs {
    /// A folder whose subfolders name the classes.
    #[arg(long, value_name = "DIR")]
    folders: Option<PathBuf>,
    /// A CSV file of `path,label` rows.
    #[arg(long, value_name = "FILE.csv")]
    labels: Option<PathBuf>,
    /// Encoder weights (default: the library's active model).
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// The library whose active model is used without --model.
    #[arg(long, value_name = "PATH")]
    library: Option<PathBuf>,
    /// A tag head on the model (with its vocabulary beside it, or `--head-labels`): its top-1
    /// accuracy and per-label precision/recall on the classes whose names are its labels.
    #[arg(long, value_name = "PATH", conflicts_with = "baseline_only")]
    head: Option<PathBuf>,
    /// The head's vocabulary (default: the one beside it).
    #[arg(long, value_name = "PATH", requires = "head")]
    head_labels: Option<PathBuf>,
    /// Only the log-mel baseline, no model.
    #[arg(long, conflicts_with = "model")]
    baseline_only: bool,
    /// Where the encoder runs (default: the device in the settings).
    #[arg(long)]
    device: Option<DeviceChoice>,
    /// Precision of the encoder's matrix products on the CPU: f32, bf16 (AVX512-BF16), int8
    /// (AVX512-VNNI) or auto (the fastest this CPU runs within Earmark's accuracy bars).
    #[arg(long, default_value = "auto", value_name = "P")]
    precision: Precision,
    /// Examples per class of the few-shot scores.
    #[arg(long, value_delimiter = ',', default_value = "1,5,10")]
    shots: Vec<usize>,
    /// Seeded repeats per shot count.
    #[arg(long, default_value_t = 10)]
    repeats: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The classifier's L2 penalty per feature (λ = penalty × width).
    #[arg(long, default_value_t = TagOptions::default().penalty_per_feature)]
    penalty: f64,
    /// Analyse every file whole (otherwise files over 30 s are represented by 5 windows).
    #[arg(long)]
    full: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// The model file: `--model`, else the active model of the library (when it exists), else the
/// bundled default model.
fn model_path(args: &EvalArgs) -> anyhow::Result<Option<PathBuf>> {
    if args.baseline_only {
        return Ok(None);
    }
    if let Some(m) = &args.model {
        return Ok(Some(m.clone()));
    }
    let lib_path = match &args.library {
        Some(p) => p.clone(),
        None => Library::default_path()?,
    };
    if lib_path.exists()
        && let Some(p) = Library::open(&lib_path)?.setting(ACTIVE_MODEL_KEY)?
    {
        return Ok(Some(PathBuf::from(p)));
    }
    Ok(Some(earmark::model::bundled::bundled_model_path()?))
}

/// Runs the evaluation job and prints its report.
pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let files = match (&args.folders, &args.labels) {
        (Some(dir), _) => eval::dataset::from_folders(dir)?,
        (None, Some(csv)) => eval::dataset::from_csv(csv)?,
        (None, None) => bail!("pass --folders DIR or --labels FILE.csv"),
    };
    let device = match args.device {
        Some(d) => d,
        None => Settings::load().device.parse().unwrap_or(DeviceChoice::Cpu),
    };
    let model = match model_path(args)? {
        Some(path) => {
            let used = super::embed::use_precision(args.precision)?;
            if !args.quiet && !args.json {
                eprintln!("encoder precision: {used}");
            }
            let engine = Engine::load(&path, device)
                .with_context(|| format!("loading {}", path.display()))?;
            for notice in engine.take_notices() {
                eprintln!("notice: {notice}");
            }
            let name = path
                .file_stem()
                .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
            Some((name, engine))
        }
        None => None,
    };
    let head = match &args.head {
        Some(path) => {
            let head = Head::load(path).with_context(|| format!("loading {}", path.display()))?;
            let vocab =
                super::predict::head_vocabulary(path, args.head_labels.as_deref(), head.classes())?;
            Some((head, vocab.labels))
        }
        None => None,
    };
    let opts = EvalOptions {
        shots: args.shots.clone(),
        repeats: args.repeats,
        seed: args.seed,
        budget: if args.full || model.as_ref().is_some_and(|m| m.1.on_gpu()) {
            Budget::Full
        } else {
            Budget::CPU_DEFAULT
        },
        classifier: TagOptions {
            penalty_per_feature: args.penalty,
            ..TagOptions::default()
        },
    };
    let bar = if args.quiet || args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(files.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} eta {eta} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (tx, rx) = crossbeam_channel::bounded::<EvalReport>(1);
    let queue = JobQueue::new()?;
    let handle = queue.submit("eval", move |ctx| {
        let m = model.as_ref().map(|(name, engine)| EvalModel {
            name,
            encoder: engine,
            head: head
                .as_ref()
                .map(|(head, vocabulary)| EvalHead { head, vocabulary }),
        });
        let report = eval::evaluate(&files, m, &opts, ctx)?;
        let summary = format!("{} files evaluated", report.items);
        let _ = tx.send(report);
        Ok(summary)
    })?;
    let mut code = ExitCode::SUCCESS;
    for event in handle.events.iter() {
        match event {
            JobEvent::Progress(p) => {
                bar.set_position(p.done as u64);
                bar.set_message(p.current.unwrap_or_default());
            }
            JobEvent::ItemFailed { item, reason } => {
                bar.println(format!("skipped {item}: {reason}"));
            }
            JobEvent::Note(n) => bar.set_message(n),
            JobEvent::Done { .. } => bar.finish_and_clear(),
            JobEvent::Started { .. } => {}
            JobEvent::Cancelled => {
                bar.abandon();
                eprintln!("evaluation cancelled");
                code = ExitCode::FAILURE;
            }
            JobEvent::Failed { reason } => {
                bar.abandon();
                eprintln!("earmark: evaluation failed: {reason}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if let Ok(report) = rx.try_recv() {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_report(&report);
        }
    }
    Ok(code)
}

fn print_report(r: &EvalReport) {
    let classes: Vec<String> = r
        .classes
        .iter()
        .map(|c| format!("{} {}", c.label, c.items))
        .collect();
    println!(
        "{} files, {} classes ({}); {} skipped",
        r.items,
        r.classes.len(),
        classes.join(", "),
        r.skipped.len()
    );
    let shots: Vec<usize> = r.baseline.few_shot.iter().map(|s| s.shots).collect();
    let mut header = format!("{:<28} {:>9} {:>9}", "features", "k-NN P@1", "P@10");
    for k in &shots {
        header.push_str(&format!(" {:>15}", format!("{k}-shot acc.")));
    }
    println!("{header}");
    for scores in r.model.iter().chain(std::iter::once(&r.baseline)) {
        println!("{}", row(scores));
    }
    println!("chance: {:.3}; few-shot: mean ± std over repeats", r.chance);
    if let Some(h) = &r.head {
        println!(
            "tag head: top-1 accuracy {:.3} on {} files (among the set's labels)",
            h.top1_accuracy, h.files
        );
        println!(
            "{:<20} {:>6} {:>10} {:>8}",
            "label", "files", "precision", "recall"
        );
        for l in &h.labels {
            println!(
                "{:<20} {:>6} {:>10.3} {:>8.3}",
                l.label, l.files, l.precision, l.recall
            );
        }
        if !h.unknown_classes.is_empty() {
            println!(
                "not labels of the head (not scored): {}",
                h.unknown_classes.join(", ")
            );
        }
    }
}

fn row(s: &FeatureScores) -> String {
    let mut line = format!(
        "{:<28} {:>9.3} {:>9.3}",
        format!("{} ({}-d)", s.name, s.dim),
        s.knn_precision_at_1,
        s.knn_precision_at_10
    );
    for a in &s.few_shot {
        let cell = if a.mean.is_nan() {
            "n/a".to_string()
        } else {
            format!("{:.3} ± {:.3}", a.mean, a.std)
        };
        line.push_str(&format!(" {cell:>15}"));
    }
    line
}
