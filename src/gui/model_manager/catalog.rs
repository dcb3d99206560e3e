//! The download side of the Models tab: the catalog and where each entry stands, the probe heads
//! unpacked from downloaded archives, the folder downloads go to, and the download itself as a
//! job of the background service ([`download_work`]: progress with speed and time left, pause
//! and cancel at its next piece, what arrived kept for a resume), including the one download of
//! the official model with its probe heads ([`OFFICIAL`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;

use crate::catalog::{
    Catalog, EntryStatus, FetchOptions, Fetcher, Installer, TransferProgress, describe_transfer,
    status,
};
use crate::error::{Error, Result};
use crate::gui::shared::active_model::{ModelSource, is_weight_file};
use crate::jobs::{JobContext, Progress, run_caught};

/// The name `Command::DownloadModel` takes for the official model with its probe heads.
pub const OFFICIAL: &str = "matpac-plus+probes";

/// The catalog entries of [`OFFICIAL`], in download order.
pub const OFFICIAL_PARTS: [&str; 2] = ["matpac-plus", "probes"];

/// The download's approximate size: the ViT-B encoder is 85.4 M numbers (≈342 MB as float32,
/// docs/matpac-spec.md §1.4); the probe archive holds linear heads on 3840-d inputs.
pub const OFFICIAL_SIZE: &str = "about 360 MB";

/// The catalog entries a download of `name` fetches.
pub fn parts(name: &str) -> Vec<String> {
    if name == OFFICIAL {
        OFFICIAL_PARTS.iter().map(|p| (*p).to_string()).collect()
    } else {
        vec![name.to_string()]
    }
}

/// The catalog and where each entry stands, read off the UI thread.
#[derive(Debug, Clone)]
pub struct CatalogView {
    /// The catalog, or why it cannot be read.
    pub catalog: std::result::Result<Catalog, String>,
    /// The models folder downloads go to.
    pub dir: Option<PathBuf>,
    /// Status of each entry, in catalog order.
    pub statuses: Vec<EntryStatus>,
    /// Probe heads unpacked from downloaded archives, with their class names when known.
    pub heads: Vec<(PathBuf, Option<PathBuf>)>,
}

impl CatalogView {
    /// Reads the catalog (`file`, else the one in force) and the status of its entries in `dir`.
    pub fn read(file: Option<&Path>, dir: Option<PathBuf>) -> Self {
        let catalog = Catalog::load(file).map_err(|e| e.to_string());
        let statuses = match (&catalog, &dir) {
            (Ok(c), Some(d)) => c.entries.iter().map(|e| status(e, d)).collect(),
            (Ok(c), None) => vec![EntryStatus::Missing; c.entries.len()],
            (Err(_), _) => Vec::new(),
        };
        let heads = dir.as_deref().map(downloaded_heads).unwrap_or_default();
        CatalogView {
            catalog,
            dir,
            statuses,
            heads,
        }
    }
}

/// The probe heads in `models_dir/heads/GROUP/`, sorted, each with its class names if any.
pub fn downloaded_heads(models_dir: &Path) -> Vec<(PathBuf, Option<PathBuf>)> {
    let root = models_dir.join(crate::catalog::install::HEADS_DIR);
    let mut out: Vec<PathBuf> = Vec::new();
    let Ok(groups) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    for group in groups.filter_map(|e| e.ok().map(|e| e.path())) {
        let Ok(files) = std::fs::read_dir(&group) else {
            continue;
        };
        out.extend(
            files
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_weight_file(p)),
        );
    }
    out.sort();
    out.into_iter()
        .map(|h| {
            let v = crate::catalog::head_vocabulary(&h);
            (h, v)
        })
        .collect()
}

/// The folder downloads go to: the first installed-models folder of `folders` when given (tests),
/// else the data directory's.
pub fn download_dir(folders: Option<&[(PathBuf, ModelSource)]>) -> Option<PathBuf> {
    match folders {
        Some(f) => f
            .iter()
            .find(|(_, s)| *s == ModelSource::Installed)
            .map(|(d, _)| d.clone()),
        None => crate::config::models_dir(),
    }
}

/// `why` with the entry's address said once: a transfer that gave up after its tries reports
/// "URL: URL: could not connect …" (the last try's reason carries the address too).
fn url_once(why: &str, catalog: &Catalog, name: &str) -> String {
    let Some(entry) = catalog.entries.iter().find(|e| e.name == name) else {
        return why.to_string();
    };
    let once = format!("{}: ", entry.url);
    why.replace(&once.repeat(2), &once)
}

/// What a download tells the Models tab while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum DownloadNews {
    /// Bytes arrived.
    Progress(TransferProgress),
    /// It ended: what to tell the user (`Err`: it did not install).
    Ended(std::result::Result<String, String>),
}

/// The download of catalog entry `name` (or of the official model's parts, for
/// [`OFFICIAL`]) into `dir` as a job: its progress goes to the job's
/// events (bytes done of the total, with speed and time left) and to `news` (with `wake` asked
/// to redraw), a pause holds it at its next piece and a cancel stops it there, keeping what
/// arrived. A panic inside ends it failed with its message.
pub fn download_work(
    catalog: Catalog,
    name: String,
    dir: PathBuf,
    news: Sender<DownloadNews>,
    wake: impl Fn() + Send + 'static,
) -> impl FnOnce(&JobContext) -> Result<String> + Send + 'static {
    move |ctx| {
        let stop = AtomicBool::new(ctx.control.is_cancelled());
        let started = std::time::Instant::now();
        let installer = Installer::new(&catalog, dir, Fetcher::new(FetchOptions::default()));
        let mut progress = |p: &TransferProgress| {
            // Holds here while paused; a cancel stops the transfer at its next piece.
            if ctx.checkpoint().is_err() {
                stop.store(true, Ordering::SeqCst);
            }
            ctx.events.progress(Progress {
                done: usize::try_from(p.done).unwrap_or(usize::MAX),
                total: p
                    .total
                    .map_or(0, |t| usize::try_from(t).unwrap_or(usize::MAX)),
                failed: 0,
                current: Some(describe_transfer(p)),
                elapsed: started.elapsed(),
                eta: p.eta,
            });
            let _ = news.try_send(DownloadNews::Progress(p.clone()));
            wake();
        };
        // One entry, or the official model's parts one after the other (the first that fails
        // ends the job, with its reason said once).
        let mut installed = Vec::new();
        let mut outcome = Ok(Vec::new());
        for part in parts(&name) {
            let got = run_caught(|| installer.install(&part, &stop, &mut progress))
                .unwrap_or_else(|panicked| Err(panicked.into()));
            match got {
                Ok(report) => installed.push((part, report)),
                Err(e) => {
                    outcome = Err((part, e));
                    break;
                }
            }
        }
        if outcome.is_ok() {
            outcome = Ok(installed);
        }
        let (note, result) = match outcome {
            Ok(reports) => {
                let mut note = String::new();
                let mut summary = Vec::new();
                for (part, report) in &reports {
                    if !note.is_empty() {
                        note.push('\n');
                    }
                    note.push_str(&format!("Downloaded {part}: {}", report.path.display()));
                    for n in &report.notes {
                        note.push_str(&format!("\n{n}"));
                    }
                    summary.push(format!("{part}: {}", report.path.display()));
                }
                (Ok(note), Ok(summary.join("; ")))
            }
            Err((part, Error::Cancelled)) => (
                Err(format!(
                    "Download of {part} cancelled; Download again resumes it."
                )),
                Err(Error::Cancelled),
            ),
            Err((part, Error::Download(why))) => {
                let why = url_once(&why, &catalog, &part);
                (
                    Err(format!("Download of {part} failed: {why}")),
                    Err(Error::Download(why)),
                )
            }
            Err((part, e)) => (Err(format!("Download of {part} failed: {e}")), Err(e)),
        };
        let _ = news.send(DownloadNews::Ended(note));
        wake();
        result
    }
}
