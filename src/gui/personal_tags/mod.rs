//! Personal tags in the window, the left column of the Tags tab: the tag head's threshold and
//! top-N, the personal tags, and the review list of one of them — its likeliest unlabelled files
//! with Accept / Reject (keys A / R act on the highlighted file, Ctrl+Z or "Undo" takes the last
//! answer back).
//!
//! The review list is stable: an answered row leaves it and the highlight moves to the row that
//! took its place; when the refitted tag is read again the rows keep their order (new ones are
//! added at the end), so nothing jumps under the keys. The highlighted file is loaded in the
//! inspector as it is highlighted, so Space plays it without a click.
//!
//! Drawing the column (`view`) returns what the user asks for as commands. Adding an example,
//! answering the review and taking an answer back run as jobs (the one writer of the index)
//! that refit the tag at once; after every finished scan a job applies the fitted tags to the
//! files scanned since; the review list is read by a task.
//!
//! The app's handler starts the work ([`PersonalTagsPanel::start_add`],
//! [`PersonalTagsPanel::start_answer`], [`PersonalTagsPanel::start_undo`],
//! [`PersonalTagsPanel::start_apply`], [`PersonalTagsPanel::start_review`]); the jobs run on the
//! background service (the Jobs tab lists them); [`PersonalTagsPanel::poll`] takes the review
//! list and asks for the inspected file to be read again once the tag jobs have ended. The core
//! logic is [`crate::personal`]. The "Add tag…" field the inspector shows is the shared widget
//! [`crate::gui::shared::widgets::new_tag`].

mod view;

use std::collections::HashSet;
use std::path::Path;

use eframe::egui;

use crate::engine::Engine;
use crate::error::Error;
use crate::gui::shared::active_model::ActiveModel;
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::{JobKind, JobState};
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::jobs::JobId;
use crate::library::Library;
use crate::personal::{
    ExampleSource, RefitReport, Region, ReviewItem, ReviewOrder, TagOptions, answer, apply_fitted,
    embed_missing_regions, refit, review, unanswer,
};
use crate::wording::count;

/// Files listed for review.
pub const REVIEW_LENGTH: usize = 40;

/// A review answer that can be taken back.
#[derive(Debug, Clone)]
struct Answered {
    /// The tag.
    label: String,
    /// The answered file.
    file_id: i64,
    /// Accepted or rejected.
    accepted: bool,
}

/// The state of personal tagging.
#[derive(Default)]
pub struct PersonalTagsPanel {
    /// A tag job was submitted and has not ended yet.
    waiting: bool,
    /// The review list is out of date (a tag job ended): read it again, keeping its order.
    stale: bool,
    /// Files answered (hidden from the list, kept in their place for an undo).
    answered: HashSet<i64>,
    /// The answers that can be taken back, newest last.
    history: Vec<Answered>,
    /// Reading the review list.
    review: Option<Task<crate::Result<Vec<ReviewItem>>>>,
    /// The review list and the tag it is for.
    items: Option<(String, Vec<ReviewItem>)>,
    /// Why the review list cannot be shown.
    review_error: Option<String>,
    /// The highlighted review item (its file id).
    highlighted: Option<i64>,
    /// The newest finished scan seen (its fitted tags were applied after it).
    scan_seen: Option<JobId>,
    /// The selected file last seen (a new selection elsewhere moves the highlight to it).
    selection_seen: Option<i64>,
}

impl PersonalTagsPanel {
    /// The review items still to answer.
    pub fn open_items(&self) -> Vec<&ReviewItem> {
        self.items.as_ref().map_or_else(Vec::new, |(_, items)| {
            items
                .iter()
                .filter(|i| !self.answered.contains(&i.file_id))
                .collect()
        })
    }

    /// Reacts to ended tag jobs (the inspected file and the review list are read again) and
    /// to finished scans (the fitted tags are applied to the new files), and takes the review
    /// list when it is read; asks for the review list of the chosen tag when it is not there.
    pub fn poll(&mut self, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.waiting && !cx.jobs.active(JobKind::Refit) {
            self.waiting = false;
            if cx.selected.is_some() {
                commands.push(Command::InspectSelected);
            }
            self.stale = true;
        }
        let scanned = cx
            .jobs
            .entries
            .iter()
            .rev()
            .find(|j| j.kind == JobKind::Scan && matches!(j.state, JobState::Done(_)))
            .map(|j| j.id);
        if scanned.is_some() && scanned != self.scan_seen {
            self.scan_seen = scanned;
            if !cx.snapshot.personal_tags.is_empty() && cx.model.active.is_some() {
                commands.push(Command::ApplyPersonalTags);
            }
        }
        if let Some(result) = poll_slot(&mut self.review) {
            let label = cx.state.review_tag.clone().unwrap_or_default();
            match result {
                Ok(items) => self.take_list(label, items),
                Err(e) => {
                    self.items = Some((label, Vec::new()));
                    self.review_error = Some(e.to_string());
                }
            }
        }
        // A file newly selected elsewhere (the table, the map) that is in the list becomes the
        // highlighted one.
        let selected = cx.selected.as_ref().map(|s| s.0);
        if selected != self.selection_seen {
            self.selection_seen = selected;
            if let Some(id) = selected
                && self.open_items().iter().any(|i| i.file_id == id)
            {
                self.highlighted = Some(id);
            }
        }
        if self.review_wanted(cx).is_some() {
            commands.push(Command::ReadReviewList);
        }
        commands
    }

    /// Takes a review list read for `label`. The same tag's list read again keeps the rows in
    /// their order (with their new probabilities), answered rows in place (for an undo), and
    /// adds the new rows at the end; another tag's list starts afresh.
    fn take_list(&mut self, label: String, fresh: Vec<ReviewItem>) {
        self.review_error = None;
        match self.items.take() {
            Some((old_label, old)) if old_label == label => {
                let mut merged: Vec<ReviewItem> = old
                    .into_iter()
                    .filter_map(|item| {
                        if self.answered.contains(&item.file_id) {
                            return Some(item);
                        }
                        fresh.iter().find(|f| f.file_id == item.file_id).cloned()
                    })
                    .collect();
                let known: HashSet<i64> = merged.iter().map(|i| i.file_id).collect();
                merged.extend(fresh.into_iter().filter(|f| !known.contains(&f.file_id)));
                self.items = Some((label, merged));
            }
            _ => {
                self.answered.clear();
                self.history.clear();
                self.highlighted = fresh.first().map(|i| i.file_id);
                self.items = Some((label, fresh));
            }
        }
        let open = self.open_items();
        if !open.iter().any(|i| Some(i.file_id) == self.highlighted) {
            self.highlighted = open.first().map(|i| i.file_id);
        }
    }

    /// The tag whose review list should be read now, if any.
    fn review_wanted(&self, cx: &ViewCtx) -> Option<String> {
        let label = cx.state.review_tag.clone()?;
        let have = self.items.as_ref().map(|(l, _)| l);
        ((have != Some(&label) || self.stale)
            && self.review.is_none()
            && !self.waiting
            && cx.model.active.is_some())
        .then_some(label)
    }

    /// Starts reading the review list of the chosen tag (unless it is read or being read).
    pub fn start_review(&mut self, cx: &ViewCtx, ctx: &egui::Context) {
        let Some(label) = self.review_wanted(cx) else {
            return;
        };
        self.stale = false;
        let (library, model) = (cx.library_path.clone(), cx.model.active.clone());
        self.review = Some(Task::on(&cx.service, "earmark-review", ctx, move || {
            review_list(&library, model.as_ref(), &label)
        }));
    }

    /// Queues a job that adds `label` to `file_id` (or to `region` of it) as a positive
    /// example and refits the tag; `Err` says why it could not start.
    pub fn start_add(
        &mut self,
        cx: &ViewCtx,
        label: String,
        file_id: i64,
        region: Option<(f64, f64)>,
    ) -> Result<(), String> {
        let name = format!("Tag `{label}`");
        let work = add_work(cx, label, file_id, region);
        self.submit(cx, name, work)
    }

    /// Queues a job that records a review answer and refits the tag. The answered row leaves
    /// the list; when it was highlighted, the row that takes its place is.
    pub fn start_answer(
        &mut self,
        cx: &ViewCtx,
        label: String,
        file_id: i64,
        accepted: bool,
    ) -> Result<(), String> {
        let verb = if accepted { "Accept" } else { "Reject" };
        let name = format!("{verb} `{label}`");
        if self.highlighted == Some(file_id) {
            let open = self.open_items();
            let at = open.iter().position(|i| i.file_id == file_id);
            self.highlighted = at.and_then(|n| {
                open.get(n + 1)
                    .or_else(|| n.checked_sub(1).and_then(|p| open.get(p)))
                    .map(|i| i.file_id)
            });
        }
        self.answered.insert(file_id);
        self.history.push(Answered {
            label: label.clone(),
            file_id,
            accepted,
        });
        let work = answer_work(cx, label, file_id, accepted);
        self.submit(cx, name, work)
    }

    /// Whether an answer can be taken back, and which: "Accept s05.wav".
    pub fn undo_text(&self) -> Option<String> {
        let last = self.history.last()?;
        let verb = if last.accepted { "Accept" } else { "Reject" };
        let path = self
            .items
            .iter()
            .flat_map(|(_, items)| items)
            .find(|i| i.file_id == last.file_id)
            .map(|i| file_name(&i.path))
            .unwrap_or_default();
        Some(format!("{verb} {path}").trim_end().to_string())
    }

    /// Queues a job that takes the last review answer back (its example is removed and the tag
    /// refitted); the file returns to its place in the list, highlighted.
    pub fn start_undo(&mut self, cx: &ViewCtx) -> Result<(), String> {
        let Some(last) = self.history.pop() else {
            return Err("No review answer to undo.".into());
        };
        self.answered.remove(&last.file_id);
        self.highlighted = Some(last.file_id);
        let name = format!("Undo answer `{}`", last.label);
        let (library, model) = (cx.library_path.clone(), cx.model.active.clone());
        self.submit(cx, name, move || {
            let mut lib = Library::open(&library)?;
            let (model_id, _) = model_id(&lib, model.as_ref())?;
            let (removed, report) = unanswer(
                &mut lib,
                model_id,
                &last.label,
                &[last.file_id],
                &TagOptions::default(),
            )?;
            let took = if removed == 0 {
                "no answer to take back"
            } else {
                "answer taken back"
            };
            Ok(format!("{took}; {}", summary(&report)))
        })
    }

    /// Queues a job that applies every fitted personal tag to the files analysed since it was
    /// fitted (after a scan).
    pub fn start_apply(&mut self, cx: &ViewCtx) -> Result<(), String> {
        let (library, model) = (cx.library_path.clone(), cx.model.active.clone());
        self.submit(cx, "Apply personal tags".into(), move || {
            let mut lib = Library::open(&library)?;
            let (model_id, _) = model_id(&lib, model.as_ref())?;
            let applied = apply_fitted(&mut lib, model_id, &TagOptions::default())?;
            Ok(match applied.as_slice() {
                [] => "no fitted personal tag to apply".to_string(),
                tags => tags
                    .iter()
                    .map(|(label, n)| format!("`{label}` on {}", count(*n, "file")))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        })
    }

    fn submit(
        &mut self,
        cx: &ViewCtx,
        name: String,
        work: impl FnOnce() -> crate::Result<String> + Send + 'static,
    ) -> Result<(), String> {
        cx.service
            .submit(JobKind::Refit, &name, move |_| work())
            .map_err(|e| e.to_string())?;
        self.waiting = true;
        Ok(())
    }
}

/// The file name of `path` (the path itself when it has none).
fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |f| f.to_string_lossy().into_owned())
}

fn model_id(lib: &Library, model: Option<&ActiveModel>) -> crate::Result<(i64, ActiveModel)> {
    let model = model
        .cloned()
        .ok_or_else(|| Error::Model("no model: import one or train one (Models tab)".into()))?;
    let id = model.id_in(lib)?.ok_or_else(|| {
        Error::Model(format!(
            "the library has no analyses by {} yet: scan first",
            model.name()
        ))
    })?;
    Ok((id, model))
}

fn summary(r: &RefitReport) -> String {
    format!(
        "{} positive, {} negative examples; {} carry it",
        r.positives,
        r.negatives,
        count(r.tagged, "file")
    )
}

/// The job that adds `label` to `file_id` (or to `region` of it) as a positive example and
/// refits the tag.
fn add_work(
    cx: &ViewCtx,
    label: String,
    file_id: i64,
    region: Option<(f64, f64)>,
) -> impl FnOnce() -> crate::Result<String> + Send + 'static {
    let library = cx.library_path.clone();
    let model = cx.model.active.clone();
    let device = cx.settings.device.parse().unwrap_or_default();
    move || {
        let mut lib = Library::open(&library)?;
        let (model_id, model) = model_id(&lib, model.as_ref())?;
        let region = region.map(|(start_s, end_s)| Region { start_s, end_s });
        lib.add_example(&label, file_id, region, true, ExampleSource::Manual)?;
        if region.is_some() {
            let engine = Engine::load(&model.path, device)?;
            if let Some(f) = embed_missing_regions(&lib, &engine, model_id, Some(&label))?
                .into_iter()
                .next()
            {
                return Err(Error::InvalidInput(format!(
                    "{}: the region cannot be analysed: {}",
                    f.path, f.reason
                )));
            }
        }
        let report = refit(&mut lib, model_id, &label, &TagOptions::default())?;
        Ok(summary(&report))
    }
}

/// The job that records a review answer and refits the tag.
fn answer_work(
    cx: &ViewCtx,
    label: String,
    file_id: i64,
    accepted: bool,
) -> impl FnOnce() -> crate::Result<String> + Send + 'static {
    let library = cx.library_path.clone();
    let model = cx.model.active.clone();
    move || {
        let mut lib = Library::open(&library)?;
        let (model_id, _) = model_id(&lib, model.as_ref())?;
        let report = answer(
            &mut lib,
            model_id,
            &label,
            &[file_id],
            accepted,
            &TagOptions::default(),
        )?;
        Ok(summary(&report))
    }
}

/// The review list of `label`: the most likely positives among files without an example.
fn review_list(
    library: &Path,
    model: Option<&ActiveModel>,
    label: &str,
) -> crate::Result<Vec<ReviewItem>> {
    let mut lib = Library::open(library)?;
    let (model_id, _) = model_id(&lib, model)?;
    review(
        &mut lib,
        model_id,
        label,
        REVIEW_LENGTH,
        ReviewOrder::Likely,
        &TagOptions::default(),
    )
}
