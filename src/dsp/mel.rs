//! The Slaney mel filterbank and the streaming log-mel front end of MATPAC (spec §2).
//!
//! The filterbank is the reference's own `f32` matrix, shipped as an asset
//! (`assets/matpac_mel_filterbank_201x80_f32le.bin`). Near the filter edges the tiny weights are
//! sensitive to the last bit of the band edges, which depends on the `expf` of the library that
//! built them: a float64 construction moves some log-mel values by up to 8e-4, and an `f32`
//! construction with Rust's `expf` still by 2e-4, more than the 1e-4 agreement Earmark holds to.
//! [`MelFilterbank::construct`] builds the same matrix from the formula; a test shows the two
//! agree to 1e-7 everywhere.

use super::stft::PowerSpectrum;
use super::{
    F_MAX, F_MIN, HOP_LENGTH, LMS_MEAN, LMS_STD, LOG_OFFSET, LogMel, N_BINS, N_MELS, WIN_LENGTH,
};
use crate::{Error, Result};

/// The reference filterbank, `[201, 80]` little-endian `f32`.
static REFERENCE_FILTERBANK: &[u8; N_BINS * N_MELS * 4] =
    include_bytes!("../../assets/matpac_mel_filterbank_201x80_f32le.bin");

/// Sample rate the filterbank is laid out for.
const SAMPLE_RATE: f32 = 16_000.0;
const F_SP: f32 = 200.0 / 3.0;
const MIN_LOG_HZ: f32 = 1000.0;
const MIN_LOG_MEL: f32 = MIN_LOG_HZ / F_SP;

fn log_step_f64() -> f64 {
    6.4f64.ln() / 27.0
}

/// Slaney Hz→mel in double precision (the reference converts the two band edges this way).
fn hz_to_mel_f64(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    if hz >= 1000.0 {
        1000.0 / f_sp + (hz / 1000.0).ln() / log_step_f64()
    } else {
        hz / f_sp
    }
}

/// Slaney mel→Hz in single precision.
fn mel_to_hz_f32(mel: f32) -> f32 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * ((log_step_f64() as f32) * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// `torch.linspace` in `f32`: the first half counts up from `start`, the second down from `end`.
fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    let step = (end - start) / (steps - 1) as f32;
    let half = steps / 2;
    (0..steps)
        .map(|i| {
            if i < half {
                start + step * i as f32
            } else {
                end - step * (steps - i - 1) as f32
            }
        })
        .collect()
}

/// Centre frequency in Hz of each of the 80 mel bands (the peaks of the triangular filters),
/// lowest band first: the frequency axis of a log-mel picture.
pub fn band_centres_hz() -> Vec<f32> {
    let m_min = hz_to_mel_f64(f64::from(F_MIN)) as f32;
    let m_max = hz_to_mel_f64(f64::from(F_MAX)) as f32;
    linspace_f32(m_min, m_max, N_MELS + 2)
        .into_iter()
        .skip(1)
        .take(N_MELS)
        .map(mel_to_hz_f32)
        .collect()
}

/// The 80 triangular Slaney filters over the 201 spectrum bins, stored sparsely.
#[derive(Debug, Clone)]
pub struct MelFilterbank {
    /// For each filter: the first bin it covers and its weights from there.
    filters: Vec<(usize, Vec<f32>)>,
}

impl Default for MelFilterbank {
    fn default() -> Self {
        Self::new()
    }
}

impl MelFilterbank {
    /// The MATPAC filterbank (80 bands, 50–8000 Hz, Slaney scale and area norm).
    pub fn new() -> Self {
        let dense = Self::dense();
        let filters = (0..N_MELS)
            .map(|j| {
                let column: Vec<f32> = (0..N_BINS).map(|k| dense[k * N_MELS + j]).collect();
                let first = column.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = column.iter().rposition(|&w| w != 0.0).unwrap_or(0);
                (first, column[first..=last.max(first)].to_vec())
            })
            .collect();
        MelFilterbank { filters }
    }

    /// The dense `[N_BINS, N_MELS]` matrix, row-major (`fb[bin * N_MELS + band]`).
    pub fn dense() -> Vec<f32> {
        REFERENCE_FILTERBANK
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    /// The same matrix built from the Slaney formulas in `f32`, in the reference's operation
    /// order; agrees with [`MelFilterbank::dense`] to about 1e-7.
    pub fn construct() -> Vec<f32> {
        let all_freqs = linspace_f32(0.0, SAMPLE_RATE / 2.0, N_BINS);
        let m_min = hz_to_mel_f64(f64::from(F_MIN)) as f32;
        let m_max = hz_to_mel_f64(f64::from(F_MAX)) as f32;
        let f_pts: Vec<f32> = linspace_f32(m_min, m_max, N_MELS + 2)
            .into_iter()
            .map(mel_to_hz_f32)
            .collect();
        let f_diff: Vec<f32> = f_pts.windows(2).map(|w| w[1] - w[0]).collect();
        let mut fb = vec![0.0f32; N_BINS * N_MELS];
        for (k, &freq) in all_freqs.iter().enumerate() {
            for j in 0..N_MELS {
                let down = (freq - f_pts[j]) / f_diff[j];
                let up = (f_pts[j + 2] - freq) / f_diff[j + 1];
                let enorm = 2.0 / (f_pts[j + 2] - f_pts[j]);
                fb[k * N_MELS + j] = down.min(up).max(0.0) * enorm;
            }
        }
        fb
    }

    /// Mel energies of one power spectrum.
    pub fn apply(&self, power: &[f64; N_BINS], mel: &mut [f64; N_MELS]) {
        for (m, (first, weights)) in mel.iter_mut().zip(&self.filters) {
            *m = weights
                .iter()
                .zip(&power[*first..])
                .map(|(&w, p)| f64::from(w) * p)
                .sum();
        }
    }
}

/// Streaming MATPAC front end: 16 kHz mono samples in, log-mel frames out.
///
/// Pushing a signal in blocks of any size gives exactly the frames of the one-shot
/// [`LogMelFrontEnd::compute`].
pub struct LogMelFrontEnd {
    power: PowerSpectrum,
    filterbank: MelFilterbank,
    pending: Vec<f32>,
    spectrum: [f64; N_BINS],
    mel: [f64; N_MELS],
    normalise: bool,
}

impl LogMelFrontEnd {
    /// A front end producing `ln(mel + ε)`; with `normalise`, also `(x + 7.056) / 4.193`.
    pub fn new(normalise: bool) -> Self {
        LogMelFrontEnd {
            power: PowerSpectrum::new(),
            filterbank: MelFilterbank::new(),
            pending: Vec::with_capacity(WIN_LENGTH * 4),
            spectrum: [0.0; N_BINS],
            mel: [0.0; N_MELS],
            normalise,
        }
    }

    /// Feeds samples; appends each completed frame (`N_MELS` values) to `frames`.
    pub fn push(&mut self, samples: &[f32], frames: &mut Vec<f32>) {
        self.pending.extend_from_slice(samples);
        let mut start = 0;
        while self.pending.len() - start >= WIN_LENGTH {
            let at = frames.len();
            frames.resize(at + N_MELS, 0.0);
            self.frame(start, &mut frames[at..]);
            start += HOP_LENGTH;
        }
        self.pending.drain(..start);
    }

    /// Feeds digital silence after the `fed` samples given so far, up to `min_samples` in all
    /// (nothing when `fed` already reaches it): the input heard as if silence followed it.
    pub fn pad_to(&mut self, fed: u64, min_samples: u64, frames: &mut Vec<f32>) {
        let silence = min_samples.saturating_sub(fed) as usize;
        if silence > 0 {
            self.push(&vec![0.0; silence], frames);
        }
    }

    fn frame(&mut self, start: usize, out: &mut [f32]) {
        self.power
            .compute(&self.pending[start..start + WIN_LENGTH], &mut self.spectrum);
        self.filterbank.apply(&self.spectrum, &mut self.mel);
        for (dst, &m) in out.iter_mut().zip(&self.mel) {
            let log = (m + f64::from(LOG_OFFSET)).ln() as f32;
            *dst = if self.normalise {
                (log - LMS_MEAN) / LMS_STD
            } else {
                log
            };
        }
    }

    /// Log-mel of a whole signal; an error if it is shorter than one 25 ms frame.
    pub fn compute(&mut self, samples: &[f32]) -> Result<LogMel> {
        if samples.len() < WIN_LENGTH {
            return Err(Error::InvalidInput(format!(
                "audio too short: {} samples at 16 kHz, at least {WIN_LENGTH} (25 ms) needed",
                samples.len()
            )));
        }
        self.pending.clear();
        let mut frames = Vec::with_capacity(super::frame_count(samples.len()) * N_MELS);
        self.push(samples, &mut frames);
        self.pending.clear();
        Ok(LogMel::from_frames(&frames))
    }
}

/// Normalised log-mel of a 16 kHz mono signal: the encoder's input.
pub fn log_mel_normalised(samples: &[f32]) -> Result<LogMel> {
    LogMelFrontEnd::new(true).compute(samples)
}

/// Log-mel of a 16 kHz mono signal before normalisation.
pub fn log_mel(samples: &[f32]) -> Result<LogMel> {
    LogMelFrontEnd::new(false).compute(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_one_shot() {
        let x: Vec<f32> = (0..16_000)
            .map(|i| ((i as f32) * 0.037).sin() * 0.3 + ((i * 7919 % 1000) as f32 / 5000.0))
            .collect();
        let one_shot = log_mel_normalised(&x).unwrap();
        let mut fe = LogMelFrontEnd::new(true);
        let mut frames = Vec::new();
        for block in x.chunks(123) {
            fe.push(block, &mut frames);
        }
        assert_eq!(LogMel::from_frames(&frames), one_shot);
        assert_eq!(one_shot.frames, crate::dsp::frame_count(x.len()));
    }

    #[test]
    fn silence_maps_to_log_epsilon() {
        let lm = log_mel_normalised(&[0.0; 800]).unwrap();
        let expected = (LOG_OFFSET.ln() - LMS_MEAN) / LMS_STD;
        assert!(lm.data.iter().all(|&v| (v - expected).abs() < 1e-6));
        assert!((expected - -2.11934).abs() < 1e-4);
    }

    #[test]
    fn band_centres_follow_the_slaney_scale() {
        let c = band_centres_hz();
        assert_eq!(c.len(), N_MELS);
        assert!(c.windows(2).all(|w| w[1] > w[0]));
        // Slaney: 50 Hz = 0.75 mel, 8000 Hz = 15 + ln(8)/(ln(6.4)/27) = 45.24564 mel; 81 steps
        // of 0.549329 mel. Band 0 peaks at 1.299329 mel = 86.622 Hz (linear part, 200/3 Hz per
        // mel); band 79 at 44.69631 mel = 1000·exp(ln(6.4)/27 · 29.69631) = 7703.5 Hz.
        assert!((c[0] - 86.622).abs() < 0.01, "{}", c[0]);
        assert!((c[79] - 7703.5).abs() < 1.0, "{}", c[79]);
    }

    #[test]
    fn too_short_is_an_error() {
        assert!(log_mel_normalised(&[0.0; 399]).is_err());
    }
}
