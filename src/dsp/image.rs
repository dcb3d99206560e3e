//! Pictures of sound: a log-mel spectrogram as RGBA pixels through the perceptually uniform
//! "magma" colour map, and min/max waveform peaks for an overview strip.
//!
//! The colour map is the one of matplotlib (Smith & van der Walt, CC0), sampled at 17 anchors
//! (every 16th of its 256 entries and the last) and interpolated linearly; it stays within
//! 0.01 of the full table.

use super::{LogMel, N_MELS};

/// Matplotlib's magma at entries 0, 16, 32, …, 240 and 255 (RGB in 0–1).
const MAGMA_ANCHORS: [[f32; 3]; 17] = [
    [0.001462, 0.000466, 0.013866],
    [0.039608, 0.031090, 0.133515],
    [0.113094, 0.065492, 0.276784],
    [0.211718, 0.061992, 0.418647],
    [0.316654, 0.071690, 0.485380],
    [0.414709, 0.110431, 0.504662],
    [0.512831, 0.148179, 0.507648],
    [0.613617, 0.181811, 0.498536],
    [0.716387, 0.214982, 0.475290],
    [0.816914, 0.255895, 0.436461],
    [0.904281, 0.319610, 0.388137],
    [0.960949, 0.418323, 0.359630],
    [0.986700, 0.535582, 0.382210],
    [0.996096, 0.653659, 0.446213],
    [0.996898, 0.769591, 0.534892],
    [0.992440, 0.884330, 0.640099],
    [0.987053, 0.991438, 0.749504],
];

/// The magma colour of `t` in 0–1 (clamped), as 8-bit RGB.
pub fn magma(t: f32) -> [u8; 3] {
    let x = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 255.0;
    // Anchor i sits at table entry 16·i, the last one at 255.
    let i = ((x / 16.0) as usize).min(15);
    let (x0, x1) = (
        16.0 * i as f32,
        if i == 15 {
            255.0
        } else {
            16.0 * (i + 1) as f32
        },
    );
    let f = ((x - x0) / (x1 - x0)).clamp(0.0, 1.0);
    let (a, b) = (MAGMA_ANCHORS[i], MAGMA_ANCHORS[i + 1]);
    let c = |k: usize| ((a[k] + (b[k] - a[k]) * f) * 255.0).round() as u8;
    [c(0), c(1), c(2)]
}

/// An RGBA picture, row-major, top row first.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbaImage {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height × 4` bytes.
    pub pixels: Vec<u8>,
}

/// Dynamic range shown by [`spectrogram_rgba`]: 80 dB of power, in natural-log units
/// (`ln(10^8)`), below the loudest value.
pub const DISPLAY_RANGE_LN: f32 = 18.420_681;

/// Renders a log-mel (natural-log mel power, as [`super::log_mel`] gives) as an image of
/// `N_MELS` rows — the highest band on top — and at most `max_width` columns: when the
/// spectrogram has more frames, each column is the mean of a run of frames. Values map to magma
/// from `max − 80 dB` (black) to the maximum (pale yellow).
pub fn spectrogram_rgba(mel: &LogMel, max_width: usize) -> RgbaImage {
    let frames = mel.frames;
    let width = frames.min(max_width.max(1)).max(1);
    let mut cols = vec![0f32; N_MELS * width];
    for band in 0..N_MELS {
        let row = &mel.data[band * frames..(band + 1) * frames];
        for (x, out) in cols[band * width..(band + 1) * width]
            .iter_mut()
            .enumerate()
        {
            let (a, b) = (
                x * frames / width,
                ((x + 1) * frames / width).max(x * frames / width + 1),
            );
            let run = &row[a.min(frames)..b.min(frames)];
            *out = if run.is_empty() {
                f32::NEG_INFINITY
            } else {
                run.iter().sum::<f32>() / run.len() as f32
            };
        }
    }
    let top = cols
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    let floor = top - DISPLAY_RANGE_LN;
    let mut pixels = Vec::with_capacity(width * N_MELS * 4);
    for y in 0..N_MELS {
        let band = N_MELS - 1 - y;
        for &v in &cols[band * width..(band + 1) * width] {
            let t = if top.is_finite() {
                (v - floor) / DISPLAY_RANGE_LN
            } else {
                0.0
            };
            let [r, g, b] = magma(t);
            pixels.extend_from_slice(&[r, g, b, 255]);
        }
    }
    RgbaImage {
        width,
        height: N_MELS,
        pixels,
    }
}

/// Minimum and maximum of `samples` in each of `buckets` equal runs (fewer buckets when there
/// are fewer samples): the waveform overview.
pub fn peaks(samples: &[f32], buckets: usize) -> Vec<(f32, f32)> {
    let n = buckets.min(samples.len());
    (0..n)
        .map(|i| {
            let run = &samples[i * samples.len() / n..(i + 1) * samples.len() / n];
            run.iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
                    (lo.min(s), hi.max(s))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(v: [f32; 3]) -> [u8; 3] {
        v.map(|c| (c * 255.0).round() as u8)
    }

    #[test]
    fn magma_matches_matplotlib_between_anchors() {
        assert_eq!(magma(0.0), rgb([0.001462, 0.000466, 0.013866]));
        assert_eq!(magma(1.0), rgb([0.987053, 0.991438, 0.749504]));
        assert_eq!(magma(128.0 / 255.0), rgb([0.716387, 0.214982, 0.475290]));
        // Entries 8, 136 and 250 of matplotlib's table lie between anchors.
        for (entry, want) in [
            (8.0, [0.013708, 0.011771, 0.068667]),
            (136.0, [0.767398, 0.233705, 0.457755]),
            (250.0, [0.988717, 0.955742, 0.712242]),
        ] {
            let got = magma(entry / 255.0);
            for k in 0..3 {
                let diff = (f32::from(got[k]) / 255.0 - want[k]).abs();
                assert!(diff < 0.01, "entry {entry}: {got:?} vs {want:?}");
            }
        }
        assert_eq!(magma(f32::NAN), magma(0.0));
        assert_eq!(magma(7.0), magma(1.0));
    }

    #[test]
    fn spectrogram_puts_high_bands_on_top_and_averages_columns() {
        // Band 79 loud, everything else 80 dB quieter; 6 frames shown in 3 columns.
        let frames = 6;
        let mut data = vec![0.0f32; N_MELS * frames];
        for t in 0..frames {
            data[79 * frames + t] = DISPLAY_RANGE_LN;
        }
        // Band 0: two frames at the top, four at the floor: column 0 averages to the middle.
        data[0] = DISPLAY_RANGE_LN;
        let img = spectrogram_rgba(&LogMel { data, frames }, 3);
        assert_eq!(
            (img.width, img.height, img.pixels.len()),
            (3, 80, 3 * 80 * 4)
        );
        let px = |x: usize, y: usize| {
            let i = (y * img.width + x) * 4;
            [img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]]
        };
        assert_eq!(px(0, 0), magma(1.0), "the top row is the highest band");
        assert_eq!(px(2, 40), magma(0.0));
        assert_eq!(
            px(0, 79),
            magma(0.5),
            "mean of one loud and one floor frame"
        );
        assert_eq!(px(1, 79), magma(0.0));
    }

    #[test]
    fn peaks_take_min_and_max_per_run() {
        let s = [0.0, 0.5, -0.25, 1.0, -1.0, 0.1];
        assert_eq!(peaks(&s, 2), vec![(-0.25, 0.5), (-1.0, 1.0)]);
        assert_eq!(peaks(&s[..1], 4), vec![(0.0, 0.0)]);
    }
}
