//! Streamed chunked inference: log-mel frames go in as they are computed, encoder outputs come
//! out chunk by chunk, so memory is bounded by the batch, not by the length of the input.
//!
//! The chunking is [`super::embed`]'s (spec §4): an input is cut into `n_t`-frame chunks as its
//! frames arrive; when it ends, its last chunk is zero-padded to 16 frames (precise) or to a
//! whole chunk (fast). Chunks wait in a queue until [`ChunkStream::flush`] encodes them, sorted
//! by length, input and position and batched by equal length — the order of the in-memory
//! [`super::embed_batch`], which is built on this stream.
//!
//! Each output unit (a time column, or a token with [`FreqLayout::Tokens`]) is handed to a sink
//! as a [`StepOut`]; for each input and layer, units arrive in chunk order.

use std::collections::{HashMap, VecDeque};

use candle_core::Tensor;

use super::chunk::ChunkEncoder;
use super::embed_options::{EmbedOptions, FreqLayout};
use crate::dsp::LogMel;
use crate::error::{Error, Result};

/// One output unit of one chunk.
#[derive(Debug, Clone, Copy)]
pub struct StepOut<'a> {
    /// The input it belongs to (as returned by [`ChunkStream::open`]).
    pub item: usize,
    /// Stored layer slot (0 when only the last layer is kept).
    pub slot: usize,
    /// Chunk index within the input.
    pub chunk: usize,
    /// Unit within the chunk: a column (or a token, frequency-major, for `Tokens`).
    pub unit: usize,
    /// The unit's vector (`dim` values).
    pub vector: &'a [f32],
}

/// Sizes the stream works with.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Frames per patch column.
    pub patch: usize,
    /// Frames per chunk.
    pub n_t: usize,
    /// Columns per full chunk.
    pub cols: usize,
    /// Frequency patches.
    pub freq: usize,
    /// Token width.
    pub d: usize,
    /// Values per output unit.
    pub dim: usize,
    /// Output units of a full chunk.
    pub units_full: usize,
    /// Mel bands.
    pub n_mels: usize,
}

/// A chunk waiting for the encoder: band-major, `n_mels × cols·patch`, zero-padded.
#[derive(Clone)]
struct Pending {
    item: usize,
    chunk: usize,
    cols: usize,
    data: Vec<f32>,
}

/// An input being fed.
struct Input {
    frames: usize,
    chunks: usize,
    /// Frame-major values of the chunk being filled.
    partial: Vec<f32>,
    finished: bool,
    failed: Option<Error>,
}

/// A queue of chunks from any number of inputs, encoded on demand.
pub struct ChunkStream<'e, E: ChunkEncoder + ?Sized> {
    encoder: &'e E,
    opts: EmbedOptions,
    geo: Geometry,
    inputs: HashMap<usize, Input>,
    next_item: usize,
    pending: VecDeque<Pending>,
}

impl<'e, E: ChunkEncoder + ?Sized> ChunkStream<'e, E> {
    /// A stream encoding with `encoder` under `opts` (`pool_time` is the caller's business:
    /// every unit is handed out).
    pub fn new(encoder: &'e E, opts: &EmbedOptions) -> Self {
        let cfg = encoder.config();
        let (f, d) = (cfg.freq_patches(), cfg.embed_dim);
        let g = cfg.time_patches();
        let geo = Geometry {
            patch: cfg.patch_size,
            n_t: cfg.n_t,
            cols: g,
            freq: f,
            d,
            dim: if opts.freq == FreqLayout::Concat {
                f * d
            } else {
                d
            },
            units_full: if opts.freq == FreqLayout::Tokens {
                f * g
            } else {
                g
            },
            n_mels: cfg.n_mels,
        };
        ChunkStream {
            encoder,
            opts: opts.clone(),
            geo,
            inputs: HashMap::new(),
            next_item: 0,
            pending: VecDeque::new(),
        }
    }

    /// The sizes in use.
    pub fn geometry(&self) -> Geometry {
        self.geo
    }

    /// Encoder layers whose outputs are handed out, in slot order.
    pub fn layer_ids(&self) -> Vec<usize> {
        let depth = self.encoder.config().depth;
        if self.opts.all_layers {
            (0..depth).collect()
        } else {
            vec![depth - 1]
        }
    }

    /// Starts a new input; returns its id.
    pub fn open(&mut self) -> usize {
        let item = self.next_item;
        self.next_item += 1;
        self.inputs.insert(
            item,
            Input {
                frames: 0,
                chunks: 0,
                partial: Vec::new(),
                finished: false,
                failed: None,
            },
        );
        item
    }

    /// Chunks waiting for [`ChunkStream::flush`].
    pub fn pending_chunks(&self) -> usize {
        self.pending.len()
    }

    /// Whether `item` still has chunks waiting.
    pub fn has_pending(&self, item: usize) -> bool {
        self.pending.iter().any(|p| p.item == item)
    }

    /// Frames pushed into `item` so far.
    pub fn frames(&self, item: usize) -> usize {
        self.inputs.get(&item).map_or(0, |i| i.frames)
    }

    /// Appends frame-major values (`t · n_mels + band`) to `item`; whole chunks are queued.
    pub fn push_frames(&mut self, item: usize, frame_major: &[f32]) -> Result<()> {
        let n_mels = self.geo.n_mels;
        let chunk_values = self.geo.n_t * n_mels;
        if !frame_major.len().is_multiple_of(n_mels) {
            return Err(Error::InvalidInput(format!(
                "input {item}: {} values are not whole {n_mels}-band frames",
                frame_major.len()
            )));
        }
        if frame_major.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "input {item}: log-mel has non-finite values"
            )));
        }
        let input = self.input(item)?;
        let mut rest = frame_major;
        let mut full = Vec::new();
        while !rest.is_empty() {
            let take = (chunk_values - input.partial.len()).min(rest.len());
            input.partial.extend_from_slice(&rest[..take]);
            input.frames += take / n_mels;
            rest = &rest[take..];
            if input.partial.len() == chunk_values {
                full.push((input.chunks, std::mem::take(&mut input.partial)));
                input.chunks += 1;
            }
        }
        for (chunk, frames) in full {
            let cols = self.geo.cols;
            self.queue(item, chunk, cols, &frames);
        }
        Ok(())
    }

    /// Appends a band-major log-mel to `item`.
    pub fn push_mel(&mut self, item: usize, mel: &LogMel) -> Result<()> {
        let n_mels = self.geo.n_mels;
        if mel.data.len() != n_mels * mel.frames {
            return Err(Error::InvalidInput(format!(
                "input {item}: log-mel holds {} values, expected {n_mels} × {}",
                mel.data.len(),
                mel.frames
            )));
        }
        let step = self.geo.n_t;
        let mut frame_major = Vec::with_capacity(step * n_mels);
        let mut t0 = 0;
        while t0 < mel.frames {
            let t1 = (t0 + step).min(mel.frames);
            frame_major.clear();
            for t in t0..t1 {
                frame_major.extend((0..n_mels).map(|b| mel.data[b * mel.frames + t]));
            }
            self.push_frames(item, &frame_major)?;
            t0 = t1;
        }
        Ok(())
    }

    /// Ends `item`: its last, shorter chunk is padded and queued. An input without frames is
    /// an error.
    pub fn finish(&mut self, item: usize) -> Result<()> {
        let n_mels = self.geo.n_mels;
        let input = self.input(item)?;
        input.finished = true;
        if input.frames == 0 {
            return Err(Error::InvalidInput(format!(
                "input {item}: log-mel has no frames"
            )));
        }
        if input.partial.is_empty() {
            return Ok(());
        }
        let frames = std::mem::take(&mut input.partial);
        let chunk = input.chunks;
        input.chunks += 1;
        let cols = match self.opts.mode {
            super::Mode::Precise => (frames.len() / n_mels).div_ceil(self.geo.patch),
            super::Mode::Fast => self.geo.cols,
        };
        self.queue(item, chunk, cols, &frames);
        Ok(())
    }

    /// Whether [`ChunkStream::finish`] was called for `item`.
    pub fn is_finished(&self, item: usize) -> bool {
        self.inputs.get(&item).is_some_and(|i| i.finished)
    }

    /// Chunks of `item` so far (after [`ChunkStream::finish`]: all of them).
    pub fn chunks(&self, item: usize) -> usize {
        self.inputs.get(&item).map_or(0, |i| i.chunks)
    }

    /// Forgets `item` and its waiting chunks; returns the error that failed it, if any.
    pub fn close(&mut self, item: usize) -> Option<Error> {
        self.pending.retain(|p| p.item != item);
        self.inputs.remove(&item).and_then(|i| i.failed)
    }

    /// Whether encoding `item` failed (see [`ChunkStream::close`] for the error).
    pub fn failed(&self, item: usize) -> bool {
        self.inputs.get(&item).is_some_and(|i| i.failed.is_some())
    }

    fn input(&mut self, item: usize) -> Result<&mut Input> {
        self.inputs
            .get_mut(&item)
            .ok_or_else(|| Error::InvalidInput(format!("input {item} is not open")))
    }

    fn queue(&mut self, item: usize, chunk: usize, cols: usize, frame_major: &[f32]) {
        let (n_mels, len) = (self.geo.n_mels, cols * self.geo.patch);
        let avail = (frame_major.len() / n_mels).min(len);
        let mut data = vec![0f32; n_mels * len];
        for (t, frame) in frame_major.chunks_exact(n_mels).take(avail).enumerate() {
            for (band, &v) in frame.iter().enumerate() {
                data[band * len + t] = v;
            }
        }
        self.pending.push_back(Pending {
            item,
            chunk,
            cols,
            data,
        });
    }

    /// Encodes every waiting chunk and hands each output unit to `sink`. A batch that fails
    /// is retried input by input; an input that still fails is marked failed (its later
    /// chunks are dropped) and the others go on. Only a failing sink ends the flush early.
    pub fn flush(&mut self, sink: &mut dyn FnMut(StepOut<'_>) -> Result<()>) -> Result<()> {
        let mut jobs: Vec<Pending> = self.pending.drain(..).collect();
        jobs.retain(|j| !self.failed(j.item));
        jobs.sort_by_key(|j| (std::cmp::Reverse(j.cols), j.item, j.chunk));
        let max_batch = self.opts.max_batch.max(1);
        let mut start = 0;
        while start < jobs.len() {
            let cols = jobs[start].cols;
            let end = (start..jobs.len())
                .take(max_batch)
                .take_while(|&i| jobs[i].cols == cols)
                .last()
                .map_or(start + 1, |i| i + 1);
            let batch = &jobs[start..end];
            let single = batch.iter().all(|j| j.item == batch[0].item);
            match self.encode(batch) {
                Ok(layers) => self.hand_out(batch, &layers, sink)?,
                Err(e) if single => self.fail(batch[0].item, e),
                Err(_) => {
                    let mut items: Vec<usize> = batch.iter().map(|j| j.item).collect();
                    items.dedup();
                    for item in items {
                        let owned: Vec<Pending> =
                            batch.iter().filter(|j| j.item == item).cloned().collect();
                        match self.encode(&owned) {
                            Ok(layers) => self.hand_out(&owned, &layers, sink)?,
                            Err(e) => self.fail(item, e),
                        }
                    }
                }
            }
            start = end;
        }
        Ok(())
    }

    fn fail(&mut self, item: usize, e: Error) {
        if let Some(input) = self.inputs.get_mut(&item) {
            input.failed.get_or_insert(e);
        }
    }

    fn encode(&self, batch: &[Pending]) -> Result<Vec<Vec<f32>>> {
        let n_mels = self.geo.n_mels;
        let frames = batch[0].cols * self.geo.patch;
        let mut buf = Vec::with_capacity(batch.len() * n_mels * frames);
        for job in batch {
            buf.extend_from_slice(&job.data);
        }
        let x = Tensor::from_vec(
            buf,
            (batch.len(), n_mels, frames),
            self.encoder.input_device(),
        )?;
        let layers = self.encoder.forward_chunks(&x, self.opts.all_layers)?;
        layers
            .iter()
            .map(|l| Ok(l.flatten_all()?.to_vec1::<f32>()?))
            .collect()
    }

    fn hand_out(
        &self,
        batch: &[Pending],
        layers: &[Vec<f32>],
        sink: &mut dyn FnMut(StepOut<'_>) -> Result<()>,
    ) -> Result<()> {
        let Geometry {
            freq: f, d, dim, ..
        } = self.geo;
        let mut column = vec![0f32; dim];
        for (slot, flat) in layers.iter().enumerate() {
            let t = batch[0].cols;
            let per_job = (1 + f * t) * d;
            for (j, job) in batch.iter().enumerate() {
                let tokens = flat
                    .get(j * per_job + d..(j + 1) * per_job)
                    .ok_or_else(|| Error::Tensor("encoder output is too short".into()))?;
                let tok = |k: usize| &tokens[k * d..(k + 1) * d];
                let n_units = if self.opts.freq == FreqLayout::Tokens {
                    f * t
                } else {
                    t
                };
                for unit in 0..n_units {
                    let vector: &[f32] = match self.opts.freq {
                        FreqLayout::Tokens => tok(unit),
                        FreqLayout::Concat => {
                            for fr in 0..f {
                                column[fr * d..(fr + 1) * d].copy_from_slice(tok(fr * t + unit));
                            }
                            &column
                        }
                        FreqLayout::Mean => {
                            column.iter_mut().for_each(|c| *c = 0.0);
                            for fr in 0..f {
                                column
                                    .iter_mut()
                                    .zip(tok(fr * t + unit))
                                    .for_each(|(c, &x)| *c += x);
                            }
                            column.iter_mut().for_each(|c| *c /= f as f32);
                            &column
                        }
                    };
                    sink(StepOut {
                        item: job.item,
                        slot,
                        chunk: job.chunk,
                        unit,
                        vector,
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// The running time-mean of an input's output columns: its clip vector, as
/// [`super::embed`]`(…).clip_vector()` gives it.
#[derive(Debug, Clone)]
pub struct ColumnMean {
    sums: Vec<f64>,
    units: usize,
}

impl ColumnMean {
    /// An empty mean of `dim`-value columns.
    pub fn new(dim: usize) -> Self {
        ColumnMean {
            sums: vec![0.0; dim],
            units: 0,
        }
    }

    /// Adds one column.
    pub fn push(&mut self, column: &[f32]) {
        for (s, &x) in self.sums.iter_mut().zip(column) {
            *s += f64::from(x);
        }
        self.units += 1;
    }

    /// The mean of the columns pushed (zeros when there were none).
    pub fn finish(self) -> Vec<f32> {
        let n = self.units.max(1) as f64;
        self.sums.iter().map(|s| (s / n) as f32).collect()
    }
}

/// The time-pooled clip vector (last layer) of an audio file, decoded, analysed and encoded as
/// a stream: at most `opts.max_batch` chunks wait at a time, whatever the file's length. Equals
/// [`super::embed`]`(…).clip_vector()` of the file's whole normalised log-mel.
pub fn file_clip_vector<E: ChunkEncoder + ?Sized>(
    encoder: &E,
    path: &std::path::Path,
    opts: &EmbedOptions,
) -> Result<Vec<f32>> {
    file_clip_vector_padded(encoder, path, opts, 0)
}

/// [`file_clip_vector`] of the file heard with digital silence after it up to `min_samples`
/// samples (16 kHz) when it is shorter.
pub fn file_clip_vector_padded<E: ChunkEncoder + ?Sized>(
    encoder: &E,
    path: &std::path::Path,
    opts: &EmbedOptions,
    min_samples: u64,
) -> Result<Vec<f32>> {
    let mut stream = ChunkStream::new(encoder, opts);
    let last = stream.layer_ids().len().saturating_sub(1);
    let dim = stream.geometry().dim;
    let max_batch = opts.max_batch.max(1);
    let mut mean = ColumnMean::new(dim);
    let mut sink = |out: StepOut<'_>| -> Result<()> {
        if out.slot == last {
            mean.push(out.vector);
        }
        Ok(())
    };
    let item = stream.open();
    let mut front = crate::dsp::LogMelFrontEnd::new(true);
    let (mut frames, mut failure) = (Vec::new(), None);
    let streamed = crate::audio::stream_mono_16k(path, |block| {
        frames.clear();
        front.push(block, &mut frames);
        let mut fed = stream.push_frames(item, &frames);
        if fed.is_ok() && stream.pending_chunks() >= max_batch {
            fed = stream.flush(&mut sink);
        }
        fed.map_err(|e| {
            failure = Some(e);
            Error::Cancelled
        })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let summary = streamed?;
    if stream.frames(item) == 0 {
        return Err(Error::NoAudio {
            path: path.to_path_buf(),
            reason: format!(
                "too short to analyse: {} samples at 16 kHz, at least 400 (25 ms) needed",
                summary.output_samples
            ),
        });
    }
    if summary.output_samples < min_samples {
        frames.clear();
        front.pad_to(summary.output_samples, min_samples, &mut frames);
        stream.push_frames(item, &frames)?;
    }
    stream.finish(item)?;
    stream.flush(&mut sink)?;
    if let Some(e) = stream.close(item) {
        return Err(e);
    }
    Ok(mean.finish())
}
