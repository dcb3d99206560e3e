//! Personal tags from the window: adding an example (a file, or a region of it) and answering
//! the review list run as jobs — the one writer of the index — that refit the tag at once; the
//! review list itself is read by a task. Nothing here waits.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::examples::{ExampleSource, Region};
use crate::tags::TagOptions;
use crate::tags::refit::{
    RefitReport, ReviewItem, ReviewOrder, answer, embed_missing_regions, refit, review,
};

use super::app::EarmarkApp;
use super::job_list::JobKind;
use super::models::ActiveModel;

/// Files listed for review.
pub const REVIEW_LENGTH: usize = 40;

fn model_id(lib: &Library, model: Option<&ActiveModel>) -> Result<(i64, ActiveModel)> {
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

/// Queues a job that adds `label` to `file_id` (or to `region` of it) as a positive example and
/// refits the tag.
pub fn submit_add(app: &mut EarmarkApp, label: String, file_id: i64, region: Option<(f64, f64)>) {
    let library = app.library_path.clone();
    let model = app.model.active.clone();
    let device = app.settings.device.parse().unwrap_or_default();
    let name = format!("Tag `{label}`");
    submit(app, name, move || {
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
    });
}

/// Queues a job that records a review answer and refits the tag.
pub fn submit_answer(app: &mut EarmarkApp, label: String, file_id: i64, accepted: bool) {
    let library = app.library_path.clone();
    let model = app.model.active.clone();
    let verb = if accepted { "Accept" } else { "Reject" };
    let name = format!("{verb} `{label}`");
    app.tags.answered.insert(file_id);
    submit(app, name, move || {
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
    });
}

fn submit(
    app: &mut EarmarkApp,
    name: String,
    work: impl FnOnce() -> Result<String> + Send + 'static,
) {
    let Some(queue) = &app.queue else {
        app.notices
            .push("Background jobs are not available.".into());
        return;
    };
    match queue.submit(&name, move |_| work()) {
        Ok(handle) => {
            app.jobs.push(name, JobKind::Tags, handle);
            app.tags.waiting = true;
        }
        Err(e) => app.notices.push(e.to_string()),
    }
}

/// The review list of `label`: the most likely positives among files without an example.
pub fn review_list(
    library: &std::path::Path,
    model: Option<&ActiveModel>,
    label: &str,
) -> Result<Vec<ReviewItem>> {
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
