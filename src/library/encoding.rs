//! Encoding prepared files as a stream: [`Piece`]s of log-mel frames from any number of files
//! go into one [`ChunkStream`], so the chunks of short files share batches while a long file is
//! encoded a few chunks at a time; each file's columns flow straight into its [`FileSummary`].
//! Memory depends on the batch and the files in flight, never on a file's length.
//!
//! [`encode_stage`] is the scan's encoder thread built on the [`Analyser`].

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::head_tags::probe_tap::{ProbeScores, ProbeTap};
use super::model_id::{ModelIdentity, segment_projection};
use super::store::FileMeta;
use super::summary::FileSummary;
use super::vectors::Segments;
use crate::error::{Error, Result};
use crate::model::EmbedOptions;
use crate::model::chunk::ChunkEncoder;
use crate::model::embed_stream::{ChunkStream, ColumnMean};
use crate::tags::Head;

/// What was learnt about a file once it is completely read.
#[derive(Debug, Clone, PartialEq)]
pub struct FileFacts {
    /// What was read from the file.
    pub meta: FileMeta,
    /// The budget actually applied (`full` or `windows:N`).
    pub analysed: String,
    /// Set when the file was cut short and only the readable part was used.
    pub truncated: bool,
    /// For a clip shorter than [`super::analyse::MIN_TAG_SECONDS`]: its frames (frame-major,
    /// normalised) with silence after them up to that length, what the tag heads hear.
    pub tag_input: Option<Vec<f32>>,
}

/// A part of one file's encoder input, in order.
#[derive(Debug, Clone, PartialEq)]
// `End` comes once per file, after many `Frames` whose vectors hold the bulk: boxing it would
// save nothing that matters.
#[allow(clippy::large_enum_variant)]
pub enum Piece {
    /// Frame-major normalised log-mel frames (whole encoder chunks, except that the file's
    /// last frames may end with a shorter one), and the start time of each of their patch
    /// columns.
    Frames {
        /// `frames × N_MELS` values.
        frames: Vec<f32>,
        /// Seconds, one per patch column.
        column_times: Vec<f32>,
    },
    /// The file ended.
    End(FileFacts),
}

/// A file id, its path, and a result about it.
pub type Item<T> = (i64, String, Result<T>);

/// One file's finished analysis.
#[derive(Debug)]
pub struct Analysis {
    /// What the file is and how it was analysed.
    pub prepared: FileFacts,
    /// The clip vector.
    pub clip: Vec<f32>,
    /// Segment embeddings at the model's segment width.
    pub segments: Segments,
    /// Full-width segments, kept when they were reduced and `keep_full` was asked for.
    pub full_segments: Option<Segments>,
    /// Per-segment probabilities of the probes given to [`Analyser::with_probes`], taken from
    /// the full-width segments as they were produced.
    pub probe_scores: Option<ProbeScores>,
    /// What tag heads take for the whole clip: the clip vector of [`FileFacts::tag_input`] for
    /// a short clip, otherwise `None` (the clip vector itself).
    pub tag_clip: Option<Vec<f32>>,
}

impl Analysis {
    /// The vector a tag head scores the whole file from.
    pub fn tag_vector(&self) -> &[f32] {
        self.tag_clip.as_deref().unwrap_or(&self.clip)
    }
}

struct InFlight {
    item: usize,
    times: VecDeque<f32>,
    summary: FileSummary,
    tap: Option<ProbeTap>,
    facts: Option<FileFacts>,
    error: Option<Error>,
    ended: bool,
    tag: Option<TagClip>,
}

/// The tag input of a short clip, encoded as an input of its own in the same stream, so that
/// the tag inputs of many short files (all of one length) share batches.
struct TagClip {
    item: usize,
    mean: ColumnMean,
}

/// Which file (and which of its inputs) a stream item belongs to.
#[derive(Clone, Copy)]
enum Owner {
    Frames(i64),
    Tag(i64),
}

/// Files being encoded, keyed by the caller's id.
pub struct Analyser<'e, E: ChunkEncoder + ?Sized> {
    stream: ChunkStream<'e, E>,
    files: HashMap<i64, InFlight>,
    order: Vec<i64>,
    projection: Option<(Arc<[f32]>, usize)>,
    keep_full: bool,
    probes: Arc<[Head]>,
    max_batch: usize,
}

impl<'e, E: ChunkEncoder + ?Sized> Analyser<'e, E> {
    /// An analyser for `model` (run by `encoder`) encoding up to `max_batch` chunks together;
    /// `keep_full` keeps full-width segments when they are reduced.
    pub fn new(encoder: &'e E, model: &ModelIdentity, max_batch: usize, keep_full: bool) -> Self {
        let opts = EmbedOptions {
            pool_time: false,
            max_batch: max_batch.max(1),
            ..EmbedOptions::default()
        };
        Analyser {
            stream: ChunkStream::new(encoder, &opts),
            files: HashMap::new(),
            order: Vec::new(),
            projection: segment_projection(model.clip_dim, model.segment_dim)
                .map(|p| (Arc::from(p), model.segment_dim)),
            keep_full,
            probes: Arc::from(Vec::new()),
            max_batch: max_batch.max(1),
        }
    }

    /// Also scores each file's full-width segments with `probes` (each taking the encoder's
    /// column width) as they are produced; see [`Analysis::probe_scores`].
    pub fn with_probes(mut self, probes: Vec<Head>) -> Self {
        self.probes = Arc::from(probes);
        self
    }

    /// An analyser encoding under `opts` (its own head's options: time pooling is turned off),
    /// summarising at full width: the clip vector and segments of the encoder's own output.
    pub fn with_options(encoder: &'e E, opts: &EmbedOptions) -> Self {
        let opts = EmbedOptions {
            pool_time: false,
            max_batch: opts.max_batch.max(1),
            ..opts.clone()
        };
        Analyser {
            stream: ChunkStream::new(encoder, &opts),
            files: HashMap::new(),
            order: Vec::new(),
            projection: None,
            keep_full: false,
            probes: Arc::from(Vec::new()),
            max_batch: opts.max_batch,
        }
    }

    /// Whether enough chunks wait to fill a batch.
    pub fn batch_ready(&self) -> bool {
        self.stream.pending_chunks() >= self.max_batch
    }

    /// Whether chunks wait.
    pub fn has_pending(&self) -> bool {
        self.stream.pending_chunks() > 0
    }

    fn file(&mut self, id: i64) -> &mut InFlight {
        let Analyser {
            stream,
            files,
            order,
            projection,
            keep_full,
            probes,
            ..
        } = self;
        files.entry(id).or_insert_with(|| {
            order.push(id);
            let dim = stream.geometry().dim;
            InFlight {
                item: stream.open(),
                times: VecDeque::new(),
                summary: FileSummary::new(dim, projection.clone(), *keep_full),
                tap: (!probes.is_empty()).then(|| ProbeTap::new(dim, probes.clone())),
                facts: None,
                error: None,
                ended: false,
                tag: None,
            }
        })
    }

    /// Queues the tag input of a short clip as an input of its own.
    fn open_tag(&mut self, frames: &[f32]) -> Result<TagClip> {
        let item = self.stream.open();
        let queued = self
            .stream
            .push_frames(item, frames)
            .and_then(|()| self.stream.finish(item));
        if let Err(e) = queued {
            self.stream.close(item);
            return Err(e);
        }
        Ok(TagClip {
            item,
            mean: ColumnMean::new(self.stream.geometry().dim),
        })
    }

    /// Takes the next piece of file `id` (an error ends the file with it).
    pub fn piece(&mut self, id: i64, piece: Result<Piece>) {
        let file = self.file(id);
        let item = file.item;
        // A file is complete once its decoder is done with it (its end, or an error), even
        // when encoding it failed earlier: its later pieces must not start it again.
        file.ended |= !matches!(piece, Ok(Piece::Frames { .. }));
        if file.error.is_some() {
            return;
        }
        let outcome = match piece {
            Ok(Piece::Frames {
                frames,
                column_times,
            }) => {
                file.times.extend(column_times);
                self.stream.push_frames(item, &frames)
            }
            Ok(Piece::End(facts)) => {
                let tag = facts.tag_input.as_deref().map(|f| self.open_tag(f));
                let file = self.file(id);
                file.facts = Some(facts);
                match tag.transpose() {
                    Ok(tag) => {
                        file.tag = tag;
                        self.stream.finish(item)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            let file = self.file(id);
            file.error = Some(e);
            let tag = file.tag.take();
            self.stream.close(item);
            if let Some(tag) = tag {
                self.stream.close(tag.item);
            }
        }
    }

    /// Encodes every waiting chunk into the files' summaries.
    pub fn flush(&mut self) -> Result<()> {
        let mut by_item: HashMap<usize, Owner> = HashMap::new();
        for (&id, file) in &self.files {
            by_item.insert(file.item, Owner::Frames(id));
            if let Some(tag) = &file.tag {
                by_item.insert(tag.item, Owner::Tag(id));
            }
        }
        let files = &mut self.files;
        self.stream.flush(&mut |out| {
            match by_item.get(&out.item) {
                Some(&Owner::Frames(id)) => {
                    if let Some(file) = files.get_mut(&id)
                        && let Some(time) = file.times.pop_front()
                    {
                        file.summary.push(time, out.vector);
                        if let Some(tap) = &mut file.tap {
                            tap.push(time, out.vector);
                        }
                    }
                }
                Some(&Owner::Tag(id)) => {
                    if let Some(tag) = files.get_mut(&id).and_then(|f| f.tag.as_mut()) {
                        tag.mean.push(out.vector);
                    }
                }
                None => {}
            }
            Ok(())
        })
    }

    /// Files that are complete (ended, or failed), in the order they arrived.
    pub fn take_done(&mut self) -> Vec<(i64, Result<Analysis>)> {
        let mut done = Vec::new();
        let stream = &mut self.stream;
        let files = &mut self.files;
        self.order.retain(|id| {
            let Some(file) = files.get(id) else {
                return false;
            };
            let encoded = |item: usize| !stream.has_pending(item);
            let complete = file.ended
                && (file.error.is_some()
                    || (encoded(file.item) && file.tag.as_ref().is_none_or(|t| encoded(t.item))));
            if !complete {
                return true;
            }
            let Some(file) = files.remove(id) else {
                return false;
            };
            let failure = stream.close(file.item);
            let tag_failure = file.tag.as_ref().and_then(|t| stream.close(t.item));
            let result = match (file.error.or(failure).or(tag_failure), file.facts) {
                (Some(e), _) => Err(e),
                (None, Some(prepared)) => {
                    let (clip, segments, full_segments) = file.summary.finish();
                    let tag_clip = file.tag.map(|t| t.mean.finish());
                    file.tap
                        .map(ProbeTap::finish)
                        .transpose()
                        .map(|probe_scores| Analysis {
                            prepared,
                            clip,
                            segments,
                            full_segments,
                            probe_scores,
                            tag_clip,
                        })
                }
                (None, None) => Err(Error::Library("file ended without its facts".into())),
            };
            done.push((*id, result));
            false
        });
        done
    }
}

/// The scan's encoder stage: takes pieces until a batch is ready (or input ends), encodes them
/// with chunks of other files, and sends each file's analysis on once it is complete, with the
/// per-segment scores of `probes` (heads of the model's width). Files still incomplete when
/// the input ends (a cancelled scan) are dropped.
pub fn encode_stage<E: ChunkEncoder + ?Sized>(
    encoder: &E,
    model: &ModelIdentity,
    max_batch: usize,
    probes: Vec<Head>,
    rx: &Receiver<Item<Piece>>,
    tx: &Sender<Item<Analysis>>,
) {
    let mut analyser = Analyser::new(encoder, model, max_batch, false).with_probes(probes);
    let mut paths: HashMap<i64, String> = HashMap::new();
    let mut input_open = true;
    loop {
        if input_open && !analyser.batch_ready() {
            match rx.recv() {
                Ok((id, path, piece)) => {
                    paths.insert(id, path);
                    analyser.piece(id, piece);
                }
                Err(_) => input_open = false,
            }
        } else if analyser.flush().is_err() {
            return;
        }
        for (id, result) in analyser.take_done() {
            let path = paths.remove(&id).unwrap_or_default();
            if tx.send((id, path, result)).is_err() {
                return;
            }
        }
        if !input_open && !analyser.has_pending() {
            return;
        }
    }
}
