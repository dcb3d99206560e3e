//! The Live tab's tag timeline: the top tags of every hop over the last minute, and which
//! labels get a row (the ones that scored most in that minute).

use std::collections::{HashMap, VecDeque};

use crate::audio::MODEL_SAMPLE_RATE;
use crate::live::TagScore;

/// Seconds of history the timeline shows.
pub const TIMELINE_S: f32 = 60.0;

/// Rows (labels) the timeline draws at most.
pub const TIMELINE_ROWS: usize = 8;

/// The top tags of one source (a head, or the personal tags) at one hop.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinePoint {
    /// Stream position (16 kHz samples since listening started) of the window's end.
    pub end_sample: u64,
    /// The head's name, or "personal".
    pub source: String,
    /// The tags, highest score first.
    pub tags: Vec<TagScore>,
}

/// The last minute of tags.
#[derive(Debug, Clone, Default)]
pub struct TagTimeline {
    points: VecDeque<TimelinePoint>,
}

impl TagTimeline {
    /// Adds a hop's tags and forgets what is older than [`TIMELINE_S`] before it.
    pub fn push(&mut self, point: TimelinePoint) {
        let horizon = seconds_to_samples(TIMELINE_S);
        let newest = point.end_sample;
        self.points.push_back(point);
        while self
            .points
            .front()
            .is_some_and(|p| p.end_sample + horizon < newest)
        {
            self.points.pop_front();
        }
    }

    /// Everything held, oldest first.
    pub fn points(&self) -> impl Iterator<Item = &TimelinePoint> {
        self.points.iter()
    }

    /// Hops held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Forgets everything (a new session).
    pub fn clear(&mut self) {
        self.points.clear();
    }

    /// The labels that get a row: the [`TIMELINE_ROWS`] with the largest summed score, largest
    /// first (ties by name, so the order does not flicker).
    pub fn rows(&self) -> Vec<String> {
        let mut sums: HashMap<&str, f32> = HashMap::new();
        for p in &self.points {
            for t in &p.tags {
                *sums.entry(t.label.as_str()).or_default() += t.score;
            }
        }
        let mut ranked: Vec<(&str, f32)> = sums.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ranked
            .into_iter()
            .take(TIMELINE_ROWS)
            .map(|(l, _)| l.to_string())
            .collect()
    }
}

/// 16 kHz samples in `s` seconds.
pub fn seconds_to_samples(s: f32) -> u64 {
    (s.max(0.0) * MODEL_SAMPLE_RATE as f32) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(label: &str, score: f32) -> TagScore {
        TagScore {
            class: 0,
            label: label.into(),
            score,
            raw: score,
        }
    }

    #[test]
    fn the_timeline_keeps_one_minute_and_ranks_rows_by_summed_score() {
        let mut t = TagTimeline::default();
        let hop = seconds_to_samples(0.5);
        for i in 0..200u64 {
            let tags = if i < 100 {
                vec![tag("rain", 0.9), tag("wind", 0.1)]
            } else {
                vec![tag("wind", 0.6), tag("bird", 0.3)]
            };
            t.push(TimelinePoint {
                end_sample: 32_000 + i * hop,
                source: "probe".into(),
                tags,
            });
        }
        // 60 s at 0.5 s per hop: the newest 121 hops (both ends inside the minute).
        assert_eq!(t.len(), 121);
        let first = t.points().next().unwrap().end_sample;
        assert_eq!(first, 32_000 + 79 * hop);
        // In that minute: rain 21 × 0.9 = 18.9, wind 21 × 0.1 + 100 × 0.6 = 62.1, bird 30.
        assert_eq!(t.rows(), ["wind", "bird", "rain"]);
        t.clear();
        assert!(t.is_empty() && t.rows().is_empty());
    }
}
