//! The Models tab's commands: reading the installed models and the catalog, probing the GPU,
//! importing a checkpoint the dialog chose, and downloading a catalog entry (a job of the
//! background service, listed in the Jobs tab) or cancelling it; and drawing the tab.

use std::path::PathBuf;

use eframe::egui;

use crate::config::models_dir;
use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::shared::view::ViewCtx;
use crate::jobs::JobKind;

/// Draws the Models tab and queues what it asks for.
pub(crate) fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let commands = app.models.ui(ui, &ViewCtx::new(&app.shared));
    app.commands.extend(commands);
}

/// Takes the tab's finished work (once per frame).
pub(super) fn poll(app: &mut EarmarkApp) {
    let commands = app.models.poll(&ViewCtx::new(&app.shared));
    app.commands.extend(commands);
}

/// Lists the installed models and reads the catalog where they are not read yet.
pub(super) fn read(app: &mut EarmarkApp, ctx: &egui::Context) {
    let folders = app.shared.opts.model_folders.clone();
    app.models.read(&app.shared.service, ctx, folders);
}

/// Looks for a GPU to show in the tab.
pub(super) fn probe_gpu(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.shared.opts.probe_gpu {
        app.models.probe_gpu(&app.shared.service, ctx);
    }
}

/// The file dialog chose a checkpoint to import.
pub(super) fn import_chosen(app: &mut EarmarkApp, src: PathBuf) {
    app.commands.push(Command::ImportModel(src));
}

/// Imports checkpoint `src` into the models folder (a model is made active once imported).
pub(super) fn import(app: &mut EarmarkApp, ctx: &egui::Context, src: PathBuf) {
    app.models
        .import(&app.shared.service, ctx, src, models_dir());
}

/// Downloads (or resumes) catalog entry `name`.
pub(super) fn download(app: &mut EarmarkApp, ctx: &egui::Context, name: &str) {
    let folders = app.shared.opts.model_folders.clone();
    let Some(job) = app.models.new_download(ctx, name, folders.as_deref()) else {
        return;
    };
    let started = app
        .shared
        .service
        .submit(JobKind::Download, &job.name, job.work)
        .map(|ticket| ticket.control);
    app.models.download_started(started);
}

/// Stops the download in progress.
pub(super) fn cancel_download(app: &mut EarmarkApp) {
    app.models.cancel_download();
}
