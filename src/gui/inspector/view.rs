//! Drawing the inspector: a header with the file's name and facts and the Hide button, then,
//! scrolling when the inspector is short, the button row (play, find similar, export, reveal,
//! add a tag), the tags, the spectrogram with its waveform (never shorter than it can be read)
//! and the tag timeline under it.

use std::path::Path;

use eframe::egui;

use super::InspectorPanel;
use crate::gui::shared::command::Command;
use crate::gui::shared::rows::format_duration;
use crate::gui::shared::view::{PlayerSlot, ViewCtx};
use crate::gui::shared::widgets::spectrogram::{
    HZ_AXIS, MIN_HEIGHT, Spectrogram, SpectrogramAction,
};
use crate::gui::shared::widgets::timeline::Timeline;
use crate::library::tagging::source_name;

type TagList = Vec<(String, f32)>;

impl InspectorPanel {
    /// Draws the inspector; what the user asked for comes back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        let shown = cx.selected.clone().and_then(|(id, _)| {
            self.data
                .as_ref()
                .filter(|d| d.file_id == id && self.error.is_none())
                .map(facts)
        });
        let hide = ui
            .horizontal(|ui| {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let hide = ui
                        .small_button("Hide inspector")
                        .on_hover_text("Give the list the whole height (Ctrl+I shows it again)")
                        .clicked();
                    ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                        match &cx.selected {
                            Some((_, path)) => {
                                ui.heading(file_name(path));
                            }
                            None => {
                                ui.strong("No file selected");
                            }
                        }
                        if let Some(facts) = shown {
                            ui.weak(facts);
                        }
                    });
                    hide
                })
                .inner
            })
            .inner;
        if hide {
            commands.push(Command::ShowInspector(false));
        }
        egui::ScrollArea::vertical()
            .id_salt("inspector-body")
            .auto_shrink(false)
            .show(ui, |ui| self.body_ui(ui, cx, &mut commands));
        commands
    }

    /// Everything under the header.
    fn body_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
        let Some((id, path)) = cx.selected.clone() else {
            ui.add_space(ui.available_height() * 0.3);
            ui.vertical_centered(|ui| {
                ui.weak("Select a file to see and hear it. Up/Down move, Space plays, Enter finds similar sounds.");
            });
            return;
        };
        if let Some(e) = &self.error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("This file cannot be shown: {e}"),
            );
            return;
        }
        let Some(data) = self.data.as_ref().filter(|d| d.file_id == id) else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Loading {}…", file_name(&path)));
            });
            return;
        };
        let file_id = data.file_id;
        let duration = data.duration_s;
        let image_problem = data.image.as_ref().err().cloned();
        let stored = data.stored_tags.clone();
        let personal = data.personal_tags.clone();
        let predicted = data.predicted.clone();
        let (playing, position) = match &cx.player {
            PlayerSlot::Open(p) if cx.player_file == Some(file_id) => {
                (p.is_playing(), Some(p.position_s()))
            }
            _ => (false, None),
        };
        ui.horizontal_wrapped(|ui| {
            let label = if playing { "Pause" } else { "Play" };
            if ui.button(label).on_hover_text("Space").clicked() {
                commands.push(Command::PlayPause);
            }
            if let Some(p) = position {
                ui.monospace(format!(
                    "{} / {}",
                    format_duration(p),
                    format_duration(duration)
                ));
            }
            let similar = if self.region.is_some() {
                "Find similar to region"
            } else {
                "Find similar"
            };
            if ui.button(similar).on_hover_text("Enter").clicked() {
                commands.push(Command::FindSimilar);
            }
            if ui
                .button("Export PNG…")
                .on_hover_text(
                    "Save what the model hears as a picture: 80 mel bands up to 8 kHz, one column \
                     per 10 ms",
                )
                .clicked()
            {
                commands.push(Command::ExportPngDialog);
            }
            if ui
                .button("Reveal")
                .on_hover_text("Open the folder in the file manager")
                .clicked()
            {
                commands.push(Command::Reveal(path.clone()));
            }
            if let Some((a, b)) = self.region {
                ui.weak(format!("Region {a:.2}–{b:.2} s"));
            }
            if !self.new_tag.is_open() {
                commands.extend(self.new_tag.ui(ui, cx, file_id, self.region));
            }
        });
        if self.new_tag.is_open() {
            commands.extend(self.new_tag.ui(ui, cx, file_id, self.region));
        }
        if let PlayerSlot::Failed(reason) = &cx.player {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("No sound: {reason}. Playback is off; everything else works."),
            );
        }
        tags_ui(ui, cx, &stored, predicted.as_ref());
        personal_ui(ui, &personal);
        if let Some(p) = &self.exported {
            ui.weak(format!("Saved {}", p.display()));
        }
        if let Some(why) = image_problem {
            ui.weak(format!("No model picture to export: {why}"));
        }
        if playing {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(30));
        }
        if let Some(SpectrogramAction::Seek(t)) = self.picture_ui(ui, duration, position) {
            commands.push(Command::Seek(t));
        }
    }

    /// The spectrogram with the waveform, the region and the playhead, and the tag timeline
    /// under it.
    fn picture_ui(
        &mut self,
        ui: &mut egui::Ui,
        duration: f64,
        playhead: Option<f64>,
    ) -> Option<SpectrogramAction> {
        let data = self.data.as_ref()?;
        let timeline_height = data.timeline.as_ref().map_or(0.0, |(_, t)| {
            Timeline::height(t) + ui.spacing().item_spacing.y
        });
        let widget = Spectrogram {
            texture: self.texture.as_ref(),
            texture_span_s: data.band.span_s,
            axis: data.band.axis,
            wave: &data.wave,
            duration_s: duration,
            view: &mut self.view,
            region: &mut self.region,
            playhead,
        };
        // All the height left, but never less than the picture needs to be read: a short
        // inspector scrolls instead.
        let spectrogram_size = egui::vec2(
            ui.available_width(),
            (ui.available_height() - timeline_height).max(MIN_HEIGHT),
        );
        let action = ui.allocate_ui(spectrogram_size, |ui| widget.ui(ui)).inner;
        if let Some((source, tags)) = &data.timeline {
            Timeline {
                tags,
                source,
                view: self.view,
                gutter: HZ_AXIS,
                duration,
            }
            .ui(ui);
        }
        action
    }
}

/// The stored tags (the head's, above its threshold) and the head's best guesses, each tag
/// with its definition on hover when it is a starter tag; or why there are none.
fn tags_ui(
    ui: &mut egui::Ui,
    cx: &ViewCtx,
    stored: &TagList,
    predicted: Option<&Result<TagList, String>>,
) {
    ui.horizontal_wrapped(|ui| {
        if !stored.is_empty() {
            ui.label("Tags:");
            for (label, score) in stored {
                let chip = ui.label(
                    egui::RichText::new(format!("{label} {score:.2}"))
                        .background_color(ui.visuals().faint_bg_color),
                );
                define(chip, label);
            }
        }
        match predicted {
            Some(Ok(tags)) => {
                if stored.is_empty() {
                    let threshold = cx
                        .head_in_force()
                        .head()
                        .map(|(h, _)| cx.settings.limits_for(&source_name(&h)).threshold);
                    if let Some(t) = threshold {
                        ui.weak(format!(
                            "No tag reaches the threshold ({t:.2}) for this file."
                        ));
                    }
                }
                ui.label("Predicted:");
                for (label, p) in tags {
                    let bar = ui.add(
                        egui::ProgressBar::new(*p)
                            .desired_width(90.0)
                            .text(format!("{label} {p:.2}")),
                    );
                    define(bar, label);
                }
            }
            Some(Err(why)) => {
                ui.weak(format!("No predicted tags: {why}"));
            }
            None if stored.is_empty() => {
                let why = cx.head_in_force().why_none().unwrap_or_default();
                ui.weak(format!("No tags. {why}"));
            }
            None => {}
        }
    });
}

/// Shows the starter definition of `label` when `response` is hovered.
fn define(response: egui::Response, label: &str) {
    if let Some(d) = crate::model::bundled::definition(label) {
        response.on_hover_text(d);
    }
}

/// The file's personal tags: examples carry 1.00, predictions their probability.
fn personal_ui(ui: &mut egui::Ui, personal: &TagList) {
    if personal.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Your tags:");
        for (label, p) in personal {
            ui.add(
                egui::ProgressBar::new(*p)
                    .desired_width(90.0)
                    .fill(ui.visuals().selection.bg_fill)
                    .text(format!("{label} {p:.2}")),
            );
        }
    });
}

/// "0:01.4 · 44100 Hz · 2 ch · wav".
fn facts(data: &super::read::Inspected) -> String {
    format!(
        "{} · {} Hz · {} ch · {}",
        format_duration(data.duration_s),
        data.sample_rate,
        data.channels,
        data.codec
    )
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}
