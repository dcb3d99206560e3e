//! Making similarity scores readable. Raw cosine similarities of one model bunch in a narrow
//! band (0.74–0.96 for music is common), so the same number means "close" for one query and
//! "typical" for another. A [`ScoreScale`] holds the scores of the library's files against one
//! query and places a result in that distribution:
//!
//! - [`ScoreScale::matched`]: 0 for a file as close as a typical file of the library (the
//!   median score), 1 for an identical sound (cosine 1), linear in between;
//! - [`ScoreScale::closer_than`]: the share of the library's files that score lower.

/// Fewer scores than this say nothing about what is typical: [`ScoreScale::matched`] then
/// falls back to the raw cosine.
pub const MIN_SCORES: usize = 5;

/// At most this many scores are kept to describe the distribution (an even sample of the
/// library, enough for percentiles to well under 1 %).
pub const SAMPLE: usize = 4096;

/// The distribution of a query's scores over the library (its exact duplicates left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreScale {
    /// Ascending, finite.
    sorted: Vec<f32>,
}

impl ScoreScale {
    /// The distribution of `scores` (values that are not finite are dropped).
    pub fn new(mut scores: Vec<f32>) -> Self {
        scores.retain(|s| s.is_finite());
        scores.sort_by(f32::total_cmp);
        ScoreScale { sorted: scores }
    }

    /// How many scores describe it.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether it holds no score.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The median score: how close a typical file of the library is to the query. `None`
    /// when fewer than [`MIN_SCORES`] files were scored.
    pub fn typical(&self) -> Option<f32> {
        let n = self.sorted.len();
        if n < MIN_SCORES {
            return None;
        }
        Some(if n % 2 == 1 {
            self.sorted[n / 2]
        } else {
            (self.sorted[n / 2 - 1] + self.sorted[n / 2]) / 2.0
        })
    }

    /// `score` on a 0–1 scale: 0 at (or below) the typical score, 1 for cosine 1. Without a
    /// typical score (a tiny library), the cosine itself, clamped to 0–1.
    pub fn matched(&self, score: f32) -> f32 {
        if !score.is_finite() {
            return 0.0;
        }
        let Some(typical) = self.typical() else {
            return score.clamp(0.0, 1.0);
        };
        let span = 1.0 - typical;
        if span <= 1e-6 {
            // Every file is (nearly) identical to the query.
            return if score >= typical { 1.0 } else { 0.0 };
        }
        ((score - typical) / span).clamp(0.0, 1.0)
    }

    /// The share (0–1) of the scored files whose score is below `score` (ties count half).
    pub fn closer_than(&self, score: f32) -> f64 {
        let n = self.sorted.len();
        if n == 0 || !score.is_finite() {
            return 0.0;
        }
        let below = self.sorted.partition_point(|&s| s < score);
        let not_above = self.sorted.partition_point(|&s| s <= score);
        (below as f64 + (not_above - below) as f64 / 2.0) / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_maps_to_zero_and_an_identical_sound_to_one() {
        // A bunched distribution, as music gives: every score between 0.74 and 0.96.
        let scores: Vec<f32> = (0..=22).map(|i| 0.74 + 0.01 * i as f32).collect();
        let scale = ScoreScale::new(scores);
        let typical = scale.typical().unwrap();
        assert!((typical - 0.85).abs() < 1e-5, "{typical}");
        assert_eq!(scale.matched(typical), 0.0);
        assert_eq!(scale.matched(0.74), 0.0, "below typical is no match");
        assert_eq!(scale.matched(1.0), 1.0);
        // The spread 0.85–0.96 becomes 0–73 %: readable differences.
        assert!((scale.matched(0.96) - 0.7333).abs() < 1e-3);
        assert!((scale.matched(0.905) - 0.3667).abs() < 1e-3);
    }

    #[test]
    fn matched_keeps_the_order_of_the_scores() {
        let scale = ScoreScale::new(vec![0.2, 0.9, 0.5, 0.6, 0.55, 0.3, 0.8]);
        let raw = [0.51f32, 0.6, 0.7, 0.75, 0.93, 0.99];
        let m: Vec<f32> = raw.iter().map(|&s| scale.matched(s)).collect();
        assert!(m.windows(2).all(|w| w[0] < w[1]), "{m:?}");
        assert!(m.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn closer_than_is_the_share_of_lower_scores() {
        let scale = ScoreScale::new((0..100).map(|i| i as f32 / 100.0).collect());
        assert_eq!(scale.closer_than(2.0), 1.0);
        assert_eq!(scale.closer_than(-1.0), 0.0);
        // 0.5 itself is among the scores: 50 below, one tie counting half.
        assert!((scale.closer_than(0.5) - 0.505).abs() < 1e-9);
        assert!((scale.closer_than(0.995) - 1.0).abs() < 1e-9);
        assert_eq!(ScoreScale::default().closer_than(0.5), 0.0);
    }

    #[test]
    fn tiny_and_degenerate_distributions_fall_back_safely() {
        let tiny = ScoreScale::new(vec![0.9, 0.8]);
        assert_eq!(tiny.typical(), None);
        assert_eq!(tiny.matched(0.93), 0.93, "the cosine itself");
        assert_eq!(tiny.matched(-0.2), 0.0);
        let same = ScoreScale::new(vec![1.0; 10]);
        assert_eq!(same.matched(1.0), 1.0);
        assert_eq!(same.matched(0.5), 0.0);
        let with_nan = ScoreScale::new(vec![f32::NAN, 0.1, 0.2, 0.3, 0.4, 0.5, f32::INFINITY]);
        assert_eq!(with_nan.len(), 5, "values that are not finite are dropped");
        assert_eq!(with_nan.typical(), Some(0.3));
        assert_eq!(with_nan.matched(f32::NAN), 0.0);
    }
}
