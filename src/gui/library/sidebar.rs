//! The library side bar: the folders (with a warning for any that went missing), counts, the
//! model in use, and the buttons that add folders and rescan.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;

/// Draws the side bar.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.heading("Library");
    ui.horizontal(|ui| {
        if ui.button("Add folder…").clicked() {
            app.push(Command::AddFolderDialog);
        }
        let can_rescan = app.shared.snapshot.roots.iter().any(|r| r.present);
        if ui
            .add_enabled(can_rescan, egui::Button::new("Rescan"))
            .on_hover_text("Look for new, changed and removed files")
            .clicked()
        {
            app.push(Command::Rescan);
        }
    });
    ui.weak("Drop folders or files here to add them.");
    ui.separator();
    for root in &app.shared.snapshot.roots {
        if root.present {
            ui.label(root.path.clone()).on_hover_text(&root.path);
        } else {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Missing: {}", root.path),
            );
            ui.small("Folder not found: reconnect the drive or move it back, then rescan.");
        }
    }
    ui.separator();
    let c = app.shared.snapshot.counts.clone();
    ui.label(format!("{} files", c.files));
    ui.label(format!("{} analysed · {} waiting", c.indexed, c.pending));
    if c.errors > 0 {
        let label = format!("{} could not be read", c.errors);
        if ui
            .link(egui::RichText::new(label).color(ui.visuals().warn_fg_color))
            .on_hover_text("Show them with the reasons")
            .clicked()
        {
            app.shared.state.errors_only = true;
            app.view_dirty = true;
            app.push(Command::Show(crate::gui::shared::state::Panel::Library));
        }
    }
    ui.label(format!("{:.1} min of sound", c.duration_s / 60.0));
    ui.separator();
    let line = app.shared.model_line();
    if app.shared.model.active.is_some() {
        ui.label(line);
    } else {
        ui.colored_label(ui.visuals().warn_fg_color, line);
    }
    if let Some(e) = &app.shared.library_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    ui.small(format!("Index: {}", app.shared.library_path.display()));
}
