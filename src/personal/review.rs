//! The review list of a personal tag: the analysed files without an example, ordered by what
//! an answer would teach (the most uncertain) or by how likely they carry the tag; each answer
//! becomes a new example and refits the tag.

use std::collections::HashSet;

use serde::Serialize;

use super::refit::{RefitReport, refit};
use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::examples::{ExampleSource, check_label};
use crate::tags::classifier::{TagClassifier, TagOptions};

/// Which unlabelled files the review list shows first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReviewOrder {
    /// Probability closest to 0.5: the answers that teach the classifier most.
    #[default]
    Uncertain,
    /// Highest probability: likely members to confirm.
    Likely,
}

/// One file to review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    /// File id.
    pub file_id: i64,
    /// Absolute path.
    pub path: String,
    /// Calibrated probability of the tag.
    pub probability: f64,
}

/// The stored classifier of `label`, refitted first when its examples changed since.
fn current_head(
    lib: &mut Library,
    model_id: i64,
    label: &str,
    opts: &TagOptions,
) -> Result<TagClassifier> {
    let key = lib.examples_key(label)?;
    match lib.head(label, model_id)? {
        Some((head, stored)) if stored == key => Ok(head),
        _ => {
            refit(lib, model_id, label, opts)?;
            lib.head(label, model_id)?.map(|(h, _)| h).ok_or_else(|| {
                Error::Library(format!("the classifier of `{label}` was not stored"))
            })
        }
    }
}

/// Up to `n` analysed files without an example of `label`, in review order.
pub fn review(
    lib: &mut Library,
    model_id: i64,
    label: &str,
    n: usize,
    order: ReviewOrder,
    opts: &TagOptions,
) -> Result<Vec<ReviewItem>> {
    check_label(label)?;
    let head = current_head(lib, model_id, label, opts)?;
    let labelled: HashSet<i64> = lib
        .examples(Some(label))?
        .iter()
        .map(|e| e.file_id)
        .collect();
    let mut items = Vec::new();
    lib.for_each_clip(model_id, |c, v| {
        if !labelled.contains(&c.file_id) && v.len() == head.dim() {
            items.push(ReviewItem {
                file_id: c.file_id,
                path: c.path,
                probability: head.probability(&v),
            });
        }
    })?;
    match order {
        ReviewOrder::Uncertain => items.sort_by(|a, b| {
            (a.probability - 0.5)
                .abs()
                .total_cmp(&(b.probability - 0.5).abs())
                .then(a.path.cmp(&b.path))
        }),
        ReviewOrder::Likely => items.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then(a.path.cmp(&b.path))
        }),
    }
    items.truncate(n);
    Ok(items)
}

/// Records review answers (`positive`: accepted) for `file_ids` and refits the tag.
pub fn answer(
    lib: &mut Library,
    model_id: i64,
    label: &str,
    file_ids: &[i64],
    positive: bool,
    opts: &TagOptions,
) -> Result<RefitReport> {
    for &id in file_ids {
        lib.add_example(label, id, None, positive, ExampleSource::Review)?;
    }
    refit(lib, model_id, label, opts)
}

/// Takes back review answers: removes the whole-file examples of `label` that the review list
/// recorded for `file_ids` (examples given by hand stay) and refits the tag. Returns how many
/// answers were removed and the refit's report.
pub fn unanswer(
    lib: &mut Library,
    model_id: i64,
    label: &str,
    file_ids: &[i64],
    opts: &TagOptions,
) -> Result<(usize, RefitReport)> {
    check_label(label)?;
    let mut removed = 0;
    for e in lib.examples(Some(label))? {
        if e.region.is_none() && e.source == ExampleSource::Review && file_ids.contains(&e.file_id)
        {
            lib.remove_example(e.id)?;
            removed += 1;
        }
    }
    Ok((removed, refit(lib, model_id, label, opts)?))
}
