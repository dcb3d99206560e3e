//! The Models tab: installed models (bundled and imported), the active one and the device it
//! runs on, importing a checkpoint (checked by loading it, then copied into the data
//! directory), the official models available to download (a job of the background service,
//! listed in the Jobs tab, with progress, speed, time left and Cancel here too) and the tag head
//! used for predicted tags.
//!
//! The feature keeps its own slots (the lists read, the import, the GPU probe, the download in
//! progress); the handler starts the work ([`ModelManager::read`], [`ModelManager::import`],
//! [`ModelManager::probe_gpu`], [`ModelManager::new_download`]) and [`ModelManager::poll`] takes
//! the results once per frame.
//!
//! - [`catalog`]: the catalog view, downloaded heads, the download job;
//! - `view`: the installed models, the device and the tag head;
//! - `downloads`: "Available to download" and the download's bar;
//! - [`official`]: what the bundled model is, and the one download of the official model with
//!   its probe heads.

pub mod catalog;
mod downloads;
pub mod official;
mod view;

use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::{Receiver, TryRecvError};
use eframe::egui;

use crate::catalog::TransferProgress;
use crate::gpu::{GpuContext, GpuOptions};
use crate::gui::shared::active_model::{InstalledModel, ModelSource, installed_models};
use crate::gui::shared::command::Command;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::jobs::{JobContext, JobControl, JobKind, Service};
use catalog::{CatalogView, DownloadNews, download_dir, download_work};

/// A job's work: it reports through its context and ends with a summary.
pub type JobWork = Box<dyn FnOnce(&JobContext) -> crate::Result<String> + Send>;

/// A download prepared for the background service: its name and its work.
pub struct DownloadJob {
    /// The job's name in the Jobs tab.
    pub name: String,
    /// The work.
    pub work: JobWork,
}

/// The download in progress, as the tab follows it.
pub struct DownloadSlot {
    /// The catalog entry being installed.
    pub name: String,
    news: Receiver<DownloadNews>,
    progress: Option<TransferProgress>,
    control: Option<Arc<JobControl>>,
}

impl DownloadSlot {
    /// The latest progress report.
    pub fn progress(&self) -> Option<TransferProgress> {
        self.progress.clone()
    }

    /// Whether a cancel was asked.
    pub fn is_cancelling(&self) -> bool {
        self.control.as_ref().is_some_and(|c| c.is_cancelled())
    }
}

/// The Models tab's own state.
#[derive(Default)]
pub struct ModelManager {
    list_task: Option<Task<Vec<InstalledModel>>>,
    /// Installed models, once listed.
    pub list: Option<Vec<InstalledModel>>,
    import_task: Option<Task<crate::Result<PathBuf>>>,
    /// The last import's outcome.
    pub import_note: Option<Result<String, String>>,
    gpu_probe: Option<Receiver<String>>,
    gpu: Option<String>,
    catalog_task: Option<Task<CatalogView>>,
    /// The catalog and the status of its entries, once read.
    pub catalog: Option<CatalogView>,
    /// A catalog file to use instead of the one in force (`None`: `EARMARK_CATALOG`, else the
    /// built-in one).
    pub catalog_file: Option<PathBuf>,
    /// The download in progress.
    pub download: Option<DownloadSlot>,
    /// The last download's outcome.
    pub download_note: Option<Result<String, String>>,
    /// The lists shown are to be read again (they stay shown until the new ones arrive, so
    /// nothing moves under the pointer).
    stale: bool,
}

impl ModelManager {
    /// Whether the installed models or the catalog are to be read (the tab asks for
    /// [`Command::ReadModels`]).
    fn wants_reads(&self) -> bool {
        ((self.list.is_none() || self.stale) && self.list_task.is_none())
            || ((self.catalog.is_none() || self.stale) && self.catalog_task.is_none())
    }

    /// Lists the installed models of `folders` (`None`: the usual folders) and reads the catalog,
    /// where they are not read or being read.
    pub fn read(
        &mut self,
        service: &Service,
        ctx: &egui::Context,
        folders: Option<Vec<(PathBuf, ModelSource)>>,
    ) {
        let stale = std::mem::take(&mut self.stale);
        if (self.list.is_none() || stale) && self.list_task.is_none() {
            let listed = folders.clone();
            self.list_task = Some(Task::on(service, "earmark-models", ctx, move || {
                installed_models(listed.as_deref())
            }));
        }
        if (self.catalog.is_none() || stale) && self.catalog_task.is_none() {
            let file = self.catalog_file.clone();
            let dir = download_dir(folders.as_deref());
            self.catalog_task = Some(Task::on(service, "earmark-catalog", ctx, move || {
                CatalogView::read(file.as_deref(), dir)
            }));
        }
    }

    /// Reads both lists again (the old ones stay shown until then).
    fn forget_lists(&mut self) {
        self.stale = true;
    }

    /// Looks for a GPU (once), as a GPU-probe job of `service`.
    pub fn probe_gpu(&mut self, service: &Service, ctx: &egui::Context) {
        if self.gpu.is_some() || self.gpu_probe.is_some() {
            return;
        }
        let wake = ctx.clone();
        let submitted = service.submit_with(JobKind::GpuProbe, "GPU probe", move |_| {
            let probe = || match GpuContext::new(&GpuOptions::default()) {
                Ok(ctx) => format!("GPU: {}", ctx.describe()),
                Err(e) => format!("No GPU available ({e}); the CPU is used."),
            };
            // A driver that panics while being probed must not leave the spinner forever.
            let line = crate::jobs::run_caught(probe).unwrap_or_else(|panicked| {
                format!("No GPU available (the probe failed: {panicked}); the CPU is used.")
            });
            wake.request_repaint();
            Ok((line.clone(), line))
        });
        match submitted {
            Ok((_, rx)) => self.gpu_probe = Some(rx),
            Err(e) => self.gpu = Some(format!("No GPU available ({e}); the CPU is used.")),
        }
    }

    /// Imports checkpoint `src` into `dest` (checked by loading it first, which takes seconds
    /// for a large one).
    pub fn import(
        &mut self,
        service: &Service,
        ctx: &egui::Context,
        src: PathBuf,
        dest: Option<PathBuf>,
    ) {
        let Some(dest) = dest else {
            self.import_note = Some(Err("no data directory to keep models in (set HOME)".into()));
            return;
        };
        self.import_task = Some(Task::on(service, "earmark-import", ctx, move || {
            crate::gui::shared::active_model::import(&src, &dest)
        }));
        self.import_note = None;
    }

    /// Prepares the download of catalog entry `name` (`None`: one is running, or the catalog or
    /// the models folder is missing). The tab follows it from now on; the caller submits the job
    /// and hands its control to [`download_started`](Self::download_started).
    /// The catalog is read here when the tab has not read it yet (a download asked for from the
    /// first start), with the models folder of `folders`.
    pub fn new_download(
        &mut self,
        ctx: &egui::Context,
        name: &str,
        folders: Option<&[(PathBuf, ModelSource)]>,
    ) -> Option<DownloadJob> {
        if self.download.is_some() {
            return None;
        }
        if self.catalog.is_none() {
            let view = CatalogView::read(self.catalog_file.as_deref(), download_dir(folders));
            self.catalog = Some(view);
        }
        let view = self.catalog.as_ref()?;
        let (catalog, dir) = (view.catalog.clone().ok()?, view.dir.clone()?);
        let (tx, rx) = crossbeam_channel::bounded(64);
        let wake = ctx.clone();
        let work = download_work(catalog, name.to_owned(), dir, tx, move || {
            wake.request_repaint();
        });
        self.download = Some(DownloadSlot {
            name: name.to_owned(),
            news: rx,
            progress: None,
            control: None,
        });
        self.download_note = None;
        let name = if name == catalog::OFFICIAL {
            "MATPAC++ and its probe heads"
        } else {
            name
        };
        if let Some(slot) = &mut self.download {
            slot.name = name.to_owned();
        }
        Some(DownloadJob {
            name: format!("Download {name}"),
            work: Box::new(work),
        })
    }

    /// The download's job was submitted (its control cancels it), or could not be.
    pub fn download_started(&mut self, control: crate::Result<Arc<JobControl>>) {
        match control {
            Ok(c) => {
                if let Some(d) = &mut self.download {
                    d.control = Some(c);
                }
            }
            Err(e) => {
                let name = self.download.take().map(|d| d.name).unwrap_or_default();
                self.download_note = Some(Err(format!("Download of {name} failed: {e}")));
            }
        }
    }

    /// Asks the download to stop; what arrived is kept for a resume.
    pub fn cancel_download(&self) {
        if let Some(c) = self.download.as_ref().and_then(|d| d.control.as_ref()) {
            c.cancel();
        }
    }

    /// Takes finished work (called once per frame); an imported model becomes the active one.
    pub fn poll(&mut self, _cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if let Some(list) = poll_slot(&mut self.list_task) {
            self.list = Some(list);
        }
        if let Some(view) = poll_slot(&mut self.catalog_task) {
            self.catalog = Some(view);
        }
        if let Some(rx) = &self.gpu_probe {
            match rx.try_recv() {
                Ok(line) => self.gpu = Some(line),
                Err(TryRecvError::Disconnected) => {
                    self.gpu = Some("No GPU available (the probe failed); the CPU is used.".into());
                }
                Err(TryRecvError::Empty) => {}
            }
            if self.gpu.is_some() {
                self.gpu_probe = None;
            }
        }
        self.poll_download();
        if let Some(result) = poll_slot(&mut self.import_task) {
            match result {
                Ok(path) => {
                    self.import_note = Some(Ok(format!("Imported {}", path.display())));
                    self.forget_lists();
                    commands.push(Command::UseModel(path));
                }
                Err(e) => self.import_note = Some(Err(format!("Not imported: {e}"))),
            }
        }
        commands
    }

    fn poll_download(&mut self) {
        let Some(slot) = &mut self.download else {
            return;
        };
        let mut ended = None;
        loop {
            match slot.news.try_recv() {
                Ok(DownloadNews::Progress(p)) => slot.progress = Some(p),
                Ok(DownloadNews::Ended(note)) => ended = Some(note),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    // The job ended without a word: cancelled before it started.
                    ended.get_or_insert_with(|| {
                        Err(format!("Download of {} did not run.", slot.name))
                    });
                    break;
                }
            }
        }
        if let Some(note) = ended {
            self.download = None;
            self.download_note = Some(note);
            self.forget_lists();
        }
    }

    /// Draws the tab; what the user asked for comes back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.wants_reads() {
            commands.push(Command::ReadModels);
        }
        if cx.opts.probe_gpu && self.gpu.is_none() && self.gpu_probe.is_none() {
            commands.push(Command::ProbeGpu);
        }
        if self.download.is_some() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| self.panel_ui(ui, cx, &mut commands));
        commands
    }
}
