//! The eframe application: the start screen shown before a library exists.

use eframe::egui;

/// Earmark's window state.
#[derive(Default)]
pub struct EarmarkApp;

impl eframe::App for EarmarkApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(ui.available_height() * 0.25);
                ui.heading("Earmark");
                ui.label("Listen to your sound library the way a trained ear does.");
                ui.add_space(16.0);
                ui.label("Describe a file from a terminal:   earmark info FILE --decode");
                ui.label("Compute its log-mel spectrogram:   earmark logmel FILE --out mel.npy");
                ui.add_space(8.0);
                ui.weak("Library browsing, tagging and similarity search open here.");
            });
        });
    }
}
