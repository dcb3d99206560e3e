//! The eframe application: the start screen shown before a library exists, with the encoder
//! device (shown and changeable, remembered between runs).

use std::sync::{Arc, Mutex};

use eframe::egui;

use crate::config::Settings;
use crate::gpu::{GpuContext, GpuOptions};

/// Device choices offered in the window.
const DEVICES: [(&str, &str); 3] = [
    ("auto", "Automatic (best GPU, else CPU)"),
    ("wgpu", "GPU through wgpu (Vulkan, Metal, DirectX 12)"),
    ("cpu", "CPU"),
];

/// What the background probe found about the GPU.
#[derive(Debug, Clone, PartialEq)]
pub enum GpuProbe {
    /// Still looking (the probe runs on a worker thread; the window never waits for it).
    Probing,
    /// An adapter was found.
    Found(String),
    /// None could be opened; the reason.
    Unavailable(String),
}

/// Earmark's window state.
pub struct EarmarkApp {
    settings: Settings,
    probe: Arc<Mutex<GpuProbe>>,
    notice: Option<String>,
}

impl Default for EarmarkApp {
    fn default() -> Self {
        Self::new(Settings::load())
    }
}

impl EarmarkApp {
    /// A window with these settings; starts probing the GPU in the background.
    pub fn new(settings: Settings) -> Self {
        let probe = Arc::new(Mutex::new(GpuProbe::Probing));
        let slot = Arc::clone(&probe);
        let spawned = std::thread::Builder::new()
            .name("gpu probe".into())
            .spawn(move || {
                let found = match GpuContext::new(&GpuOptions::default()) {
                    Ok(ctx) if ctx.info.device_type == wgpu::DeviceType::Cpu => {
                        GpuProbe::Found(format!(
                            "{} — a software adapter: automatic mode uses the CPU, \
                             the wgpu choice uses it",
                            ctx.describe()
                        ))
                    }
                    Ok(ctx) => GpuProbe::Found(ctx.describe()),
                    Err(e) => GpuProbe::Unavailable(e.to_string()),
                };
                if let Ok(mut s) = slot.lock() {
                    *s = found;
                }
            });
        if let Err(e) = spawned
            && let Ok(mut s) = probe.lock()
        {
            *s = GpuProbe::Unavailable(format!("cannot start the GPU probe: {e}"));
        }
        EarmarkApp {
            settings,
            probe,
            notice: None,
        }
    }

    /// The device setting currently chosen.
    pub fn device(&self) -> &str {
        &self.settings.device
    }

    fn device_ui(&mut self, ui: &mut egui::Ui) {
        let current = DEVICES
            .iter()
            .find(|(id, _)| *id == self.settings.device)
            .map_or(self.settings.device.as_str(), |(_, label)| label)
            .to_string();
        let mut chosen = self.settings.device.clone();
        ui.horizontal(|ui| {
            ui.label("Encoder device:");
            egui::ComboBox::from_id_salt("device")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (id, label) in DEVICES {
                        ui.selectable_value(&mut chosen, id.to_string(), label);
                    }
                });
        });
        if chosen != self.settings.device {
            self.settings.device = chosen;
            self.notice = self
                .settings
                .save()
                .err()
                .map(|e| format!("The setting could not be saved: {e}"));
        }
        let probe = self
            .probe
            .lock()
            .map(|p| p.clone())
            .unwrap_or(GpuProbe::Probing);
        match probe {
            GpuProbe::Probing => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Looking for a GPU…");
                });
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(200));
            }
            GpuProbe::Found(name) => {
                ui.label(format!("GPU: {name}"));
            }
            GpuProbe::Unavailable(reason) => {
                ui.label(format!("No GPU available ({reason}); the CPU is used."));
            }
        }
        if let Some(n) = &self.notice {
            ui.colored_label(ui.visuals().warn_fg_color, n);
        }
    }
}

impl eframe::App for EarmarkApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(ui.available_height() * 0.2);
                ui.heading("Earmark");
                ui.label("Listen to your sound library the way a trained ear does.");
                ui.add_space(16.0);
                ui.label("Describe a file from a terminal:   earmark info FILE --decode");
                ui.label("Scan a folder into the library:   earmark scan DIR --model MODEL");
                ui.label("Find similar sounds:   earmark similar FILE");
                ui.add_space(16.0);
                self.device_ui(ui);
                ui.add_space(8.0);
                ui.weak("Library browsing, tagging and similarity search open here.");
            });
        });
    }
}
