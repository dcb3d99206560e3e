//! The handler's part for tag write-back: the Preview, Write and Undo buttons start their jobs
//! through [`crate::gui::writeback::WritebackPanel`] on the background service (the Jobs tab
//! lists them).

use crate::gui::app::EarmarkApp;
use crate::gui::shared::view::ViewCtx;

/// Starts the preview of the chosen fields.
pub(super) fn preview(app: &mut EarmarkApp) {
    app.writeback.start_preview(&ViewCtx::new(&app.shared));
}

/// Writes the previewed tags.
pub(super) fn apply(app: &mut EarmarkApp) {
    app.writeback.start_apply(&ViewCtx::new(&app.shared));
}

/// Undoes the newest write.
pub(super) fn undo(app: &mut EarmarkApp) {
    app.writeback.start_undo(&ViewCtx::new(&app.shared));
}
