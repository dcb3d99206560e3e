//! What the panels ask the app to do. Panels only push commands; the app carries them out once
//! per frame, after drawing, so no panel changes shared state behind another's back.

use std::path::PathBuf;

use crate::gui::shared::state::{MapColour, Panel, SortColumn, ThemeChoice};

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
    /// No tag head: predicted tags off (the starter head's too).
    UseNoHead,
    /// Forget the chosen head: the bundled model's starter head tags again (with that model).
    UseStarterHead,
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
    /// Choose the precision of the encoder's CPU matrix products (engines loaded from now on).
    SetPrecision(crate::model::Precision),
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
    /// Take the last review answer back (its example is removed and the tag refitted).
    UndoReviewAnswer,
    /// Apply the fitted personal tags to the files analysed since they were fitted.
    ApplyPersonalTags,
    /// Apply the tag head's threshold and top-N to the whole library again.
    RetagLibrary,
    /// Show or hide files carrying this tag in the table (the tag filter).
    ToggleTagFilter(String),
    /// Show this message to the user (the status bar's notices).
    Notify(String),
    /// Preview the tag write-back with the chosen fields (a job).
    WritebackPreview,
    /// Write the previewed tags into the files (a job).
    WritebackApply,
    /// Undo the newest tag write (a job).
    WritebackUndo,
    /// Use this colour theme.
    SetTheme(ThemeChoice),
    /// Show or hide the inspector.
    ShowInspector(bool),
    /// Show or hide the library side bar (its folders).
    ShowSidebar(bool),
    /// Dismiss the newest message for the user.
    DismissNotice,
    /// Show the library and put the keyboard focus in its filter (Ctrl+F).
    FocusFilter,
    /// Filter the table by this text (every word must appear in name, folder or tags).
    SetFilter(String),
    /// Sort the table by this column, ascending or not.
    SortTable(SortColumn, bool),
    /// Show only the files that could not be read (or every file again).
    ShowErrorsOnly(bool),
    /// Show (`true`) or hide a column of the library table.
    ShowColumn(SortColumn, bool),
    /// Read the map's points and its colouring again where they are out of date.
    RefreshMap,
    /// Colour the map's points by their folder, their top tag, or whether they carry a tag.
    ColourMapBy(MapColour),
    /// Audition similar result `n` (from its best segment after a region search).
    AuditionResult(usize),
    /// Load the selected file into the inspector (again, e.g. after its tags changed).
    InspectSelected,
    /// The inspector has loaded the selected file: play it if that was asked for.
    PlayLoaded,
    /// Start a training run with the Training tab's options.
    StartTraining,
    /// Continue the last training run from its newest checkpoint.
    ResumeTraining,
    /// Pause the training run, or let a paused one go on.
    PauseTraining,
    /// Stop the training run (its checkpoint and model export follow).
    StopTraining,
    /// Evaluate this training checkpoint on the Training tab's evaluation folder.
    EvaluateCheckpoint(PathBuf),
    /// Compare the finished training run's model with the active one (Training tab).
    CompareTrainedModel,
    /// List the installed models and read the download catalog (Models tab).
    ReadModels,
    /// Look for a GPU to show in the Models tab.
    ProbeGpu,
    /// Download (or resume) this catalog entry into the models folder.
    DownloadModel(String),
    /// Stop the model download in progress (what arrived is kept for a resume).
    CancelDownload,
    /// Show the review list of this personal tag in the Tags tab.
    SetReviewTag(String),
    /// Keep this threshold and top-N for the tag head of this name (in the settings).
    SetHeadLimits(String, crate::config::TagLimits),
    /// Read the review list of the chosen personal tag.
    ReadReviewList,
    /// Start listening to the input device, or stop (the Live tab, Ctrl+L).
    ToggleListening,
    /// Listen to this input device (`None`: the system's default); kept in the settings.
    SetInputDevice(Option<String>),
    /// Play through this output device (`None`: the system's default); kept in the settings.
    SetOutputDevice(Option<String>),
    /// List the audio devices (again).
    ListAudioDevices,
    /// Find files similar to the last seconds heard live (results in the Similar tab).
    FindSimilarHeard,
    /// Save the last seconds heard live into the snippet folder, and scan it.
    SaveSnippet,
    /// Import this checkpoint into the models folder and make it the active model.
    ImportModel(PathBuf),
    /// Run the last similar query again with the Similar tab's filters.
    RefineSimilar,
}
