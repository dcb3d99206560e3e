//! Turning normalised log-mels into embeddings the way the official wrapper does (spec §4).
//!
//! - **Precise** (default): zero-pad (zero in normalised units = the dataset mean) to a multiple
//!   of 16 frames, cut into `n_t`-frame chunks (the last one shorter), encode each chunk with its
//!   own CLS token and positions from column 0, and concatenate along time: `ceil(T/16)` steps.
//! - **Fast**: zero-pad to a whole number of chunks, encode all full chunks, and combine them
//!   **interleaved** — step `c·n_chunk + i` is column `c` of chunk `i` — as the reference does.
//!
//! Per time column the 5 frequency tokens are concatenated (`f·D + d`, 3840-d for ViT-B), kept
//! as separate tokens (`concat_freq = False`), or averaged (the AudioSet head's input). Time
//! pooling is the plain mean over all steps, padded ones included.
//!
//! Chunks of many inputs are batched together (same-length chunks share a batch of at most
//! [`EmbedOptions::max_batch`]); outputs are written straight into per-input accumulators.
//! The chunking itself is [`super::embed_stream::ChunkStream`], which also serves inputs that
//! arrive frame by frame.

use super::chunk::ChunkEncoder;
pub use super::embed_options::{EmbedOptions, FreqLayout, Mode};
use super::embed_stream::{ChunkStream, Geometry, StepOut};
use crate::dsp::LogMel;
use crate::error::{Error, Result};

/// Encoder outputs for one input: `data[(layer · steps + step) · dim + i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// Encoder layer (0-based) of each stored layer slab.
    pub layer_ids: Vec<usize>,
    /// Time steps per layer (1 when pooled).
    pub steps: usize,
    /// Values per step.
    pub dim: usize,
    /// Whether the steps were averaged.
    pub pooled: bool,
    /// All values, layer-major.
    pub data: Vec<f32>,
}

impl Embeddings {
    /// Number of stored layers.
    pub fn num_layers(&self) -> usize {
        self.layer_ids.len()
    }

    /// All steps of stored layer `slot` (`steps × dim`). Panics if `slot ≥ num_layers()`.
    pub fn layer(&self, slot: usize) -> &[f32] {
        let n = self.steps * self.dim;
        &self.data[slot * n..(slot + 1) * n]
    }

    /// The vector of stored layer `slot` at `step`. Panics if either is out of range.
    pub fn step(&self, slot: usize, step: usize) -> &[f32] {
        let at = (slot * self.steps + step) * self.dim;
        &self.data[at..at + self.dim]
    }

    /// The last layer's steps — "the embedding" of the reference.
    pub fn last(&self) -> &[f32] {
        self.layer(self.num_layers() - 1)
    }

    /// Time-mean of stored layer `slot` (the stored vector itself when already pooled).
    pub fn clip_vector_of(&self, slot: usize) -> Vec<f32> {
        let mut acc = vec![0f64; self.dim];
        for s in 0..self.steps {
            for (a, &v) in acc.iter_mut().zip(self.step(slot, s)) {
                *a += f64::from(v);
            }
        }
        acc.iter()
            .map(|a| (a / self.steps.max(1) as f64) as f32)
            .collect()
    }

    /// Time-mean of the last layer: the clip embedding.
    pub fn clip_vector(&self) -> Vec<f32> {
        self.clip_vector_of(self.num_layers() - 1)
    }
}

/// Per-input output being filled.
struct Acc {
    pooled: bool,
    n_chunk: usize,
    steps: usize,
    sums: Vec<f64>,
    data: Vec<f32>,
}

/// Embeds one normalised log-mel.
pub fn embed<E: ChunkEncoder + ?Sized>(
    encoder: &E,
    mel: &LogMel,
    opts: &EmbedOptions,
) -> Result<Embeddings> {
    let mut out = embed_batch(encoder, &[mel], opts)?;
    out.pop().ok_or_else(|| Error::Tensor("no output".into()))
}

/// Embeds several normalised log-mels, batching their chunks together; outputs in input order.
///
/// All chunks are queued before any is encoded, so batches are those of the inputs together;
/// [`ChunkStream`] encodes inputs of any length in bounded memory.
pub fn embed_batch<E: ChunkEncoder + ?Sized>(
    encoder: &E,
    mels: &[&LogMel],
    opts: &EmbedOptions,
) -> Result<Vec<Embeddings>> {
    let cfg = encoder.config();
    let mut stream = ChunkStream::new(encoder, opts);
    let geo = stream.geometry();
    let layer_ids = stream.layer_ids();
    let nl = layer_ids.len();
    let mut accs = Vec::with_capacity(mels.len());
    for (item, mel) in mels.iter().enumerate() {
        check_input(mel, cfg.n_mels, item)?;
        let id = stream.open();
        stream.push_mel(id, mel)?;
        stream.finish(id)?;
        let n_chunk = stream.chunks(id);
        let cols_total = match opts.mode {
            Mode::Precise => mel.frames.div_ceil(geo.patch),
            Mode::Fast => n_chunk * geo.cols,
        };
        let per_col = geo.units_full / geo.cols;
        let steps = cols_total * per_col;
        accs.push(Acc {
            pooled: opts.pool_time,
            n_chunk,
            steps,
            sums: if opts.pool_time {
                vec![0.0; nl * geo.dim]
            } else {
                Vec::new()
            },
            data: if opts.pool_time {
                Vec::new()
            } else {
                vec![0.0; nl * steps * geo.dim]
            },
        });
    }
    stream.flush(&mut |out| scatter(&mut accs[out.item], &out, opts.mode, geo))?;
    for item in 0..mels.len() {
        if let Some(e) = stream.close(item) {
            return Err(e);
        }
    }
    Ok(accs
        .into_iter()
        .map(|acc| finish(acc, &layer_ids, geo.dim))
        .collect())
}

fn check_input(mel: &LogMel, n_mels: usize, item: usize) -> Result<()> {
    if mel.frames == 0 {
        return Err(Error::InvalidInput(format!(
            "input {item}: log-mel has no frames"
        )));
    }
    if mel.data.len() != n_mels * mel.frames {
        return Err(Error::InvalidInput(format!(
            "input {item}: log-mel holds {} values, expected {n_mels} × {}",
            mel.data.len(),
            mel.frames
        )));
    }
    if mel.data.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "input {item}: log-mel has non-finite values"
        )));
    }
    Ok(())
}

/// The output step of a unit: chunks in time order (precise), or interleaved (fast: step
/// `unit · n_chunk + chunk`).
pub fn step_of(mode: Mode, units_full: usize, n_chunk: usize, chunk: usize, unit: usize) -> usize {
    match mode {
        Mode::Precise => chunk * units_full + unit,
        Mode::Fast => unit * n_chunk + chunk,
    }
}

/// Writes one output unit into the accumulator.
fn scatter(acc: &mut Acc, out: &StepOut<'_>, mode: Mode, geo: Geometry) -> Result<()> {
    let dim = geo.dim;
    if acc.pooled {
        let sums = &mut acc.sums[out.slot * dim..(out.slot + 1) * dim];
        sums.iter_mut()
            .zip(out.vector)
            .for_each(|(s, &x)| *s += f64::from(x));
        return Ok(());
    }
    let step = step_of(mode, geo.units_full, acc.n_chunk, out.chunk, out.unit);
    if step >= acc.steps {
        return Err(Error::Tensor(format!(
            "step {step} out of range {}",
            acc.steps
        )));
    }
    let at = (out.slot * acc.steps + step) * dim;
    acc.data[at..at + dim].copy_from_slice(out.vector);
    Ok(())
}

fn finish(acc: Acc, layer_ids: &[usize], dim: usize) -> Embeddings {
    let pooled = acc.pooled;
    let data = if pooled {
        acc.sums
            .iter()
            .map(|s| (s / acc.steps as f64) as f32)
            .collect()
    } else {
        acc.data
    };
    Embeddings {
        layer_ids: layer_ids.to_vec(),
        steps: if pooled { 1 } else { acc.steps },
        dim,
        pooled,
        data,
    }
}
