//! Frame times measured by the app itself: the time spent building each frame's UI and the
//! whole frame's CPU time as eframe reports it, kept for the last few thousand frames, with
//! percentiles for the debug overlay (F12) and `earmark bench gui`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Frames remembered.
const KEEP: usize = 4096;

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    /// Frames measured.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// The `q`-quantile (0–1) of sorted values, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Percentiles of `values` (milliseconds).
pub fn percentiles(values: impl Iterator<Item = f64>) -> Percentiles {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    Percentiles {
        count: v.len(),
        p50_ms: quantile(&v, 0.5),
        p95_ms: quantile(&v, 0.95),
        max_ms: v.last().copied().unwrap_or(0.0),
    }
}

/// Recent frame times.
#[derive(Debug, Clone, Default)]
pub struct FrameStats {
    ui: VecDeque<f64>,
    cpu: VecDeque<f64>,
    interval: VecDeque<f64>,
    last_start: Option<Instant>,
    /// Whether the overlay is shown.
    pub overlay: bool,
}

impl FrameStats {
    /// Records one frame that started at `started`: UI build time and eframe's CPU time of
    /// the previous frame; the time since the previous frame started is the frame interval.
    pub fn record(&mut self, started: Instant, ui: Duration, cpu_s: Option<f32>) {
        if let Some(last) = self.last_start.replace(started) {
            push(
                &mut self.interval,
                started.duration_since(last).as_secs_f64() * 1e3,
            );
        }
        push(&mut self.ui, ui.as_secs_f64() * 1e3);
        if let Some(c) = cpu_s.filter(|c| c.is_finite() && *c > 0.0) {
            push(&mut self.cpu, f64::from(c) * 1e3);
        }
    }

    /// Forgets everything measured so far.
    pub fn clear(&mut self) {
        self.ui.clear();
        self.cpu.clear();
        self.interval.clear();
        self.last_start = None;
    }

    /// Percentiles of the time from one frame's start to the next (rendering and presenting
    /// included, and idle time when nothing asks for a repaint).
    pub fn intervals(&self) -> Percentiles {
        percentiles(self.interval.iter().copied())
    }

    /// Percentiles of the UI build time.
    pub fn ui_times(&self) -> Percentiles {
        percentiles(self.ui.iter().copied())
    }

    /// Percentiles of the whole frame's CPU time.
    pub fn cpu_times(&self) -> Percentiles {
        percentiles(self.cpu.iter().copied())
    }
}

fn push(q: &mut VecDeque<f64>, v: f64) {
    if q.len() == KEEP {
        q.pop_front();
    }
    q.push_back(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        // 1..=100 ms: p50 = 50, p95 = 95, max = 100 (nearest-rank definition).
        let p = percentiles((1..=100).map(f64::from));
        assert_eq!(
            (p.count, p.p50_ms, p.p95_ms, p.max_ms),
            (100, 50.0, 95.0, 100.0)
        );
        let p = percentiles([3.0, 1.0, 2.0].into_iter());
        assert_eq!((p.p50_ms, p.p95_ms), (2.0, 3.0));
        assert_eq!(percentiles(std::iter::empty()), Percentiles::default());
    }
}
