//! EBU R128 loudness of a whole file, measured as it streams past: the integrated loudness
//! (ITU-R BS.1770-4 K-weighting with the absolute −70 LUFS and relative −10 LU gates) and the
//! true peak (4× oversampled below 96 kHz), as `ffmpeg -af ebur128=peak=true` reports them.
//!
//! [`LoudnessMeter`] wraps the `ebur128` crate (a port of libebur128) in its histogram mode, so its
//! memory stays the same whatever the length of the file: one 400 ms window of audio, a
//! 1000-bin histogram of block energies and the filters' state. Measure at the file's native
//! sample rate and channel count; the usual channel order is assumed (L, R, C, LFE, Ls, Rs; the
//! LFE channel does not count, surround channels weigh +1.5 dB as the standard says; four
//! channels are L, R, Ls, Rs; five are L, R, C, Ls, Rs; channels past the sixth are ignored).

use ebur128::{EbuR128, Mode};

use crate::error::{Error, Result};

/// Most channels the meter accepts (the `ebur128` crate's own limit).
pub const MAX_CHANNELS: usize = 64;

/// The loudness figures of one file.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Loudness {
    /// Integrated (programme) loudness in LUFS; `None` when no 400 ms block rose above the
    /// absolute −70 LUFS gate (silence, or less than 400 ms of audio).
    pub integrated_lufs: Option<f64>,
    /// Highest true peak over all channels in dBTP (dB relative to full scale of the
    /// oversampled signal); `None` for digital silence or no audio.
    pub true_peak_dbtp: Option<f64>,
}

/// Measures EBU R128 integrated loudness and true peak over interleaved `f32` samples pushed
/// block by block; memory does not grow with the length of the input.
pub struct LoudnessMeter {
    meter: EbuR128,
    channels: usize,
    /// Samples of a frame cut between two pushes (fewer than `channels`).
    partial: Vec<f32>,
    /// Reusable copy of a block that held non-finite samples.
    scratch: Vec<f32>,
    /// Set when the meter refused a block; the figures are then unknown.
    failed: bool,
}

impl std::fmt::Debug for LoudnessMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoudnessMeter")
            .field("channels", &self.channels)
            .field("sample_rate", &self.meter.rate())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl LoudnessMeter {
    /// A meter for audio of `channels` interleaved channels at `sample_rate` Hz.
    ///
    /// Fails with [`Error::InvalidInput`] for no channels, more than [`MAX_CHANNELS`], or a rate
    /// outside 16 Hz–2.8 MHz.
    pub fn new(channels: usize, sample_rate: u32) -> Result<Self> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(Error::InvalidInput(format!(
                "loudness: {channels} channels (1 to {MAX_CHANNELS} can be measured)"
            )));
        }
        let mode = Mode::I | Mode::TRUE_PEAK | Mode::HISTOGRAM;
        let meter = EbuR128::new(channels as u32, sample_rate, mode).map_err(|e| {
            Error::InvalidInput(format!(
                "loudness: cannot measure {channels} channels at {sample_rate} Hz: {e}"
            ))
        })?;
        Ok(Self {
            meter,
            channels,
            partial: Vec::with_capacity(channels),
            scratch: Vec::new(),
            failed: false,
        })
    }

    /// Number of interleaved channels the meter expects.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Feeds interleaved samples (full scale ±1.0). Blocks may be of any length: a frame cut
    /// between two calls is completed by the next. Non-finite samples count as silence.
    pub fn push(&mut self, interleaved: &[f32]) {
        if self.failed || interleaved.is_empty() {
            return;
        }
        let mut rest = interleaved;
        if !self.partial.is_empty() {
            let take = (self.channels - self.partial.len()).min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() < self.channels {
                return;
            }
            let frame = std::mem::take(&mut self.partial);
            self.add(&frame);
            self.partial = frame;
            self.partial.clear();
        }
        let whole = rest.len() - rest.len() % self.channels;
        self.add(&rest[..whole]);
        self.partial.extend_from_slice(&rest[whole..]);
    }

    /// Adds whole frames to the meter, replacing non-finite samples by silence first.
    fn add(&mut self, frames: &[f32]) {
        if frames.is_empty() || self.failed {
            return;
        }
        let result = if frames.iter().all(|s| s.is_finite()) {
            self.meter.add_frames_f32(frames)
        } else {
            self.scratch.clear();
            self.scratch
                .extend(frames.iter().map(|&s| if s.is_finite() { s } else { 0.0 }));
            self.meter.add_frames_f32(&self.scratch)
        };
        if result.is_err() {
            self.failed = true;
        }
    }

    /// The integrated loudness and true peak of everything pushed.
    pub fn finish(self) -> Loudness {
        if self.failed {
            return Loudness::default();
        }
        let integrated_lufs = self.meter.loudness_global().ok().filter(|l| l.is_finite());
        let peak = (0..self.channels as u32)
            .filter_map(|ch| self.meter.true_peak(ch).ok())
            .fold(0.0_f64, f64::max);
        let true_peak_dbtp = (peak > 0.0 && peak.is_finite()).then(|| 20.0 * peak.log10());
        Loudness {
            integrated_lufs,
            true_peak_dbtp,
        }
    }
}

/// Integrated loudness and true peak of a whole interleaved buffer in one call.
pub fn measure(interleaved: &[f32], channels: usize, sample_rate: u32) -> Result<Loudness> {
    let mut meter = LoudnessMeter::new(channels, sample_rate)?;
    meter.push(interleaved);
    Ok(meter.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, amp: f32, rate: u32, seconds: f32, channels: usize) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .flat_map(|i| {
                let v = amp * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin();
                std::iter::repeat_n(v, channels)
            })
            .collect()
    }

    #[test]
    fn a_997_hz_sine_at_minus_23_dbfs_in_stereo_reads_minus_23_lufs() {
        // EBU Tech 3341 case 1: stereo 1 kHz at −23 dBFS reads −23 LUFS (within 0.1 LU).
        let amp = 10f32.powf(-23.0 / 20.0);
        let l = measure(&sine(997.0, amp, 48_000, 20.0, 2), 2, 48_000).expect("meter");
        let i = l.integrated_lufs.expect("integrated");
        assert!((i + 23.0).abs() < 0.1, "{i}");
        let tp = l.true_peak_dbtp.expect("peak");
        assert!((tp + 23.0).abs() < 0.2, "{tp}");
    }

    #[test]
    fn blocks_of_any_length_give_the_figures_of_one_block() {
        let signal = sine(440.0, 0.3, 44_100, 3.0, 2);
        let whole = measure(&signal, 2, 44_100).expect("meter");
        let mut meter = LoudnessMeter::new(2, 44_100).expect("meter");
        for chunk in signal.chunks(1023) {
            meter.push(chunk);
        }
        assert_eq!(meter.finish(), whole);
    }

    #[test]
    fn silence_and_too_little_audio_have_no_figures() {
        assert_eq!(
            measure(&vec![0.0; 96_000], 2, 48_000).expect("meter"),
            Loudness::default()
        );
        let short = measure(&sine(440.0, 0.5, 48_000, 0.2, 1), 1, 48_000).expect("meter");
        assert_eq!(short.integrated_lufs, None);
        assert!(short.true_peak_dbtp.is_some());
    }

    #[test]
    fn non_finite_samples_count_as_silence() {
        let mut signal = sine(440.0, 0.5, 48_000, 2.0, 1);
        signal[1000] = f32::NAN;
        signal[2000] = f32::INFINITY;
        let l = measure(&signal, 1, 48_000).expect("meter");
        assert!(l.integrated_lufs.is_some_and(f64::is_finite));
        assert!(l.true_peak_dbtp.is_some_and(|p| p < 0.0));
    }

    #[test]
    fn impossible_layouts_are_refused() {
        assert!(LoudnessMeter::new(0, 48_000).is_err());
        assert!(LoudnessMeter::new(MAX_CHANNELS + 1, 48_000).is_err());
        assert!(LoudnessMeter::new(2, 0).is_err());
    }
}
