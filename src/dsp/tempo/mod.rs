//! Tempo of music in beats per minute, estimated as the audio streams past.
//!
//! [`TempoEstimator`] reads mono samples at the file's own rate, turns them into an onset
//! envelope (band-wise log spectral flux every ≈5 ms, `onset`), accumulates that envelope's
//! autocorrelation over lags up to four beats at 60 BPM (`period`) and, at the end, picks the
//! beat period whose multiples line up best with its peaks, correcting octave errors
//! (half or a third of the tempo) by checking the beats in between. Results lie in
//! [`MIN_BPM`]–[`MAX_BPM`]; a piece without a clear pulse (noise, silence, a pad, less than
//! about 10 s of audio) has no tempo. Memory is fixed (a frame of samples, ≈800 envelope values
//! and as many sums) whatever the length of the input.

mod onset;
mod period;

use onset::OnsetEnvelope;
use period::Autocorrelation;

/// Slowest tempo reported, in beats per minute.
pub const MIN_BPM: f64 = 60.0;
/// Fastest tempo reported, in beats per minute.
pub const MAX_BPM: f64 = 200.0;
/// Lowest sample rate analysed; below it the estimator reports no tempo.
pub const MIN_SAMPLE_RATE: u32 = 1000;

/// Estimates the tempo of mono audio pushed block by block.
pub struct TempoEstimator {
    /// `None` when the sample rate is too low to analyse.
    inner: Option<(OnsetEnvelope, Autocorrelation)>,
    frame_rate: f64,
}

impl std::fmt::Debug for TempoEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoEstimator")
            .field("frame_rate", &self.frame_rate)
            .finish_non_exhaustive()
    }
}

impl TempoEstimator {
    /// An estimator for mono audio at `sample_rate` Hz. Rates under [`MIN_SAMPLE_RATE`] are
    /// accepted and give no tempo.
    pub fn new(sample_rate: u32) -> Self {
        if sample_rate < MIN_SAMPLE_RATE {
            return TempoEstimator {
                inner: None,
                frame_rate: 0.0,
            };
        }
        let envelope = OnsetEnvelope::new(sample_rate);
        let frame_rate = f64::from(sample_rate) / envelope.hop() as f64;
        TempoEstimator {
            inner: Some((envelope, Autocorrelation::new(frame_rate))),
            frame_rate,
        }
    }

    /// Feeds mono samples (full scale ±1.0) of any block length; non-finite samples count as
    /// silence.
    pub fn push(&mut self, mono: &[f32]) {
        if let Some((envelope, acf)) = &mut self.inner {
            envelope.push(mono, |value| acf.push(value));
        }
    }

    /// The tempo in BPM of everything pushed, or `None` when no steady pulse stands out.
    pub fn finish(self) -> Option<f64> {
        let (_, acf) = self.inner?;
        let r = acf.normalised()?;
        period::choose(&r, self.frame_rate)
    }
}

impl TempoEstimator {
    /// Bytes held in the estimator's buffers (test of the memory bound).
    #[cfg(test)]
    fn footprint(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |(envelope, acf)| envelope.footprint() + acf.footprint())
    }
}

/// The tempo of a whole mono buffer in one call.
pub fn estimate(mono: &[f32], sample_rate: u32) -> Option<f64> {
    let mut estimator = TempoEstimator::new(sample_rate);
    estimator.push(mono);
    estimator.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A click track: 8 ms decaying 2 kHz bursts at `bpm`.
    fn clicks(rate: u32, bpm: f64, seconds: f64) -> Vec<f32> {
        let n = (f64::from(rate) * seconds) as usize;
        let beat = 60.0 / bpm * f64::from(rate);
        let mut out = vec![0.0f32; n];
        let mut t = 0.0;
        while (t as usize) < n {
            let start = t as usize;
            for i in 0..(rate as usize / 100).min(n - start) {
                let x = i as f32 / rate as f32;
                out[start + i] =
                    0.7 * (-x * 400.0).exp() * (std::f32::consts::TAU * 2000.0 * x).sin();
            }
            t += beat;
        }
        out
    }

    #[test]
    fn a_click_track_gives_its_tempo_in_blocks_or_whole() {
        let audio = clicks(22_050, 128.0, 20.0);
        let whole = estimate(&audio, 22_050).expect("a tempo");
        assert!((whole / 128.0 - 1.0).abs() < 0.02, "{whole}");
        let mut est = TempoEstimator::new(22_050);
        for block in audio.chunks(777) {
            est.push(block);
        }
        assert_eq!(est.finish(), Some(whole));
    }

    #[test]
    fn memory_does_not_grow_with_the_length_of_the_input() {
        let minute = clicks(8_000, 140.0, 60.0);
        let mut est = TempoEstimator::new(8_000);
        est.push(&minute);
        let after_one = est.footprint();
        for _ in 0..9 {
            for block in minute.chunks(10_000) {
                est.push(block);
            }
        }
        assert_eq!(est.footprint(), after_one);
        assert!(after_one < 64 * 1024, "{after_one} bytes");
        let bpm = est.finish().expect("a tempo");
        assert!((bpm / 140.0 - 1.0).abs() < 0.02, "{bpm}");
    }

    #[test]
    fn silence_short_audio_and_odd_rates_give_no_tempo() {
        assert_eq!(estimate(&vec![0.0; 22_050 * 20], 22_050), None);
        assert_eq!(estimate(&clicks(22_050, 120.0, 3.0), 22_050), None);
        assert_eq!(estimate(&clicks(22_050, 120.0, 20.0), 0), None);
        assert_eq!(estimate(&[f32::NAN; 1000], 22_050), None);
    }
}
