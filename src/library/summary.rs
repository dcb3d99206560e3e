//! What the index keeps of a file's encoder output: the clip vector (the time-mean of the last
//! layer) and ~1 s segment embeddings (means of up to [`STEPS_PER_SEGMENT`] consecutive patch
//! columns, reduced to the model's segment width).
//!
//! [`FileSummary`] builds both from columns as they come out of the encoder, so a file of any
//! length is summarised without holding its encoder output; [`segment_means`] and [`summarise`]
//! do the same over in-memory [`Embeddings`], with identical results.

use std::sync::Arc;

use crate::library::model_id::project;
use crate::library::vectors::Segments;
use crate::model::Embeddings;

/// Patch columns averaged into one segment (6 × 160 ms = 0.96 s).
pub const STEPS_PER_SEGMENT: usize = 6;

/// The streamed clip vector and segments of one file.
pub struct FileSummary {
    /// Running sums of the clip vector, in column order.
    clip: Vec<f64>,
    columns: usize,
    /// The segment being filled: its sum, first and last column times, columns in it.
    segment: Vec<f32>,
    first: f32,
    last: f32,
    in_segment: usize,
    /// Time of the first column, and the column spacing (the difference of the first two
    /// column times).
    t0: f32,
    hop: Option<f32>,
    projection: Option<(Arc<[f32]>, usize)>,
    reduced: Vec<f32>,
    full: Option<Segments>,
    kept: Segments,
}

impl FileSummary {
    /// A summary of `dim`-wide columns; `projection` (`dim × out` row-major, with its `out`)
    /// reduces the segments; `keep_full` also keeps them at full width.
    pub fn new(dim: usize, projection: Option<(Arc<[f32]>, usize)>, keep_full: bool) -> Self {
        let out = projection.as_ref().map_or(dim, |(_, o)| *o);
        let segments = |dim| Segments {
            starts: Vec::new(),
            dim,
            vectors: Vec::new(),
        };
        FileSummary {
            clip: vec![0.0; dim],
            columns: 0,
            segment: vec![0.0; dim],
            first: 0.0,
            last: 0.0,
            in_segment: 0,
            t0: 0.0,
            hop: None,
            reduced: vec![0.0; out],
            full: (keep_full && projection.is_some()).then(|| segments(dim)),
            projection,
            kept: segments(out),
        }
    }

    /// Adds the next column (start time `time`, `dim` values).
    pub fn push(&mut self, time: f32, column: &[f32]) {
        for (a, &v) in self.clip.iter_mut().zip(column) {
            *a += f64::from(v);
        }
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
        match &self.projection {
            Some((matrix, _)) => {
                project(&self.segment, matrix, &mut self.reduced);
                self.kept.vectors.extend_from_slice(&self.reduced);
                if let Some(full) = &mut self.full {
                    full.vectors.extend_from_slice(&self.segment);
                    full.starts.push(self.first);
                }
            }
            None => self.kept.vectors.extend_from_slice(&self.segment),
        }
        self.kept.starts.push(self.first);
        self.segment.iter_mut().for_each(|m| *m = 0.0);
        self.in_segment = 0;
    }

    /// Columns seen.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// The clip vector, the (reduced) segments and, when kept, the full-width segments.
    pub fn finish(mut self) -> (Vec<f32>, Segments, Option<Segments>) {
        if self.in_segment > 0 {
            self.close_segment();
        }
        let n = self.columns.max(1) as f64;
        let clip = self.clip.iter().map(|a| (a / n) as f32).collect();
        (clip, self.kept, self.full)
    }
}

/// Segment means of one file's unpooled last-layer embeddings, at full width: groups of up to
/// [`STEPS_PER_SEGMENT`] consecutive columns (a segment never spans a gap between windows).
pub fn segment_means(emb: &Embeddings, column_times: &[f32]) -> Segments {
    let slot = emb.num_layers() - 1;
    let steps = emb.steps.min(column_times.len());
    let mut summary = FileSummary::new(emb.dim, None, false);
    for (k, &time) in column_times.iter().enumerate().take(steps) {
        summary.push(time, emb.step(slot, k));
    }
    summary.finish().1
}

/// Reduces full-width segments through `projection` (`dim × out` row-major) to `segment_dim`.
pub fn reduce_segments(full: &Segments, projection: &[f32], segment_dim: usize) -> Segments {
    let mut reduced = vec![0f32; segment_dim];
    let mut out = Segments {
        starts: full.starts.clone(),
        dim: segment_dim,
        vectors: Vec::with_capacity(full.len() * segment_dim),
    };
    for i in 0..full.len() {
        project(full.vector(i), projection, &mut reduced);
        out.vectors.extend_from_slice(&reduced);
    }
    out
}

/// The clip vector and reduced segments of one file's unpooled last-layer embeddings.
///
/// `projection` (`dim × out` row-major) reduces segment vectors when the model is wide.
pub fn summarise(
    emb: &Embeddings,
    column_times: &[f32],
    projection: Option<&[f32]>,
    segment_dim: usize,
) -> (Vec<f32>, Segments) {
    let clip = emb.clip_vector();
    let full = segment_means(emb, column_times);
    match projection {
        Some(p) => (clip, reduce_segments(&full, p, segment_dim)),
        None => (clip, full),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_group_six_columns_and_respect_window_gaps() {
        let dim = 2;
        let steps = 14;
        let data: Vec<f32> = (0..steps * dim).map(|i| i as f32).collect();
        let emb = Embeddings {
            layer_ids: vec![0],
            steps,
            dim,
            pooled: false,
            data,
        };
        // Two windows of 7 columns, far apart in time.
        let mut times: Vec<f32> = (0..7).map(|c| c as f32 * 0.16).collect();
        times.extend((0..7).map(|c| 100.0 + c as f32 * 0.16));
        let (clip, seg) = summarise(&emb, &times, None, dim);
        assert_eq!(clip.len(), dim);
        assert_eq!(seg.len(), 4, "6 + 1 columns per window");
        assert_eq!(seg.starts[2], 100.0);
        assert_eq!(seg.vector(1), &[12.0, 13.0]);
    }

    #[test]
    fn streamed_summary_equals_the_in_memory_one() {
        let (dim, steps, out) = (4, 40, 3);
        let data: Vec<f32> = (0..steps * dim).map(|i| (i as f32 * 0.37).sin()).collect();
        let emb = Embeddings {
            layer_ids: vec![0],
            steps,
            dim,
            pooled: false,
            data,
        };
        let times: Vec<f32> = (0..steps)
            .map(|c| (c + c / 17 * 40) as f32 * 0.16)
            .collect();
        let matrix: Vec<f32> = (0..dim * out).map(|i| i as f32 / 7.0 - 0.5).collect();
        let (clip, seg) = summarise(&emb, &times, Some(&matrix), out);
        let mut s = FileSummary::new(dim, Some((matrix.clone().into(), out)), true);
        for (k, &t) in times.iter().enumerate() {
            s.push(t, emb.step(0, k));
        }
        let (clip2, seg2, full) = s.finish();
        assert_eq!(clip, clip2);
        assert_eq!(seg, seg2);
        assert_eq!(full.unwrap(), segment_means(&emb, &times));
    }
}
