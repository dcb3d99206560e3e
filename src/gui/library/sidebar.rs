//! The library side bar: the folders (with a warning for any that went missing), counts, the
//! model in use, and the buttons that add folders and rescan.

use eframe::egui;

use super::LibraryPanel;
use crate::gui::shared::command::Command;
use crate::gui::shared::state::Panel;
use crate::gui::shared::view::ViewCtx;

impl LibraryPanel {
    /// Draws the side bar; what the user asked for comes back as commands.
    pub fn sidebar_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.heading("Library");
        ui.horizontal(|ui| {
            if ui.button("Add folder…").clicked() {
                commands.push(Command::AddFolderDialog);
            }
            let can_rescan = cx.snapshot.roots.iter().any(|r| r.present);
            if ui
                .add_enabled(can_rescan, egui::Button::new("Rescan"))
                .on_hover_text("Look for new, changed and removed files")
                .clicked()
            {
                commands.push(Command::Rescan);
            }
        });
        ui.weak("Drop folders or files here to add them.");
        ui.separator();
        for root in &cx.snapshot.roots {
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
        let c = &cx.snapshot.counts;
        ui.label(format!("{} files", c.files));
        ui.label(format!("{} analysed · {} waiting", c.indexed, c.pending));
        if c.errors > 0 {
            let label = format!("{} could not be read", c.errors);
            if ui
                .link(egui::RichText::new(label).color(ui.visuals().warn_fg_color))
                .on_hover_text("Show them with the reasons")
                .clicked()
            {
                commands.push(Command::ShowErrorsOnly(true));
                commands.push(Command::Show(Panel::Library));
            }
        }
        ui.label(format!("{:.1} min of sound", c.duration_s / 60.0));
        ui.separator();
        let line = cx.model_line();
        if cx.model.active.is_some() {
            ui.label(line);
        } else {
            ui.colored_label(ui.visuals().warn_fg_color, line);
        }
        if let Some(e) = &cx.library_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.small(format!("Index: {}", cx.library_path.display()));
        commands
    }
}
