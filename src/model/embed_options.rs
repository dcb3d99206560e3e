//! How an input is turned into embeddings: the chunking mode, the layout of each time step,
//! pooling, layers and batching. Shared by [`super::embed`] (whole inputs) and
//! [`super::embed_stream`] (inputs that arrive frame by frame).

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
