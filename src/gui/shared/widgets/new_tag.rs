//! The "Add tag…" control the inspector shows for the selected file (and region): a button that
//! opens a text field with completion from the tags the library knows; the tag to add comes
//! back as [`Command::AddTag`].

use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::view::ViewCtx;

/// Id of the new-tag text field.
pub const NEW_TAG_ID: &str = "new tag";
/// Completions offered under the new-tag field.
const COMPLETIONS: usize = 8;

/// The field's state: closed, or open with the text being typed.
#[derive(Debug, Default)]
pub struct NewTagField {
    /// The text, while the field is open.
    text: Option<String>,
    /// Focus the field on the next frame.
    focus: bool,
}

impl NewTagField {
    /// Whether the field is open (it then takes a row of its own).
    pub fn is_open(&self) -> bool {
        self.text.is_some()
    }

    /// Draws the "Add tag…" button, or the open field with its completions, for `file_id`
    /// (and `region`, seconds, when one is chosen).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &ViewCtx,
        file_id: i64,
        region: Option<(f64, f64)>,
    ) -> Option<Command> {
        let Some(mut text) = self.text.take() else {
            if ui
                .button("Add tag…")
                .on_hover_text(
                    "Tag this file (or the selected region) as an example of a personal tag",
                )
                .clicked()
            {
                self.text = Some(String::new());
                self.focus = true;
            }
            return None;
        };
        let mut close = false;
        let mut submit = false;
        ui.horizontal(|ui| {
            let target = match region {
                Some((a, b)) => format!("Tag region {a:.2}–{b:.2} s:"),
                None => "Tag file:".into(),
            };
            ui.label(target);
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut text)
                        .id(egui::Id::unique(NEW_TAG_ID))
                        .hint_text("tag name")
                        .desired_width(160.0),
                )
                .on_hover_text("New tag");
            if std::mem::take(&mut self.focus) {
                field.request_focus();
            }
            if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                submit = true;
            }
            if ui
                .add_enabled(!text.trim().is_empty(), egui::Button::new("Add"))
                .clicked()
            {
                submit = true;
            }
            if ui.button("Cancel").clicked() {
                close = true;
            }
        });
        let typed = text.trim().to_lowercase();
        let known = completions(cx, &typed);
        if !known.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.weak("Known:");
                for label in known {
                    if ui.small_button(&label).clicked() {
                        text = label;
                    }
                }
            });
        }
        let mut command = None;
        if submit && !text.trim().is_empty() {
            command = Some(Command::AddTag(text.trim().to_string(), file_id, region));
            close = true;
        }
        if !close {
            self.text = Some(text);
        }
        command
    }
}

/// Tags that complete `typed`: personal tags first, then the heads' labels; each once.
fn completions(cx: &ViewCtx, typed: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for label in cx.snapshot.personal_tags.iter().chain(&cx.snapshot.labels) {
        if out.len() >= COMPLETIONS {
            break;
        }
        if label.to_lowercase().contains(typed) && !out.contains(label) {
            out.push(label.clone());
        }
    }
    out
}
