//! The official heads on the library: after a scan, each chosen head tags every analysed file
//! — the clip's top labels (threshold and top-N per head) and a per-segment timeline.
//!
//! - A **probe** head takes the stored clip embeddings; no re-encoding. Its timeline comes from
//!   the segment means: during a scan from the full-width means (see [`crate::library::scan`]),
//!   later from the stored segments when they have the probe's width (narrow models; wide
//!   ones store reduced segments, and files tagged only after their scan get no timeline).
//! - The **AudioSet** head lives in its own encoder+head checkpoint (`n_t` 992, frequency mean
//!   instead of concatenation, spec §4.5): a second encoder pass over every file it has not
//!   tagged yet, with progress, as part of the scan job. It streams like the scan's own pass
//!   ([`encode_for_head`]), so a long file costs no more memory than a short one.

use std::path::{Path, PathBuf};

use super::Library;
use super::analyse::{self, Budget, STEPS_PER_SEGMENT};
use super::encoding::Analyser;
use super::head_tags::{SegmentTags, pick_timeline};
use super::vectors::{ClipColumn, Segments};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::jobs::{JobContext, JobEvent, ProgressTracker};
use crate::model::EmbedOptions;
use crate::model::chunk::ChunkEncoder;
use crate::model::device::DeviceChoice;
use crate::tags::{Head, Vocabulary, top_k};

/// Threshold and top-N of a head: a setting, kept with the others in [`crate::config`].
pub use crate::config::TagLimits;

/// Labels kept per file in the timeline.
pub const TIMELINE_LABELS: usize = 6;

/// A head chosen to tag the library.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadChoice {
    /// The head file (a probe, or an AudioSet encoder+head checkpoint).
    pub path: PathBuf,
    /// Its vocabulary (`None`: `class_0 …`).
    pub labels: Option<PathBuf>,
    /// Threshold and top-N.
    pub limits: TagLimits,
    /// Where the AudioSet head's encoder runs.
    pub device: DeviceChoice,
}

/// A loaded head with its vocabulary, ready to tag.
#[derive(Debug, Clone)]
pub struct LibraryHead {
    /// The name its tags are stored under: the head file's stem.
    pub source: String,
    /// The head.
    pub head: Head,
    /// Its labels.
    pub vocab: Vocabulary,
    /// Threshold and top-N.
    pub limits: TagLimits,
    /// Where it was loaded from.
    pub choice: HeadChoice,
}

/// The name tags of the head at `path` are stored under.
pub fn source_name(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "head".into(), |s| s.to_string_lossy().into_owned())
}

impl LibraryHead {
    /// Loads the head and its vocabulary; their class counts must agree.
    pub fn load(choice: &HeadChoice) -> Result<Self> {
        let head = Head::load(&choice.path)?;
        let vocab = Vocabulary::for_head(&choice.path, choice.labels.as_deref(), head.classes())?;
        Ok(LibraryHead {
            source: source_name(&choice.path),
            head,
            vocab,
            limits: choice.limits,
            choice: choice.clone(),
        })
    }

    /// Whether this head needs an encoder pass of its own (the AudioSet head).
    pub fn needs_encoder(&self) -> bool {
        matches!(self.head, Head::AudioSet { .. })
    }

    /// The labels a clip with probabilities `probs` carries: top-N at or above the threshold.
    pub fn clip_tags(&self, probs: &[f32]) -> Vec<(String, f32)> {
        top_k(probs, self.limits.top_n)
            .into_iter()
            .filter(|&(_, p)| p >= self.limits.threshold)
            .map(|(i, p)| (self.vocab.labels[i].clone(), p))
            .collect()
    }

    /// Clip tags and timeline from a clip vector and segment vectors of the head's width
    /// (`segments` of another width give an empty timeline).
    pub fn tag(
        &self,
        clip: &[f32],
        segments: &Segments,
    ) -> Result<(Vec<(String, f32)>, SegmentTags)> {
        let clip_tags = self.clip_tags(&self.head.probabilities(clip)?);
        if segments.dim != self.head.inputs() || segments.is_empty() {
            return Ok((clip_tags, SegmentTags::default()));
        }
        let probs = (0..segments.len())
            .map(|i| self.head.probabilities(segments.vector(i)))
            .collect::<Result<Vec<_>>>()?;
        let timeline = pick_timeline(
            segments.starts.clone(),
            &probs,
            &self.vocab.labels,
            TIMELINE_LABELS,
        );
        Ok((clip_tags, timeline))
    }
}

/// Tags, with probe `head`, every indexed file it has not tagged yet from the tag vector and
/// segment embeddings stored under `model_id`. Returns the files tagged.
pub fn tag_from_stored(
    lib: &mut Library,
    model_id: i64,
    head: &LibraryHead,
    ctx: &JobContext,
) -> Result<usize> {
    let untagged = lib.files_untagged_by(&head.source)?;
    let mut tracker = ProgressTracker::new(untagged.len());
    let mut done = 0;
    for (id, path) in untagged {
        ctx.control.checkpoint()?;
        let Some(clip) = lib.tag_vector(id, model_id)? else {
            continue;
        };
        if clip.len() != head.head.inputs() {
            return Err(Error::Model(format!(
                "the head {} takes {}-d embeddings, the model gives {}-d",
                head.source,
                head.head.inputs(),
                clip.len()
            )));
        }
        let segments = timeline_input(lib, id, model_id, &clip)?;
        let (tags, timeline) = head.tag(&clip, &segments)?;
        lib.store_head_tags(id, &head.source, &tags, &timeline)?;
        done += 1;
        tracker.finish_item(false);
        ctx.events.progress(tracker.snapshot(Some(path)));
    }
    Ok(done)
}

/// The clip vector and full-width ~1 s segments of `path` encoded by `encoder` under `opts`
/// (a head's own options; time pooling is off) within `budget`, streamed: decode → log-mel →
/// up to `opts.max_batch` encoder chunks at a time → running summary, so memory does not grow
/// with the file's length. Equals the segment means and clip vector of the whole file's
/// unpooled embeddings; for a short clip the clip vector is the tag heads' input (the clip
/// with silence after it, see [`super::analyse`]).
pub fn encode_for_head<E: ChunkEncoder + ?Sized>(
    encoder: &E,
    opts: &EmbedOptions,
    path: &Path,
    budget: Budget,
) -> Result<(Vec<f32>, Segments)> {
    let cfg = encoder.config();
    let mut analyser = Analyser::with_options(encoder, opts);
    let mut failure = None;
    analyse::prepare_streamed(path, budget, cfg.n_t, cfg.patch_size, &mut |piece| {
        analyser.piece(0, Ok(piece));
        if analyser.batch_ready()
            && let Err(e) = analyser.flush()
        {
            failure = Some(e);
            return false;
        }
        true
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    analyser.flush()?;
    match analyser.take_done().pop() {
        Some((_, result)) => result.map(|a| match a.tag_clip {
            Some(tag) => (tag.clone(), Segments::single(tag)),
            None => (a.clip, a.segments),
        }),
        None => Err(Error::Library("the analysis did not finish".into())),
    }
}

/// The AudioSet pass: encodes every indexed file `head` has not tagged with its own encoder
/// (`engine`, loaded from the head's checkpoint) under `budget`, and stores clip tags and
/// timeline. A file that cannot be read is reported and skipped. Returns the files tagged.
pub fn tag_with_encoder(
    lib: &mut Library,
    engine: &Engine,
    head: &LibraryHead,
    budget: Budget,
    ctx: &JobContext,
) -> Result<usize> {
    let untagged = lib.files_untagged_by(&head.source)?;
    ctx.events.send(JobEvent::Note(format!(
        "{} files to tag with {}",
        untagged.len(),
        head.source
    )));
    let opts = head.head.embed_options();
    let mut tracker = ProgressTracker::new(untagged.len());
    ctx.events.progress(tracker.snapshot(None));
    let mut done = 0;
    for (id, path) in untagged {
        ctx.control.checkpoint()?;
        let disk = lib.disk_path(id)?.unwrap_or_else(|| PathBuf::from(&path));
        let tagged = encode_for_head(engine, &opts, &disk, budget)
            .and_then(|(clip, segments)| head.tag(&clip, &segments));
        match tagged {
            Ok((tags, timeline)) => {
                lib.store_head_tags(id, &head.source, &tags, &timeline)?;
                done += 1;
                tracker.finish_item(false);
            }
            Err(e) => {
                tracker.finish_item(true);
                ctx.events.send(JobEvent::ItemFailed {
                    item: path.clone(),
                    reason: format!("{}: {e}", head.source),
                });
            }
        }
        ctx.events.progress(tracker.snapshot(Some(path)));
    }
    Ok(done)
}

/// Runs `heads` on the library after a scan with `model_id` (whose clip embeddings are
/// `clip_dim` wide): probes from the stored embeddings, the AudioSet head through its own
/// encoder pass. `tagged_before` counts files a head already tagged during the scan. Returns a
/// line per head; a probe of another width is not run, and its line says why.
pub fn tag_library(
    lib: &mut Library,
    model_id: i64,
    clip_dim: usize,
    heads: &[LibraryHead],
    tagged_before: usize,
    budget: Budget,
    ctx: &JobContext,
) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for head in heads {
        let n = if head.needs_encoder() {
            ctx.events.send(JobEvent::Note(format!(
                "loading the {} encoder",
                head.source
            )));
            let engine = Engine::load(&head.choice.path, head.choice.device)?;
            tag_with_encoder(lib, &engine, head, budget, ctx)?
        } else if head.head.inputs() != clip_dim {
            lines.push(format!(
                "{} not run: it takes {}-d embeddings, the model gives {clip_dim}-d",
                head.source,
                head.head.inputs()
            ));
            continue;
        } else {
            tag_from_stored(lib, model_id, head, ctx)? + tagged_before
        };
        lines.push(format!("{n} files tagged by {}", head.source));
    }
    Ok(lines)
}

/// Applies changed limits of `choice` to the whole library: a probe head re-reads the stored
/// tag vectors (timelines stay as they are), the AudioSet head runs its encoder pass again.
/// Returns the files tagged.
pub fn retag(
    lib: &mut Library,
    model_id: i64,
    choice: &HeadChoice,
    budget: Budget,
    ctx: &JobContext,
) -> Result<usize> {
    let head = LibraryHead::load(choice)?;
    if head.needs_encoder() {
        lib.forget_head(&head.source)?;
        let engine = Engine::load(&choice.path, choice.device)?;
        return tag_with_encoder(lib, &engine, &head, budget, ctx);
    }
    let mut files = Vec::new();
    lib.for_each_vector(model_id, ClipColumn::Tag, |c, v| {
        files.push((c.file_id, c.path, v))
    })?;
    let untagged: std::collections::HashSet<i64> = lib
        .files_untagged_by(&head.source)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut tracker = ProgressTracker::new(files.len());
    for (id, path, clip) in files {
        ctx.control.checkpoint()?;
        if untagged.contains(&id) {
            let segments = timeline_input(lib, id, model_id, &clip)?;
            let (tags, timeline) = head.tag(&clip, &segments)?;
            lib.store_head_tags(id, &head.source, &tags, &timeline)?;
        } else {
            lib.set_tags(
                id,
                &head.source,
                &head.clip_tags(&head.head.probabilities(&clip)?),
            )?;
        }
        tracker.finish_item(false);
        ctx.events.progress(tracker.snapshot(Some(path)));
    }
    Ok(tracker.done())
}

/// What a probe head's timeline of stored file `id`, whose tag vector is `tag`, is scored from:
/// that one vector for a short clip (as in a scan), otherwise its stored segments.
fn timeline_input(lib: &Library, id: i64, model_id: i64, tag: &[f32]) -> Result<Segments> {
    if lib.is_short_clip(id, model_id)? {
        Ok(Segments::single(tag.to_vec()))
    } else {
        Ok(lib.segments(id, model_id)?.unwrap_or_default())
    }
}

/// Time covered by one segment (seconds): [`STEPS_PER_SEGMENT`] patch columns of 160 ms.
pub const SEGMENT_SECONDS: f32 = STEPS_PER_SEGMENT as f32 * 0.16;
