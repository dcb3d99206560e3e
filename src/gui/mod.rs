//! The desktop window (egui/eframe). Only this module imports egui.
//!
//! - [`app`]: [`EarmarkApp`], the eframe application (drains job events once per frame);
//! - [`command`] and [`actions`]: what panels ask for, carried out once per frame;
//! - [`state`]: the UI state remembered between runs;
//! - [`jobs`]: the Jobs tab (every long-running job of the background service);
//! - `live_view` (feature `live`): the Live tab (its session, pictures, devices and workers);
//! - [`widgets`]: the spectrogram view;
//! - [`personal_tags`]: the Tags tab's personal tags (review list, tag jobs);
//! - [`model_manager`]: the Models tab (installed models, downloads, device, tag head);
//! - [`training`]: the Training tab (the run form, its run as a job, plots, checkpoints);
//! - [`rows`], [`inspect`], [`search`]: the data behind the panels, read on worker
//!   threads ([`tasks`]); [`job_list`]: the jobs of this session; [`dialogs`]: file dialogs;
//!   [`frame_stats`]: frame times measured by the app.

pub mod app;
pub mod inspector;
pub mod jobs;
pub mod library;
#[cfg(feature = "live")]
pub mod live_view;
pub mod map;
pub mod model_manager;
pub mod personal_tags;
pub mod shared;
pub mod similar;
pub mod training;
pub mod writeback;

use std::path::PathBuf;

pub use app::{AppOptions, BenchFigures, BenchRun, EarmarkApp};

use crate::config::{Settings, config_dir};

/// Options read from the environment: `EARMARK_LIBRARY` (index file), `EARMARK_MODEL` (weights),
/// `EARMARK_SELECT` (a file to select) and `EARMARK_LAYOUT_REPORT` (where the window test wants
/// the panel rectangles).
pub fn options_from_env() -> AppOptions {
    let var = |k: &str| std::env::var_os(k).map(PathBuf::from);
    AppOptions {
        library: var("EARMARK_LIBRARY"),
        model: var("EARMARK_MODEL"),
        settings: Settings::load(),
        settings_dir: config_dir(),
        layout_report: var("EARMARK_LAYOUT_REPORT"),
        select: std::env::var("EARMARK_SELECT").ok(),
        ..AppOptions::default()
    }
}

fn native_options(
    renderer: eframe::Renderer,
    persistence_path: Option<PathBuf>,
) -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Earmark")
            .with_app_id("earmark")
            .with_inner_size([1200.0, 780.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        renderer,
        persistence_path,
        ..Default::default()
    }
}

/// Opens the main window and runs until it is closed: wgpu first, OpenGL (glow) when wgpu
/// cannot start.
pub fn run_with(opts: AppOptions) -> crate::Result<()> {
    let start = |renderer, opts: AppOptions| {
        eframe::run_native(
            "Earmark",
            native_options(renderer, opts.persistence_path.clone()),
            Box::new(move |cc| Ok(Box::new(EarmarkApp::new(cc, opts)))),
        )
    };
    match start(eframe::Renderer::Wgpu, opts.clone()) {
        Ok(()) => Ok(()),
        Err(wgpu_error) => {
            eprintln!("earmark: wgpu could not start ({wgpu_error}); trying OpenGL");
            start(eframe::Renderer::Glow, opts).map_err(|e| {
                crate::Error::InvalidInput(format!(
                    "cannot open the window: wgpu: {wgpu_error}; OpenGL: {e}"
                ))
            })
        }
    }
}

/// Opens the main window with the options of the environment.
pub fn run() -> crate::Result<()> {
    run_with(options_from_env())
}
