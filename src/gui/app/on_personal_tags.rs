//! The handler's part for personal tags and the Tags tab: adding an example and answering the
//! review start jobs of the background service through
//! [`crate::gui::personal_tags::PersonalTagsPanel`] (the Jobs tab lists them), the review list
//! is read on request, and the chosen review tag and the head's limits are kept in the UI state
//! and the settings. The Tags tab itself is the personal tags beside the write-back section.

use eframe::egui;

use crate::config::TagLimits;
use crate::gui::app::EarmarkApp;
use crate::gui::shared::view::ViewCtx;

/// Draws the Tags tab: personal tags on the left, writing tags into files on the right.
pub(super) fn tab_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.columns(2, |cols| {
        let cx = ViewCtx::new(&app.shared);
        let mut commands = app.tags.ui(&mut cols[0], &cx);
        egui::ScrollArea::vertical()
            .id_salt("writeback-column")
            .auto_shrink(false)
            .show(&mut cols[1], |ui| {
                commands.extend(app.writeback.ui(ui, &cx))
            });
        app.commands.extend(commands);
    });
}

/// Adds an example of `label` (the file, or a region of it) and refits the tag.
pub(super) fn add(app: &mut EarmarkApp, label: String, file_id: i64, region: Option<(f64, f64)>) {
    let started = app
        .tags
        .start_add(&ViewCtx::new(&app.shared), label, file_id, region);
    notify(app, started);
}

/// Records a review answer and refits the tag.
pub(super) fn answer(app: &mut EarmarkApp, label: String, file_id: i64, accepted: bool) {
    let started = app
        .tags
        .start_answer(&ViewCtx::new(&app.shared), label, file_id, accepted);
    notify(app, started);
}

/// Takes the last review answer back.
pub(super) fn undo(app: &mut EarmarkApp) {
    let started = app.tags.start_undo(&ViewCtx::new(&app.shared));
    notify(app, started);
}

/// Applies the fitted personal tags to the files scanned since they were fitted.
pub(super) fn apply(app: &mut EarmarkApp) {
    let started = app.tags.start_apply(&ViewCtx::new(&app.shared));
    notify(app, started);
}

/// Reads the review list of the chosen tag.
pub(super) fn read_review(app: &mut EarmarkApp, ctx: &egui::Context) {
    app.tags.start_review(&ViewCtx::new(&app.shared), ctx);
}

/// Shows the review list of `label`.
pub(super) fn set_review_tag(app: &mut EarmarkApp, label: String) {
    app.shared.state.review_tag = Some(label);
}

/// Keeps the tag head `source`'s threshold and top-N in the settings.
pub(super) fn set_head_limits(app: &mut EarmarkApp, source: String, limits: TagLimits) {
    app.shared.settings.head_limits.insert(source, limits);
    app.save_settings();
}

fn notify(app: &mut EarmarkApp, started: Result<(), String>) {
    if let Err(e) = started {
        app.shared.notices.push(e);
    }
}
