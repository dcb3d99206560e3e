//! The scan job: reconcile each root with the disk, then analyse what needs it through a
//! three-stage pipeline so both cores stay busy:
//!
//! ```text
//! files ─▶ [earmark-decode] decode + log-mel ─▶ (bounded) ─▶ [earmark-encode] batches chunks
//!        across files, runs the encoder ─▶ (bounded) ─▶ job thread: one transaction per file
//! ```
//!
//! Each file's analysis is committed on its own, so a kill loses at most the files in flight and
//! a rescan picks up exactly where the last one stopped.

use std::path::PathBuf;

use crossbeam_channel::bounded;

use super::Library;
use super::analyse::{self, Budget, Piece};
use super::encoding::{Analysis, Item, encode_stage};
use super::measure::{measure_missing, reason_of};
use super::model_id::ModelIdentity;
use super::tagging::{HeadChoice, LibraryHead, TIMELINE_LABELS, source_name, tag_library};
use super::vectors::Segments;
use super::walk::{Reconciled, WalkOptions};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::jobs::{JobContext, JobEvent, ProgressTracker};

/// Decoded files waiting for the encoder.
const PREFETCH: usize = 4;

/// What to scan and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOptions {
    /// Folders to scan (added as library roots).
    pub roots: Vec<PathBuf>,
    /// Walking options.
    pub walk: WalkOptions,
    /// How much of each file to encode.
    pub budget: Budget,
    /// Most encoder chunks per batch.
    pub max_batch: usize,
    /// Heads that tag the library once the files are analysed (see [`super::tagging`]).
    pub heads: Vec<HeadChoice>,
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanReport {
    /// Per root: what reconciling found.
    pub roots: Vec<(String, Reconciled)>,
    /// Files analysed and stored.
    pub analysed: Vec<String>,
    /// Files that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Files too short to analyse, with their length in seconds (not failures: a file of a
    /// few milliseconds has nothing for the model to hear).
    pub too_short: Vec<(String, f64)>,
    /// Files analysed before the library kept measures, measured by this scan.
    pub measured: usize,
    /// One line per head that tagged the library.
    pub tagged: Vec<String>,
}

impl ScanReport {
    /// One line for people. "Removed" files are kept as tombstones for
    /// [`super::reconcile::GRACE_DAYS`] days (with their examples, until their content returns).
    pub fn summary(&self) -> String {
        let sum = |f: fn(&Reconciled) -> usize| self.roots.iter().map(|(_, r)| f(r)).sum::<usize>();
        let tagged = if self.tagged.is_empty() {
            String::new()
        } else {
            format!("; {}", self.tagged.join(", "))
        };
        let restored = match sum(|r| r.restored.len()) {
            0 => String::new(),
            n => format!(", {n} restored"),
        };
        let problems = match sum(|r| r.walk_problems.len()) {
            0 => String::new(),
            n => format!("; {n} walk problems"),
        };
        let short = match self.too_short.len() {
            0 => String::new(),
            n => format!(", {n} too short to analyse"),
        };
        let measured = match self.measured {
            0 => String::new(),
            n => format!("; {} measured", crate::wording::count(n, "file")),
        };
        let offline: Vec<&str> = self
            .roots
            .iter()
            .filter(|(_, r)| r.offline.is_some())
            .map(|(root, _)| root.as_str())
            .collect();
        let offline = if offline.is_empty() {
            String::new()
        } else {
            format!("; offline (nothing removed): {}", offline.join(", "))
        };
        format!(
            "{} analysed, {} failed{short}; {} new, {} changed, {} moved, {} removed{restored}, \
             {} unchanged{measured}{problems}{offline}{tagged}",
            self.analysed.len(),
            self.failed.len(),
            sum(|r| r.new.len()),
            sum(|r| r.changed.len()),
            sum(|r| r.moved.len()),
            sum(|r| r.removed.len()),
            sum(|r| r.unchanged + r.touched.len()),
        )
    }
}

/// Runs a scan with `encoder` (whose identity is `model`), reporting through `ctx`.
pub fn scan(
    lib: &mut Library,
    encoder: &Engine,
    model: &ModelIdentity,
    opts: &ScanOptions,
    ctx: &JobContext,
) -> Result<ScanReport> {
    let model_id = lib.ensure_model(model)?;
    // A head that cannot be loaded is reported; the scan goes on without it.
    let mut head_problems = Vec::new();
    let heads: Vec<LibraryHead> = opts
        .heads
        .iter()
        .filter_map(|choice| match LibraryHead::load(choice) {
            Ok(h) => Some(h),
            Err(e) => {
                let line = format!("{} not used: {e}", source_name(&choice.path));
                ctx.events.send(JobEvent::Note(line.clone()));
                head_problems.push(line);
                None
            }
        })
        .collect();
    // Probes of the model's width tag each file as it is stored, from its full segments.
    let probes: Vec<&LibraryHead> = heads
        .iter()
        .filter(|h| !h.needs_encoder() && h.head.inputs() == model.clip_dim)
        .collect();
    // They score each full-width segment as it is produced: no file's full segments are kept.
    let probe_heads: Vec<_> = probes.iter().map(|h| h.head.clone()).collect();
    let mut tagged_during = 0;
    let mut report = ScanReport::default();
    let mut root_ids = Vec::new();
    for root in &opts.roots {
        ctx.control.checkpoint()?;
        ctx.events
            .send(JobEvent::Note(format!("walking {}", root.display())));
        let (id, found) = lib.reconcile_root(root, opts.walk)?;
        match &found.offline {
            // Nothing of an offline root can be read: its files wait for it to come back.
            Some(why) => ctx.events.send(JobEvent::Note(format!("offline: {why}"))),
            None => root_ids.push(id),
        }
        for problem in &found.walk_problems {
            ctx.events
                .send(JobEvent::Note(format!("walk problem: {problem}")));
        }
        report
            .roots
            .push((root.to_string_lossy().into_owned(), found));
    }
    let pending = lib.files_to_analyse(&root_ids, model_id)?;
    ctx.events.send(JobEvent::Note(format!(
        "{} files to analyse with {}",
        pending.len(),
        model.name
    )));
    let mut tracker = ProgressTracker::new(pending.len());
    ctx.events.progress(tracker.snapshot(None));
    let (work_tx, work_rx) = crossbeam_channel::unbounded();
    for item in pending {
        let _ = work_tx.send(item);
    }
    drop(work_tx);
    let (prep_tx, prep_rx) = bounded::<Item<Piece>>(PREFETCH);
    let (done_tx, done_rx) = bounded::<Item<Analysis>>(PREFETCH);
    let cfg = encoder.config().clone();
    let budget = opts.budget;
    std::thread::scope(|s| -> Result<()> {
        let control = &ctx.control;
        std::thread::Builder::new()
            .name("earmark-decode".into())
            .spawn_scoped(s, move || {
                let (n_t, patch) = (cfg.n_t, cfg.patch_size);
                analyse::decode_stage(work_rx, budget, n_t, patch, control, &prep_tx);
            })
            .map_err(|e| Error::InvalidInput(format!("cannot start decoder: {e}")))?;
        let max_batch = opts.max_batch.max(1);
        std::thread::Builder::new()
            .name("earmark-encode".into())
            .spawn_scoped(s, move || {
                encode_stage(encoder, model, max_batch, probe_heads, &prep_rx, &done_tx)
            })
            .map_err(|e| Error::InvalidInput(format!("cannot start encoder: {e}")))?;
        for (id, path, result) in done_rx {
            ctx.control.checkpoint()?;
            match result {
                Ok(mut a) => {
                    let note = a
                        .prepared
                        .truncated
                        .then_some("truncated: only the readable part was analysed");
                    lib.store_analysis(
                        id,
                        model_id,
                        &a.prepared.meta,
                        &a.prepared.analysed,
                        &a.clip,
                        a.tag_clip.as_deref(),
                        &a.segments,
                        note,
                    )?;
                    tagged_during += usize::from(!probes.is_empty());
                    let scores = a.probe_scores.take().unwrap_or_default();
                    for (i, head) in probes.iter().enumerate() {
                        let (tags, timeline) = match &a.tag_clip {
                            // A short clip's timeline is its tag vector, scored whole.
                            Some(tag) => head.tag(tag, &Segments::single(tag.clone()))?,
                            None => (
                                head.clip_tags(&head.head.probabilities(&a.clip)?),
                                scores.timeline(i, &head.vocab.labels, TIMELINE_LABELS),
                            ),
                        };
                        lib.store_head_tags(id, &head.source, &tags, &timeline)?;
                    }
                    tracker.finish_item(false);
                    report.analysed.push(path.clone());
                }
                Err(Error::TooShort { duration_s, .. }) => {
                    lib.store_too_short(id, duration_s)?;
                    tracker.finish_item(false);
                    ctx.events.send(JobEvent::Note(format!(
                        "too short to analyse ({duration_s:.3} s): {path}"
                    )));
                    report.too_short.push((path.clone(), duration_s));
                }
                Err(e) => {
                    let reason = reason_of(&e, &path);
                    lib.store_error(id, &reason)?;
                    tracker.finish_item(true);
                    ctx.events.send(JobEvent::ItemFailed {
                        item: path.clone(),
                        reason: reason.clone(),
                    });
                    report.failed.push((path.clone(), reason));
                }
            }
            ctx.events.progress(tracker.snapshot(Some(path)));
        }
        Ok(())
    })?;
    report.measured = measure_missing(lib, &root_ids, ctx)?;
    report.tagged = head_problems;
    report.tagged.extend(tag_library(
        lib,
        model_id,
        model.clip_dim,
        &heads,
        tagged_during,
        opts.budget,
        ctx,
    )?);
    Ok(report)
}
