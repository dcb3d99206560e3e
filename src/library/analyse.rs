//! Analysing one file: decode → 16 kHz mono → normalised log-mel (streamed), choose what to
//! encode (the analysis budget), and turn the encoder's time steps into the stored clip vector
//! and ~1 s segment embeddings.
//!
//! # The analysis budget
//! Encoding is the expensive step (ViT-B on two CPU cores: ~0.3 s per 6.08 s chunk). With
//! [`Budget::Windows`] a file longer than `full_up_to_s` is represented by `count` windows of
//! one encoder chunk (6.08 s) spread evenly from start to end; shorter files, and every file
//! with [`Budget::Full`], are encoded whole. Decoding and the log-mel always cover the whole file.
//!
//! # Short clips and the tag heads
//! A clip shorter than [`MIN_TAG_SECONDS`] (a one-shot cut right after the hit) is also encoded
//! with digital silence after it up to that length, and the tag heads score the file from that
//! vector ([`FileFacts::tag_input`]). The sounds the bundled model learned drum hits and notes
//! from ring out into silence for about a second; heard bare, a 0.25 s snare sample lands among
//! the short sound effects (model card, "Short samples"). The clip vector that search, the map
//! and personal tags use stays the file's own.
//!
//! # Streaming
//! [`prepare_streamed`] hands a file's encoder input on in [`Piece`]s as it is decoded, so no
//! step holds the whole file: the scan's decoder stage ([`decode_stage`]) sends them to the
//! encoder stage ([`super::encoding`]), which summarises each file as its chunks are encoded.
//! Memory depends on the batch size, not on the length of the file (10 hours of audio: about
//! 200 MB for `scan --full`, ~90 MB of it the 37 500 segment vectors kept until stored).

use std::path::Path;

use crate::audio::{self, AudioDecoder, AudioInfo};
use crate::dsp::{HOP_LENGTH, LogMel, LogMelFrontEnd, N_MELS};
use crate::error::{Error, Result};
use crate::library::store::FileMeta;
use crate::library::vectors::Segments;

use super::encoding::Analyser;
pub use super::encoding::{FileFacts, Item, Piece};
use super::measure::{Meters, TagFacts, pcm_bit_depth, read_tag_facts, stream_measured};
pub use super::summary::{STEPS_PER_SEGMENT, reduce_segments, segment_means, summarise};

/// Encoder chunks per [`Piece`] of a file encoded whole (16 × 6.08 s ≈ 97 s, 3 MiB).
pub const PIECE_CHUNKS: usize = 16;

/// Clips shorter than this are heard by the tag heads with silence after them up to this length.
pub const MIN_TAG_SECONDS: f64 = 1.2;

/// [`MIN_TAG_SECONDS`] in samples at 16 kHz.
pub const MIN_TAG_SAMPLES: u64 = 19_200;

/// How much of each file the encoder sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// Every file whole.
    Full,
    /// Files longer than `full_up_to_s`: `count` evenly spread chunk-long windows.
    Windows {
        /// Windows per long file.
        count: usize,
        /// Files up to this long are encoded whole.
        full_up_to_s: f64,
    },
}

impl Budget {
    /// The CPU default: 5 windows (30.4 s of audio) for files over 30 s.
    pub const CPU_DEFAULT: Budget = Budget::Windows {
        count: 5,
        full_up_to_s: 30.0,
    };

    /// How the choice is written in the index (`full` or `windows:N`).
    pub fn label(&self) -> String {
        match self {
            Budget::Full => "full".into(),
            Budget::Windows { count, .. } => format!("windows:{count}"),
        }
    }
}

/// A decoded file ready for the encoder, in memory.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The log-mel to encode (the whole file, or its windows back to back).
    pub mel: LogMel,
    /// Start time in seconds of each encoded patch column.
    pub column_times: Vec<f32>,
    /// What was read from the file.
    pub meta: FileMeta,
    /// The budget actually applied (`full` or `windows:N`).
    pub analysed: String,
    /// Set when the file was cut short and only the readable part was used.
    pub truncated: bool,
    /// What the tag heads hear of a short clip (see [`FileFacts::tag_input`]).
    pub tag_input: Option<LogMel>,
}

/// Decodes `path` and prepares its encoder input under `budget`, in memory; `n_t` and `patch`
/// are the encoder's chunk and patch sizes in frames. See [`prepare_streamed`] for files of
/// any length.
pub fn prepare(path: &Path, budget: Budget, n_t: usize, patch: usize) -> Result<Prepared> {
    let mut frames = Vec::new();
    let mut column_times = Vec::new();
    let mut facts = None;
    prepare_streamed(path, budget, n_t, patch, &mut |piece| {
        match piece {
            Piece::Frames {
                frames: f,
                column_times: t,
            } => {
                frames.extend_from_slice(&f);
                column_times.extend_from_slice(&t);
            }
            Piece::End(f) => facts = Some(f),
        }
        true
    })?;
    let facts = facts.ok_or_else(|| Error::Library("prepared file without an end".into()))?;
    Ok(Prepared {
        mel: LogMel::from_frames(&frames),
        column_times,
        meta: facts.meta,
        analysed: facts.analysed,
        truncated: facts.truncated,
        tag_input: facts.tag_input.as_deref().map(LogMel::from_frames),
    })
}

/// Frames of chosen windows, collected as the frames stream past.
struct Capture {
    starts: Vec<usize>,
    n_t: usize,
    got: Vec<Vec<f32>>,
}

impl Capture {
    fn new(starts: Vec<usize>, n_t: usize) -> Self {
        let got = vec![Vec::new(); starts.len()];
        Capture { starts, n_t, got }
    }

    /// Takes frames `first..` (frame-major) into the windows they overlap.
    fn feed(&mut self, first: usize, frames: &[f32]) {
        let end = first + frames.len() / N_MELS;
        for (&start, got) in self.starts.iter().zip(&mut self.got) {
            let (from, to) = (start.max(first), (start + self.n_t).min(end));
            if from < to {
                got.extend_from_slice(&frames[(from - first) * N_MELS..(to - first) * N_MELS]);
            }
        }
    }

    fn complete(&self) -> bool {
        self.got.iter().all(|g| g.len() == self.n_t * N_MELS)
    }
}

/// The frame count the headers promise (the 16 kHz length of `info.frames` source frames).
fn promised_frames(info: &AudioInfo) -> Option<usize> {
    let frames = u128::from(info.frames?);
    let rate = u128::from(info.sample_rate.max(1));
    let samples = (frames * u128::from(audio::MODEL_SAMPLE_RATE)).div_ceil(rate);
    Some(crate::dsp::frame_count(usize::try_from(samples).ok()?))
}

/// Start times (seconds) of the patch columns of frames `from..from + frames`.
fn column_times(from: usize, frames: usize, patch: usize) -> Vec<f32> {
    let frame_s = HOP_LENGTH as f32 / audio::MODEL_SAMPLE_RATE as f32;
    (from / patch..(from + frames).div_ceil(patch))
        .map(|c| (c * patch) as f32 * frame_s)
        .collect()
}

/// [`prepare_streamed`] that also reads the file's tags and bit depth and measures its loudness
/// and tempo in the same decode (see [`super::measure`]): what the scan stores.
pub fn prepare_measured(
    path: &Path,
    budget: Budget,
    n_t: usize,
    patch: usize,
    emit: &mut dyn FnMut(Piece) -> bool,
) -> Result<bool> {
    prepare_inner(path, budget, n_t, patch, true, emit)
}

/// Decodes `path` and hands its encoder input under `budget` to `emit` as it is computed:
/// [`Piece::Frames`] of whole chunks, then [`Piece::End`]. Memory is bounded whatever the
/// file's length: a file encoded whole leaves in pieces of [`PIECE_CHUNKS`] chunks; a windowed
/// one keeps only its windows, placed by the length the headers promise — when the headers
/// are silent or wrong (a truncated file), a second pass reads the windows the true length
/// places. Returns `Ok(false)` when `emit` asked to stop.
pub fn prepare_streamed(
    path: &Path,
    budget: Budget,
    n_t: usize,
    patch: usize,
    emit: &mut dyn FnMut(Piece) -> bool,
) -> Result<bool> {
    prepare_inner(path, budget, n_t, patch, false, emit)
}

fn prepare_inner(
    path: &Path,
    budget: Budget,
    n_t: usize,
    patch: usize,
    measure: bool,
    emit: &mut dyn FnMut(Piece) -> bool,
) -> Result<bool> {
    let info = AudioDecoder::open(path)?.info().clone();
    let mut meters = measure.then(|| Meters::new(&info));
    let piece_frames = PIECE_CHUNKS * n_t;
    let windows = match budget {
        Budget::Windows {
            count,
            full_up_to_s,
        } if count > 0 => Some((count, full_up_to_s)),
        _ => None,
    };
    let predicted = windows.and_then(|(count, _)| {
        promised_frames(&info)
            .filter(|&t| t > count * n_t)
            .map(|t| window_starts(t, n_t, patch, count))
    });
    let mut capture = Capture::new(predicted.unwrap_or_default(), n_t);
    let mut front = LogMelFrontEnd::new(true);
    let (mut buf, mut seen, mut emitted, mut samples) = (Vec::new(), 0usize, 0usize, 0u64);
    let (mut windowed, mut stopped) = (false, false);
    let streamed = stream_measured(path, meters.as_mut(), |block| {
        let at = buf.len();
        front.push(block, &mut buf);
        samples += block.len() as u64;
        let new = (buf.len() - at) / N_MELS;
        capture.feed(seen, &buf[at..]);
        seen += new;
        if let Some((count, full_up_to_s)) = windows {
            let duration_s = samples as f64 / f64::from(audio::MODEL_SAMPLE_RATE);
            windowed |= duration_s > full_up_to_s && seen > count * n_t;
            if windowed {
                buf.clear();
            }
            return Ok(());
        }
        while buf.len() >= piece_frames * N_MELS {
            let rest = buf.split_off(piece_frames * N_MELS);
            let frames = std::mem::replace(&mut buf, rest);
            let column_times = column_times(emitted, piece_frames, patch);
            emitted += piece_frames;
            if !emit(Piece::Frames {
                frames,
                column_times,
            }) {
                stopped = true;
                return Err(Error::Cancelled);
            }
        }
        Ok(())
    });
    let summary = match streamed {
        Err(_) if stopped => return Ok(false),
        other => other?,
    };
    let duration_s = summary.output_samples as f64 / f64::from(audio::MODEL_SAMPLE_RATE);
    if summary.output_samples == 0 {
        return Err(Error::NoAudio {
            path: path.to_path_buf(),
            reason: "no audio in the file (0 samples)".into(),
        });
    }
    let tag_input = (!windowed && seen > 0 && samples < MIN_TAG_SAMPLES).then(|| {
        let mut frames = buf.clone();
        front.pad_to(samples, MIN_TAG_SAMPLES, &mut frames);
        frames
    });
    if seen == 0 {
        return Err(Error::TooShort {
            path: path.to_path_buf(),
            duration_s,
        });
    }
    let analysed = if let (true, Some((count, _))) = (windowed, windows) {
        let starts = window_starts(seen, n_t, patch, count);
        if capture.starts != starts || !capture.complete() {
            capture = Capture::new(starts, n_t);
            let mut front = LogMelFrontEnd::new(true);
            let (mut frames, mut at) = (Vec::new(), 0usize);
            audio::stream_mono_16k(path, |block| {
                frames.clear();
                front.push(block, &mut frames);
                capture.feed(at, &frames);
                at += frames.len() / N_MELS;
                Ok(())
            })?;
            if !capture.complete() {
                return Err(Error::Decode {
                    path: path.to_path_buf(),
                    reason: "the file changed while it was read".into(),
                });
            }
        }
        let mut times = Vec::with_capacity(count * n_t.div_ceil(patch));
        for &start in &capture.starts {
            times.extend(column_times(start, n_t, patch));
        }
        let frames = capture.got.concat();
        if !emit(Piece::Frames {
            frames,
            column_times: times,
        }) {
            return Ok(false);
        }
        budget.label()
    } else {
        let mut rest = buf.as_slice();
        while !rest.is_empty() {
            let take = rest.len().min(piece_frames * N_MELS);
            let n = take / N_MELS;
            let piece = Piece::Frames {
                frames: rest[..take].to_vec(),
                column_times: column_times(emitted, n, patch),
            };
            emitted += n;
            rest = &rest[take..];
            if !emit(piece) {
                return Ok(false);
            }
        }
        Budget::Full.label()
    };
    let tags = if measure {
        read_tag_facts(path)
    } else {
        TagFacts::default()
    };
    let meta = FileMeta {
        duration_s,
        sample_rate: info.sample_rate,
        channels: info.channels,
        bit_depth: tags.bit_depth.or_else(|| pcm_bit_depth(&info.codec)),
        container: info.container,
        codec: info.codec,
        title: tags.title.or(info.title),
        artist: tags.artist.or(info.artist),
        album: tags.album.or(info.album),
        genre: info.genre,
        measures: meters.map(|m| m.finish(duration_s)),
    };
    Ok(emit(Piece::End(FileFacts {
        meta,
        analysed,
        truncated: summary.truncated,
        tag_input,
    })))
}

/// `count` window starts (frames, multiples of `patch`) spread evenly over `total` frames.
fn window_starts(total: usize, n_t: usize, patch: usize, count: usize) -> Vec<usize> {
    let last = (total - n_t) / patch * patch;
    (0..count)
        .map(|i| {
            if count == 1 {
                last / 2 / patch * patch
            } else {
                (last * i / (count - 1)) / patch * patch
            }
        })
        .collect()
}

/// Analyses one file outside any scan (a query clip): its clip vector and segments, streamed.
pub fn analyse_file(
    encoder: &crate::engine::Engine,
    model: &crate::library::model_id::ModelIdentity,
    path: &Path,
    budget: Budget,
) -> Result<(Vec<f32>, Segments)> {
    let cfg = encoder.config();
    let max_batch = crate::model::EmbedOptions::default().max_batch;
    let mut analyser = Analyser::new(encoder, model, max_batch, false);
    let mut failure = None;
    prepare_streamed(path, budget, cfg.n_t, cfg.patch_size, &mut |piece| {
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
        Some((_, result)) => result.map(|a| (a.clip, a.segments)),
        None => Err(Error::Library("the analysis did not finish".into())),
    }
}

/// The scan's decoder stage: prepares each file of `work` (id, path as stored, path to read)
/// and sends its pieces on, until `work` ends, `control` stops the job, or the receiver is gone.
pub fn decode_stage<P: AsRef<Path>>(
    work: impl IntoIterator<Item = (i64, String, P)>,
    budget: Budget,
    n_t: usize,
    patch: usize,
    control: &crate::jobs::JobControl,
    tx: &crossbeam_channel::Sender<Item<Piece>>,
) {
    for (id, path, real) in work {
        if control.checkpoint().is_err() {
            return;
        }
        let mut send = |piece: Piece| {
            control.checkpoint().is_ok() && tx.send((id, path.clone(), Ok(piece))).is_ok()
        };
        match prepare_measured(real.as_ref(), budget, n_t, patch, &mut send) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                if tx.send((id, path, Err(e))).is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_patch_aligned_spread_and_inside() {
        let w = window_starts(10_000, 608, 16, 5);
        assert_eq!(w.len(), 5);
        assert_eq!(w[0], 0);
        assert!(w.iter().all(|s| s % 16 == 0 && s + 608 <= 10_000));
        assert!(w.windows(2).all(|p| p[1] > p[0] + 608));
        assert!(10_000 - (w[4] + 608) < 16);
    }
}
