//! Personal tags in the window: the "Add tag…" field of the inspector (with completion from the
//! tags the library knows) and the Tags tab — the review list of one personal tag, its likeliest
//! unlabelled files with Accept / Reject (keys A / R act on the highlighted file).

use std::collections::HashSet;

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::command::Command;
use crate::gui::job_list::{JobKind, JobState};
use crate::gui::personal::review_list;
use crate::gui::tasks::{Task, poll_slot};
use crate::library::tagging::source_name;
use crate::tags::refit::ReviewItem;

/// Id of the new-tag text field.
pub const NEW_TAG_ID: &str = "new tag";
/// Completions offered under the new-tag field.
const COMPLETIONS: usize = 8;

/// The live state of personal tagging.
#[derive(Default)]
pub struct TagsState {
    /// A tag job was submitted and has not ended yet.
    pub waiting: bool,
    /// Files answered since the review list was read (hidden from it).
    pub answered: HashSet<i64>,
    /// Reading the review list.
    pub review: Option<Task<crate::Result<Vec<ReviewItem>>>>,
    /// The review list and the tag it is for.
    pub items: Option<(String, Vec<ReviewItem>)>,
    /// Why the review list cannot be shown.
    pub review_error: Option<String>,
    /// The highlighted review item.
    pub highlighted: usize,
    /// The new-tag field's text, while it is open.
    pub adding: Option<String>,
    /// Focus the new-tag field on the next frame.
    pub focus_new_tag: bool,
    /// The search text of the table's tag filter menu.
    pub filter_search: String,
}

impl TagsState {
    /// The review items still to answer.
    pub fn open_items(&self) -> Vec<&ReviewItem> {
        self.items.as_ref().map_or_else(Vec::new, |(_, items)| {
            items
                .iter()
                .filter(|i| !self.answered.contains(&i.file_id))
                .collect()
        })
    }
}

/// Reacts to ended tag jobs (re-read the inspected file and the review list) and takes the
/// review list when it is read.
pub fn poll(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.tags.waiting && !app.jobs.active(JobKind::Tags) {
        app.tags.waiting = false;
        if app.selected.is_some() {
            super::inspector::load(app, ctx);
        }
        app.tags.items = None;
    }
    if let Some(result) = poll_slot(&mut app.tags.review) {
        match result {
            Ok(items) => {
                let label = app.state.review_tag.clone().unwrap_or_default();
                app.tags.items = Some((label, items));
                app.tags.answered.clear();
                app.tags.review_error = None;
                app.tags.highlighted = 0;
            }
            Err(e) => {
                app.tags.items =
                    Some((app.state.review_tag.clone().unwrap_or_default(), Vec::new()));
                app.tags.review_error = Some(e.to_string());
            }
        }
    }
    let wanted = app.state.review_tag.clone();
    let have = app.tags.items.as_ref().map(|(l, _)| l.clone());
    if let Some(label) = wanted
        && have.as_ref() != Some(&label)
        && app.tags.review.is_none()
        && !app.tags.waiting
        && app.model.active.is_some()
    {
        let (library, model) = (app.library_path.clone(), app.model.active.clone());
        app.tags.review = Some(Task::spawn("earmark-review", ctx, move || {
            review_list(&library, model.as_ref(), &label)
        }));
    }
}

/// The inspector's "Add tag…" control for the selected file (and region).
pub fn add_tag_ui(ui: &mut egui::Ui, app: &mut EarmarkApp, file_id: i64) {
    let Some(mut text) = app.tags.adding.take() else {
        if ui
            .button("Add tag…")
            .on_hover_text("Tag this file (or the selected region) as an example of a personal tag")
            .clicked()
        {
            app.tags.adding = Some(String::new());
            app.tags.focus_new_tag = true;
        }
        return;
    };
    let mut close = false;
    let mut submit = false;
    ui.horizontal(|ui| {
        let target = match app.inspector.region {
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
        if std::mem::take(&mut app.tags.focus_new_tag) {
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
    let known = completions(app, &typed);
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
    if submit && !text.trim().is_empty() {
        let region = app.inspector.region;
        app.push(Command::AddTag(text.trim().to_string(), file_id, region));
        close = true;
    }
    if !close {
        app.tags.adding = Some(text);
    }
}

/// Tags that complete `typed`: personal tags first, then the heads' labels; each once.
fn completions(app: &EarmarkApp, typed: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for label in app
        .snapshot
        .personal_tags
        .iter()
        .chain(&app.snapshot.labels)
    {
        if out.len() >= COMPLETIONS {
            break;
        }
        if label.to_lowercase().contains(typed) && !out.contains(label) {
            out.push(label.clone());
        }
    }
    out
}

/// The tag head's threshold and top-N (saved in the settings), and applying them again.
fn head_limits_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let Some(head) = app.settings.head.clone() else {
        ui.weak("No tag head: choose one in Models to tag the library as it is scanned.");
        return;
    };
    let source = source_name(&head);
    let mut limits = app
        .settings
        .head_limits
        .get(&source)
        .copied()
        .unwrap_or_default();
    let before = limits;
    ui.horizontal(|ui| {
        ui.label(format!("Head {source}: keep tags from"));
        ui.add(
            egui::DragValue::new(&mut limits.threshold)
                .range(0.0..=1.0)
                .speed(0.005)
                .max_decimals(3),
        )
        .on_hover_text("Threshold");
        ui.label("top");
        ui.add(egui::DragValue::new(&mut limits.top_n).range(1..=50))
            .on_hover_text("Top-N");
        if ui
            .button("Apply to library")
            .on_hover_text("Tag every analysed file again with these limits")
            .clicked()
        {
            app.push(Command::RetagLibrary);
        }
    });
    if limits != before {
        app.settings.head_limits.insert(source, limits);
        app.save_settings();
    }
}

/// The Tags tab.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.columns(2, |cols| {
        tags_ui(&mut cols[0], app);
        egui::ScrollArea::vertical()
            .id_salt("writeback-column")
            .auto_shrink(false)
            .show(&mut cols[1], |ui| super::writeback::ui(ui, app));
    });
}

/// The head's limits and the personal tags' review list.
fn tags_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.heading("Tags");
    head_limits_ui(ui, app);
    ui.separator();
    ui.heading("Personal tags");
    let tags = app.snapshot.personal_tags.clone();
    if tags.is_empty() {
        ui.label(
            "No personal tags yet. Select a file (or drag a region in its spectrogram) and press \
             \"Add tag…\" in the inspector; a few examples are enough to start.",
        );
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Review:");
        let current = app.state.review_tag.clone().unwrap_or_default();
        for t in &tags {
            if ui.selectable_label(*t == current, t).clicked() {
                app.state.review_tag = Some(t.clone());
            }
        }
        if app.tags.waiting || app.tags.review.is_some() {
            ui.spinner();
        }
    });
    if let Some(summary) = last_summary(app) {
        ui.weak(summary);
    }
    if app.state.review_tag.is_none() {
        return;
    }
    if let Some(e) = &app.tags.review_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
        return;
    }
    review_ui(ui, app);
}

/// The latest finished tag job's line.
fn last_summary(app: &EarmarkApp) -> Option<String> {
    app.jobs
        .entries
        .iter()
        .rev()
        .filter(|j| j.kind == JobKind::Tags)
        .find_map(|j| match &j.state {
            JobState::Done(s) => Some(s.clone()),
            JobState::Failed(e) => Some(format!("{}: {e}", j.name)),
            _ => None,
        })
}

fn review_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let Some(label) = app.state.review_tag.clone() else {
        return;
    };
    let items: Vec<ReviewItem> = app.tags.open_items().into_iter().cloned().collect();
    if items.is_empty() {
        ui.weak("Nothing to review: every analysed file has an answer.");
        return;
    }
    ui.weak(format!(
        "Most likely `{label}` among files without an answer. A accepts, R rejects the highlighted file."
    ));
    app.tags.highlighted = app.tags.highlighted.min(items.len() - 1);
    let typing = ui.ctx().egui_wants_keyboard_input();
    let (accept_key, reject_key) = if typing {
        (false, false)
    } else {
        ui.input_mut(|i| {
            (
                i.consume_key(egui::Modifiers::NONE, egui::Key::A),
                i.consume_key(egui::Modifiers::NONE, egui::Key::R),
            )
        })
    };
    let mut answer: Option<(i64, bool)> = None;
    let mut select: Option<(usize, i64, String)> = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (n, item) in items.iter().enumerate() {
            ui.horizontal(|ui| {
                let name = std::path::Path::new(&item.path)
                    .file_name()
                    .map_or_else(|| item.path.clone(), |f| f.to_string_lossy().into_owned());
                if ui.button("Accept").on_hover_text("A").clicked() {
                    answer = Some((item.file_id, true));
                }
                if ui.button("Reject").on_hover_text("R").clicked() {
                    answer = Some((item.file_id, false));
                }
                ui.add(
                    egui::ProgressBar::new(item.probability as f32)
                        .desired_width(70.0)
                        .text(format!("{:.2}", item.probability)),
                );
                if ui
                    .selectable_label(n == app.tags.highlighted, name)
                    .on_hover_text(&item.path)
                    .clicked()
                {
                    select = Some((n, item.file_id, item.path.clone()));
                }
            });
        }
    });
    if let Some(item) = items.get(app.tags.highlighted)
        && (accept_key || reject_key)
    {
        answer = Some((item.file_id, accept_key));
    }
    if let Some((n, id, path)) = select {
        app.tags.highlighted = n;
        app.push(Command::Select(id, path));
    }
    if let Some((id, accepted)) = answer {
        app.push(Command::ReviewAnswer(label, id, accepted));
    }
}
