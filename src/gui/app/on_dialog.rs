//! File dialogs' answers, and Earmark's own picker where the system has no dialog: the first
//! request that finds none says so (in the log and the status bar) and opens the picker; later
//! requests of the session go straight to it. Ctrl+O asks for a folder to add.

use std::path::PathBuf;

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::shared::dialogs::{DialogAnswer, DialogRequest};
use crate::gui::shared::widgets::path_picker::{PathPicker, Picked, home};

/// The window's own picker and what it knows of the system's dialogs.
#[derive(Debug, Default)]
pub(crate) struct Picking {
    /// The picker, while open.
    picker: Option<PathPicker>,
    /// Why the system's dialog cannot be used (found this session).
    system_missing: Option<String>,
    /// The folder of the last path chosen in the picker.
    last_dir: Option<PathBuf>,
}

/// Whether `request` is asked in the window's own picker (the system's dialog was found missing
/// earlier, or the picker is open already); opens it when so.
pub(crate) fn ask_here(app: &mut EarmarkApp, request: &DialogRequest) -> bool {
    if app.picking.picker.is_some() {
        return true;
    }
    match app.picking.system_missing.clone() {
        Some(why) => {
            open_picker(app, request.clone(), why);
            true
        }
        None => false,
    }
}

/// A dialog ended: use the path, or (no system dialog) say so and open the picker.
pub(crate) fn answered(app: &mut EarmarkApp, request: DialogRequest, answer: DialogAnswer) {
    match answer {
        DialogAnswer::Chosen(path) => {
            crate::gui::app::handler::dialog_answered(app, request, Some(path));
        }
        DialogAnswer::Cancelled => {}
        DialogAnswer::Unavailable(why) => {
            eprintln!(
                "earmark: the system's file dialog is not available ({why}); \
                 using Earmark's own picker"
            );
            app.shared.notices.push(format!(
                "The system's file dialog is not available ({why}); using Earmark's own picker."
            ));
            app.picking.system_missing = Some(why.clone());
            open_picker(app, request, why);
        }
    }
}

fn open_picker(app: &mut EarmarkApp, request: DialogRequest, why: String) {
    let start = app
        .picking
        .last_dir
        .clone()
        .filter(|d| d.is_dir())
        .unwrap_or_else(home);
    app.picking.picker = Some(PathPicker::new(request, &start, why));
}

/// Draws the picker when open and carries out its answer; Ctrl+O asks for a folder to add.
pub(crate) fn ui(app: &mut EarmarkApp, ctx: &egui::Context) {
    let Some(picker) = app.picking.picker.as_mut() else {
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::O)) {
            app.commands.push(Command::AddFolderDialog);
        }
        return;
    };
    let Some(picked) = picker.ui(ctx) else {
        return;
    };
    let request = picker.request().clone();
    app.picking.picker = None;
    if let Picked::Chosen(path) = picked {
        app.picking.last_dir = if path.is_dir() {
            path.parent().map(PathBuf::from).or(Some(path.clone()))
        } else {
            path.parent().map(PathBuf::from)
        };
        crate::gui::app::handler::dialog_answered(app, request, Some(path));
    }
}
