//! Tag scores over time: exponential smoothing of each hop's probabilities and a bounded
//! timeline of the top tags, oldest first.

use std::collections::VecDeque;

/// Exponential moving average of a head's class probabilities.
///
/// With hop `h` and time constant `τ`, each update is `s ← α p + (1 − α) s` with
/// `α = 1 − exp(−h/τ)`: a step in the input reaches 63 % after `τ` seconds whatever the hop.
/// The first update takes the probabilities as they are; `τ = 0` disables smoothing.
#[derive(Debug, Clone)]
pub struct ScoreSmoother {
    alpha: f32,
    state: Option<Vec<f32>>,
}

impl ScoreSmoother {
    /// A smoother for updates every `hop_s` seconds with time constant `tau_s`.
    pub fn new(hop_s: f32, tau_s: f32) -> Self {
        let alpha = if tau_s <= 0.0 {
            1.0
        } else {
            1.0 - (-f64::from(hop_s) / f64::from(tau_s)).exp() as f32
        };
        ScoreSmoother { alpha, state: None }
    }

    /// The weight of the newest probabilities.
    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// Folds in one hop's probabilities; returns the smoothed scores.
    pub fn update(&mut self, probs: &[f32]) -> &[f32] {
        let alpha = self.alpha;
        let state = self.state.get_or_insert_with(|| probs.to_vec());
        if state.len() != probs.len() {
            *state = probs.to_vec();
        }
        for (s, &p) in state.iter_mut().zip(probs) {
            *s = alpha * p + (1.0 - alpha) * *s;
        }
        state
    }

    /// Forgets the past (after a gap in the audio).
    pub fn reset(&mut self) {
        self.state = None;
    }
}

/// One class's score at one hop.
#[derive(Debug, Clone, PartialEq)]
pub struct TagScore {
    /// Class index in the head's vocabulary.
    pub class: usize,
    /// The class label.
    pub label: String,
    /// Smoothed score.
    pub score: f32,
    /// This hop's probability before smoothing.
    pub raw: f32,
}

/// The top tags of one head at one hop.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// Stream position (16 kHz samples since the session started) of the window's end.
    pub end_sample: u64,
    /// Index of the head in the session's configuration.
    pub head: usize,
    /// The top tags, highest smoothed score first.
    pub tags: Vec<TagScore>,
}

/// The most recent timeline entries, at most `capacity`.
#[derive(Debug, Clone)]
pub struct Timeline {
    entries: VecDeque<TimelineEntry>,
    capacity: usize,
}

impl Timeline {
    /// An empty timeline keeping `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Timeline {
            entries: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
        }
    }

    /// Appends an entry, forgetting the oldest beyond the capacity.
    pub fn push(&mut self, entry: TimelineEntry) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> Vec<TimelineEntry> {
        self.entries.iter().cloned().collect()
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_follows_the_closed_form() {
        // hop 0.5 s, τ 1 s: α = 1 − e^−0.5 = 0.393469.
        let mut s = ScoreSmoother::new(0.5, 1.0);
        assert!((s.alpha() - 0.393_469).abs() < 1e-6);
        assert_eq!(s.update(&[1.0, 0.0]), &[1.0, 0.0]);
        // A step to [0, 1]: after n hops the old class holds e^(−0.5 n).
        for n in 1..=4 {
            let got = s.update(&[0.0, 1.0]).to_vec();
            let want = (-0.5f32 * n as f32).exp();
            assert!((got[0] - want).abs() < 1e-5, "hop {n}: {got:?}");
            assert!((got[0] + got[1] - 1.0).abs() < 1e-6);
        }
        s.reset();
        assert_eq!(s.update(&[0.25, 0.75]), &[0.25, 0.75]);
    }

    #[test]
    fn zero_time_constant_passes_scores_through() {
        let mut s = ScoreSmoother::new(0.5, 0.0);
        s.update(&[1.0]);
        assert_eq!(s.update(&[0.2]), &[0.2]);
    }

    #[test]
    fn the_timeline_keeps_the_newest_entries() {
        let mut t = Timeline::new(3);
        for i in 0..5u64 {
            t.push(TimelineEntry {
                end_sample: i,
                head: 0,
                tags: Vec::new(),
            });
        }
        let ends: Vec<u64> = t.entries().iter().map(|e| e.end_sample).collect();
        assert_eq!(ends, [2, 3, 4]);
    }
}
