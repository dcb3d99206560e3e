//! Drawing the write-back section: the fields to fill, the policy, which files, the Preview /
//! Write / Undo buttons (they ask the handler for the jobs) and what the last job did.

use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::view::ViewCtx;
use crate::gui::writeback::{FieldRow, WritebackPanel};
use crate::wording::count;
use crate::writeback::fields::DEFAULT_FIELD;
use crate::writeback::formats::SUPPORTED;
use crate::writeback::{Action, FieldSpec, Policy};

/// Rows of the preview shown at most (the counts cover every file).
const PREVIEW_ROWS: usize = 500;

impl WritebackPanel {
    /// Draws the section; Preview, Write and Undo come back as commands. Every row wraps, so
    /// the section fits a narrow column (half the window at 1024 px) without cutting anything.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.heading("Write tags into files");
        ui.weak(format!(
            "Into {SUPPORTED} files. By default into {DEFAULT_FIELD}, a field of Earmark's own \
             (genres, moods and comments stay yours); or genre, mood or a field you name. \
             Nothing is written before you preview; every write can be undone."
        ));
        self.fields_ui(ui);
        ui.horizontal_wrapped(|ui| {
            ui.label("Values already there:");
            ui.selectable_value(&mut self.policy, Policy::Keep, "keep")
                .on_hover_text("Never change a field that has a value");
            ui.selectable_value(&mut self.policy, Policy::Merge, "add missing labels");
            ui.selectable_value(&mut self.policy, Policy::Overwrite, "replace");
        });
        ui.checkbox(&mut self.id3v23, "ID3v2.3 (MP3, WAV, AIFF)")
            .on_hover_text("Write ID3v2.3 tags instead of ID3v2.4, for older players");
        ui.horizontal_wrapped(|ui| {
            ui.label("Files:");
            ui.selectable_value(&mut self.only_selected, false, "the whole library");
            let label = cx
                .selected
                .as_ref()
                .map_or("the selected file".to_string(), |(_, p)| {
                    format!("only {}", short(file_name(p)))
                });
            ui.selectable_value(&mut self.only_selected, true, label);
        });
        let busy = self.busy();
        ui.horizontal_wrapped(|ui| {
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
                    egui::Button::new(format!("Write {}", count(n, "file"))),
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

    /// One block per field: its name and sources, then its threshold, top-N and Remove.
    fn fields_ui(&mut self, ui: &mut egui::Ui) {
        let mut remove = None;
        let many = self.fields.len() > 1;
        for (i, row) in self.fields.iter_mut().enumerate() {
            ui.push_id(("writeback-field", i), |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label("Field");
                    ui.add(egui::TextEdit::singleline(&mut row.name).desired_width(120.0))
                        .on_hover_text(
                            "genre, mood, or a name of your own (letters, digits, _ - .)",
                        );
                    ui.label("from");
                    ui.add(
                        egui::TextEdit::singleline(&mut row.sources)
                            .hint_text("all sources")
                            .desired_width(140.0),
                    )
                    .on_hover_text(
                        "Tag sources, comma-separated: personal, a head's name; empty: all",
                    );
                });
                ui.horizontal_wrapped(|ui| {
                    ui.label("threshold");
                    ui.add(egui::Slider::new(&mut row.threshold, 0.0..=1.0).fixed_decimals(2));
                    ui.label("at most");
                    ui.add(
                        egui::DragValue::new(&mut row.top)
                            .range(1..=10)
                            .suffix(" labels"),
                    );
                    if many && ui.small_button("Remove").clicked() {
                        remove = Some(i);
                    }
                });
            });
        }
        if let Some(i) = remove {
            self.fields.remove(i);
            self.plan = None;
        }
        if ui
            .horizontal(|ui| ui.small_button("Add a field"))
            .inner
            .clicked()
        {
            let name = if self
                .fields
                .iter()
                .any(|r| r.name.eq_ignore_ascii_case("genre"))
            {
                "mood"
            } else {
                "genre"
            };
            self.fields.push(FieldRow {
                name: name.into(),
                ..FieldRow::of(&FieldSpec::default_field())
            });
            self.plan = None;
        }
    }

    fn results_ui(&self, ui: &mut egui::Ui) {
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().warn_fg_color, e);
        }
        if let Some(r) = &self.applied {
            ui.label(format!(
                "Written: {} · unchanged {} · failed {}{}",
                count(r.written.len(), "file"),
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
            "Preview: {} to write · {} keep their values · {} without labels above the threshold · {} cannot be tagged",
            count(plan.to_write(), "file"),
            plan.files.len() - plan.to_write(),
            plan.without_labels,
            plan.problems.len()
        ));
        problems_ui(ui, &plan.problems);
        egui::ScrollArea::vertical()
            .id_salt("writeback-preview")
            .max_height(260.0)
            .show(ui, |ui| {
                for file in plan.files.iter().take(PREVIEW_ROWS) {
                    ui.strong(file_name(&file.path)).on_hover_text(&file.path);
                    for c in &file.changes {
                        ui.horizontal_wrapped(|ui| {
                            ui.add_space(12.0);
                            ui.weak(c.field.name());
                            ui.label(c.current.as_deref().unwrap_or("(empty)"));
                            ui.weak("->");
                            ui.label(c.new.as_deref().unwrap_or("(empty)"));
                            ui.weak(format!("({})", action_word(c.action)));
                        });
                    }
                }
                if plan.files.len() > PREVIEW_ROWS {
                    ui.weak(format!(
                        "… and {} more",
                        count(plan.files.len() - PREVIEW_ROWS, "file")
                    ));
                }
            });
    }
}

/// What happens to a field, in words.
fn action_word(action: Action) -> &'static str {
    match action {
        Action::Write => "written",
        Action::Overwrite => "replaced",
        Action::Merge => "labels added",
        Action::Keep => "kept: it has a value",
        Action::Same => "already so",
        Action::NoLabels => "no label above the threshold",
    }
}

/// A name cut to 32 characters, for a button.
fn short(name: &str) -> String {
    if name.chars().count() <= 32 {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(31).collect::<String>())
    }
}

fn problems_ui(ui: &mut egui::Ui, problems: &[(String, String)]) {
    if problems.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("{} with a problem", count(problems.len(), "file")))
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
