//! "Available to download" in the Models tab: the catalog's models and probe heads, each with
//! its kind, size, status and a Download (or Resume, or Download again) button; the download in
//! progress with its bar (bytes, speed, time left) and Cancel; the last download's outcome —
//! both under the list, which keeps its place.

use eframe::egui;

use super::ModelManager;
use super::view::note_ui;
use crate::catalog::{EntryKind, EntryStatus, describe_transfer};
use crate::gui::shared::active_model::format_size;
use crate::gui::shared::command::Command;

impl ModelManager {
    /// The catalog's entries, then the download in progress and the last download's outcome
    /// under them (so the list never moves under the pointer when they come and go).
    pub(super) fn catalog_ui(&self, ui: &mut egui::Ui, out: &mut Vec<Command>) {
        ui.heading("Available to download");
        self.entries_ui(ui, out);
        self.download_progress_ui(ui, out);
        note_ui(ui, self.download_note.as_ref());
    }

    fn entries_ui(&self, ui: &mut egui::Ui, out: &mut Vec<Command>) {
        let Some(view) = &self.catalog else {
            ui.spinner();
            return;
        };
        let catalog = match &view.catalog {
            Ok(c) => c,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("No catalog: {e}"));
                return;
            }
        };
        if view.dir.is_none() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "No data directory to keep models in (set HOME).",
            );
        }
        let busy = self.download.is_some() || view.dir.is_none();
        egui::Grid::new("catalog").striped(true).show(ui, |ui| {
            for (entry, state) in catalog.entries.iter().zip(&view.statuses) {
                if entry.kind == EntryKind::Vocabulary {
                    continue;
                }
                let mut hover = entry.description.clone();
                if let Some(cfg) = &entry.config {
                    hover.push_str(&format!("\nNeeds: {}", cfg.summary()));
                }
                hover.push_str(&format!("\n{}", entry.url));
                ui.label(&entry.name).on_hover_text(hover);
                ui.label(entry.kind.label());
                ui.label(
                    entry
                        .size
                        .map_or_else(|| "size unknown".into(), format_size),
                );
                match state {
                    EntryStatus::Installed => {
                        ui.label("installed");
                    }
                    EntryStatus::Partial { bytes } => {
                        ui.label(format!("{} received", format_size(*bytes)));
                    }
                    EntryStatus::Missing => {
                        ui.label("");
                    }
                }
                let label = match state {
                    EntryStatus::Installed => "Download again",
                    EntryStatus::Partial { .. } => "Resume",
                    EntryStatus::Missing => "Download",
                };
                if ui
                    .add_enabled(!busy, egui::Button::new(label))
                    .on_hover_text(&entry.description)
                    .clicked()
                {
                    out.push(Command::DownloadModel(entry.name.clone()));
                }
                ui.end_row();
            }
        });
        ui.weak("Class names come with the heads that use them.");
    }

    /// The download in progress: its bar with bytes, speed and time left, and Cancel.
    fn download_progress_ui(&self, ui: &mut egui::Ui, out: &mut Vec<Command>) {
        let Some(job) = &self.download else {
            return;
        };
        let progress = job.progress();
        let fraction = progress
            .as_ref()
            .and_then(|p| p.total.filter(|&t| t > 0).map(|t| p.done as f32 / t as f32))
            .unwrap_or(0.0);
        let text = progress.as_ref().map_or_else(
            || format!("Connecting for {}…", job.name),
            describe_transfer,
        );
        ui.horizontal(|ui| {
            ui.add(
                egui::ProgressBar::new(fraction)
                    .text(text)
                    .desired_width((ui.available_width() - 90.0).max(120.0)),
            );
            if job.is_cancelling() {
                ui.label("Stopping…");
            } else if ui.button("Cancel").clicked() {
                out.push(Command::CancelDownload);
            }
        });
    }
}
