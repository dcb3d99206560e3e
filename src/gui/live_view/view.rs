//! Drawing the Live tab: the start / stop button, the state of the input, "find similar" /
//! "save snippet" for the last seconds heard, the input and output device pickers, the level
//! meter and the pictures (`graphs`). What the user asks for comes back as commands.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke};

use crate::gui::live_view::picture::{LevelMeter, METER_FLOOR_DBFS};
use crate::gui::live_view::{LivePanel, SECONDS_CHOICES};
use crate::gui::shared::command::Command;
use crate::gui::shared::view::ViewCtx;
use crate::live::DeviceState;

impl LivePanel {
    /// Draws the tab; what the user asks for comes back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.devices.is_none() {
            commands.push(Command::ListAudioDevices);
        }
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| self.contents_ui(ui, cx, &mut commands));
        commands
    }

    fn contents_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
        // The actions first, so a small window shows them without scrolling; the pictures,
        // which take what height is left, after.
        self.controls_ui(ui, commands);
        self.status_ui(ui);
        self.heard_ui(ui, cx, commands);
        self.devices_ui(ui, cx, commands);
        ui.separator();
        self.meter_ui(ui);
        self.spectrogram_ui(ui);
        ui.add_space(4.0);
        ui.columns(2, |cols| {
            self.tags_ui(&mut cols[0], cx);
            self.timeline_ui(&mut cols[1]);
        });
    }

    fn controls_ui(&self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            let (text, hint) = if self.active() {
                ("Stop listening", "Stop capturing from the input (Ctrl+L)")
            } else {
                (
                    "Start listening",
                    "Capture from the input device and tag what it hears (Ctrl+L)",
                )
            };
            if ui.button(text).on_hover_text(hint).clicked() {
                commands.push(Command::ToggleListening);
            }
            if self.starting() {
                ui.spinner();
                ui.label("Loading the model…");
            } else if let Some(name) = self.model_name() {
                ui.weak(format!("Model: {name} · {:.0} s heard", self.heard_s()));
            } else {
                ui.weak("Ctrl+L starts and stops listening from any tab.");
            }
        });
    }

    fn status_ui(&self, ui: &mut egui::Ui) {
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if let Some(state) = &self.device {
            let (line, problem) = state_line(state);
            if problem {
                ui.colored_label(ui.visuals().error_fg_color, line);
            } else {
                ui.label(line);
            }
        }
        if let Some(e) = &self.analysis_error {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Analysis: {e}"));
        }
    }

    fn meter_ui(&self, ui: &mut egui::Ui) {
        let level = self.level;
        ui.horizontal(|ui| {
            ui.label("Input level");
            let (rect, _) = ui.allocate_exact_size(egui::vec2(320.0, 14.0), Sense::hover());
            let painter = ui.painter_at(rect);
            painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
            let x_of = |db: f32| rect.left() + LevelMeter::fraction(db) * rect.width();
            let colour = if level.peak_dbfs > -1.0 {
                Color32::from_rgb(230, 80, 60)
            } else {
                Color32::from_rgb(80, 200, 120)
            };
            let bar = Rect::from_min_max(rect.min, Pos2::new(x_of(level.rms_dbfs), rect.bottom()));
            painter.rect_filled(bar, 2.0, colour);
            let px = x_of(level.peak_dbfs);
            painter.line_segment(
                [Pos2::new(px, rect.top()), Pos2::new(px, rect.bottom())],
                Stroke::new(2.0, ui.visuals().strong_text_color()),
            );
            if level.readings == 0 || level.rms_dbfs <= METER_FLOOR_DBFS {
                ui.weak("silence");
            } else {
                ui.monospace(format!(
                    "{:>6.1} dBFS (peak {:.1})",
                    level.rms_dbfs, level.peak_dbfs
                ));
            }
        });
    }

    fn heard_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
        let listening = self.active() && !self.starting();
        ui.horizontal_wrapped(|ui| {
            ui.label("Last");
            for s in SECONDS_CHOICES {
                ui.selectable_value(&mut self.seconds, s, format!("{s:.0} s"));
            }
            if ui
                .add_enabled(listening, egui::Button::new("Find similar in my library"))
                .on_hover_text("Search the library for the last seconds heard (results in Similar)")
                .clicked()
            {
                commands.push(Command::FindSimilarHeard);
            }
        });
        let roots = cx.snapshot.present_roots();
        if self
            .snippet_folder
            .as_ref()
            .is_none_or(|f| !roots.contains(f))
        {
            self.snippet_folder = roots.first().cloned();
        }
        ui.horizontal_wrapped(|ui| {
            let shown = self.snippet_folder.as_ref().map_or_else(
                || "No library folder".to_string(),
                |f| f.display().to_string(),
            );
            egui::ComboBox::from_label("Snippet folder")
                .selected_text(shown)
                .width(260.0)
                .truncate()
                .show_ui(ui, |ui| {
                    for root in &roots {
                        ui.selectable_value(
                            &mut self.snippet_folder,
                            Some(root.clone()),
                            root.display().to_string(),
                        );
                    }
                });
            let can_save = listening && self.snippet_folder.is_some() && !self.saving();
            if ui
                .add_enabled(can_save, egui::Button::new("Save snippet"))
                .on_hover_text(
                    "Save the last seconds heard as a WAV file in the folder and scan it",
                )
                .clicked()
            {
                commands.push(Command::SaveSnippet);
            }
            match &self.saved {
                Some(Ok(p)) => {
                    ui.label(format!("Saved {}", p.display()));
                }
                Some(Err(e)) => {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                None => {}
            }
        });
        if roots.is_empty() {
            ui.weak("Add a library folder to save snippets into.");
        }
    }

    /// The audio devices: the input live listening captures from and the output playback
    /// uses, listed from the system (on a worker) and kept in the settings; "default" follows
    /// the system's choice. Draws the two pickers and a button that lists the devices again.
    fn devices_ui(&self, ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
        let (inputs, outputs) = match &self.devices {
            Some(d) => (
                d.inputs
                    .as_ref()
                    .map(|v| {
                        v.iter()
                            .map(|i| (i.name.clone(), i.format.as_ref().err().cloned()))
                            .collect::<Vec<_>>()
                    })
                    .map_err(String::clone),
                d.outputs.clone(),
            ),
            None => (Ok(Vec::new()), Vec::new()),
        };
        ui.horizontal_wrapped(|ui| {
            let current = cx.settings.input_device.clone();
            let mut chosen = current.clone();
            egui::ComboBox::from_label("Input device")
                .selected_text(current.as_deref().unwrap_or("Default input"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut chosen, None, "Default input");
                    if let Ok(list) = &inputs {
                        for (name, problem) in list {
                            let r = ui.selectable_value(&mut chosen, Some(name.clone()), name);
                            if let Some(p) = problem {
                                r.on_hover_text(p);
                            }
                        }
                    }
                });
            if chosen != current {
                commands.push(Command::SetInputDevice(chosen));
            }
            ui.add_space(12.0);
            let current = cx.settings.output_device.clone();
            let mut chosen = current.clone();
            egui::ComboBox::from_label("Output device")
                .selected_text(current.as_deref().unwrap_or("Default output"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut chosen, None, "Default output");
                    for name in &outputs {
                        ui.selectable_value(&mut chosen, Some(name.clone()), name);
                    }
                });
            if chosen != current {
                commands.push(Command::SetOutputDevice(chosen));
            }
            if ui
                .small_button("Refresh devices")
                .on_hover_text("List the audio devices again")
                .clicked()
            {
                commands.push(Command::ListAudioDevices);
            }
        });
        if let Err(e) = &inputs {
            ui.colored_label(ui.visuals().error_fg_color, e.as_str());
        }
    }
}

/// The device state in words, and whether it is a problem.
pub fn state_line(state: &DeviceState) -> (String, bool) {
    match state {
        DeviceState::Connecting => ("Opening the input device…".into(), false),
        DeviceState::Capturing { device, format } => {
            (format!("Listening to {device} ({format})"), false)
        }
        DeviceState::Lost { message } => (
            format!("Input lost: {message}. Listening resumes when it comes back."),
            true,
        ),
        DeviceState::Unavailable { message } => {
            (format!("Cannot capture: {message}. Trying again…"), true)
        }
        DeviceState::Stopped => ("Stopped.".into(), false),
    }
}
