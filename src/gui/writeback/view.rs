//! Drawing the write-back section: the fields to fill, the policy, which files, the Preview /
//! Write / Undo buttons (they ask the handler for the jobs) and what the last job did.

use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::view::ViewCtx;
use crate::gui::writeback::{FieldRow, WritebackPanel};
use crate::writeback::Policy;

/// Rows of the preview shown at most (the counts cover every file).
const PREVIEW_ROWS: usize = 500;

impl WritebackPanel {
    /// Draws the section; Preview, Write and Undo come back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.heading("Write tags into files");
        ui.weak(
            "Genre, mood or a field of your own, in MP3 (ID3v2), FLAC, Ogg Vorbis, Opus and M4A. \
             Nothing is written before you preview; every write can be undone.",
        );
        self.fields_ui(ui);
        ui.horizontal(|ui| {
            ui.label("Values already there:");
            ui.selectable_value(&mut self.policy, Policy::Keep, "keep")
                .on_hover_text("Never change a field that has a value");
            ui.selectable_value(&mut self.policy, Policy::Merge, "add missing labels");
            ui.selectable_value(&mut self.policy, Policy::Overwrite, "replace");
            ui.separator();
            ui.checkbox(&mut self.id3v23, "ID3v2.3 for MP3");
        });
        ui.horizontal(|ui| {
            ui.label("Files:");
            ui.selectable_value(&mut self.only_selected, false, "the whole library");
            let label = cx
                .selected
                .as_ref()
                .map_or("the selected file".to_string(), |(_, p)| {
                    format!("only {}", file_name(p))
                });
            ui.selectable_value(&mut self.only_selected, true, label);
        });
        let busy = self.busy();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new("Preview"))
                .on_hover_text("Show what would change, without touching any file")
                .clicked()
            {
                commands.push(Command::WritebackPreview);
            }
            let n = self.plan.as_ref().map_or(0, |(p, ..)| p.to_write());
            if ui
                .add_enabled(
                    !busy && n > 0,
                    egui::Button::new(format!("Write {n} files")),
                )
                .clicked()
            {
                commands.push(Command::WritebackApply);
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Undo last write"))
                .on_hover_text("Restore the files of the newest write exactly as they were")
                .clicked()
            {
                commands.push(Command::WritebackUndo);
            }
            if busy {
                ui.spinner();
            }
        });
        self.results_ui(ui);
        commands
    }

    fn fields_ui(&mut self, ui: &mut egui::Ui) {
        let mut remove = None;
        egui::Grid::new("writeback-fields")
            .num_columns(5)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                ui.weak("field");
                ui.weak("from sources (empty: all)");
                ui.weak("threshold");
                ui.weak("at most");
                ui.end_row();
                for (i, row) in self.fields.iter_mut().enumerate() {
                    ui.add(egui::TextEdit::singleline(&mut row.name).desired_width(110.0));
                    ui.add(
                        egui::TextEdit::singleline(&mut row.sources)
                            .hint_text("personal, a head's name")
                            .desired_width(180.0),
                    );
                    ui.add(egui::Slider::new(&mut row.threshold, 0.0..=1.0).fixed_decimals(2));
                    ui.add(
                        egui::DragValue::new(&mut row.top)
                            .range(1..=10)
                            .suffix(" labels"),
                    );
                    if ui.small_button("Remove").clicked() {
                        remove = Some(i);
                    }
                    ui.end_row();
                }
            });
        if let Some(i) = remove {
            self.fields.remove(i);
            self.plan = None;
        }
        if ui.small_button("Add a field").clicked() {
            self.fields.push(FieldRow {
                name: "mood".into(),
                sources: String::new(),
                threshold: 0.5,
                top: 2,
            });
        }
    }

    fn results_ui(&self, ui: &mut egui::Ui) {
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().warn_fg_color, e);
        }
        if let Some(r) = &self.applied {
            ui.label(format!(
                "Written: {} files · unchanged {} · failed {}{}",
                r.written.len(),
                r.unchanged,
                r.failed.len(),
                if r.cancelled { " · cancelled" } else { "" }
            ));
            if let Some(j) = &r.journal {
                ui.weak(format!("Undo journal: {}", j.display()));
            }
            problems_ui(ui, &r.failed);
        }
        if let Some(r) = &self.undone {
            ui.label(format!(
                "Undo: {} restored · {} already original · {} refused",
                r.restored.len(),
                r.already.len(),
                r.refused.len()
            ));
            problems_ui(ui, &r.refused);
        }
        let Some((plan, ..)) = &self.plan else {
            return;
        };
        ui.label(format!(
            "Preview: {} files to write · {} keep their values · {} without labels above the threshold · {} cannot be tagged",
            plan.to_write(),
            plan.files.len() - plan.to_write(),
            plan.without_labels,
            plan.problems.len()
        ));
        problems_ui(ui, &plan.problems);
        egui::ScrollArea::vertical()
            .id_salt("writeback-preview")
            .max_height(260.0)
            .show(ui, |ui| {
                egui::Grid::new("writeback-plan")
                    .striped(true)
                    .num_columns(5)
                    .show(ui, |ui| {
                        for head in ["file", "field", "now", "after", ""] {
                            ui.weak(head);
                        }
                        ui.end_row();
                        for file in plan.files.iter().take(PREVIEW_ROWS) {
                            for c in &file.changes {
                                ui.label(file_name(&file.path)).on_hover_text(&file.path);
                                ui.label(c.field.name());
                                ui.label(c.current.as_deref().unwrap_or("(empty)"));
                                ui.label(c.new.as_deref().unwrap_or("(empty)"));
                                ui.weak(format!("{:?}", c.action).to_lowercase());
                                ui.end_row();
                            }
                        }
                    });
                if plan.files.len() > PREVIEW_ROWS {
                    ui.weak(format!(
                        "… and {} more files",
                        plan.files.len() - PREVIEW_ROWS
                    ));
                }
            });
    }
}

fn problems_ui(ui: &mut egui::Ui, problems: &[(String, String)]) {
    if problems.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("{} files with a problem", problems.len()))
        .id_salt(problems.as_ptr())
        .show(ui, |ui| {
            for (path, why) in problems.iter().take(PREVIEW_ROWS) {
                ui.label(format!("{}: {why}", file_name(path)))
                    .on_hover_text(path);
            }
        });
}

fn file_name(path: &str) -> &str {
    std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}
