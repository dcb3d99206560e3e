//! Search by a time region: the mean of the query's segment embeddings between two times is
//! compared with every segment of every analysed file; each file scores its best segment, so
//! results say where in the file the match is.

use std::collections::HashMap;

use rusqlite::params;

use super::index::{Filter, Hit, dot, normalised};
use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::Segments;
use crate::library::query::Candidate;
use crate::library::store::f16_values;

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
    let what = |e: rusqlite::Error| Error::Library(format!("region search: {e}"));
    let mut stmt = lib
        .connection()
        .prepare(
            "SELECT f.id, f.path, f.fingerprint, coalesce(f.duration_s, 0), s.starts, s.vectors
             FROM segment_embeddings s JOIN files f ON f.id = s.file_id
             WHERE s.model_id = ?1 AND f.status = 'indexed' AND f.removed_at IS NULL",
        )
        .map_err(what)?;
    let mut rows = stmt.query(params![model_id]).map_err(what)?;
    let mut best: HashMap<i64, RegionHit> = HashMap::new();
    while let Some(r) = rows.next().map_err(what)? {
        let c = Candidate {
            file_id: r.get(0).map_err(what)?,
            path: r.get(1).map_err(what)?,
            fingerprint: r.get(2).map_err(what)?,
            duration_s: r.get(3).map_err(what)?,
        };
        if !filter.accepts(&c) {
            continue;
        }
        let starts: Vec<u8> = r.get(4).map_err(what)?;
        let vectors = f16_values(&r.get::<_, Vec<u8>>(5).map_err(what)?);
        let n = starts.len() / 4;
        if n == 0 || vectors.len() != n * query.len() {
            continue;
        }
        for (i, v) in vectors.chunks_exact(query.len()).enumerate() {
            let s = dot(query, &normalised(v));
            let at_s = f32::from_le_bytes([
                starts[4 * i],
                starts[4 * i + 1],
                starts[4 * i + 2],
                starts[4 * i + 3],
            ]);
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
    }
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
