//! The waveform overview strip: per bucket of samples its minimum, maximum and RMS, drawn as a
//! pale min/max envelope with the RMS body over it — so loud, mastered music shows its
//! dynamics instead of a solid block, and quiet one-shots still show their peaks.

use eframe::egui::{self, Pos2, Rect, Stroke};

/// One run of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaveBucket {
    /// Lowest sample.
    pub min: f32,
    /// Highest sample.
    pub max: f32,
    /// Root mean square.
    pub rms: f32,
}

/// Minimum, maximum and RMS of `samples` in each of `buckets` equal runs (fewer buckets when
/// there are fewer samples).
pub fn overview(samples: &[f32], buckets: usize) -> Vec<WaveBucket> {
    let n = buckets.min(samples.len());
    (0..n)
        .map(|i| {
            let run = &samples[i * samples.len() / n..(i + 1) * samples.len() / n];
            let (min, max, sq) = run.iter().fold(
                (f32::INFINITY, f32::NEG_INFINITY, 0f64),
                |(lo, hi, sq), &s| (lo.min(s), hi.max(s), sq + f64::from(s) * f64::from(s)),
            );
            WaveBucket {
                min,
                max,
                rms: (sq / run.len().max(1) as f64).sqrt() as f32,
            }
        })
        .collect()
}

/// Several buckets as one: the extremes and the RMS of all their samples.
fn merge(buckets: &[WaveBucket]) -> WaveBucket {
    let (min, max, sq) = buckets.iter().fold(
        (f32::INFINITY, f32::NEG_INFINITY, 0f32),
        |(lo, hi, sq), b| (lo.min(b.min), hi.max(b.max), sq + b.rms * b.rms),
    );
    WaveBucket {
        min,
        max,
        rms: (sq / buckets.len().max(1) as f32).sqrt(),
    }
}

/// Draws `buckets` (spanning `duration` seconds) into `rect`, showing the seconds `view`.
pub fn paint(
    painter: &egui::Painter,
    visuals: &egui::Visuals,
    rect: Rect,
    buckets: &[WaveBucket],
    duration: f64,
    view: (f64, f64),
) {
    if buckets.is_empty() || rect.width() < 1.0 {
        return;
    }
    let strong = visuals.widgets.active.fg_stroke.color;
    let envelope = strong.gamma_multiply(0.45);
    let mid = rect.center().y;
    let half = rect.height() / 2.0 - 1.0;
    painter.line_segment(
        [Pos2::new(rect.left(), mid), Pos2::new(rect.right(), mid)],
        Stroke::new(1.0, envelope.gamma_multiply(0.5)),
    );
    let n = buckets.len() as f64;
    let duration = duration.max(1e-9);
    let (v0, v1) = view;
    let span = (v1 - v0).max(1e-9);
    let t_of = |x: f32| v0 + f64::from((x - rect.left()) / rect.width()) * span;
    let y = |v: f32| mid - v.clamp(-1.0, 1.0) * half;
    let mut x = rect.left();
    while x < rect.right() {
        let (t0, t1) = (t_of(x), t_of(x + 1.0));
        let i0 = ((t0 / duration) * n).floor().max(0.0) as usize;
        let i1 = (((t1 / duration) * n).ceil().max(0.0) as usize).min(buckets.len());
        if i0 < i1 {
            let b = merge(&buckets[i0..i1]);
            let px = x + 0.5;
            painter.line_segment(
                [Pos2::new(px, y(b.max)), Pos2::new(px, y(b.min) + 0.5)],
                Stroke::new(1.0, envelope),
            );
            // The RMS body, never wider than the envelope (a DC offset keeps it inside).
            let (lo, hi) = (b.rms.min((-b.min).max(0.0)), b.rms.min(b.max.max(0.0)));
            painter.line_segment(
                [Pos2::new(px, y(hi)), Pos2::new(px, y(-lo) + 0.5)],
                Stroke::new(1.0, strong),
            );
        }
        x += 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_extremes_and_rms() {
        // A full-scale square wave: |x| = 1 everywhere, RMS 1; a quiet sine: RMS = peak/√2.
        let square: Vec<f32> = (0..800)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let b = overview(&square, 4);
        assert_eq!(b.len(), 4);
        assert!(b.iter().all(|b| b.min == -1.0 && b.max == 1.0));
        assert!(b.iter().all(|b| (b.rms - 1.0).abs() < 1e-6));
        let sine: Vec<f32> = (0..16_000)
            .map(|i| 0.5 * (i as f32 * std::f32::consts::TAU / 100.0).sin())
            .collect();
        let b = overview(&sine, 8);
        for b in &b {
            assert!((b.max - 0.5).abs() < 1e-3 && (b.min + 0.5).abs() < 1e-3);
            assert!((b.rms - 0.5 / 2f32.sqrt()).abs() < 1e-3, "{b:?}");
        }
        // Mastered music: peaks near full scale, the body well below them.
        let merged = merge(&[
            WaveBucket {
                min: -0.99,
                max: 0.98,
                rms: 0.3,
            },
            WaveBucket {
                min: -0.5,
                max: 0.5,
                rms: 0.1,
            },
        ]);
        assert_eq!((merged.min, merged.max), (-0.99, 0.98));
        assert!((merged.rms - (0.05f32).sqrt()).abs() < 1e-6);
        assert!(overview(&[], 10).is_empty());
        assert_eq!(overview(&[0.25, -0.25], 10).len(), 2);
    }
}
