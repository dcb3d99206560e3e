//! Power spectrum of one analysis frame: periodic Hann window, 400-point real FFT, `|X|²`.
//!
//! No centring, no padding, no normalisation (spec §2): what the reference computes with
//! `torch.stft(center=False)` followed by `abs()²`. The transform runs in `f64`: the reference's
//! `f32` FFT rounds differently at deep spectral nulls (up to 1.2e-4 in the log), and double
//! precision keeps Earmark on the exact value rather than on another rounding.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::{N_BINS, WIN_LENGTH};

/// The periodic Hann window of length [`WIN_LENGTH`]: `0.5 − 0.5·cos(2πn/N)`, in `f32` with the
/// reference's operation order (the angle step `2π/N` first).
pub fn periodic_hann() -> Vec<f32> {
    let step = std::f32::consts::TAU / WIN_LENGTH as f32;
    (0..WIN_LENGTH)
        .map(|n| 0.5 - 0.5 * (step * n as f32).cos())
        .collect()
}

/// Computes one-sided power spectra of windowed frames, reusing its buffers.
pub struct PowerSpectrum {
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f64>>,
    input: Vec<f64>,
    output: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl Default for PowerSpectrum {
    fn default() -> Self {
        Self::new()
    }
}

impl PowerSpectrum {
    /// Plans the FFT and builds the window.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(WIN_LENGTH);
        PowerSpectrum {
            window: periodic_hann(),
            input: fft.make_input_vec(),
            output: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
        }
    }

    /// Writes the [`N_BINS`] power values of `frame` (exactly [`WIN_LENGTH`] samples) to `power`.
    pub fn compute(&mut self, frame: &[f32], power: &mut [f64; N_BINS]) {
        for ((dst, &x), &w) in self.input.iter_mut().zip(frame).zip(&self.window) {
            *dst = f64::from(x * w);
        }
        // The buffers are sized by the plan itself, so the transform cannot fail.
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .is_err()
        {
            power.fill(0.0);
            return;
        }
        for (p, c) in power.iter_mut().zip(&self.output) {
            *p = c.re * c.re + c.im * c.im;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_on_a_bin_has_its_power_there() {
        // 1 kHz = bin 25 (40 Hz per bin); Hann-windowed amplitude A gives |X| = A·N/4.
        let frame: Vec<f32> = (0..WIN_LENGTH)
            .map(|n| (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 16_000.0).cos())
            .collect();
        let mut ps = PowerSpectrum::new();
        let mut power = [0.0f64; N_BINS];
        ps.compute(&frame, &mut power);
        let expected = (WIN_LENGTH as f64 / 4.0).powi(2);
        assert!(
            (power[25] - expected).abs() / expected < 1e-4,
            "{}",
            power[25]
        );
        assert!(power[60] < 1e-6 * expected);
    }
}
