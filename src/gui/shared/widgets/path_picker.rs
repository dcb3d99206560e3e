//! Earmark's own file and folder picker, shown in the window when the system has no file dialog
//! (no XDG desktop portal, no zenity): a path field (type or paste a path, Enter chooses), the
//! folder's subfolders (and the files a request accepts) to click through, Up and Home, and
//! Choose/Cancel. It never fails silently: a path that cannot be used says why beside the buttons.

use std::path::{Path, PathBuf};

use eframe::egui;

use crate::gui::shared::dialogs::DialogRequest;

/// The most entries of one folder listed (a huge folder is cut, and says so).
const MAX_ENTRIES: usize = 2000;

/// How the picker ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// The user chose this path.
    Chosen(PathBuf),
    /// The user cancelled.
    Cancelled,
}

/// One entry of the folder shown.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    is_dir: bool,
}

/// The picker's state while it is open.
#[derive(Debug)]
pub struct PathPicker {
    request: DialogRequest,
    /// Why the system's dialog is not used.
    why: String,
    /// The folder listed.
    dir: PathBuf,
    /// The path field.
    typed: String,
    entries: Vec<Entry>,
    /// More entries than listed.
    cut: bool,
    /// What went wrong last (reading the folder, a path that cannot be used).
    error: Option<String>,
    focus: bool,
}

impl PathPicker {
    /// A picker answering `request`, starting in `start`; `why` says why the system's dialog is
    /// not used.
    pub fn new(request: DialogRequest, start: &Path, why: String) -> Self {
        let mut picker = PathPicker {
            request,
            why,
            dir: start.to_path_buf(),
            typed: String::new(),
            entries: Vec::new(),
            cut: false,
            error: None,
            focus: true,
        };
        picker.open_dir(start.to_path_buf());
        picker
    }

    /// The request it answers.
    pub fn request(&self) -> &DialogRequest {
        &self.request
    }

    /// Lists `dir` and puts it (with the save name, for a save) in the path field.
    fn open_dir(&mut self, dir: PathBuf) {
        self.error = None;
        self.typed = match self.request.save_name() {
            Some(name) => dir.join(name).display().to_string(),
            None => dir.display().to_string(),
        };
        match list(&dir, &self.request) {
            Ok((entries, cut)) => {
                self.entries = entries;
                self.cut = cut;
            }
            Err(e) => {
                self.entries.clear();
                self.cut = false;
                self.error = Some(format!("{}: {e}", dir.display()));
            }
        }
        self.dir = dir;
    }

    /// What choosing the typed path means: the answer, a folder to open, or why it cannot be used.
    fn choose(&mut self) -> Option<Picked> {
        let path = PathBuf::from(self.typed.trim());
        if path.as_os_str().is_empty() {
            self.error = Some("Type or pick a path first.".into());
            return None;
        }
        let path = if path.is_relative() {
            self.dir.join(path)
        } else {
            path
        };
        match verdict(&self.request, &path) {
            Verdict::Use(p) => Some(Picked::Chosen(p)),
            Verdict::Open(dir) => {
                self.open_dir(dir);
                None
            }
            Verdict::No(why) => {
                self.error = Some(why);
                None
            }
        }
    }

    /// Draws the picker over the window; `Some` once the user has chosen or cancelled.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Picked> {
        let mut outcome = None;
        let modal = egui::Modal::new(egui::Id::unique("earmark path picker")).show(ctx, |ui| {
            ui.set_max_width(560.0);
            ui.heading(self.request.title());
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!(
                        "The system's file dialog is not available: {}. Choose here instead.",
                        self.why
                    ))
                    .weak(),
                )
                .wrap(),
            );
            ui.add_space(6.0);
            outcome = self.path_row_ui(ui);
            ui.add_space(4.0);
            if let Some(dir) = self.entries_ui(ui) {
                self.open_dir(dir);
            }
            if let Some(e) = &self.error {
                ui.add(
                    egui::Label::new(egui::RichText::new(e).color(ui.visuals().error_fg_color))
                        .wrap(),
                );
            }
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                let verb = if self.request.save_name().is_some() {
                    "Save"
                } else if self.request.wants_folder() {
                    "Choose this folder"
                } else {
                    "Open"
                };
                if ui.button(verb).clicked() {
                    outcome = outcome.take().or_else(|| self.choose());
                }
                if ui.button("Cancel").clicked() {
                    outcome = Some(Picked::Cancelled);
                }
            });
        });
        if outcome.is_none() && modal.should_close() {
            outcome = Some(Picked::Cancelled);
        }
        outcome
    }

    /// Up, Home and the path field (Enter chooses).
    fn path_row_ui(&mut self, ui: &mut egui::Ui) -> Option<Picked> {
        let mut outcome = None;
        ui.horizontal(|ui| {
            if ui.button("Up").on_hover_text("The folder above").clicked()
                && let Some(parent) = self.dir.parent()
            {
                self.open_dir(parent.to_path_buf());
            }
            if ui
                .button("Home")
                .on_hover_text("Your home folder")
                .clicked()
            {
                self.open_dir(home());
            }
            let label = ui.label("Path:");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.typed)
                        .id_salt("earmark path picker field")
                        .desired_width(ui.available_width()),
                )
                .labelled_by(label.id);
            if std::mem::take(&mut self.focus) {
                field.request_focus();
            }
            if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                outcome = self.choose();
                if outcome.is_none() {
                    field.request_focus();
                }
            }
        });
        outcome
    }

    /// The folder's entries; returns the folder clicked.
    fn entries_ui(&mut self, ui: &mut egui::Ui) -> Option<PathBuf> {
        let mut open = None;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            egui::ScrollArea::vertical()
                .max_height(240.0)
                .min_scrolled_height(240.0)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    if self.entries.is_empty() && self.error.is_none() {
                        ui.weak(if self.request.wants_folder() {
                            "No subfolders"
                        } else {
                            "Nothing to open here"
                        });
                    }
                    for entry in &self.entries {
                        let path = self.dir.join(&entry.name);
                        let text = if entry.is_dir {
                            format!("{}/", entry.name)
                        } else {
                            entry.name.clone()
                        };
                        let picked = self.typed == path.display().to_string();
                        let r = ui.selectable_label(picked, text);
                        if r.double_clicked() || (r.clicked() && entry.is_dir) {
                            if entry.is_dir {
                                open = Some(path);
                            } else {
                                self.typed = path.display().to_string();
                            }
                        } else if r.clicked() {
                            self.typed = path.display().to_string();
                        }
                    }
                    if self.cut {
                        ui.weak(format!("(only the first {MAX_ENTRIES} entries are listed)"));
                    }
                });
        });
        open
    }
}

/// What to do with a typed path.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Answer with it.
    Use(PathBuf),
    /// A folder to open (a file was asked for).
    Open(PathBuf),
    /// It cannot be used; why.
    No(String),
}

fn verdict(request: &DialogRequest, path: &Path) -> Verdict {
    let shown = path.display();
    if request.wants_folder() {
        return if path.is_dir() {
            Verdict::Use(path.to_path_buf())
        } else if path.exists() {
            Verdict::No(format!("{shown} is a file; choose a folder."))
        } else {
            Verdict::No(format!("{shown}: no such folder."))
        };
    }
    if path.is_dir() {
        return Verdict::Open(path.to_path_buf());
    }
    if request.save_name().is_some() {
        let path = with_extension(path, request.extensions());
        return match path.parent() {
            Some(dir) if dir.is_dir() => Verdict::Use(path),
            _ => Verdict::No(format!("{}: the folder does not exist.", path.display())),
        };
    }
    if path.is_file() {
        Verdict::Use(path.to_path_buf())
    } else {
        Verdict::No(format!("{shown}: no such file."))
    }
}

/// `path` ending in the first of `extensions` when it ends in none of them.
fn with_extension(path: &Path, extensions: &[&str]) -> PathBuf {
    let has = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)));
    match extensions.first() {
        Some(ext) if !has => {
            let mut s = path.as_os_str().to_owned();
            s.push(".");
            s.push(ext);
            PathBuf::from(s)
        }
        _ => path.to_path_buf(),
    }
}

/// The folder's subfolders and the files `request` accepts, folders first, by name (hidden
/// entries left out); whether the list was cut.
fn list(dir: &Path, request: &DialogRequest) -> std::io::Result<(Vec<Entry>, bool)> {
    let exts = request.extensions();
    let files = !request.wants_folder();
    let mut entries = Vec::new();
    let mut cut = false;
    for item in std::fs::read_dir(dir)? {
        let Ok(item) = item else { continue };
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let is_dir = item.path().is_dir();
        let wanted = is_dir
            || (files
                && (exts.is_empty()
                    || Path::new(&name)
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))));
        if !wanted {
            continue;
        }
        if entries.len() == MAX_ENTRIES {
            cut = true;
            break;
        }
        entries.push(Entry { name, is_dir });
    }
    entries.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok((entries, cut))
}

/// The user's home folder (the root when there is none).
pub fn home() -> PathBuf {
    directories::UserDirs::new()
        .map(|u| u.home_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_paths_are_judged_by_what_was_asked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("drums")).unwrap();
        std::fs::write(d.join("model.safetensors"), b"x").unwrap();
        let folder = DialogRequest::AddFolder;
        assert_eq!(
            verdict(&folder, &d.join("drums")),
            Verdict::Use(d.join("drums"))
        );
        assert!(
            matches!(verdict(&folder, &d.join("model.safetensors")), Verdict::No(w) if w.contains("is a file"))
        );
        assert!(
            matches!(verdict(&folder, &d.join("gone")), Verdict::No(w) if w.contains("no such folder"))
        );
        let model = DialogRequest::ImportModel;
        assert_eq!(
            verdict(&model, &d.join("drums")),
            Verdict::Open(d.join("drums"))
        );
        assert_eq!(
            verdict(&model, &d.join("model.safetensors")),
            Verdict::Use(d.join("model.safetensors"))
        );
        let save = DialogRequest::SavePng("kick.png".into());
        assert_eq!(
            verdict(&save, &d.join("kick")),
            Verdict::Use(d.join("kick.png"))
        );
        assert_eq!(
            verdict(&save, &d.join("a.PNG")),
            Verdict::Use(d.join("a.PNG"))
        );
        assert!(matches!(
            verdict(&save, &d.join("gone/kick.png")),
            Verdict::No(_)
        ));
    }

    #[test]
    fn a_folder_lists_subfolders_first_and_only_wanted_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["b", "A", ".hidden"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        for f in ["z.pt", "notes.txt", "c.safetensors"] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        let names = |r: &DialogRequest| -> Vec<String> {
            list(d, r).unwrap().0.into_iter().map(|e| e.name).collect()
        };
        assert_eq!(names(&DialogRequest::AddFolder), ["A", "b"]);
        assert_eq!(
            names(&DialogRequest::ImportModel),
            ["A", "b", "c.safetensors", "z.pt"]
        );
        let mut picker = PathPicker::new(DialogRequest::AddFolder, d, "test".into());
        assert_eq!(picker.typed, d.display().to_string());
        picker.typed = d.join("b").display().to_string();
        assert_eq!(picker.choose(), Some(Picked::Chosen(d.join("b"))));
        picker.typed = "A".into();
        assert_eq!(
            picker.choose(),
            Some(Picked::Chosen(d.join("A"))),
            "relative to the folder shown"
        );
        let mut picker = PathPicker::new(DialogRequest::ImportModel, d, "test".into());
        picker.typed = d.join("A").display().to_string();
        assert_eq!(picker.choose(), None, "a folder opens");
        assert_eq!(picker.dir, d.join("A"));
        let gone = PathPicker::new(DialogRequest::AddFolder, &d.join("gone"), "test".into());
        assert!(gone.error.is_some(), "an unreadable folder says why");
    }
}
