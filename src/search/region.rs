//! Search by a time region: the mean of the query's segment embeddings between two times is
//! compared with every segment of every analysed file; each file scores its best segment, so
//! results say where in the file the match is.

use std::collections::HashMap;

use super::index::{Filter, Hit, dot, normalised};
use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::Segments;

/// A region hit: the file, its best segment's start time and the cosine similarity.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionHit {
    /// The file and score.
    pub hit: Hit,
    /// Start of the best-matching segment, in seconds.
    pub at_s: f32,
}

/// The normalised mean of the segments starting in `[start, end)` (at least the one covering
/// `start`).
pub fn region_query(segments: &Segments, start: f32, end: f32) -> Result<Vec<f32>> {
    if segments.is_empty() {
        return Err(Error::InvalidInput(
            "the file has no segment embeddings".into(),
        ));
    }
    if end <= start {
        return Err(Error::InvalidInput(format!(
            "region end {end} s is not after its start {start} s"
        )));
    }
    let mut chosen: Vec<usize> = (0..segments.len())
        .filter(|&i| segments.starts[i] >= start && segments.starts[i] < end)
        .collect();
    if chosen.is_empty() {
        // The region falls inside one segment (or between analysis windows): nearest one.
        let nearest = (0..segments.len())
            .min_by(|&a, &b| {
                (segments.starts[a] - start)
                    .abs()
                    .total_cmp(&(segments.starts[b] - start).abs())
            })
            .unwrap_or(0);
        chosen.push(nearest);
    }
    let mut mean = vec![0f32; segments.dim];
    for &i in &chosen {
        mean.iter_mut()
            .zip(segments.vector(i))
            .for_each(|(m, v)| *m += v);
    }
    Ok(normalised(&mean))
}

/// The `k` files whose best segment is most similar to `query` (a normalised segment-space
/// vector), among files of `model_id` that pass `filter`.
pub fn region_search(
    lib: &Library,
    model_id: i64,
    query: &[f32],
    k: usize,
    filter: &Filter,
) -> Result<Vec<RegionHit>> {
    let mut best: HashMap<i64, RegionHit> = HashMap::new();
    lib.for_each_segments(
        model_id,
        |c| filter.accepts(c),
        |c, segments| {
            let n = segments.len();
            if n == 0 || segments.vectors.len() != n * query.len() {
                return;
            }
            for (v, &at_s) in segments
                .vectors
                .chunks_exact(query.len())
                .zip(&segments.starts)
            {
                let s = dot(query, &normalised(v));
                let entry = best.entry(c.file_id);
                let better = match &entry {
                    std::collections::hash_map::Entry::Occupied(o) => s > o.get().hit.score,
                    std::collections::hash_map::Entry::Vacant(_) => true,
                };
                if better {
                    let hit = RegionHit {
                        hit: Hit {
                            candidate: c.clone(),
                            score: s,
                        },
                        at_s,
                    };
                    entry.insert_entry(hit);
                }
            }
        },
    )?;
    let mut hits: Vec<RegionHit> = best.into_values().collect();
    hits.sort_by(|a, b| {
        b.hit
            .score
            .total_cmp(&a.hit.score)
            .then(a.hit.candidate.path.cmp(&b.hit.candidate.path))
    });
    hits.truncate(k);
    Ok(hits)
}
