//! The desktop window (egui/eframe). Only this module imports egui.
//!
//! - [`app`]: [`EarmarkApp`], the eframe application (drains job events once per frame);
//! - [`shared`]: what every feature may use (commands, the read-only view of the shared state,
//!   the UI state remembered between runs, the table rows, the similarity search, dialogs,
//!   tasks, the job list, widgets);
//! - [`library`]: the table, its tag filter and the side bar; [`inspector`]: the selected file;
//!   [`similar`]: the Similar tab; [`map`]: the Map tab;
//! - [`jobs`]: the Jobs tab (every long-running job of the background service);
//! - `live_view` (feature `live`): the Live tab (its session, pictures, devices and workers);
//! - [`personal_tags`]: the Tags tab's personal tags (review list, tag jobs);
//! - [`model_manager`]: the Models tab (installed models, downloads, device, tag head);
//! - [`training`]: the Training tab (the run form, its run as a job, plots, checkpoints);
//! - [`writeback`]: writing tags into the files.
//!
//! A feature (`gui/<feature>/`) keeps its own state, draws from a [`shared::view::ViewCtx`] and
//! returns [`shared::command::Command`]s; it imports only `shared` and the core modules. The
//! app's command handler (`app/handler.rs` and `app/on_<feature>.rs`) is the only code that
//! changes shared state or starts background work.

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

/// The environment's options ([`options_from_env`]) with the command line's `--library` and
/// `--model` in place of `EARMARK_LIBRARY` and `EARMARK_MODEL` where given.
pub fn options_with(library: Option<PathBuf>, model: Option<PathBuf>) -> AppOptions {
    let env = options_from_env();
    AppOptions {
        library: library.or(env.library.clone()),
        model: model.or(env.model.clone()),
        ..env
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
