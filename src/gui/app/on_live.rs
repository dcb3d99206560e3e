//! The handler's part for the Live tab (feature `live`): starting and stopping listening, the
//! audio devices (kept in the settings; a new input restarts listening, a new output reopens
//! playback), "find similar" for what was heard (shown in the Similar tab) and saving a snippet.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::state::Panel;
use crate::gui::shared::view::{PlayerSlot, ViewCtx};

/// Starts listening with the active model, or stops (the button and Ctrl+L).
pub(super) fn toggle(app: &mut EarmarkApp, ctx: &egui::Context) {
    app.live.toggle(&ViewCtx::new(&app.shared), ctx);
}

/// Lists the audio devices (again).
pub(super) fn list_devices(app: &mut EarmarkApp, ctx: &egui::Context) {
    app.live.refresh_devices(&ViewCtx::new(&app.shared), ctx);
}

/// Makes `device` the input listening captures from (`None`: the system's default), remembers
/// it in the settings and restarts a running session on it.
pub(super) fn set_input_device(app: &mut EarmarkApp, ctx: &egui::Context, device: Option<String>) {
    app.shared.settings.input_device = device;
    app.save_settings();
    app.live.restart(&ViewCtx::new(&app.shared), ctx);
}

/// Makes `device` the output playback uses (`None`: the system's default), remembers it in the
/// settings and reopens the output on the next play.
pub fn set_output_device(app: &mut EarmarkApp, device: Option<String>) {
    app.shared.settings.output_device = device;
    app.save_settings();
    if let PlayerSlot::Open(p) = &app.shared.player {
        p.pause();
    }
    // Closing a stream whose sound server died can block: not on this thread.
    let old = std::mem::take(&mut app.shared.player);
    app.shared.service.release(old);
    app.shared.player_file = None;
}

/// Searches the library for the last seconds heard; the results show in the Similar tab.
pub(super) fn find_similar(app: &mut EarmarkApp, ctx: &egui::Context) {
    let index = app.similar.index();
    match app
        .live
        .find_similar(&ViewCtx::new(&app.shared), index, ctx)
    {
        Ok(search) => {
            app.similar.show_search(search);
            app.shared.state.panel = Panel::Similar;
        }
        Err(message) => app.shared.notices.push(message),
    }
}

/// Saves the last seconds heard into the snippet folder (scanned once written).
pub(super) fn save_snippet(app: &mut EarmarkApp, ctx: &egui::Context) {
    app.live.save_snippet(&ViewCtx::new(&app.shared), ctx);
}

/// Draws the Live tab.
pub(super) fn tab_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let commands = app.live.ui(ui, &ViewCtx::new(&app.shared));
    app.commands.extend(commands);
}
