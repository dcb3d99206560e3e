//! The widgets of the Training tab's run options: where the run starts from (a preset's random
//! weights or a model to continue), updates, batch size, learning rate, mask ratio, device,
//! MATPAC++ heads and the data folders.

use std::path::Path;

use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::training_form::TrainingForm;

/// The file name of `p` (the path when it has none).
pub(super) fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Draws `form` (greyed out while `enabled` is false); `active` is the active model, which a
/// run continues by default. The dialogs it asks for come back as commands.
pub(super) fn form_ui(
    form: &mut TrainingForm,
    ui: &mut egui::Ui,
    enabled: bool,
    active: Option<&Path>,
    commands: &mut Vec<Command>,
) {
    ui.add_enabled_ui(enabled, |ui| {
        egui::Grid::new("train_form").num_columns(2).show(ui, |ui| {
            ui.label("Start from");
            ui.horizontal_wrapped(|ui| {
                let text = match (&form.init, form.from_scratch, active) {
                    (Some(p), _, _) => format!("continue {}", file_name(p)),
                    (None, true, _) => "random weights".into(),
                    (None, false, Some(a)) => {
                        format!("continue the active model ({})", file_name(a))
                    }
                    (None, false, None) => "continue the active model (none is loaded)".into(),
                };
                ui.label(text).on_hover_text(
                    "Continuing a model adapts what it already knows to your sounds: a few \
                     thousand updates help. Random weights start from nothing: many hours of \
                     training before the model is useful.",
                );
                if ui.small_button("Model…").clicked() {
                    commands.push(Command::InitModelDialog);
                }
                if (form.init.is_some() || form.from_scratch)
                    && ui
                        .small_button("Active model")
                        .on_hover_text("Continue the active model")
                        .clicked()
                {
                    form.init = None;
                    form.from_scratch = false;
                }
                if !form.from_scratch
                    && ui
                        .small_button("Random weights")
                        .on_hover_text(
                            "Start a new model from random weights: only to build one from \
                             scratch (many hours before it is useful)",
                        )
                        .clicked()
                {
                    form.init = None;
                    form.from_scratch = true;
                }
            });
            ui.end_row();
            let preset_label = ui.label("Preset").id;
            let scratch = form.init.is_none() && form.from_scratch;
            ui.add_enabled_ui(scratch, |ui| {
                egui::ComboBox::from_id_salt("preset")
                    .selected_text(&form.preset)
                    .show_ui(ui, |ui| {
                        for p in ["tiny", "small", "base"] {
                            ui.selectable_value(&mut form.preset, p.to_string(), p);
                        }
                    })
                    .response
                    .labelled_by(preset_label)
                    .on_disabled_hover_text("The continued model's sizes are used");
            });
            ui.end_row();
            let label = ui.label("Updates").id;
            ui.add(egui::DragValue::new(&mut form.steps).range(1..=1_000_000))
                .labelled_by(label);
            ui.end_row();
            let label = ui.label("Batch size").id;
            ui.add(egui::DragValue::new(&mut form.batch).range(1..=4096))
                .labelled_by(label);
            ui.end_row();
            let label = ui.label("Learning rate").id;
            ui.add(
                egui::DragValue::new(&mut form.lr)
                    .speed(1e-5)
                    .range(1e-6..=1e-2),
            )
            .labelled_by(label);
            ui.end_row();
            let label = ui
                .label("Mask ratio")
                .on_hover_text(super::help::MASK_RATIO)
                .id;
            ui.add(egui::Slider::new(&mut form.mask_ratio, 0.3..=0.9))
                .labelled_by(label)
                .on_hover_text(super::help::MASK_RATIO);
            ui.end_row();
            let label = ui.label("Device").id;
            egui::ComboBox::from_id_salt("train_device")
                .selected_text(&form.device)
                .show_ui(ui, |ui| {
                    for d in ["cpu", "cuda", "metal"] {
                        ui.selectable_value(&mut form.device, d.to_string(), d);
                    }
                })
                .response
                .labelled_by(label);
            ui.end_row();
        });
        ui.checkbox(&mut form.mcl, "MATPAC++ (five prediction heads)");
        ui.add_space(6.0);
        ui.label("Data folders");
        let mut remove = None;
        for (i, r) in form.roots.iter().enumerate() {
            ui.horizontal(|ui| {
                if ui.small_button("Remove").clicked() {
                    remove = Some(i);
                }
                ui.label(r.display().to_string());
            });
        }
        if let Some(i) = remove {
            form.roots.remove(i);
        }
        if ui.button("Add training folder…").clicked() {
            commands.push(Command::TrainingFolderDialog);
        }
    });
}
