//! The onset envelope the tempo is read from: band-wise log spectral flux of a streamed signal.
//!
//! Every hop (≈5 ms) a Hann-windowed frame of ≈23 ms is transformed; its power is gathered in
//! bands a quarter of an octave wide (30 Hz up to 16 kHz or Nyquist), each band's level is
//! log-compressed and the rises of all bands since the previous frame are summed. A slow
//! running mean is subtracted and negative values dropped, so steady sound and slow swells
//! leave nothing and each attack leaves a short spike. Memory: one frame of samples and the
//! band levels of the previous frame.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Target number of onset values per second.
const FRAMES_PER_SECOND: f64 = 200.0;
/// Target analysis frame length in seconds.
const FRAME_SECONDS: f64 = 0.023;
/// Lowest band edge in Hz.
const LOW_HZ: f64 = 30.0;
/// Highest band edge in Hz (or Nyquist, when lower).
const HIGH_HZ: f64 = 16_000.0;
/// Bands per octave.
const BANDS_PER_OCTAVE: f64 = 4.0;
/// Gain inside the log compression `ln(1 + GAIN·magnitude)`: levels 60 dB under full scale
/// still move the envelope, louder ones are compressed.
const GAIN: f32 = 1000.0;
/// Time constant of the running mean subtracted from the flux, in seconds.
const MEAN_SECONDS: f64 = 0.5;

/// Turns a stream of mono samples into onset strengths, one per hop.
pub(super) struct OnsetEnvelope {
    hop: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Samples not yet consumed by a frame (fewer than `frame_len + hop` after each push).
    pending: Vec<f32>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Bin ranges `[edges[b], edges[b + 1])` of the bands.
    edges: Vec<usize>,
    levels: Vec<f32>,
    previous: Vec<f32>,
    has_previous: bool,
    /// Running mean of the flux and its per-frame smoothing factor.
    mean: f64,
    alpha: f64,
    /// Scale that makes a full-scale sine's magnitude about 0.5 whatever the frame length.
    norm: f32,
}

impl OnsetEnvelope {
    /// An envelope for a signal at `sample_rate` Hz (at least 1000 Hz).
    pub(super) fn new(sample_rate: u32) -> Self {
        let rate = f64::from(sample_rate);
        let hop = ((rate / FRAMES_PER_SECOND).round() as usize).max(1);
        let frame_len = ((rate * FRAME_SECONDS).round() as usize)
            .next_power_of_two()
            .max(64);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(frame_len);
        let step = std::f32::consts::TAU / frame_len as f32;
        let window: Vec<f32> = (0..frame_len)
            .map(|n| 0.5 - 0.5 * (step * n as f32).cos())
            .collect();
        let window_sum: f32 = window.iter().sum();
        let edges = band_edges(rate, frame_len);
        let bands = edges.len().saturating_sub(1);
        let frame_rate = rate / hop as f64;
        OnsetEnvelope {
            hop,
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            pending: Vec::with_capacity(frame_len + 4 * hop),
            edges,
            levels: vec![0.0; bands],
            previous: vec![0.0; bands],
            has_previous: false,
            mean: 0.0,
            alpha: 1.0 - (-1.0 / (MEAN_SECONDS * frame_rate)).exp(),
            norm: 1.0 / window_sum.max(f32::MIN_POSITIVE),
        }
    }

    /// Samples between two onset values.
    pub(super) fn hop(&self) -> usize {
        self.hop
    }

    /// Feeds mono samples; calls `emit` with each onset value that became complete.
    pub(super) fn push(&mut self, samples: &[f32], mut emit: impl FnMut(f32)) {
        let frame_len = self.window.len();
        let mut rest = samples;
        while !rest.is_empty() {
            // Fill up to one frame plus a few hops, then consume every complete frame.
            let room = (frame_len + 4 * self.hop)
                .saturating_sub(self.pending.len())
                .max(1);
            let take = room.min(rest.len());
            self.pending.extend(
                rest[..take]
                    .iter()
                    .map(|&s| if s.is_finite() { s } else { 0.0 }),
            );
            rest = &rest[take..];
            let mut start = 0;
            while start + frame_len <= self.pending.len() {
                let value = self.frame(start);
                emit(value);
                start += self.hop;
            }
            self.pending.drain(..start.min(self.pending.len()));
        }
    }

    /// Bytes held in the buffers.
    #[cfg(test)]
    pub(super) fn footprint(&self) -> usize {
        let floats = self.window.capacity()
            + self.pending.capacity()
            + self.input.capacity()
            + self.levels.capacity()
            + self.previous.capacity();
        let complex = self.spectrum.capacity() + self.scratch.capacity();
        floats * 4 + complex * 8 + self.edges.capacity() * std::mem::size_of::<usize>()
    }

    /// The onset value of the frame starting at `pending[start]`.
    fn frame(&mut self, start: usize) -> f32 {
        let frame = &self.pending[start..start + self.window.len()];
        for ((dst, &x), &w) in self.input.iter_mut().zip(frame).zip(&self.window) {
            *dst = x * w;
        }
        // The buffers come from the plan itself, so the transform cannot fail; if it ever did,
        // the frame counts as silence.
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .is_err()
        {
            self.spectrum.fill(Complex::new(0.0, 0.0));
        }
        for (b, level) in self.levels.iter_mut().enumerate() {
            let bins = &self.spectrum[self.edges[b]..self.edges[b + 1]];
            let power: f32 = bins.iter().map(Complex::norm_sqr).sum::<f32>() / bins.len() as f32;
            *level = (1.0 + GAIN * self.norm * 2.0 * power.sqrt()).ln();
        }
        let flux: f32 = if self.has_previous {
            self.levels
                .iter()
                .zip(&self.previous)
                .map(|(now, before)| (now - before).max(0.0))
                .sum()
        } else {
            0.0
        };
        std::mem::swap(&mut self.levels, &mut self.previous);
        self.has_previous = true;
        let flux = f64::from(flux);
        let value = (flux - self.mean).max(0.0);
        self.mean += self.alpha * (flux - self.mean);
        value as f32
    }
}

/// Bin edges of quarter-octave bands from [`LOW_HZ`] to [`HIGH_HZ`] or Nyquist, each band at
/// least one bin wide.
fn band_edges(rate: f64, frame_len: usize) -> Vec<usize> {
    let bin_hz = rate / frame_len as f64;
    let last_bin = frame_len / 2;
    let top = HIGH_HZ.min(rate / 2.0);
    let mut edges = vec![((LOW_HZ / bin_hz).round() as usize).clamp(1, last_bin)];
    let mut f = LOW_HZ;
    while f < top {
        f = (f * 2f64.powf(1.0 / BANDS_PER_OCTAVE)).min(top);
        let bin = ((f / bin_hz).round() as usize).min(last_bin + 1);
        let previous = edges.last().copied().unwrap_or(1);
        if bin > previous {
            edges.push(bin);
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_the_spectrum_without_empty_ones() {
        for rate in [8_000u32, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000] {
            let env = OnsetEnvelope::new(rate);
            assert!(env.edges.len() >= 8, "{rate}: {:?}", env.edges);
            assert!(env.edges.windows(2).all(|w| w[0] < w[1]), "{rate}");
            assert!(
                *env.edges.last().unwrap_or(&0) <= env.spectrum.len(),
                "{rate}"
            );
        }
    }

    #[test]
    fn an_attack_makes_a_spike_and_steady_sound_none() {
        let rate = 16_000;
        let mut env = OnsetEnvelope::new(rate);
        let steady: Vec<f32> = (0..rate).map(|i| 0.3 * (i as f32 * 0.2).sin()).collect();
        let mut values = Vec::new();
        env.push(&steady, |v| values.push(v));
        let tail_max = values[values.len() / 2..]
            .iter()
            .copied()
            .fold(0.0, f32::max);
        assert!(tail_max < 0.05, "steady sound: {tail_max}");
        let burst: Vec<f32> = (0..rate / 2)
            .map(|i| {
                if i < 400 {
                    0.8 * (i as f32 * 1.3).sin()
                } else {
                    0.3 * (i as f32 * 0.2).sin()
                }
            })
            .collect();
        let mut after = Vec::new();
        env.push(&burst, |v| after.push(v));
        let peak = after.iter().copied().fold(0.0, f32::max);
        assert!(peak > 20.0 * tail_max.max(0.01), "burst: {peak}");
    }
}
