//! The inspector's spectrogram of a file's whole band: a short-time Fourier transform of the
//! mono mix at the file's own rate, rows mel-spaced from 0 Hz to its Nyquist frequency (so
//! hats and cymbals keep their top end, above the model's 8 kHz), fed block by block while the
//! file decodes. Memory stays bounded for any length: past [`MAX_COLUMNS`] columns, neighbouring
//! columns are merged and each later column takes twice as many frames.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::dsp::image::{RgbaImage, magma};
use crate::gui::shared::widgets::spectrogram::FrequencyAxis;

/// Rows of the picture (mel-spaced).
pub const ROWS: usize = 192;
/// Widest picture (GPUs allow textures at least this wide).
pub const MAX_COLUMNS: usize = 8192;
/// Dynamic range shown: 80 dB below the loudest cell.
const RANGE_DB: f32 = 80.0;

/// The finished picture.
#[derive(Debug, Clone)]
pub struct BandImage {
    /// Pixels, highest frequency on top.
    pub image: RgbaImage,
    /// Seconds the picture's width covers (the last column may reach past the file's end).
    pub span_s: f64,
    /// The frequencies its rows span.
    pub axis: FrequencyAxis,
}

/// How one row reads the spectrum: the mean of a run of bins, or between two bins.
#[derive(Debug, Clone, Copy)]
enum RowMap {
    Mean(usize, usize),
    Between(usize, f32),
}

/// Builds a [`BandImage`] from interleaved blocks.
pub struct BandSpectrogram {
    sample_rate: u32,
    channels: usize,
    n_fft: usize,
    hop: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    output: Vec<Complex<f32>>,
    /// Mono samples not yet consumed by a frame.
    pending: Vec<f32>,
    rows: Vec<RowMap>,
    /// Finished columns, `ROWS` powers each (bottom row first).
    columns: Vec<f32>,
    /// The column being summed and how many frames it holds.
    acc: Vec<f32>,
    acc_frames: usize,
    frames_per_column: usize,
}

impl BandSpectrogram {
    /// A spectrogram for audio of `channels` channels at `sample_rate`, about `expected_frames`
    /// sample frames long when known (it then needs no merging).
    pub fn new(sample_rate: u32, channels: usize, expected_frames: Option<u64>) -> Self {
        // About 46 ms windows: 2048 points at 44.1/48 kHz, 4096 at 96 kHz, 1024 at 22 kHz.
        let n_fft = (f64::from(sample_rate.max(8000)) * 0.046)
            .round()
            .max(256.0) as usize;
        let n_fft = n_fft.next_power_of_two();
        let hop = n_fft / 4;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        let window = (0..n_fft)
            .map(|n| 0.5 - 0.5 * (std::f32::consts::TAU * n as f32 / n_fft as f32).cos())
            .collect();
        let axis = FrequencyAxis {
            top_hz: sample_rate as f32 / 2.0,
            model_top_hz: None,
        };
        let bin_hz = sample_rate as f32 / n_fft as f32;
        let last_bin = n_fft / 2;
        let rows = (0..ROWS)
            .map(|r| {
                let lo = axis.hz_at(r as f32 / ROWS as f32) / bin_hz;
                let hi = axis.hz_at((r + 1) as f32 / ROWS as f32) / bin_hz;
                let (a, b) = (lo.ceil() as usize, (hi.floor() as usize).min(last_bin));
                if a <= b {
                    RowMap::Mean(a, b + 1)
                } else {
                    let centre = ((lo + hi) / 2.0).min(last_bin as f32 - 1.0);
                    RowMap::Between(centre.floor() as usize, centre.fract())
                }
            })
            .collect();
        let frames_per_column = expected_frames.map_or(1, |n| {
            let frames = n as usize / hop + 1;
            frames.div_ceil(MAX_COLUMNS).max(1)
        });
        BandSpectrogram {
            sample_rate,
            channels: channels.max(1),
            n_fft,
            hop,
            input: fft.make_input_vec(),
            output: fft.make_output_vec(),
            fft,
            window,
            // Frames are centred on their hop: the first one on the first sample.
            pending: vec![0.0; n_fft / 2],
            rows,
            columns: Vec::new(),
            acc: vec![0.0; ROWS],
            acc_frames: 0,
            frames_per_column,
        }
    }

    /// Adds interleaved samples.
    pub fn push(&mut self, interleaved: &[f32]) {
        let ch = self.channels;
        self.pending.extend(
            interleaved
                .chunks_exact(ch)
                .map(|f| f.iter().sum::<f32>() / ch as f32),
        );
        self.drain_frames();
    }

    fn drain_frames(&mut self) {
        let mut start = 0;
        while self.pending.len() - start >= self.n_fft {
            self.frame(start);
            start += self.hop;
        }
        self.pending.drain(..start);
    }

    fn frame(&mut self, start: usize) {
        for ((dst, &x), &w) in self
            .input
            .iter_mut()
            .zip(&self.pending[start..start + self.n_fft])
            .zip(&self.window)
        {
            *dst = x * w;
        }
        if self.fft.process(&mut self.input, &mut self.output).is_err() {
            return;
        }
        let power = |k: usize| {
            let c = self.output[k];
            c.re * c.re + c.im * c.im
        };
        for (acc, row) in self.acc.iter_mut().zip(&self.rows) {
            *acc += match *row {
                RowMap::Mean(a, b) => (a..b).map(power).sum::<f32>() / (b - a) as f32,
                RowMap::Between(k, f) => power(k) * (1.0 - f) + power(k + 1) * f,
            };
        }
        self.acc_frames += 1;
        if self.acc_frames == self.frames_per_column {
            self.close_column();
        }
    }

    fn close_column(&mut self) {
        let n = self.acc_frames.max(1) as f32;
        self.columns.extend(self.acc.iter().map(|p| p / n));
        self.acc.fill(0.0);
        self.acc_frames = 0;
        if self.columns.len() / ROWS > MAX_COLUMNS {
            // Merge neighbours: half as many columns, each twice as long from now on.
            let merged: Vec<f32> = self
                .columns
                .chunks(2 * ROWS)
                .flat_map(|pair| {
                    let (a, b) = pair.split_at(ROWS.min(pair.len()));
                    (0..ROWS).map(move |r| match b.get(r) {
                        Some(y) => (a[r] + y) / 2.0,
                        None => a[r],
                    })
                })
                .collect();
            self.columns = merged;
            self.frames_per_column *= 2;
        }
    }

    /// The picture: the last frames flushed (zero-padded), 80 dB of range through magma.
    pub fn finish(mut self) -> BandImage {
        // Frames centred up to the last sample, reading zeros past it.
        let real = self.pending.len();
        self.pending.extend(std::iter::repeat_n(0.0, self.n_fft));
        let mut start = 0;
        while start + self.n_fft / 2 < real {
            self.frame(start);
            start += self.hop;
        }
        if self.acc_frames > 0 {
            self.close_column();
        }
        let width = (self.columns.len() / ROWS).max(1);
        let db: Vec<f32> = self
            .columns
            .iter()
            .map(|p| 10.0 * p.max(1e-20).log10())
            .collect();
        let top = db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut pixels = Vec::with_capacity(width * ROWS * 4);
        for y in 0..ROWS {
            let row = ROWS - 1 - y;
            for x in 0..width {
                let v = db.get(x * ROWS + row).copied().unwrap_or(f32::NEG_INFINITY);
                let [r, g, b] = magma((v - (top - RANGE_DB)) / RANGE_DB);
                pixels.extend_from_slice(&[r, g, b, 255]);
            }
        }
        let seconds_per_column =
            (self.frames_per_column * self.hop) as f64 / f64::from(self.sample_rate);
        BandImage {
            image: RgbaImage {
                width,
                height: ROWS,
                pixels,
            },
            span_s: width as f64 * seconds_per_column,
            axis: FrequencyAxis {
                top_hz: self.sample_rate as f32 / 2.0,
                model_top_hz: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f32, rate: u32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    /// The brightest row (0 = bottom) of the picture's middle column.
    fn brightest_row(img: &BandImage) -> usize {
        let x = img.image.width / 2;
        (0..ROWS)
            .max_by_key(|&r| {
                let y = ROWS - 1 - r;
                let i = (y * img.image.width + x) * 4;
                let p = &img.image.pixels[i..i + 3];
                u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])
            })
            .unwrap_or(0)
    }

    #[test]
    fn a_tone_above_the_models_band_shows_where_it_is() {
        // 15 kHz in a 44.1 kHz file: above the model's 8 kHz, inside the file's band.
        let rate = 44_100;
        let x = sine(15_000.0, rate, 1.0);
        let mut s = BandSpectrogram::new(rate, 1, Some(x.len() as u64));
        for block in x.chunks(1000) {
            s.push(block);
        }
        let img = s.finish();
        assert_eq!(img.axis.top_hz, 22_050.0);
        assert_eq!(img.image.height, ROWS);
        assert!((img.span_s - 1.0).abs() < 0.05, "{}", img.span_s);
        let row = brightest_row(&img) as f32 + 0.5;
        let hz = img.axis.hz_at(row / ROWS as f32);
        assert!((hz - 15_000.0).abs() < 600.0, "brightest at {hz} Hz");
        // Stereo is mixed to mono; a 1 kHz tone sits low.
        let mono = sine(1000.0, 48_000, 0.5);
        let stereo: Vec<f32> = mono.iter().flat_map(|&v| [v, v]).collect();
        let mut s = BandSpectrogram::new(48_000, 2, None);
        s.push(&stereo);
        let img = s.finish();
        let row = brightest_row(&img) as f32 + 0.5;
        let hz = img.axis.hz_at(row / ROWS as f32);
        assert!((hz - 1000.0).abs() < 150.0, "brightest at {hz} Hz");
    }

    #[test]
    fn long_input_of_unknown_length_stays_bounded_and_short_input_still_draws() {
        let rate = 8000;
        let mut s = BandSpectrogram::new(rate, 1, None);
        let block = vec![0.1f32; 4096];
        // 9 minutes at 8 kHz: more frames than columns.
        let blocks = 9 * 60 * rate as usize / block.len();
        for _ in 0..blocks {
            s.push(&block);
        }
        let img = s.finish();
        assert!(img.image.width <= MAX_COLUMNS && img.image.width > MAX_COLUMNS / 4);
        let seconds = (blocks * block.len()) as f64 / f64::from(rate);
        assert!(
            img.span_s >= seconds && img.span_s < seconds * 1.01,
            "{} for {seconds}",
            img.span_s
        );
        let mut s = BandSpectrogram::new(44_100, 1, Some(661));
        s.push(&vec![0.5; 661]);
        let img = s.finish();
        assert!(img.image.width >= 1);
        assert_eq!(img.image.pixels.len(), img.image.width * ROWS * 4);
    }
}
