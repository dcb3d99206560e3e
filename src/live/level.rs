//! Input level: RMS and peak of a block in dBFS (0 dBFS = a full-scale square wave's RMS).

/// The floor reported for silence, in dBFS.
pub const SILENCE_DBFS: f32 = -120.0;

/// RMS and peak level of one block of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelReading {
    /// Root mean square level in dBFS (a full-scale sine reads −3.01).
    pub rms_dbfs: f32,
    /// Largest absolute sample in dBFS.
    pub peak_dbfs: f32,
}

/// Converts an amplitude (full scale 1.0) to dBFS, floored at [`SILENCE_DBFS`].
pub fn amplitude_to_dbfs(amplitude: f64) -> f32 {
    if amplitude <= 0.0 {
        return SILENCE_DBFS;
    }
    ((20.0 * amplitude.log10()) as f32).max(SILENCE_DBFS)
}

/// The level of `samples`; silence (or no samples) reads [`SILENCE_DBFS`].
pub fn measure(samples: &[f32]) -> LevelReading {
    if samples.is_empty() {
        return LevelReading {
            rms_dbfs: SILENCE_DBFS,
            peak_dbfs: SILENCE_DBFS,
        };
    }
    let (sum_sq, peak) = samples.iter().fold((0f64, 0f32), |(s, p), &x| {
        (s + f64::from(x) * f64::from(x), p.max(x.abs()))
    });
    LevelReading {
        rms_dbfs: amplitude_to_dbfs((sum_sq / samples.len() as f64).sqrt()),
        peak_dbfs: amplitude_to_dbfs(f64::from(peak)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_and_square_read_their_textbook_levels() {
        // A full-scale sine: RMS 1/√2 = −3.0103 dBFS, peak 0 dBFS.
        let sine: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let l = measure(&sine);
        assert!((l.rms_dbfs + 3.0103).abs() < 1e-3, "{l:?}");
        assert!(l.peak_dbfs.abs() < 1e-3, "{l:?}");
        // A square wave at amplitude 0.1: RMS = peak = −20 dBFS.
        let square: Vec<f32> = (0..1000)
            .map(|i| if i % 20 < 10 { 0.1 } else { -0.1 })
            .collect();
        let l = measure(&square);
        assert!((l.rms_dbfs + 20.0).abs() < 1e-4 && (l.peak_dbfs + 20.0).abs() < 1e-4);
    }

    #[test]
    fn silence_reads_the_floor() {
        assert_eq!(measure(&[0.0; 64]).rms_dbfs, SILENCE_DBFS);
        assert_eq!(measure(&[]).peak_dbfs, SILENCE_DBFS);
        assert_eq!(amplitude_to_dbfs(1e-9), SILENCE_DBFS);
    }
}
