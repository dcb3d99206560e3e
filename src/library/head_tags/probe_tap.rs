//! Probe heads applied to a file's full-width segments as they are produced, during the scan's
//! encoder pass: only each segment's class probabilities are kept, not its full-width vector
//! (a wide model stores reduced segments, which a probe of the model's width cannot read).
//!
//! Segments are those of [`crate::library::summary::FileSummary`]: up to [`STEPS_PER_SEGMENT`]
//! consecutive patch columns, never spanning a gap between windows, averaged in the same order,
//! so the scores equal the head's probabilities of the full-width segment means.

use std::sync::Arc;

use super::{SegmentTags, pick_timeline};
use crate::error::{Error, Result};
use crate::library::summary::STEPS_PER_SEGMENT;
use crate::tags::Head;

/// Per-segment probabilities of each probe for one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeScores {
    /// Segment start times (seconds).
    pub starts: Vec<f32>,
    /// `probs[head][segment][class]`, heads in the order given to [`ProbeTap::new`].
    pub probs: Vec<Vec<Vec<f32>>>,
}

impl ProbeScores {
    /// The timeline of head number `head`, its rows named through `names` (no segments: an
    /// empty timeline, as [`crate::library::tagging::LibraryHead::tag`] gives).
    pub fn timeline(&self, head: usize, names: &[String], rows: usize) -> SegmentTags {
        match self.probs.get(head) {
            Some(probs) if !self.starts.is_empty() => {
                pick_timeline(self.starts.clone(), probs, names, rows)
            }
            _ => SegmentTags::default(),
        }
    }
}

/// Segments columns as they come and scores each closed segment with every probe.
pub struct ProbeTap {
    heads: Arc<[Head]>,
    segment: Vec<f32>,
    in_segment: usize,
    columns: usize,
    first: f32,
    last: f32,
    t0: f32,
    hop: Option<f32>,
    scores: ProbeScores,
    error: Option<Error>,
}

impl ProbeTap {
    /// A tap for `dim`-wide columns scored by `heads` (each takes `dim` inputs).
    pub fn new(dim: usize, heads: Arc<[Head]>) -> Self {
        let probs = vec![Vec::new(); heads.len()];
        ProbeTap {
            heads,
            segment: vec![0.0; dim],
            in_segment: 0,
            columns: 0,
            first: 0.0,
            last: 0.0,
            t0: 0.0,
            hop: None,
            scores: ProbeScores {
                starts: Vec::new(),
                probs,
            },
            error: None,
        }
    }

    /// Adds the next column (start time `time`).
    pub fn push(&mut self, time: f32, column: &[f32]) {
        self.columns += 1;
        match self.columns {
            1 => self.t0 = time,
            2 => self.hop = Some(time - self.t0),
            _ => {}
        }
        let hop = self.hop.unwrap_or(0.16);
        let contiguous = (time - self.last - hop).abs() < 1e-3;
        if self.in_segment > 0 && (self.in_segment == STEPS_PER_SEGMENT || !contiguous) {
            self.close_segment();
        }
        if self.in_segment == 0 {
            self.first = time;
        }
        self.segment
            .iter_mut()
            .zip(column)
            .for_each(|(m, &v)| *m += v);
        self.in_segment += 1;
        self.last = time;
    }

    fn close_segment(&mut self) {
        let n = self.in_segment as f32;
        self.segment.iter_mut().for_each(|m| *m /= n);
        for (head, probs) in self.heads.iter().zip(&mut self.scores.probs) {
            match head.probabilities(&self.segment) {
                Ok(p) => probs.push(p),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
        self.scores.starts.push(self.first);
        self.segment.iter_mut().for_each(|m| *m = 0.0);
        self.in_segment = 0;
    }

    /// The scores of every segment (the first error of a head, if one failed).
    pub fn finish(mut self) -> Result<ProbeScores> {
        if self.in_segment > 0 {
            self.close_segment();
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.scores),
        }
    }
}
