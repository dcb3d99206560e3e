//! Signal processing: the MATPAC log-mel front end (spec §2) and its helpers, and the measures
//! shown in the library: EBU R128 loudness ([`LoudnessMeter`]) and tempo ([`TempoEstimator`]).
//!
//! [`LogMelFrontEnd`] turns 16 kHz mono samples into normalised log-mel frames, in one shot or as a
//! stream of blocks with identical results.

pub mod image;
pub mod loudness;
pub mod mel;
pub mod stft;
pub mod tempo;

pub use loudness::{Loudness, LoudnessMeter};
pub use mel::{LogMelFrontEnd, MelFilterbank, band_centres_hz, log_mel, log_mel_normalised};
pub use tempo::TempoEstimator;

/// Number of mel bands of the MATPAC front end.
pub const N_MELS: usize = 80;
/// Analysis window and FFT length in samples (25 ms at 16 kHz).
pub const WIN_LENGTH: usize = 400;
/// Hop between frames in samples (10 ms at 16 kHz).
pub const HOP_LENGTH: usize = 160;
/// Number of one-sided spectrum bins (`WIN_LENGTH / 2 + 1`).
pub const N_BINS: usize = WIN_LENGTH / 2 + 1;
/// Lowest mel filter edge in Hz.
pub const F_MIN: f32 = 50.0;
/// Highest mel filter edge in Hz.
pub const F_MAX: f32 = 8000.0;
/// Offset added before the logarithm (float32 machine epsilon).
pub const LOG_OFFSET: f32 = 1.192_092_9e-7;
/// Dataset mean of the log-mel values, subtracted during normalisation.
pub const LMS_MEAN: f32 = -7.056;
/// Dataset standard deviation of the log-mel values, divided out during normalisation.
pub const LMS_STD: f32 = 4.193;

/// Number of frames the front end produces for `n_samples` samples (no centring):
/// `1 + (n − 400) / 160`, or 0 when fewer than 400 samples are given.
pub fn frame_count(n_samples: usize) -> usize {
    if n_samples < WIN_LENGTH {
        0
    } else {
        1 + (n_samples - WIN_LENGTH) / HOP_LENGTH
    }
}

/// A log-mel spectrogram: `N_MELS` rows (row 0 = lowest band) × `frames` columns.
///
/// Stored row-major (`data[band * frames + t]`), the layout of the reference's `[80, T]` tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMel {
    /// `N_MELS × frames` values, row-major.
    pub data: Vec<f32>,
    /// Number of time frames (columns).
    pub frames: usize,
}

impl LogMel {
    /// Builds a log-mel from frame-major values (`frame_major[t * N_MELS + band]`).
    pub fn from_frames(frame_major: &[f32]) -> Self {
        let frames = frame_major.len() / N_MELS;
        let mut data = vec![0.0; N_MELS * frames];
        for (t, frame) in frame_major.chunks_exact(N_MELS).enumerate() {
            for (band, &v) in frame.iter().enumerate() {
                data[band * frames + t] = v;
            }
        }
        LogMel { data, frames }
    }

    /// The value of `band` at frame `t`.
    pub fn get(&self, band: usize, t: usize) -> f32 {
        self.data[band * self.frames + t]
    }

    /// Applies the MATPAC normalisation `(x − mean) / std` in place.
    pub fn normalise(&mut self) {
        for v in &mut self.data {
            *v = (*v - LMS_MEAN) / LMS_STD;
        }
    }
}
