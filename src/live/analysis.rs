//! The live analysis, free of any audio device: captured blocks in, level readings, spectrogram
//! columns and analysis windows out ([`InputAnalyser`]); windows in, embeddings and smoothed
//! tags out ([`WindowAnalyser`]).
//!
//! Positions are counted in 16 kHz samples since the session started ("stream positions").
//! Log-mel frame `k` of a capture segment starting at stream position `s` covers samples
//! `s + 160k .. s + 160k + 400`, exactly as the offline front end frames a file, so a window of
//! `F` frames ending with frame `K − 1` is the log-mel of samples `s + 160(K − F)` to
//! `s + 160(K − 1) + 400` — the offline embedding of those samples is the live one.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::audio::{MODEL_SAMPLE_RATE, MonoResampler};
use crate::dsp::{HOP_LENGTH, LogMel, LogMelFrontEnd, N_MELS, WIN_LENGTH};
use crate::model::chunk::ChunkEncoder;
use crate::model::{EmbedOptions, embed};
use crate::tags::{Head, top_k};
use crate::{Error, Result};

use super::level::{LevelReading, measure};
use super::scores::{ScoreSmoother, TagScore};

/// Log-mel frames per second (16 000 / 160).
pub const FRAMES_PER_SECOND: f32 = MODEL_SAMPLE_RATE as f32 / HOP_LENGTH as f32;

/// A window of log-mel frames ready for the encoder.
#[derive(Debug, Clone)]
pub struct WindowJob {
    /// Stream position of the window's first sample.
    pub start_sample: u64,
    /// Stream position just past the window's last sample.
    pub end_sample: u64,
    /// The normalised log-mel of the window.
    pub mel: LogMel,
    /// When the last sample of the window was taken from the device ring.
    pub ready_at: Instant,
}

/// What one captured block produced.
#[derive(Debug, Clone, Default)]
pub struct BlockOutput {
    /// Level of the block's 16 kHz samples (none when the resampler gave none yet).
    pub level: Option<LevelReading>,
    /// New normalised log-mel columns, oldest first.
    pub columns: Vec<[f32; N_MELS]>,
    /// A window due for analysis (the newest one when several hops passed).
    pub job: Option<WindowJob>,
}

/// Turns a device's interleaved blocks into 16 kHz mono, levels, log-mel columns and windows.
pub struct InputAnalyser {
    resampler: MonoResampler,
    frontend: LogMelFrontEnd,
    mono: Vec<f32>,
    frames: Vec<f32>,
    window: VecDeque<[f32; N_MELS]>,
    window_frames: usize,
    hop_frames: u64,
    /// Stream position of the segment's first sample.
    segment_start: u64,
    /// Frames produced in this segment.
    segment_frames: u64,
    /// `segment_frames` when the last window was cut.
    last_cut: Option<u64>,
    position: u64,
}

impl InputAnalyser {
    /// An analyser for a device at `rate` Hz with `channels` channels, cutting `window_frames`
    /// frames every `hop_frames` frames, starting at stream position `position`.
    pub fn new(
        rate: u32,
        channels: usize,
        window_frames: usize,
        hop_frames: usize,
        position: u64,
    ) -> Result<Self> {
        if window_frames == 0 || hop_frames == 0 {
            return Err(Error::InvalidInput(
                "the analysis window and hop must be at least one frame".into(),
            ));
        }
        Ok(InputAnalyser {
            resampler: MonoResampler::new(rate, channels, MODEL_SAMPLE_RATE)?,
            frontend: LogMelFrontEnd::new(true),
            mono: Vec::new(),
            frames: Vec::new(),
            window: VecDeque::with_capacity(window_frames + 1),
            window_frames,
            hop_frames: hop_frames as u64,
            segment_start: position,
            segment_frames: 0,
            last_cut: None,
            position,
        })
    }

    /// The stream position of the next 16 kHz sample.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The 16 kHz mono samples the last [`InputAnalyser::push`] produced.
    pub fn mono(&self) -> &[f32] {
        &self.mono
    }

    /// Feeds one interleaved block taken from the device at `at`.
    pub fn push(&mut self, interleaved: &[f32], at: Instant) -> Result<BlockOutput> {
        self.mono.clear();
        self.resampler
            .process_interleaved(interleaved, &mut self.mono)?;
        let mut out = BlockOutput::default();
        if self.mono.is_empty() {
            return Ok(out);
        }
        self.position += self.mono.len() as u64;
        out.level = Some(measure(&self.mono));
        self.frames.clear();
        self.frontend.push(&self.mono, &mut self.frames);
        for frame in self.frames.chunks_exact(N_MELS) {
            let mut column = [0f32; N_MELS];
            column.copy_from_slice(frame);
            out.columns.push(column);
            if self.window.len() == self.window_frames {
                self.window.pop_front();
            }
            self.window.push_back(column);
            self.segment_frames += 1;
            let due = self
                .last_cut
                .is_none_or(|c| self.segment_frames - c >= self.hop_frames);
            if self.window.len() == self.window_frames && due {
                self.last_cut = Some(self.segment_frames);
                out.job = Some(self.cut(at));
            }
        }
        Ok(out)
    }

    fn cut(&self, at: Instant) -> WindowJob {
        let frames: Vec<f32> = self.window.iter().flatten().copied().collect();
        let first = self.segment_frames - self.window_frames as u64;
        let start_sample = self.segment_start + first * HOP_LENGTH as u64;
        let end_sample =
            self.segment_start + (self.segment_frames - 1) * HOP_LENGTH as u64 + WIN_LENGTH as u64;
        WindowJob {
            start_sample,
            end_sample,
            mel: LogMel::from_frames(&frames),
            ready_at: at,
        }
    }
}

/// Samples a window of `frames` log-mel frames spans: `160 (frames − 1) + 400`.
pub fn window_samples(frames: usize) -> usize {
    HOP_LENGTH * frames.saturating_sub(1) + WIN_LENGTH
}

/// A head with the labels of its classes, as the live analysis runs it.
#[derive(Debug, Clone)]
pub struct LiveHead {
    /// A short name for display (the file stem).
    pub name: String,
    /// The head.
    pub head: Head,
    /// One label per class.
    pub labels: Vec<String>,
}

/// The result of analysing one window.
#[derive(Debug, Clone)]
pub struct WindowResult {
    /// The clip embedding: precise, frequency-concatenated, time-pooled last layer.
    pub embedding: Vec<f32>,
    /// Per head, the top tags with smoothed scores.
    pub tags: Vec<Vec<TagScore>>,
    /// Encoder and heads time.
    pub compute: Duration,
}

/// Runs the encoder and the heads on windows, smoothing each head's scores across hops.
pub struct WindowAnalyser {
    heads: Vec<LiveHead>,
    smoothers: Vec<ScoreSmoother>,
    top: usize,
}

impl WindowAnalyser {
    /// An analyser for `heads`, smoothing with time constant `tau_s` at hop `hop_s`, keeping
    /// the `top` tags of each head. Heads whose width matches neither the encoder's
    /// concatenated nor its frequency-averaged embedding are an error.
    pub fn new(
        encoder_dims: (usize, usize),
        heads: Vec<LiveHead>,
        hop_s: f32,
        tau_s: f32,
        top: usize,
    ) -> Result<Self> {
        let (concat, mean) = encoder_dims;
        for h in &heads {
            let want = match h.head {
                Head::Probe(_) | Head::MultiLabel(_) => concat,
                Head::AudioSet { .. } => mean,
            };
            if h.head.inputs() != want {
                return Err(Error::Model(format!(
                    "head `{}` takes {}-d embeddings but the encoder gives {want}-d",
                    h.name,
                    h.head.inputs()
                )));
            }
            if h.labels.len() != h.head.classes() {
                return Err(Error::Model(format!(
                    "head `{}` has {} classes but {} labels",
                    h.name,
                    h.head.classes(),
                    h.labels.len()
                )));
            }
        }
        let smoothers = heads
            .iter()
            .map(|_| ScoreSmoother::new(hop_s, tau_s))
            .collect();
        Ok(WindowAnalyser {
            heads,
            smoothers,
            top: top.max(1),
        })
    }

    /// The heads' names, in configuration order.
    pub fn head_names(&self) -> Vec<String> {
        self.heads.iter().map(|h| h.name.clone()).collect()
    }

    /// Forgets the smoothing state (after a gap in the audio).
    pub fn reset(&mut self) {
        self.smoothers.iter_mut().for_each(ScoreSmoother::reset);
    }

    /// Embeds one window and runs every head on it.
    pub fn analyse<E: ChunkEncoder + ?Sized>(
        &mut self,
        encoder: &E,
        mel: &LogMel,
    ) -> Result<WindowResult> {
        let started = Instant::now();
        let embedding = embed(encoder, mel, &EmbedOptions::for_probe())?.clip_vector();
        let freq_patches = encoder.config().freq_patches();
        let mut tags = Vec::with_capacity(self.heads.len());
        for (h, smoother) in self.heads.iter().zip(&mut self.smoothers) {
            let input = match h.head {
                Head::Probe(_) | Head::MultiLabel(_) => embedding.clone(),
                Head::AudioSet { .. } => frequency_mean(&embedding, freq_patches),
            };
            let probs = h.head.probabilities(&input)?;
            let smoothed = smoother.update(&probs);
            tags.push(
                top_k(smoothed, self.top)
                    .into_iter()
                    .map(|(class, score)| TagScore {
                        class,
                        label: h.labels[class].clone(),
                        score,
                        raw: probs[class],
                    })
                    .collect(),
            );
        }
        Ok(WindowResult {
            embedding,
            tags,
            compute: started.elapsed(),
        })
    }
}

/// The frequency-averaged embedding from the concatenated one: the mean of its `f` blocks.
///
/// Pooling over time is linear, so this equals embedding with [`crate::model::FreqLayout::Mean`].
pub fn frequency_mean(concat: &[f32], f: usize) -> Vec<f32> {
    let d = concat.len() / f.max(1);
    (0..d)
        .map(|i| (0..f).map(|k| concat[k * d + i]).sum::<f32>() / f as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::log_mel_normalised;

    fn signal(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32) * 0.031).sin() * 0.4 + ((i * 7919 % 997) as f32 / 4000.0))
            .collect()
    }

    #[test]
    fn windows_are_the_offline_log_mel_of_the_samples_they_name() {
        let x = signal(16_000 * 3);
        // 16 kHz mono input: the resampler passes it through bit for bit.
        let mut a = InputAnalyser::new(16_000, 1, 100, 50, 1000).unwrap();
        let mut jobs = Vec::new();
        let mut columns = 0;
        for block in x.chunks(1234) {
            let out = a.push(block, Instant::now()).unwrap();
            columns += out.columns.len();
            jobs.extend(out.job);
        }
        assert_eq!(columns, crate::dsp::frame_count(x.len()));
        assert_eq!(a.position(), 1000 + x.len() as u64);
        // First window after 100 frames, then one every 50 frames (0.5 s).
        assert_eq!(jobs[0].start_sample, 1000);
        assert_eq!(jobs[1].start_sample - jobs[0].start_sample, 50 * 160);
        // 298 frames in all: windows end at frames 100, 150, 200 and 250.
        assert_eq!(jobs.len(), 4);
        for job in &jobs {
            assert_eq!(
                (job.end_sample - job.start_sample) as usize,
                window_samples(100)
            );
            let s = (job.start_sample - 1000) as usize;
            let e = (job.end_sample - 1000) as usize;
            assert_eq!(job.mel, log_mel_normalised(&x[s..e]).unwrap());
        }
    }

    #[test]
    fn frequency_mean_averages_the_blocks() {
        assert_eq!(
            frequency_mean(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3),
            [3.0, 4.0]
        );
    }
}
