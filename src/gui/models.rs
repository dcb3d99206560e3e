//! Models the window can use: the bundled default, the active model's description and identity,
//! and catalog downloads running on a worker thread ([`DownloadJob`]).
//! Listing and importing model files lives in [`crate::models_catalog::installed`], re-exported
//! here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::BUNDLED_MODEL;
use crate::error::{Error, Result};
use crate::gui::tasks::Task;
use crate::library::Library;
use crate::library::model_id::ModelIdentity;
use crate::model::{EncoderConfig, WeightFile, load};
use crate::models_catalog::{
    Catalog, EntryStatus, FetchOptions, Fetcher, InstallReport, Installer, TransferProgress, status,
};

pub use crate::models_catalog::installed::{
    InstalledModel, ModelSource, describe_file, format_size, import, installed_models,
    is_weight_file, model_folders,
};

/// The bundled default model: the copy in one of `folders` when given (tests), else the one
/// compiled into Earmark, written to the data directory on first use.
pub fn bundled_default(folders: Option<&[(PathBuf, ModelSource)]>) -> Option<PathBuf> {
    match folders {
        Some(folders) => folders
            .iter()
            .map(|(d, _)| d.join(BUNDLED_MODEL))
            .find(|p| p.is_file()),
        None => crate::model::bundled::bundled_model_path().ok(),
    }
}

/// The active model: its file, configuration and identity in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveModel {
    /// The weight file.
    pub path: PathBuf,
    /// Configuration.
    pub config: EncoderConfig,
    /// Identity (hash of weights and configuration).
    pub identity: ModelIdentity,
}

impl ActiveModel {
    /// Reads the configuration and hashes the weights of `path` (a worker-thread job for big
    /// files).
    pub fn describe(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Model(format!(
                "model file not found: {} — import one or choose another in Models",
                path.display()
            )));
        }
        let file = WeightFile::open(path)?;
        let config = load::resolve_config(&file)?;
        drop(file);
        let identity = ModelIdentity::of_file(path, &config)?;
        Ok(ActiveModel {
            path: path.to_path_buf(),
            config,
            identity,
        })
    }

    /// Short name for people.
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// This model's id in `lib`, if the library has it (read-only: nothing is registered).
    pub fn id_in(&self, lib: &Library) -> Result<Option<i64>> {
        lib.model_id_of(&self.identity.identity)
    }
}

/// A catalog download on a worker thread: its latest progress, a cancel flag and the result.
pub struct DownloadJob {
    /// The catalog entry being installed.
    pub name: String,
    progress: Arc<Mutex<Option<TransferProgress>>>,
    cancel: Arc<AtomicBool>,
    task: Task<Result<InstallReport>>,
}

impl DownloadJob {
    /// Starts installing `name` from `catalog` into `dir`; `ctx` is asked to repaint as bytes
    /// arrive.
    pub fn start(catalog: Catalog, name: &str, dir: PathBuf, ctx: &eframe::egui::Context) -> Self {
        let progress = Arc::new(Mutex::new(None));
        let cancel = Arc::new(AtomicBool::new(false));
        let (shared, stop, wake, entry) = (
            Arc::clone(&progress),
            Arc::clone(&cancel),
            ctx.clone(),
            name.to_owned(),
        );
        let task = Task::spawn("earmark-download", ctx, move || {
            let installer = Installer::new(&catalog, dir, Fetcher::new(FetchOptions::default()));
            installer.install(&entry, &stop, &mut |p| {
                if let Ok(mut slot) = shared.lock() {
                    *slot = Some(p.clone());
                }
                wake.request_repaint();
            })
        });
        DownloadJob {
            name: name.to_owned(),
            progress,
            cancel,
            task,
        }
    }

    /// The latest progress report.
    pub fn progress(&self) -> Option<TransferProgress> {
        self.progress.lock().ok().and_then(|p| p.clone())
    }

    /// Asks the transfer to stop; what arrived is kept for a resume.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was asked.
    pub fn is_cancelling(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The result, once the job has ended.
    pub fn poll(&mut self) -> Option<Result<InstallReport>> {
        self.task.poll_result()
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
    let root = models_dir.join(crate::models_catalog::install::HEADS_DIR);
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
            let v = crate::models_catalog::head_vocabulary(&h);
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
