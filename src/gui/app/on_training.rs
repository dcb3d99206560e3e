//! The Training tab's commands: starting, resuming, pausing and stopping a run (a job of the
//! background service, listed in the Jobs tab), evaluating a checkpoint, the folders and the
//! model the dialogs chose for the form, and drawing the tab.

use std::path::PathBuf;

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::view::ViewCtx;
use crate::jobs::JobKind;

/// Draws the Training tab and queues what it asks for.
pub(crate) fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let commands = app.training.ui(ui, &ViewCtx::new(&app.shared));
    app.commands.extend(commands);
}

/// Takes the run's events (once per frame).
pub(super) fn poll(app: &mut EarmarkApp) {
    let commands = app.training.poll(&ViewCtx::new(&app.shared));
    app.commands.extend(commands);
}

/// Starts a new run with the form's options, or (`resume`) continues the last one.
pub(super) fn start(app: &mut EarmarkApp, resume: bool) {
    if app.training.running() {
        return;
    }
    let active = app.shared.model.active.as_ref().map(|m| m.path.clone());
    let Some(job) = app.training.new_run(resume, active.as_deref()) else {
        return;
    };
    let started = app
        .shared
        .service
        .submit(JobKind::Training, &job.name, job.work)
        .map(|ticket| ticket.control);
    app.training.started(started);
}

/// Pauses the run, or lets it go on.
pub(super) fn pause(app: &mut EarmarkApp) {
    app.training.toggle_pause();
}

/// Stops the run after the current update.
pub(super) fn stop(app: &mut EarmarkApp) {
    app.training.stop();
}

/// Evaluates checkpoint `ck` on the evaluation folder.
pub(super) fn evaluate(app: &mut EarmarkApp, ctx: &egui::Context, ck: PathBuf) {
    app.training
        .evaluate_checkpoint(&app.shared.service, ctx, &ck);
}

/// Compares the finished run's model with the active one on the evaluation folder.
pub(super) fn compare(app: &mut EarmarkApp, ctx: &egui::Context) {
    let cx = ViewCtx::new(&app.shared);
    app.training.start_compare(&app.shared.service, ctx, &cx);
}

/// The folder dialog chose a data folder.
pub(super) fn folder_chosen(app: &mut EarmarkApp, path: PathBuf) {
    let roots = &mut app.training.form.roots;
    if !roots.contains(&path) {
        roots.push(path);
    }
}

/// The folder dialog chose the labelled evaluation folder.
pub(super) fn eval_folder_chosen(app: &mut EarmarkApp, path: PathBuf) {
    app.training.form.eval_folder = Some(path);
}

/// The file dialog chose the model a run continues.
pub(super) fn init_model_chosen(app: &mut EarmarkApp, path: PathBuf) {
    app.training.form.init = Some(path);
    app.training.form.from_scratch = false;
}
