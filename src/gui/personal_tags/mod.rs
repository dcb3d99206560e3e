//! Personal tags in the window, the left column of the Tags tab: the tag head's threshold and
//! top-N, the personal tags, and the review list of one of them — its likeliest unlabelled files
//! with Accept / Reject (keys A / R act on the highlighted file).
//!
//! Drawing the column (`view`) returns what the user asks for as commands. Adding an example and
//! answering the review run as jobs (the one writer of the index) that refit the tag at once;
//! the review list is read by a task.
//!
//! The app's handler starts the work ([`PersonalTagsPanel::start_add`],
//! [`PersonalTagsPanel::start_answer`], [`PersonalTagsPanel::start_review`]); the jobs run on the background service (the Jobs tab
//! lists them);
//! [`PersonalTagsPanel::poll`] takes the review list and asks for the inspected file to be read
//! again once the tag jobs have ended. The core logic is [`crate::personal`]. The "Add tag…"
//! field the inspector shows is the shared widget [`crate::gui::shared::widgets::new_tag`].

mod view;

use std::collections::HashSet;
use std::path::Path;

use eframe::egui;

use crate::engine::Engine;
use crate::error::Error;
use crate::gui::shared::active_model::ActiveModel;
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::JobKind;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::library::Library;
use crate::personal::{
    ExampleSource, RefitReport, Region, ReviewItem, ReviewOrder, TagOptions, answer,
    embed_missing_regions, refit, review,
};

/// Files listed for review.
pub const REVIEW_LENGTH: usize = 40;

/// The state of personal tagging.
#[derive(Default)]
pub struct PersonalTagsPanel {
    /// A tag job was submitted and has not ended yet.
    waiting: bool,
    /// Files answered since the review list was read (hidden from it).
    answered: HashSet<i64>,
    /// Reading the review list.
    review: Option<Task<crate::Result<Vec<ReviewItem>>>>,
    /// The review list and the tag it is for.
    items: Option<(String, Vec<ReviewItem>)>,
    /// Why the review list cannot be shown.
    review_error: Option<String>,
    /// The highlighted review item.
    highlighted: usize,
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
    /// takes the review list when it is read; asks for the review list of the chosen tag when
    /// it is not there.
    pub fn poll(&mut self, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.waiting && !cx.jobs.active(JobKind::Refit) {
            self.waiting = false;
            if cx.selected.is_some() {
                commands.push(Command::InspectSelected);
            }
            self.items = None;
        }
        if let Some(result) = poll_slot(&mut self.review) {
            let label = cx.state.review_tag.clone().unwrap_or_default();
            match result {
                Ok(items) => {
                    self.items = Some((label, items));
                    self.answered.clear();
                    self.review_error = None;
                    self.highlighted = 0;
                }
                Err(e) => {
                    self.items = Some((label, Vec::new()));
                    self.review_error = Some(e.to_string());
                }
            }
        }
        if self.review_wanted(cx).is_some() {
            commands.push(Command::ReadReviewList);
        }
        commands
    }

    /// The tag whose review list should be read now, if any.
    fn review_wanted(&self, cx: &ViewCtx) -> Option<String> {
        let label = cx.state.review_tag.clone()?;
        let have = self.items.as_ref().map(|(l, _)| l);
        (have != Some(&label)
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

    /// Queues a job that records a review answer and refits the tag.
    pub fn start_answer(
        &mut self,
        cx: &ViewCtx,
        label: String,
        file_id: i64,
        accepted: bool,
    ) -> Result<(), String> {
        let verb = if accepted { "Accept" } else { "Reject" };
        let name = format!("{verb} `{label}`");
        self.answered.insert(file_id);
        let work = answer_work(cx, label, file_id, accepted);
        self.submit(cx, name, work)
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
        "{} positive, {} negative examples; {} files carry it",
        r.positives, r.negatives, r.tagged
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
