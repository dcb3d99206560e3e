//! Analysing one file: decode → 16 kHz mono → normalised log-mel (streamed), choose what to
//! encode (the analysis budget), and turn the encoder's time steps into the stored clip vector
//! and ~1 s segment embeddings.
//!
//! # The analysis budget
//! Encoding is the expensive step (ViT-B on two CPU cores: ~0.3 s per 6.08 s chunk). With
//! [`Budget::Windows`] a file longer than `full_up_to_s` is represented by `count` windows of
//! one encoder chunk (6.08 s) spread evenly from start to end; shorter files, and every file
//! with [`Budget::Full`], are encoded whole. Decoding and the log-mel always cover the whole file.

use std::path::Path;

use crate::audio::{self, AudioDecoder};
use crate::dsp::{HOP_LENGTH, LogMel, LogMelFrontEnd, N_MELS};
use crate::error::{Error, Result};
use crate::library::model_id::project;
use crate::library::store::{FileMeta, Segments};
use crate::model::Embeddings;

/// Patch columns averaged into one segment (6 × 160 ms = 0.96 s).
pub const STEPS_PER_SEGMENT: usize = 6;

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

/// A decoded file ready for the encoder.
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
}

/// Decodes `path` and prepares its encoder input under `budget`; `n_t` and `patch` are the
/// encoder's chunk and patch sizes in frames.
pub fn prepare(path: &Path, budget: Budget, n_t: usize, patch: usize) -> Result<Prepared> {
    let info = AudioDecoder::open(path)?.info().clone();
    let mut front = LogMelFrontEnd::new(true);
    let mut frames = Vec::new();
    let summary = audio::stream_mono_16k(path, |block| {
        front.push(block, &mut frames);
        Ok(())
    })?;
    let duration_s = summary.output_samples as f64 / f64::from(audio::MODEL_SAMPLE_RATE);
    let total = frames.len() / N_MELS;
    if total == 0 {
        return Err(Error::NoAudio {
            path: path.to_path_buf(),
            reason: format!("too short to analyse ({duration_s:.3} s of audio)"),
        });
    }
    let frame_s = HOP_LENGTH as f32 / audio::MODEL_SAMPLE_RATE as f32;
    let meta = FileMeta {
        duration_s,
        sample_rate: info.sample_rate,
        channels: info.channels,
        container: info.container,
        codec: info.codec,
        title: info.title,
        artist: info.artist,
        album: info.album,
        genre: info.genre,
    };
    let windows = match budget {
        Budget::Windows {
            count,
            full_up_to_s,
        } if count > 0 && duration_s > full_up_to_s && total > count * n_t => {
            window_starts(total, n_t, patch, count)
        }
        _ => Vec::new(),
    };
    let (mel, column_times, analysed) = if windows.is_empty() {
        let cols = total.div_ceil(patch);
        let times = (0..cols).map(|c| (c * patch) as f32 * frame_s).collect();
        (LogMel::from_frames(&frames), times, Budget::Full.label())
    } else {
        let mut picked = Vec::with_capacity(windows.len() * n_t * N_MELS);
        let mut times = Vec::new();
        for &start in &windows {
            picked.extend_from_slice(&frames[start * N_MELS..(start + n_t) * N_MELS]);
            times.extend((0..n_t / patch).map(|c| (start + c * patch) as f32 * frame_s));
        }
        (LogMel::from_frames(&picked), times, budget.label())
    };
    Ok(Prepared {
        mel,
        column_times,
        meta,
        analysed,
        truncated: summary.truncated,
    })
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

/// Segment means of one file's unpooled last-layer embeddings, at full width: groups of up to
/// [`STEPS_PER_SEGMENT`] consecutive columns (a segment never spans a gap between windows).
pub fn segment_means(emb: &Embeddings, column_times: &[f32]) -> Segments {
    let slot = emb.num_layers() - 1;
    let steps = emb.steps.min(column_times.len());
    let mut segments = Segments {
        starts: Vec::new(),
        dim: emb.dim,
        vectors: Vec::new(),
    };
    let hop = column_times.get(1).map_or(0.16, |t| t - column_times[0]);
    let mut mean = vec![0f32; emb.dim];
    let mut s = 0;
    while s < steps {
        let mut e = s + 1;
        while e < steps
            && e - s < STEPS_PER_SEGMENT
            && (column_times[e] - column_times[e - 1] - hop).abs() < 1e-3
        {
            e += 1;
        }
        mean.iter_mut().for_each(|m| *m = 0.0);
        for k in s..e {
            mean.iter_mut()
                .zip(emb.step(slot, k))
                .for_each(|(m, &v)| *m += v);
        }
        let n = (e - s) as f32;
        segments.vectors.extend(mean.iter().map(|m| m / n));
        segments.starts.push(column_times[s]);
        s = e;
    }
    segments
}

/// Reduces full-width segments through `projection` (`dim × out` row-major) to `segment_dim`.
pub fn reduce_segments(full: &Segments, projection: &[f32], segment_dim: usize) -> Segments {
    let mut reduced = vec![0f32; segment_dim];
    let mut out = Segments {
        starts: full.starts.clone(),
        dim: segment_dim,
        vectors: Vec::with_capacity(full.len() * segment_dim),
    };
    for i in 0..full.len() {
        project(full.vector(i), projection, &mut reduced);
        out.vectors.extend_from_slice(&reduced);
    }
    out
}

/// The clip vector and reduced segments of one file's unpooled last-layer embeddings.
///
/// `projection` (`dim × out` row-major) reduces segment vectors when the model is wide.
pub fn summarise(
    emb: &Embeddings,
    column_times: &[f32],
    projection: Option<&[f32]>,
    segment_dim: usize,
) -> (Vec<f32>, Segments) {
    let clip = emb.clip_vector();
    let full = segment_means(emb, column_times);
    match projection {
        Some(p) => (clip, reduce_segments(&full, p, segment_dim)),
        None => (clip, full),
    }
}

/// Analyses one file outside any scan (a query clip): its clip vector and segments.
pub fn analyse_file(
    encoder: &crate::engine::Engine,
    model: &crate::library::model_id::ModelIdentity,
    path: &Path,
    budget: Budget,
) -> Result<(Vec<f32>, Segments)> {
    let cfg = encoder.config();
    let prepared = prepare(path, budget, cfg.n_t, cfg.patch_size)?;
    let opts = crate::model::EmbedOptions {
        pool_time: false,
        ..crate::model::EmbedOptions::default()
    };
    let emb = crate::model::embed(encoder, &prepared.mel, &opts)?;
    let projection =
        crate::library::model_id::segment_projection(model.clip_dim, model.segment_dim);
    Ok(summarise(
        &emb,
        &prepared.column_times,
        projection.as_deref(),
        model.segment_dim,
    ))
}

/// The clip embedding (precise, frequency-concatenated, time-pooled: the probes' input) of the
/// region `start_s..end_s` of a file. The region is clipped to the file; one that lies outside
/// it is an error.
pub fn region_embedding<E: crate::model::chunk::ChunkEncoder + ?Sized>(
    encoder: &E,
    path: &Path,
    start_s: f64,
    end_s: f64,
) -> Result<Vec<f32>> {
    let cfg = encoder.config();
    let prepared = prepare(path, Budget::Full, cfg.n_t, cfg.patch_size)?;
    let mel = &prepared.mel;
    let fps = f64::from(audio::MODEL_SAMPLE_RATE) / HOP_LENGTH as f64;
    let first = (start_s.max(0.0) * fps).floor() as usize;
    let last = ((end_s * fps).ceil().max(0.0) as usize).min(mel.frames);
    if !(start_s.is_finite() && end_s.is_finite()) || last <= first {
        return Err(Error::InvalidInput(format!(
            "{}: region {start_s}–{end_s} s lies outside the file ({:.2} s)",
            path.display(),
            prepared.meta.duration_s
        )));
    }
    let frames = last - first;
    let mut data = Vec::with_capacity(N_MELS * frames);
    for band in 0..N_MELS {
        data.extend_from_slice(&mel.data[band * mel.frames + first..band * mel.frames + last]);
    }
    let region = LogMel { data, frames };
    let emb = crate::model::embed(encoder, &region, &crate::model::EmbedOptions::for_probe())?;
    Ok(emb.clip_vector())
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

    #[test]
    fn segments_group_six_columns_and_respect_window_gaps() {
        let dim = 2;
        let steps = 14;
        let data: Vec<f32> = (0..steps * dim).map(|i| i as f32).collect();
        let emb = Embeddings {
            layer_ids: vec![0],
            steps,
            dim,
            pooled: false,
            data,
        };
        // Two windows of 7 columns, far apart in time.
        let mut times: Vec<f32> = (0..7).map(|c| c as f32 * 0.16).collect();
        times.extend((0..7).map(|c| 100.0 + c as f32 * 0.16));
        let (clip, seg) = summarise(&emb, &times, None, dim);
        assert_eq!(clip.len(), dim);
        assert_eq!(seg.len(), 4, "6 + 1 columns per window");
        assert_eq!(seg.starts[2], 100.0);
        assert_eq!(seg.vector(1), &[12.0, 13.0]);
    }
}
