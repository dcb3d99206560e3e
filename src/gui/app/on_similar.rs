//! The Similar tab's commands: "Find similar" for the selection (or its region), the same
//! query again when the tab's filters change, and auditioning a result (a click, or Up/Down
//! while the tab is shown).

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::state::Panel;
use crate::gui::shared::view::ViewCtx;

/// Starts a query for the selected file, or for the inspector's region of it, and shows the
/// Similar tab.
pub(super) fn find(app: &mut EarmarkApp, ctx: &egui::Context) {
    let region = app.inspector.region();
    match app.similar.start(ctx, &ViewCtx::new(&app.shared), region) {
        Ok(()) => app.shared.state.panel = Panel::Similar,
        Err(why) => app.shared.notices.push(why),
    }
}

/// Runs the last query again with the Similar tab's (changed) filters.
pub(super) fn refine(app: &mut EarmarkApp, ctx: &egui::Context) {
    app.similar.refine(ctx, &ViewCtx::new(&app.shared));
}

/// Auditions the result `step` rows from the current one.
pub(super) fn move_result(app: &mut EarmarkApp, ctx: &egui::Context, step: i32) {
    if let Some(i) = app.similar.step(step) {
        audition(app, ctx, i);
    }
}

/// Selects result `i` and plays it (from its best segment after a region search).
pub(super) fn audition(app: &mut EarmarkApp, ctx: &egui::Context, i: usize) {
    let Some(hit) = app.similar.audition(i) else {
        return;
    };
    if let Some(at) = hit.at_s {
        app.inspector.seek_when_played(f64::from(at));
    }
    super::on_library::select(app, ctx, hit.file_id, hit.path, true);
}
