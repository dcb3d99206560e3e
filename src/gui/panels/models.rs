//! The Models panel: installed models (bundled and imported), the active one and the device it
//! runs on, importing a checkpoint (checked by loading it, then copied into the data
//! directory), the official models available to download (a worker-thread download with
//! progress, speed, time left and Cancel) and the tag head used for predicted tags.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eframe::egui;

use crate::config::models_dir;
use crate::gpu::{GpuContext, GpuOptions};
use crate::gui::app::EarmarkApp;
use crate::gui::command::Command;
use crate::gui::models::{
    CatalogView, DownloadJob, InstalledModel, ModelSource, download_dir, format_size,
    import as import_model, installed_models,
};
use crate::gui::tasks::{Task, poll_slot};
use crate::models_catalog::{EntryKind, EntryStatus, describe_transfer};

/// Device choices offered.
const DEVICES: [(&str, &str); 3] = [
    ("auto", "Automatic (best GPU, else CPU)"),
    ("wgpu", "GPU through wgpu (Vulkan, Metal, DirectX 12)"),
    ("cpu", "CPU"),
];

/// The panel's live state.
#[derive(Default)]
pub struct ModelsState {
    list_task: Option<Task<Vec<InstalledModel>>>,
    /// Installed models, once listed.
    pub list: Option<Vec<InstalledModel>>,
    import_task: Option<Task<crate::Result<PathBuf>>>,
    /// The last import's outcome.
    pub import_note: Option<Result<String, String>>,
    gpu: Option<Arc<Mutex<Option<String>>>>,
    catalog_task: Option<Task<CatalogView>>,
    /// The catalog and the status of its entries, once read.
    pub catalog: Option<CatalogView>,
    /// A catalog file to use instead of the one in force (tests point it at a local server).
    pub catalog_file: Option<PathBuf>,
    /// The download in progress.
    pub download: Option<DownloadJob>,
    /// The last download's outcome.
    pub download_note: Option<Result<String, String>>,
}

/// Starts importing `src`.
pub fn import(app: &mut EarmarkApp, src: PathBuf) {
    let Some(dest) = models_dir() else {
        app.models.import_note = Some(Err("no data directory to keep models in (set HOME)".into()));
        return;
    };
    let ctx_free = move || import_model(&src, &dest);
    // A load check of a large checkpoint takes seconds: a worker thread does it.
    app.models.import_task = Some(Task::spawn_detached("earmark-import", ctx_free));
    app.models.import_note = None;
}

/// Takes finished work.
pub fn poll(app: &mut EarmarkApp) {
    if let Some(list) = poll_slot(&mut app.models.list_task) {
        app.models.list = Some(list);
    }
    if let Some(view) = poll_slot(&mut app.models.catalog_task) {
        app.models.catalog = Some(view);
    }
    if let Some(result) = app.models.download.as_mut().and_then(DownloadJob::poll) {
        let name = app
            .models
            .download
            .take()
            .map(|d| d.name)
            .unwrap_or_default();
        app.models.download_note = Some(match result {
            Ok(report) => {
                let mut note = format!("Downloaded {name}: {}", report.path.display());
                for n in &report.notes {
                    note.push_str(&format!("\n{n}"));
                }
                Ok(note)
            }
            Err(crate::Error::Cancelled) => Err(format!(
                "Download of {name} cancelled; Download again resumes it."
            )),
            Err(crate::Error::Download(why)) => Err(format!("Download of {name} failed: {why}")),
            Err(e) => Err(format!("Download of {name} failed: {e}")),
        });
        app.models.list = None;
        app.models.catalog = None;
    }
    if let Some(result) = poll_slot(&mut app.models.import_task) {
        match result {
            Ok(path) => {
                app.models.import_note = Some(Ok(format!("Imported {}", path.display())));
                app.models.list = None;
                app.push(Command::UseModel(path));
            }
            Err(e) => app.models.import_note = Some(Err(format!("Not imported: {e}"))),
        }
    }
}

/// Draws the panel.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| panel_ui(ui, app));
}

fn panel_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    if app.models.list.is_none() && app.models.list_task.is_none() {
        let folders = app.opts.model_folders.clone();
        app.models.list_task = Some(Task::spawn("earmark-models", ui.ctx(), move || {
            installed_models(folders.as_deref())
        }));
    }
    ui.heading("Active model");
    match &app.model.active {
        Some(m) => {
            ui.label(format!(
                "{} — {}-d, {} blocks, {} heads, {}-frame chunks",
                m.name(),
                m.config.embed_dim,
                m.config.depth,
                m.config.num_heads,
                m.config.n_t
            ));
            ui.small(m.path.display().to_string());
        }
        None => {
            ui.colored_label(ui.visuals().warn_fg_color, app.model_line());
        }
    }
    device_ui(ui, app);
    ui.separator();
    ui.horizontal(|ui| {
        ui.heading("Installed models");
        if ui
            .button("Import checkpoint…")
            .on_hover_text(".safetensors or .pt")
            .clicked()
        {
            app.push(Command::ImportModelDialog);
        }
        if ui.button("Refresh").on_hover_text("List again").clicked() {
            app.models.list = None;
            app.models.catalog = None;
        }
    });
    if app.models.import_task.is_some() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Checking and copying the checkpoint…");
        });
    }
    match &app.models.import_note {
        Some(Ok(n)) => {
            ui.label(n);
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
    let active = app.model.path.clone();
    let Some(list) = &app.models.list else {
        ui.spinner();
        catalog_ui(ui, app);
        return;
    };
    if list.is_empty() {
        ui.label("No model installed: import one or train one.");
    }
    let mut chosen = None;
    egui::Grid::new("models").striped(true).show(ui, |ui| {
        for m in list {
            let name = m
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            ui.label(name).on_hover_text(m.path.display().to_string());
            ui.label(match m.source {
                ModelSource::Bundled => "bundled",
                ModelSource::Installed => "installed",
                ModelSource::Elsewhere => "elsewhere",
            });
            ui.label(format_size(m.size));
            match &m.config {
                Ok(c) => {
                    ui.label(format!("{}-d · {} blocks", c.embed_dim, c.depth));
                    if active.as_ref() == Some(&m.path) {
                        ui.strong("active");
                    } else if ui.button("Use").clicked() {
                        chosen = Some(m.path.clone());
                    }
                }
                Err(e) => {
                    ui.colored_label(ui.visuals().warn_fg_color, "not an encoder")
                        .on_hover_text(e);
                    ui.label("");
                }
            }
            ui.end_row();
        }
    });
    if let Some(p) = chosen {
        app.push(Command::UseModel(p));
    }
    ui.separator();
    catalog_ui(ui, app);
    ui.separator();
    ui.heading("Tag head");
    match &app.settings.head {
        Some(h) if h.is_file() => {
            ui.label(h.display().to_string());
        }
        Some(h) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Head file not found: {}", h.display()),
            );
        }
        None => {
            ui.weak("No head chosen: predicted tags are off.");
        }
    }
    downloaded_heads_ui(ui, app);
}

/// The probe heads of downloaded archives, each with a Use button.
fn downloaded_heads_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let Some(view) = &app.models.catalog else {
        return;
    };
    if view.heads.is_empty() {
        return;
    }
    let mut chosen = None;
    egui::Grid::new("heads").striped(true).show(ui, |ui| {
        for (head, labels) in &view.heads {
            let group = head
                .parent()
                .and_then(|g| g.file_name())
                .map_or_else(String::new, |g| g.to_string_lossy().into_owned());
            let task = head
                .file_stem()
                .map_or_else(String::new, |t| t.to_string_lossy().into_owned());
            ui.label(format!("{group} / {task}"))
                .on_hover_text(head.display().to_string());
            ui.label(if labels.is_some() {
                "class names"
            } else {
                "numbered classes"
            });
            if app.settings.head.as_ref() == Some(head) {
                ui.strong("in use");
            } else if ui.button("Use head").clicked() {
                chosen = Some((head.clone(), labels.clone()));
            }
            ui.end_row();
        }
    });
    if let Some((head, labels)) = chosen {
        app.push(Command::UseHead { head, labels });
    }
}

fn device_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let current = DEVICES
        .iter()
        .find(|(id, _)| *id == app.settings.device)
        .map_or(app.settings.device.as_str(), |(_, label)| label)
        .to_string();
    let mut chosen = app.settings.device.clone();
    ui.horizontal(|ui| {
        ui.label("Encoder device:");
        egui::ComboBox::from_id_salt("device")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for (id, label) in DEVICES {
                    ui.selectable_value(&mut chosen, id.to_string(), label);
                }
            });
    });
    if chosen != app.settings.device {
        app.push(Command::SetDevice(chosen));
    }
    if !app.opts.probe_gpu {
        return;
    }
    let slot = app.models.gpu.get_or_insert_with(|| {
        let slot = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        let _ = crate::jobs::spawn_named("earmark-gpu-probe", move || {
            let probe = || match GpuContext::new(&GpuOptions::default()) {
                Ok(ctx) => format!("GPU: {}", ctx.describe()),
                Err(e) => format!("No GPU available ({e}); the CPU is used."),
            };
            // A driver that panics while being probed must not leave the spinner forever.
            let found = crate::jobs::guard::run_caught(probe).unwrap_or_else(|panicked| {
                format!("No GPU available (the probe failed: {panicked}); the CPU is used.")
            });
            if let Ok(mut s) = out.lock() {
                *s = Some(found);
            }
        });
        slot
    });
    match slot.lock().ok().and_then(|s| s.clone()) {
        Some(line) => {
            ui.label(line);
        }
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Looking for a GPU…");
            });
        }
    }
}

/// "Available to download": the catalog's models and probe heads, each with its status and a
/// Download button; the download in progress with its bar, speed, time left and Cancel.
fn catalog_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.heading("Available to download");
    if app.models.catalog.is_none() && app.models.catalog_task.is_none() {
        let file = app.models.catalog_file.clone();
        let dir = download_dir(app.opts.model_folders.as_deref());
        app.models.catalog_task = Some(Task::spawn("earmark-catalog", ui.ctx(), move || {
            CatalogView::read(file.as_deref(), dir)
        }));
    }
    download_progress_ui(ui, app);
    match &app.models.download_note {
        Some(Ok(n)) => {
            ui.label(n);
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
    let Some(view) = &app.models.catalog else {
        ui.spinner();
        return;
    };
    let catalog = match &view.catalog {
        Ok(c) => c,
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("No catalog: {e}"));
            return;
        }
    };
    if view.dir.is_none() {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "No data directory to keep models in (set HOME).",
        );
    }
    let busy = app.models.download.is_some() || view.dir.is_none();
    let mut start = None;
    egui::Grid::new("catalog").striped(true).show(ui, |ui| {
        for (entry, state) in catalog.entries.iter().zip(&view.statuses) {
            if entry.kind == EntryKind::Vocabulary {
                continue;
            }
            let mut hover = entry.description.clone();
            if let Some(cfg) = &entry.config {
                hover.push_str(&format!("\nNeeds: {}", cfg.summary()));
            }
            hover.push_str(&format!("\n{}", entry.url));
            ui.label(&entry.name).on_hover_text(hover);
            ui.label(entry.kind.label());
            ui.label(
                entry
                    .size
                    .map_or_else(|| "size unknown".into(), format_size),
            );
            match state {
                EntryStatus::Installed => {
                    ui.label("installed");
                }
                EntryStatus::Partial { bytes } => {
                    ui.label(format!("{} received", format_size(*bytes)));
                }
                EntryStatus::Missing => {
                    ui.label("");
                }
            }
            let label = match state {
                EntryStatus::Installed => "Download again",
                EntryStatus::Partial { .. } => "Resume",
                EntryStatus::Missing => "Download",
            };
            if ui
                .add_enabled(!busy, egui::Button::new(label))
                .on_hover_text(&entry.description)
                .clicked()
            {
                start = Some(entry.name.clone());
            }
            ui.end_row();
        }
    });
    ui.weak("Class names come with the heads that use them.");
    if let (Some(name), Some(dir)) = (start, view.dir.clone())
        && let Ok(catalog) = &view.catalog
    {
        app.models.download = Some(DownloadJob::start(catalog.clone(), &name, dir, ui.ctx()));
        app.models.download_note = None;
    }
}

fn download_progress_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let Some(job) = &app.models.download else {
        return;
    };
    let progress = job.progress();
    let fraction = progress
        .as_ref()
        .and_then(|p| p.total.filter(|&t| t > 0).map(|t| p.done as f32 / t as f32))
        .unwrap_or(0.0);
    let text = progress.as_ref().map_or_else(
        || format!("Connecting for {}…", job.name),
        describe_transfer,
    );
    let mut cancel = false;
    ui.horizontal(|ui| {
        ui.add(
            egui::ProgressBar::new(fraction)
                .text(text)
                .desired_width((ui.available_width() - 90.0).max(120.0)),
        );
        if job.is_cancelling() {
            ui.label("Stopping…");
        } else if ui.button("Cancel").clicked() {
            cancel = true;
        }
    });
    if cancel {
        job.cancel();
    }
}
