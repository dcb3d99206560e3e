//! The audio devices, chosen in the Live tab: the input live listening captures from and the
//! output playback uses, both listed from the system (on a worker) and kept in the settings
//! (`settings.toml`); "default" follows the system's choice.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::view::PlayerSlot;

/// Draws the two pickers and a button that lists the devices again.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let (inputs, outputs) = match &app.live.devices {
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
    ui.horizontal(|ui| {
        let current = app.shared.settings.input_device.clone();
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
            app.shared.settings.input_device = chosen;
            app.save_settings();
            crate::gui::live::restart(app, ui.ctx());
        }
        ui.add_space(12.0);
        let current = app.shared.settings.output_device.clone();
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
            set_output_device(app, chosen);
        }
        if ui
            .small_button("Refresh devices")
            .on_hover_text("List the audio devices again")
            .clicked()
        {
            app.live.refresh_devices(ui.ctx());
        }
    });
    if let Err(e) = &inputs {
        ui.colored_label(ui.visuals().error_fg_color, e.as_str());
    }
}

/// Makes `device` the output playback uses (`None`: the system's default), remembers it in the
/// settings and reopens the output on the next play.
pub fn set_output_device(app: &mut EarmarkApp, device: Option<String>) {
    app.shared.settings.output_device = device;
    app.save_settings();
    if let PlayerSlot::Open(p) = &app.shared.player {
        p.pause();
    }
    // Closing a stream whose sound server died can block: not on this thread.
    let old = std::mem::take(&mut app.shared.player);
    let _ = crate::jobs::spawn_named("earmark-output-close", move || drop(old));
    app.shared.player_file = None;
}
