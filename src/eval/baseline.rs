//! The log-mel statistics baseline: per band, the mean and the standard deviation over time of
//! the normalised log-mel (80 + 80 = 160 values). What a model adds is measured against it.

use crate::dsp::{LogMel, N_MELS};

/// Width of the baseline features.
pub const BASELINE_DIM: usize = 2 * N_MELS;

/// `[mean of band 0 … band 79, std of band 0 … band 79]` over all frames (population std).
pub fn logmel_stats(mel: &LogMel) -> Vec<f32> {
    let t = mel.frames.max(1) as f64;
    let mut out = vec![0f32; BASELINE_DIM];
    for band in 0..N_MELS {
        let row = &mel.data[band * mel.frames..(band + 1) * mel.frames];
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / t;
        let var = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / t;
        out[band] = mean as f32;
        out[N_MELS + band] = var.sqrt() as f32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_means_and_deviations() {
        // Band b holds [b, b + 2, b + 4, b + 6]: mean b + 3, std √5.
        let frames = 4;
        let data = (0..N_MELS)
            .flat_map(|b| (0..frames).map(move |t| (b + 2 * t) as f32))
            .collect();
        let s = logmel_stats(&LogMel { data, frames });
        assert_eq!(s.len(), 160);
        assert_eq!(s[0], 3.0);
        assert_eq!(s[79], 82.0);
        assert!((s[80] - 5f32.sqrt()).abs() < 1e-6 && (s[159] - 5f32.sqrt()).abs() < 1e-6);
    }
}
