//! How the window starts ([`AppOptions`]) and what a benchmark run of it leaves
//! ([`BenchRun`], [`BenchFigures`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::Settings;
use crate::gui::shared::active_model::ModelSource;
use crate::gui::shared::dialogs::{Dialogs, SystemDialogs};
use crate::gui::shared::frame_stats::Percentiles;

/// Frame-time figures of a benchmark run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BenchFigures {
    /// Time to build each frame's UI.
    pub ui: Percentiles,
    /// Whole-frame CPU time as eframe measured it.
    pub cpu: Percentiles,
    /// Time between frame starts (rendering and presenting included).
    pub interval: Percentiles,
    /// Wall time of the scan.
    pub scan_s: f64,
    /// Rows in the table at the end.
    pub rows: usize,
}

/// A benchmark run: scan these folders, then close the window and leave the figures.
#[derive(Debug, Clone, Default)]
pub struct BenchRun {
    /// Folders to add at start.
    pub roots: Vec<PathBuf>,
    /// Where the figures go.
    pub result: Arc<Mutex<Option<BenchFigures>>>,
}

/// How the window starts.
#[derive(Clone)]
pub struct AppOptions {
    /// The index file (overrides the remembered one).
    pub library: Option<PathBuf>,
    /// The model (overrides the settings).
    pub model: Option<PathBuf>,
    /// Settings to start from.
    pub settings: Settings,
    /// Where settings changes are saved (`None`: not saved).
    pub settings_dir: Option<PathBuf>,
    /// File dialogs.
    pub dialogs: Arc<dyn Dialogs>,
    /// Write the rectangles of the drawn panels here once the library is shown (window tests).
    pub layout_report: Option<PathBuf>,
    /// A benchmark run.
    pub bench: Option<BenchRun>,
    /// Select this file once the library is read (overrides the remembered selection).
    pub select: Option<String>,
    /// Look for a GPU to show in the Models panel.
    pub probe_gpu: bool,
    /// Where eframe keeps the window state (`None`: the platform's data directory).
    pub persistence_path: Option<PathBuf>,
    /// Folders listed in the Models panel (`None`: [`crate::gui::shared::active_model::model_folders`]).
    pub model_folders: Option<Vec<(PathBuf, ModelSource)>>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            library: None,
            model: None,
            settings: Settings::default(),
            settings_dir: None,
            dialogs: Arc::new(SystemDialogs),
            layout_report: None,
            bench: None,
            select: None,
            probe_gpu: true,
            persistence_path: None,
            model_folders: None,
        }
    }
}
