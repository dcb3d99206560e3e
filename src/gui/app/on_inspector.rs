//! The inspector's commands: loading the selected file, playback (play/pause, seek, play when
//! loaded) through the audio output the window opens on first use, and PNG export.

use std::path::Path;

use eframe::egui;

use crate::audio::playback::Player;
use crate::gui::app::EarmarkApp;
use crate::gui::shared::dialogs::DialogRequest;
use crate::gui::shared::view::{PlayerSlot, ViewCtx};

/// Loads the selected file into the inspector.
pub(super) fn load(app: &mut EarmarkApp, ctx: &egui::Context) {
    app.inspector.load(ctx, &ViewCtx::new(&app.shared));
}

/// The selected file is loaded: plays it when that was asked for.
pub(super) fn play_loaded(app: &mut EarmarkApp) {
    if app.shared.play_when_loaded {
        app.shared.play_when_loaded = false;
        let from = app.inspector.take_pending_seek().unwrap_or(0.0);
        start_playback(app, from);
    }
}

/// Moves the playhead to `seconds`, or remembers it for when playback starts.
pub(super) fn seek(app: &mut EarmarkApp, seconds: f64) {
    if let PlayerSlot::Open(p) = &app.shared.player
        && app.shared.player_file == app.shared.selected.as_ref().map(|s| s.0)
    {
        p.seek(seconds);
    } else {
        app.inspector.seek_when_played(seconds);
    }
}

/// Asks where to save the spectrogram picture.
pub(super) fn export_dialog(app: &mut EarmarkApp, ctx: &egui::Context) {
    let name = app.inspector.png_name();
    app.ask(ctx, DialogRequest::SavePng(name));
}

/// Writes the spectrogram picture to `path`.
pub(super) fn export_png(app: &mut EarmarkApp, path: &Path) {
    if let Err(e) = app.inspector.export_png(path) {
        app.shared.notices.push(e);
    }
}

/// Opens the output device if needed; `None` (with the reason in the slot) when there is none.
fn player(app: &mut EarmarkApp) -> Option<&Player> {
    if matches!(app.shared.player, PlayerSlot::Closed) {
        let wanted = app.shared.settings.output_device.clone();
        app.shared.player = match Player::open(wanted.as_deref()) {
            Ok(p) => PlayerSlot::Open(p),
            // The chosen output is gone (unplugged, renamed): the system's default plays.
            Err(e) if wanted.is_some() => match Player::open(None) {
                Ok(p) => {
                    app.shared
                        .notices
                        .push(format!("{e}; playing through the default output"));
                    PlayerSlot::Open(p)
                }
                Err(e) => PlayerSlot::Failed(e.to_string()),
            },
            Err(e) => PlayerSlot::Failed(e.to_string()),
        };
    }
    match &app.shared.player {
        PlayerSlot::Open(p) => Some(p),
        _ => None,
    }
}

/// Plays the inspected file from `from_s` seconds.
pub(super) fn start_playback(app: &mut EarmarkApp, from_s: f64) {
    let Some((id, buffer)) = app.inspector.playable() else {
        return;
    };
    let loaded = app.shared.player_file;
    let Some(p) = player(app) else {
        return;
    };
    if loaded != Some(id) {
        p.load(buffer);
    }
    p.seek(from_s);
    p.play();
    app.shared.player_file = Some(id);
}

/// Pauses or resumes the inspected file, or starts it (from the region's start).
pub(super) fn play_pause(app: &mut EarmarkApp) {
    let inspected = app.inspector.shown();
    if inspected.is_none() {
        return;
    }
    if let PlayerSlot::Open(p) = &app.shared.player
        && app.shared.player_file == inspected
    {
        if p.is_playing() {
            p.pause();
        } else {
            p.play();
        }
        return;
    }
    let from = app.inspector.region().map_or(0.0, |(a, _)| a);
    start_playback(app, from);
}
