//! What the panels ask the app to do. Panels only push commands; the app carries them out once
//! per frame, after drawing, so no panel changes shared state behind another's back.

use std::path::PathBuf;

use crate::gui::shared::state::Panel;

/// A request from the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open the folder dialog and add what the user picks.
    AddFolderDialog,
    /// Add these folders (or the folders of these files) and scan them.
    AddRoots(Vec<PathBuf>),
    /// Scan every library root that is present.
    Rescan,
    /// Select a file: (file id, path).
    Select(i64, String),
    /// Select a file and play it as soon as it is loaded.
    Audition(i64, String),
    /// Move the table selection by this many rows.
    MoveSelection(i32),
    /// Move the similar-results selection by this many rows (and audition it).
    MoveResult(i32),
    /// Find files similar to the selection (or to its region).
    FindSimilar,
    /// Play or pause the inspected file.
    PlayPause,
    /// Move the playhead (seconds).
    Seek(f64),
    /// Show a panel.
    Show(Panel),
    /// Cancel job `n` (index in the job list).
    CancelJob(usize),
    /// Pause or resume job `n`.
    TogglePauseJob(usize),
    /// Compute the 2-D map of the library.
    ComputeMap,
    /// Make this weight file the active model.
    UseModel(PathBuf),
    /// Use this tag head (and its class names) for predicted tags.
    UseHead {
        /// The head file.
        head: PathBuf,
        /// Its vocabulary, if it has one.
        labels: Option<PathBuf>,
    },
    /// Open the file dialog and import a checkpoint.
    ImportModelDialog,
    /// Open the save dialog and export the spectrogram as PNG.
    ExportPngDialog,
    /// Open the folder of this file in the file manager.
    Reveal(String),
    /// Copy these paths to the clipboard, one per line.
    CopyPaths(Vec<String>),
    /// Change where the encoder runs.
    SetDevice(String),
    /// Open the folder dialog for a training data folder.
    TrainingFolderDialog,
    /// Open the folder dialog for the labelled folder checkpoints are evaluated on.
    EvalFolderDialog,
    /// Open the file dialog for the model a training run continues.
    InitModelDialog,
    /// Add a personal tag example: label, file id, and the region (seconds) if one is chosen.
    AddTag(String, i64, Option<(f64, f64)>),
    /// Answer the review of a personal tag: label, file id, accepted.
    ReviewAnswer(String, i64, bool),
    /// Apply the tag head's threshold and top-N to the whole library again.
    RetagLibrary,
    /// Show or hide files carrying this tag in the table (the tag filter).
    ToggleTagFilter(String),
}
