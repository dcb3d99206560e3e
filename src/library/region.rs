//! The clip embedding of a time region of a file: what a personal tag learns from when its
//! example is a region rather than a whole file, and what a region query searches with.

use std::path::Path;

use super::analyse::{Budget, Piece, prepare_streamed};
use crate::audio;
use crate::dsp::{HOP_LENGTH, LogMel, N_MELS};
use crate::error::{Error, Result};

/// The clip embedding (precise, frequency-concatenated, time-pooled: the probes' input) of the
/// region `start_s..end_s` of a file. The region is clipped to the file; one that lies outside
/// it is an error. Only the region's frames are kept, and the decode stops after them.
pub fn region_embedding<E: crate::model::chunk::ChunkEncoder + ?Sized>(
    encoder: &E,
    path: &Path,
    start_s: f64,
    end_s: f64,
) -> Result<Vec<f32>> {
    let cfg = encoder.config();
    let fps = f64::from(audio::MODEL_SAMPLE_RATE) / HOP_LENGTH as f64;
    let valid = start_s.is_finite() && end_s.is_finite();
    let first = if valid {
        (start_s.max(0.0) * fps).floor() as usize
    } else {
        0
    };
    let wanted_last = if valid {
        (end_s * fps).ceil().max(0.0) as usize
    } else {
        0
    };
    let mut region = Vec::new();
    let (mut at, mut duration_s) = (0usize, 0.0);
    prepare_streamed(path, Budget::Full, cfg.n_t, cfg.patch_size, &mut |piece| {
        match piece {
            Piece::Frames { frames, .. } => {
                let n = frames.len() / N_MELS;
                let (from, to) = (first.max(at), wanted_last.min(at + n));
                if from < to {
                    region.extend_from_slice(&frames[(from - at) * N_MELS..(to - at) * N_MELS]);
                }
                at += n;
            }
            Piece::End(facts) => duration_s = facts.meta.duration_s,
        }
        // Nothing past the region is needed.
        !valid || at < wanted_last
    })?;
    let last = wanted_last.min(at);
    if !valid || last <= first {
        return Err(Error::InvalidInput(format!(
            "{}: region {start_s}–{end_s} s lies outside the file ({duration_s:.2} s)",
            path.display(),
        )));
    }
    let region = LogMel::from_frames(&region);
    let emb = crate::model::embed(encoder, &region, &crate::model::EmbedOptions::for_probe())?;
    Ok(emb.clip_vector())
}
