//! The desktop window (egui/eframe). Only this module imports egui.
//!
//! For now the window shows Earmark's start screen: what the app does and how to begin from the
//! command line. The library browser, inspector and other panels build on it.

mod app;

pub use app::EarmarkApp;

/// Opens the main window and runs until it is closed.
pub fn run() -> crate::Result<()> {
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Earmark")
            .with_inner_size([1100.0, 720.0])
            .with_min_inner_size([640.0, 400.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Earmark",
        options,
        Box::new(|_cc| Ok(Box::new(EarmarkApp::default()))),
    )
    .map_err(|e| crate::Error::InvalidInput(format!("cannot open the window: {e}")))
}
