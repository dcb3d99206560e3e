//! The Live tab's scrolling spectrogram and level meter: the newest log-mel columns of the
//! input, coloured with the inspector's magma map, and the input level with a falling peak.
//!
//! The live session sends *normalised* columns (`(ln P − LMS_MEAN) / LMS_STD`). A file's picture
//! is scaled to its own loudest value; a live picture has no "loudest" yet, so it shows a fixed
//! 80 dB window ending at [`TOP_LN`]: a full-scale tone reaches the top, digital silence (the
//! front end's log offset) sits at the bottom.

use std::collections::VecDeque;

use eframe::egui::{Color32, ColorImage};

use crate::dsp::image::{DISPLAY_RANGE_LN, magma};
use crate::dsp::{LMS_MEAN, LMS_STD, N_MELS};

/// Columns shown: 8 s at 100 columns per second.
pub const LIVE_COLUMNS: usize = 800;

/// Natural-log mel power shown at the top of the colour map (pale yellow).
pub const TOP_LN: f32 = 2.5;

/// Level shown at the left end of the meter.
pub const METER_FLOOR_DBFS: f32 = -60.0;

/// How fast the held peak falls, in dB per second.
const PEAK_FALL_DB_PER_S: f32 = 20.0;

/// Position on the colour map (0 bottom, 1 top) of a normalised log-mel value.
pub fn colour_position(normalised: f32) -> f32 {
    let ln_power = normalised * LMS_STD + LMS_MEAN;
    ((ln_power - (TOP_LN - DISPLAY_RANGE_LN)) / DISPLAY_RANGE_LN).clamp(0.0, 1.0)
}

/// One column as pixels, the highest band first (top of the picture).
pub fn column_pixels(column: &[f32; N_MELS]) -> [Color32; N_MELS] {
    let mut out = [Color32::BLACK; N_MELS];
    for (y, px) in out.iter_mut().enumerate() {
        let [r, g, b] = magma(colour_position(column[N_MELS - 1 - y]));
        *px = Color32::from_rgb(r, g, b);
    }
    out
}

/// The newest [`LIVE_COLUMNS`] columns, already coloured.
#[derive(Debug, Clone)]
pub struct ScrollingSpectrogram {
    columns: VecDeque<[Color32; N_MELS]>,
    /// Columns received since the session started.
    total: u64,
    /// Whether columns arrived since the last [`ScrollingSpectrogram::image`].
    dirty: bool,
}

impl Default for ScrollingSpectrogram {
    fn default() -> Self {
        ScrollingSpectrogram {
            columns: VecDeque::with_capacity(LIVE_COLUMNS),
            total: 0,
            dirty: true,
        }
    }
}

impl ScrollingSpectrogram {
    /// Appends columns (oldest first), forgetting the oldest beyond [`LIVE_COLUMNS`].
    pub fn push(&mut self, columns: &[[f32; N_MELS]]) {
        for c in columns {
            if self.columns.len() == LIVE_COLUMNS {
                self.columns.pop_front();
            }
            self.columns.push_back(column_pixels(c));
        }
        self.total += columns.len() as u64;
        self.dirty |= !columns.is_empty();
    }

    /// Columns received since the session started.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether the picture changed since it was last taken.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// The picture: [`LIVE_COLUMNS`] wide, [`N_MELS`] high, the newest column on the right and
    /// black where nothing was heard yet.
    pub fn image(&mut self) -> ColorImage {
        self.dirty = false;
        let mut pixels = vec![Color32::BLACK; LIVE_COLUMNS * N_MELS];
        let offset = LIVE_COLUMNS - self.columns.len();
        for (x, column) in self.columns.iter().enumerate() {
            for (y, &px) in column.iter().enumerate() {
                pixels[y * LIVE_COLUMNS + offset + x] = px;
            }
        }
        ColorImage::new([LIVE_COLUMNS, N_MELS], pixels)
    }
}

/// The input level: the latest RMS and a peak that holds and then falls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelMeter {
    /// Latest RMS in dBFS.
    pub rms_dbfs: f32,
    /// Held peak in dBFS.
    pub peak_dbfs: f32,
    /// Readings received.
    pub readings: u64,
}

impl Default for LevelMeter {
    fn default() -> Self {
        LevelMeter {
            rms_dbfs: crate::live::level::SILENCE_DBFS,
            peak_dbfs: crate::live::level::SILENCE_DBFS,
            readings: 0,
        }
    }
}

impl LevelMeter {
    /// Takes a reading `dt_s` seconds after the previous one.
    pub fn update(&mut self, rms_dbfs: f32, peak_dbfs: f32, dt_s: f32) {
        self.rms_dbfs = rms_dbfs;
        let fallen = self.peak_dbfs - PEAK_FALL_DB_PER_S * dt_s.max(0.0);
        self.peak_dbfs = peak_dbfs.max(fallen);
        self.readings += 1;
    }

    /// Where `dbfs` sits on the meter, 0 at [`METER_FLOOR_DBFS`] and 1 at 0 dBFS.
    pub fn fraction(dbfs: f32) -> f32 {
        ((dbfs - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::LOG_OFFSET;

    fn normalised(ln_power: f32) -> f32 {
        (ln_power - LMS_MEAN) / LMS_STD
    }

    #[test]
    fn the_colour_window_spans_80_db_below_the_top() {
        // Matplotlib's magma: entry 255 is (0.987053, 0.991438, 0.749504), entry 0 is
        // (0.001462, 0.000466, 0.013866).
        let top = column_pixels(&[normalised(TOP_LN); N_MELS]);
        assert_eq!(top[0], Color32::from_rgb(252, 253, 191));
        let silence = column_pixels(&[normalised(LOG_OFFSET.ln()); N_MELS]);
        assert_eq!(silence[0], Color32::from_rgb(0, 0, 4));
        // 40 dB below the top (ln 10^4 = 9.2103) is the middle of the map.
        let mid = colour_position(normalised(TOP_LN - 9.210_34));
        assert!((mid - 0.5).abs() < 1e-4, "{mid}");
    }

    #[test]
    fn columns_scroll_in_from_the_right_with_the_highest_band_on_top() {
        let mut s = ScrollingSpectrogram::default();
        let mut col = [normalised(LOG_OFFSET.ln()); N_MELS];
        col[0] = normalised(TOP_LN); // the lowest band is loud
        s.push(&[col]);
        let img = s.image();
        assert!(!s.dirty());
        assert_eq!(img.size, [LIVE_COLUMNS, N_MELS]);
        let at = |x: usize, y: usize| img.pixels[y * LIVE_COLUMNS + x];
        assert_eq!(
            at(LIVE_COLUMNS - 1, N_MELS - 1),
            Color32::from_rgb(252, 253, 191)
        );
        assert_eq!(at(LIVE_COLUMNS - 1, 0), Color32::from_rgb(0, 0, 4));
        assert_eq!(at(LIVE_COLUMNS - 2, N_MELS - 1), Color32::BLACK);
        s.push(&vec![
            [normalised(LOG_OFFSET.ln()); N_MELS];
            LIVE_COLUMNS + 5
        ]);
        assert_eq!(s.total(), LIVE_COLUMNS as u64 + 6);
        let img = s.image();
        assert!(img.pixels.iter().all(|&p| p == Color32::from_rgb(0, 0, 4)));
    }

    #[test]
    fn the_peak_holds_and_falls_at_its_rate() {
        let mut m = LevelMeter::default();
        m.update(-20.0, -6.0, 0.02);
        assert_eq!((m.rms_dbfs, m.peak_dbfs), (-20.0, -6.0));
        m.update(-40.0, -30.0, 0.5);
        assert!((m.peak_dbfs + 16.0).abs() < 1e-5, "{}", m.peak_dbfs);
        assert_eq!(LevelMeter::fraction(-30.0), 0.5);
        assert_eq!(LevelMeter::fraction(-90.0), 0.0);
        assert_eq!(m.readings, 2);
    }
}
