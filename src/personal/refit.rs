//! Fitting a personal tag on its stored examples and predicting it for every analysed file.
//!
//! # Training set
//! - every example of the tag with an embedding under the model: whole-file examples use the
//!   file's clip embedding, region examples the embedding of the region (see
//!   [`super::examples::embed_missing_regions`]); an example without one is skipped and
//!   reported;
//! - **background negatives**: up to [`BACKGROUND_MAX`] analysed files that have no example of
//!   the tag (a seeded reservoir sample), as negatives of weight [`BACKGROUND_WEIGHT`]. A tag
//!   with only positive examples can be fitted at once; unlabelled files that do carry the tag
//!   weigh little, and the review list brings them forward to be accepted.
//!
//! # Predictions
//! Stored in `tags` with source `personal`: every analysed file whose calibrated probability
//! is at least [`TAG_THRESHOLD`], plus every whole-file positive example (score 1); a whole-file
//! negative example never carries the tag. A refit replaces all of a tag's rows at once.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::examples::check_label;
use crate::tags::classifier::{FitSummary, Scaling, TagClassifier, TagOptions, Training};

/// Weight of a background negative (an explicit example weighs 1).
pub const BACKGROUND_WEIGHT: f64 = 0.2;
/// Most background negatives sampled.
pub const BACKGROUND_MAX: usize = 1000;
/// Calibrated probability from which a file carries a personal tag.
pub const TAG_THRESHOLD: f64 = 0.5;

/// What a refit did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefitReport {
    /// The tag.
    pub label: String,
    /// Positive examples used.
    pub positives: usize,
    /// Negative examples used.
    pub negatives: usize,
    /// Background negatives sampled.
    pub background: usize,
    /// Examples left out, as `(path, reason)`.
    pub skipped: Vec<(String, String)>,
    /// Files now carrying the tag.
    pub tagged: usize,
    /// Seconds spent fitting the classifier.
    pub fit_seconds: f64,
    /// Solver iterations of the main fit.
    pub iterations: usize,
    /// Cross-validation folds of the calibration (0: none).
    pub folds: usize,
}

fn label_seed(label: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(label.as_bytes())
}

/// Fits `label` on its examples under `model_id`, stores the classifier and replaces the tag's
/// predictions for the whole library.
pub fn refit(
    lib: &mut Library,
    model_id: i64,
    label: &str,
    opts: &TagOptions,
) -> Result<RefitReport> {
    check_label(label)?;
    let examples = lib.examples(Some(label))?;
    if examples.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no examples of tag `{label}`: add some with `earmark tag add`"
        )));
    }
    let key = lib.examples_key(label)?;
    let labelled: HashSet<i64> = examples.iter().map(|e| e.file_id).collect();
    let (mut rows, mut positive, mut weights, mut skipped) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut dim = 0;
    for e in &examples {
        let vector = match e.region {
            Some(_) => lib.region_vector(e.id, model_id)?,
            None => lib.clip_vector(e.file_id, model_id)?,
        };
        match vector {
            Some(v) if dim == 0 || v.len() == dim => {
                dim = v.len();
                rows.extend_from_slice(&v);
                positive.push(e.positive);
                weights.push(1.0);
            }
            Some(v) => skipped.push((
                e.path.clone(),
                format!("embedding of {} values, expected {dim}", v.len()),
            )),
            None if e.region.is_some() => {
                skipped.push((e.path.clone(), "region not embedded with this model".into()));
            }
            None => skipped.push((e.path.clone(), "not analysed with this model".into())),
        }
    }
    let positives = positive.iter().filter(|&&p| p).count();
    let negatives = positive.len() - positives;
    if positives == 0 {
        return Err(Error::InvalidInput(format!(
            "tag `{label}` has no positive example analysed with this model"
        )));
    }
    // Reservoir sample of unlabelled analysed files.
    let mut rng = crate::model::pos::SplitMix(label_seed(label));
    let mut reservoir: Vec<Vec<f32>> = Vec::new();
    let mut seen = 0u64;
    lib.for_each_clip(model_id, |c, v| {
        if labelled.contains(&c.file_id) || (dim != 0 && v.len() != dim) {
            return;
        }
        seen += 1;
        if reservoir.len() < BACKGROUND_MAX {
            reservoir.push(v);
        } else {
            let j = rng.next_u64() % seen;
            if (j as usize) < BACKGROUND_MAX {
                reservoir[j as usize] = v;
            }
        }
    })?;
    let background = reservoir.len();
    for v in reservoir {
        dim = v.len();
        rows.extend_from_slice(&v);
        positive.push(false);
        weights.push(BACKGROUND_WEIGHT);
    }
    let started = std::time::Instant::now();
    let head = TagClassifier::fit(
        &Training {
            rows: &rows,
            dim,
            positive: &positive,
            weights: &weights,
        },
        Scaling::Training,
        &opts_with_seed(opts, label),
    )?;
    let fit_seconds = started.elapsed().as_secs_f64();
    lib.store_head(label, model_id, &head, &key)?;
    let tagged = store_predictions(lib, model_id, label, &head)?;
    let FitSummary {
        iterations, folds, ..
    } = head.summary;
    Ok(RefitReport {
        label: label.to_owned(),
        positives,
        negatives,
        background,
        skipped,
        tagged,
        fit_seconds,
        iterations,
        folds,
    })
}

/// Tags the files analysed since each personal tag was fitted: every tag whose stored
/// classifier under `model_id` still matches its examples predicts again for the whole library
/// (files scanned after the fit get the tag); a tag whose examples changed since is refitted.
/// Returns the tags applied, as `(label, files carrying it)`.
pub fn apply_fitted(
    lib: &mut Library,
    model_id: i64,
    opts: &TagOptions,
) -> Result<Vec<(String, usize)>> {
    let mut labels: Vec<String> = lib.examples(None)?.into_iter().map(|e| e.label).collect();
    labels.sort();
    labels.dedup();
    let mut applied = Vec::new();
    for label in labels {
        let key = lib.examples_key(&label)?;
        let tagged = match lib.head(&label, model_id)? {
            Some((head, stored)) if stored == key => {
                store_predictions(lib, model_id, &label, &head)?
            }
            Some(_) => refit(lib, model_id, &label, opts)?.tagged,
            // Never fitted under this model: left to the user (its examples may not be
            // analysed by it).
            None => continue,
        };
        applied.push((label, tagged));
    }
    Ok(applied)
}

fn opts_with_seed(opts: &TagOptions, label: &str) -> TagOptions {
    TagOptions {
        seed: opts.seed ^ label_seed(label),
        ..*opts
    }
}

/// Writes the tag's rows in `tags` from `head`; returns how many files carry it.
fn store_predictions(
    lib: &mut Library,
    model_id: i64,
    label: &str,
    head: &TagClassifier,
) -> Result<usize> {
    let mut whole: HashMap<i64, bool> = HashMap::new();
    for e in lib.examples(Some(label))? {
        if e.region.is_none() {
            whole.insert(e.file_id, e.positive);
        }
    }
    let mut scores = Vec::new();
    lib.for_each_clip(model_id, |c, v| {
        if whole.contains_key(&c.file_id) || v.len() != head.dim() {
            return;
        }
        let p = head.probability(&v);
        if p >= TAG_THRESHOLD {
            scores.push((c.file_id, p));
        }
    })?;
    scores.extend(whole.iter().filter(|(_, p)| **p).map(|(&id, _)| (id, 1.0)));
    scores.sort_by_key(|s| s.0);
    lib.replace_personal_tags(label, &scores)?;
    Ok(scores.len())
}
