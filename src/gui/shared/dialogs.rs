//! File dialogs behind a trait: the window uses the system's (rfd, through the XDG desktop
//! portal, or zenity) on a worker thread so the UI keeps drawing; tests give scripted answers
//! instead. Where the system has no dialog to show (no portal and no zenity, common on minimal
//! window managers and under Xvfb), the answer says so ([`DialogAnswer::Unavailable`]) and the
//! window asks in its own picker (`widgets::path_picker`) instead of failing silently.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// How a dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogAnswer {
    /// The user chose this path.
    Chosen(PathBuf),
    /// The user cancelled.
    Cancelled,
    /// No dialog could be shown; why (the window then asks in its own picker).
    Unavailable(String),
}

impl DialogRequest {
    /// The dialog's title.
    pub fn title(&self) -> &'static str {
        match self {
            DialogRequest::AddFolder => "Add a folder to the library",
            DialogRequest::ImportModel => "Import a model checkpoint",
            DialogRequest::EvalFolder => "Choose a labelled folder (one subfolder per class)",
            DialogRequest::InitModel => "Continue pretraining which model?",
            DialogRequest::TrainingFolder => "Add a folder of training audio",
            DialogRequest::SavePng(_) => "Export the spectrogram",
        }
    }

    /// The file name endings a file request accepts (none: a folder, or any file).
    pub fn extensions(&self) -> &'static [&'static str] {
        match self {
            DialogRequest::ImportModel | DialogRequest::InitModel => &["safetensors", "pt", "pth"],
            DialogRequest::SavePng(_) => &["png"],
            _ => &[],
        }
    }

    /// Whether the answer is a folder.
    pub fn wants_folder(&self) -> bool {
        matches!(
            self,
            DialogRequest::AddFolder | DialogRequest::EvalFolder | DialogRequest::TrainingFolder
        )
    }

    /// The file name suggested for a save request.
    pub fn save_name(&self) -> Option<&str> {
        match self {
            DialogRequest::SavePng(name) => Some(name),
            _ => None,
        }
    }
}

/// Asks the user for paths. Called on a worker thread; may block until the user answers.
pub trait Dialogs: Send + Sync {
    /// How the dialog for `request` ended.
    fn ask(&self, request: &DialogRequest) -> DialogAnswer;
}

/// A dialog that closes sooner than this without a path did not show (nobody cancels that
/// fast): the system's dialog service failed.
const TOO_QUICK: Duration = Duration::from_millis(250);

/// The system's dialogs (rfd).
#[derive(Debug, Default)]
pub struct SystemDialogs;

impl Dialogs for SystemDialogs {
    fn ask(&self, request: &DialogRequest) -> DialogAnswer {
        if let Err(why) = crate::gui::shared::portal::system_dialog_available() {
            return DialogAnswer::Unavailable(why);
        }
        let asked = Instant::now();
        match system_dialog(request) {
            Some(path) => DialogAnswer::Chosen(path),
            None if asked.elapsed() < TOO_QUICK => {
                DialogAnswer::Unavailable("the system's file dialog closed before it showed".into())
            }
            None => DialogAnswer::Cancelled,
        }
    }
}

fn system_dialog(request: &DialogRequest) -> Option<PathBuf> {
    let dialog = rfd::FileDialog::new().set_title(request.title());
    let exts = request.extensions();
    match request {
        DialogRequest::AddFolder | DialogRequest::EvalFolder | DialogRequest::TrainingFolder => {
            dialog.pick_folder()
        }
        DialogRequest::ImportModel | DialogRequest::InitModel => {
            dialog.add_filter("Model weights", exts).pick_file()
        }
        DialogRequest::SavePng(name) => dialog
            .set_file_name(name)
            .add_filter("PNG image", exts)
            .save_file(),
    }
}

/// Answers given in advance, one per request, in order (tests and scripted runs).
#[derive(Debug, Default)]
pub struct ScriptedDialogs {
    answers: Mutex<VecDeque<DialogAnswer>>,
    asked: Mutex<Vec<DialogRequest>>,
}

impl ScriptedDialogs {
    /// Queues the answer to the next request (`None`: the user cancels).
    pub fn answer(&self, path: Option<PathBuf>) {
        self.queue(path.map_or(DialogAnswer::Cancelled, DialogAnswer::Chosen));
    }

    /// Queues "no dialog could be shown" (`why`) as the answer to the next request.
    pub fn unavailable(&self, why: &str) {
        self.queue(DialogAnswer::Unavailable(why.to_owned()));
    }

    fn queue(&self, answer: DialogAnswer) {
        if let Ok(mut a) = self.answers.lock() {
            a.push_back(answer);
        }
    }

    /// The requests made so far.
    pub fn asked(&self) -> Vec<DialogRequest> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Dialogs for ScriptedDialogs {
    fn ask(&self, request: &DialogRequest) -> DialogAnswer {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(request.clone());
        }
        self.answers
            .lock()
            .ok()
            .and_then(|mut a| a.pop_front())
            .unwrap_or(DialogAnswer::Cancelled)
    }
}
