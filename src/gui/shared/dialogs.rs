//! File dialogs behind a trait: the window uses the system's (rfd, through the XDG desktop
//! portal) on a worker thread so the UI keeps drawing; tests give scripted answers instead.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;

/// What a dialog asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogRequest {
    /// A folder to add to the library.
    AddFolder,
    /// A model checkpoint to import.
    ImportModel,
    /// Where to save the spectrogram PNG (suggested file name).
    SavePng(String),
    /// A folder of training audio.
    TrainingFolder,
    /// A labelled folder (subfolder = class) to evaluate checkpoints on.
    EvalFolder,
    /// A model whose pretraining a run continues.
    InitModel,
}

/// Asks the user for paths. Called on a worker thread; may block until the user answers.
pub trait Dialogs: Send + Sync {
    /// The answer to `request`, or `None` when the user cancelled.
    fn ask(&self, request: &DialogRequest) -> Option<PathBuf>;
}

/// The system's dialogs (rfd).
#[derive(Debug, Default)]
pub struct SystemDialogs;

impl Dialogs for SystemDialogs {
    fn ask(&self, request: &DialogRequest) -> Option<PathBuf> {
        match request {
            DialogRequest::AddFolder => rfd::FileDialog::new()
                .set_title("Add a folder to the library")
                .pick_folder(),
            DialogRequest::ImportModel => rfd::FileDialog::new()
                .set_title("Import a model checkpoint")
                .add_filter("Model weights", &["safetensors", "pt", "pth"])
                .pick_file(),
            DialogRequest::EvalFolder => rfd::FileDialog::new()
                .set_title("Choose a labelled folder (one subfolder per class)")
                .pick_folder(),
            DialogRequest::InitModel => rfd::FileDialog::new()
                .set_title("Continue pretraining which model?")
                .add_filter("Model weights", &["safetensors", "pt", "pth"])
                .pick_file(),
            DialogRequest::TrainingFolder => rfd::FileDialog::new()
                .set_title("Add a folder of training audio")
                .pick_folder(),
            DialogRequest::SavePng(name) => rfd::FileDialog::new()
                .set_title("Export the spectrogram")
                .set_file_name(name)
                .add_filter("PNG image", &["png"])
                .save_file(),
        }
    }
}

/// Answers given in advance, one per request, in order (tests and scripted runs).
#[derive(Debug, Default)]
pub struct ScriptedDialogs {
    answers: Mutex<VecDeque<Option<PathBuf>>>,
    asked: Mutex<Vec<DialogRequest>>,
}

impl ScriptedDialogs {
    /// Queues the answer to the next request (`None`: the user cancels).
    pub fn answer(&self, path: Option<PathBuf>) {
        if let Ok(mut a) = self.answers.lock() {
            a.push_back(path);
        }
    }

    /// The requests made so far.
    pub fn asked(&self) -> Vec<DialogRequest> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Dialogs for ScriptedDialogs {
    fn ask(&self, request: &DialogRequest) -> Option<PathBuf> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(request.clone());
        }
        self.answers.lock().ok()?.pop_front().flatten()
    }
}
