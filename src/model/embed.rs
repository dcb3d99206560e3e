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
//! [`EmbedOptions::max_batch`]); outputs are written straight into per-input accumulators, so
//! with pooling the memory used is independent of the input length.

use candle_core::Tensor;

use super::chunk::ChunkEncoder;
use crate::dsp::LogMel;
use crate::error::{Error, Result};

/// How long inputs are cut into chunks (spec §4.1 / §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Padding to 16 frames, a shorter last chunk, chunks in time order.
    #[default]
    Precise,
    /// Padding to whole chunks, interleaved chunk order (the reference's fast path).
    Fast,
}

/// What one time step holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FreqLayout {
    /// The frequency tokens of a column concatenated (`F·D` values, index `f·D + d`).
    #[default]
    Concat,
    /// Every token a step of its own (`concat_freq = False`): `F·t` steps of `D` per chunk.
    Tokens,
    /// The mean of a column's frequency tokens (`D` values; the AudioSet head's input).
    Mean,
}

/// Options of [`embed_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedOptions {
    /// Chunking mode.
    pub mode: Mode,
    /// Frequency handling.
    pub freq: FreqLayout,
    /// Average over time (one step per layer).
    pub pool_time: bool,
    /// Keep every layer's output; otherwise only the last (normalised) layer.
    pub all_layers: bool,
    /// Most chunks encoded together.
    pub max_batch: usize,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            mode: Mode::Precise,
            freq: FreqLayout::Concat,
            pool_time: true,
            all_layers: false,
            max_batch: 8,
        }
    }
}

impl EmbedOptions {
    /// What the downstream probes take: precise, concatenated, pooled, last layer.
    pub fn for_probe() -> Self {
        Self::default()
    }

    /// What the AudioSet head takes: precise, frequency mean, pooled, last layer.
    pub fn for_audioset_head() -> Self {
        EmbedOptions {
            freq: FreqLayout::Mean,
            ..Self::default()
        }
    }
}

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

/// One chunk to encode.
#[derive(Debug, Clone, Copy)]
struct Job {
    item: usize,
    chunk: usize,
    start: usize,
    cols: usize,
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
pub fn embed_batch<E: ChunkEncoder + ?Sized>(
    encoder: &E,
    mels: &[&LogMel],
    opts: &EmbedOptions,
) -> Result<Vec<Embeddings>> {
    let cfg = encoder.config();
    let (p, u, g, f, d) = (
        cfg.patch_size,
        cfg.n_t,
        cfg.time_patches(),
        cfg.freq_patches(),
        cfg.embed_dim,
    );
    let layer_ids: Vec<usize> = if opts.all_layers {
        (0..cfg.depth).collect()
    } else {
        vec![cfg.depth - 1]
    };
    let dim = match opts.freq {
        FreqLayout::Concat => f * d,
        FreqLayout::Tokens | FreqLayout::Mean => d,
    };
    let per_col = if opts.freq == FreqLayout::Tokens {
        f
    } else {
        1
    };
    let mut jobs = Vec::new();
    let mut accs = Vec::with_capacity(mels.len());
    for (item, mel) in mels.iter().enumerate() {
        check_input(mel, cfg.n_mels, item)?;
        let n_chunk = mel.frames.div_ceil(u);
        let cols_total = match opts.mode {
            Mode::Precise => mel.frames.div_ceil(p),
            Mode::Fast => n_chunk * g,
        };
        for chunk in 0..n_chunk {
            let cols = (cols_total - chunk * g).min(g);
            jobs.push(Job {
                item,
                chunk,
                start: chunk * u,
                cols,
            });
        }
        let steps = cols_total * per_col;
        let nl = layer_ids.len();
        accs.push(if opts.pool_time {
            Acc {
                pooled: true,
                n_chunk,
                steps,
                sums: vec![0.0; nl * dim],
                data: Vec::new(),
            }
        } else {
            Acc {
                pooled: false,
                n_chunk,
                steps,
                sums: Vec::new(),
                data: vec![0.0; nl * steps * dim],
            }
        });
    }
    jobs.sort_by_key(|j| (std::cmp::Reverse(j.cols), j.item, j.chunk));
    let max_batch = opts.max_batch.max(1);
    let mut start = 0;
    while start < jobs.len() {
        let cols = jobs[start].cols;
        let end = (start..jobs.len())
            .take(max_batch)
            .take_while(|&i| jobs[i].cols == cols)
            .last()
            .map_or(start + 1, |i| i + 1);
        let batch = &jobs[start..end];
        let x = chunk_input(encoder, mels, batch, cols * p)?;
        let layers = encoder.forward_chunks(&x, opts.all_layers)?;
        for (slot, layer) in layers.iter().enumerate() {
            let flat = layer.flatten_all()?.to_vec1::<f32>()?;
            let per_job = (1 + f * cols) * d;
            for (j, job) in batch.iter().enumerate() {
                let tokens = &flat[j * per_job + d..(j + 1) * per_job];
                scatter(&mut accs[job.item], job, tokens, slot, opts, (f, d, g, dim))?;
            }
        }
        start = end;
    }
    Ok(accs
        .into_iter()
        .map(|acc| finish(acc, &layer_ids, dim))
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

/// Builds the zero-padded batch `[b, n_mels, frames]` for a set of same-length chunks.
fn chunk_input<E: ChunkEncoder + ?Sized>(
    encoder: &E,
    mels: &[&LogMel],
    batch: &[Job],
    frames: usize,
) -> Result<Tensor> {
    let n_mels = encoder.config().n_mels;
    let mut buf = vec![0f32; batch.len() * n_mels * frames];
    for (j, job) in batch.iter().enumerate() {
        let mel = mels[job.item];
        let avail = mel.frames.saturating_sub(job.start).min(frames);
        for band in 0..n_mels {
            let src = &mel.data[band * mel.frames + job.start..][..avail];
            let dst = (j * n_mels + band) * frames;
            buf[dst..dst + avail].copy_from_slice(src);
        }
    }
    Ok(Tensor::from_vec(
        buf,
        (batch.len(), n_mels, frames),
        encoder.input_device(),
    )?)
}

/// Writes one chunk's tokens (CLS dropped, frequency-major `[F·t, D]`) into the accumulator.
fn scatter(
    acc: &mut Acc,
    job: &Job,
    tokens: &[f32],
    slot: usize,
    opts: &EmbedOptions,
    (f, d, g, dim): (usize, usize, usize, usize),
) -> Result<()> {
    let t = job.cols;
    let tok = |k: usize| &tokens[k * d..(k + 1) * d];
    // Output step of unit `k` (a column, or a token for `Tokens`) of this chunk.
    let units_full = if opts.freq == FreqLayout::Tokens {
        f * g
    } else {
        g
    };
    let step_of = |k: usize| match opts.mode {
        Mode::Precise => job.chunk * units_full + k,
        Mode::Fast => k * acc.n_chunk + job.chunk,
    };
    let n_units = if opts.freq == FreqLayout::Tokens {
        f * t
    } else {
        t
    };
    let mut column = vec![0f32; dim];
    for k in 0..n_units {
        let v: &[f32] = match opts.freq {
            FreqLayout::Tokens => tok(k),
            FreqLayout::Concat => {
                for fr in 0..f {
                    column[fr * d..(fr + 1) * d].copy_from_slice(tok(fr * t + k));
                }
                &column
            }
            FreqLayout::Mean => {
                column.iter_mut().for_each(|c| *c = 0.0);
                for fr in 0..f {
                    column
                        .iter_mut()
                        .zip(tok(fr * t + k))
                        .for_each(|(c, &x)| *c += x);
                }
                column.iter_mut().for_each(|c| *c /= f as f32);
                &column
            }
        };
        if acc.pooled {
            let sums = &mut acc.sums[slot * dim..(slot + 1) * dim];
            sums.iter_mut()
                .zip(v)
                .for_each(|(s, &x)| *s += f64::from(x));
        } else {
            let step = step_of(k);
            if step >= acc.steps {
                return Err(Error::Tensor(format!(
                    "step {step} out of range {}",
                    acc.steps
                )));
            }
            let at = (slot * acc.steps + step) * dim;
            acc.data[at..at + dim].copy_from_slice(v);
        }
    }
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
