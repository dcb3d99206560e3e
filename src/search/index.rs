//! Exact cosine top-k over clip embeddings.
//!
//! Vectors are normalised once at load and held as f16 (what the index stores, so nothing is
//! lost against the database and memory bandwidth halves). A query scans every vector in
//! parallel blocks: each block converts to f32 into a small buffer and takes dot products with
//! eight independent accumulators, a loop the compiler vectorises; a bounded heap per block keeps
//! the best `k`, and the blocks' heaps are merged.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::query::Candidate;

/// Vectors scored per parallel block.
const BLOCK: usize = 1024;

/// Which files may appear in results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only files under this folder (path prefix).
    pub folder: Option<String>,
    /// Only these file ids (from a tag filter).
    pub only_ids: Option<HashSet<i64>>,
    /// Shortest duration in seconds.
    pub min_duration_s: Option<f64>,
    /// Longest duration in seconds.
    pub max_duration_s: Option<f64>,
    /// Leave out files with this content fingerprint (the query and its exact duplicates).
    pub exclude_fingerprint: Option<String>,
}

impl Filter {
    /// Whether `c` passes.
    pub fn accepts(&self, c: &Candidate) -> bool {
        let under = |folder: &String| {
            let f = folder.trim_end_matches('/');
            c.path.len() > f.len() && c.path.starts_with(f) && c.path.as_bytes()[f.len()] == b'/'
        };
        self.folder.as_ref().is_none_or(under)
            && self
                .only_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&c.file_id))
            && self.min_duration_s.is_none_or(|m| c.duration_s >= m)
            && self.max_duration_s.is_none_or(|m| c.duration_s <= m)
            && self
                .exclude_fingerprint
                .as_ref()
                .is_none_or(|fp| *fp != c.fingerprint)
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The file.
    pub candidate: Candidate,
    /// Cosine similarity with the query.
    pub score: f32,
}

/// All clip vectors of one model, normalised, in memory.
#[derive(Debug, Clone, Default)]
pub struct ClipIndex {
    dim: usize,
    candidates: Vec<Candidate>,
    vectors: Vec<f16>,
}

#[derive(PartialEq)]
struct Scored(f32, usize);
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    /// Reversed, so a `BinaryHeap` is a min-heap on the score (ties: the lower index wins).
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

/// Dot product with eight accumulators (vectorised by the compiler).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `v` scaled to unit length (zero vectors stay zero).
pub fn normalised(v: &[f32]) -> Vec<f32> {
    let n = dot(v, v).sqrt();
    if n > 0.0 {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

impl ClipIndex {
    /// An empty index of `dim`-wide vectors.
    pub fn new(dim: usize) -> Self {
        ClipIndex {
            dim,
            ..Self::default()
        }
    }

    /// Every analysed file of `model_id`.
    pub fn load(lib: &Library, model_id: i64, dim: usize) -> Result<Self> {
        let mut index = Self::new(dim);
        let mut bad = None;
        lib.for_each_clip(model_id, |c, v| {
            if let Err(e) = index.push(c, &v) {
                bad.get_or_insert(e);
            }
        })?;
        bad.map_or(Ok(index), Err)
    }

    /// Adds one vector.
    pub fn push(&mut self, candidate: Candidate, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dim {
            return Err(Error::Library(format!(
                "{}: embedding has {} values, the model's have {}",
                candidate.path,
                vector.len(),
                self.dim
            )));
        }
        self.vectors
            .extend(normalised(vector).iter().map(|&x| f16::from_f32(x)));
        self.candidates.push(candidate);
        Ok(())
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// Width of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The candidate of file `file_id`, if present.
    pub fn candidate(&self, file_id: i64) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.file_id == file_id)
    }

    /// The `k` most similar files to `query` that pass `filter`, best first.
    pub fn top_k(&self, query: &[f32], k: usize, filter: &Filter) -> Result<Vec<Hit>> {
        if query.len() != self.dim {
            return Err(Error::InvalidInput(format!(
                "query has {} values, the index holds {}-d vectors",
                query.len(),
                self.dim
            )));
        }
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let q = normalised(query);
        let dim = self.dim;
        let heaps: Vec<BinaryHeap<Scored>> = self
            .vectors
            .par_chunks(BLOCK * dim)
            .enumerate()
            .map(|(b, block)| {
                let mut heap = BinaryHeap::with_capacity(k + 1);
                let mut buf = vec![0f32; dim];
                for (i, v) in block.chunks_exact(dim).enumerate() {
                    let at = b * BLOCK + i;
                    v.convert_to_f32_slice(&mut buf);
                    let s = dot(&q, &buf);
                    if heap.len() == k && heap.peek().is_some_and(|w: &Scored| s <= w.0) {
                        continue;
                    }
                    if !filter.accepts(&self.candidates[at]) {
                        continue;
                    }
                    heap.push(Scored(s, at));
                    if heap.len() > k {
                        heap.pop();
                    }
                }
                heap
            })
            .collect();
        let mut all: Vec<Scored> = heaps.into_iter().flatten().collect();
        all.sort();
        all.truncate(k);
        Ok(all
            .into_iter()
            .map(|Scored(score, at)| Hit {
                candidate: self.candidates[at].clone(),
                score,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: i64, path: &str, fp: &str, dur: f64) -> Candidate {
        Candidate {
            file_id: id,
            path: path.into(),
            fingerprint: fp.into(),
            duration_s: dur,
        }
    }

    #[test]
    fn top_k_matches_a_sort_and_honours_filters() {
        let dim = 19;
        let mut rng = crate::model::pos::SplitMix(7);
        let mut index = ClipIndex::new(dim);
        let mut all = Vec::new();
        for i in 0..3000 {
            let v: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
            let folder = if i % 2 == 0 { "/a" } else { "/ab" };
            index
                .push(
                    cand(
                        i,
                        &format!("{folder}/{i}.wav"),
                        &format!("fp{}", i % 1500),
                        i as f64,
                    ),
                    &v,
                )
                .unwrap();
            all.push(v);
        }
        let q: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
        let filter = Filter {
            folder: Some("/a".into()),
            exclude_fingerprint: Some("fp0".into()),
            min_duration_s: Some(10.0),
            ..Filter::default()
        };
        let hits = index.top_k(&q, 10, &filter).unwrap();
        let qn = normalised(&q);
        let mut want: Vec<(f32, i64)> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0 && i % 1500 != 0 && *i >= 10)
            .map(|(i, v)| {
                let vn: Vec<f32> = normalised(v)
                    .iter()
                    .map(|&x| f16::from_f32(x).to_f32())
                    .collect();
                (dot(&qn, &vn), i as i64)
            })
            .collect();
        want.sort_by(|a, b| b.0.total_cmp(&a.0));
        let got: Vec<i64> = hits.iter().map(|h| h.candidate.file_id).collect();
        let expect: Vec<i64> = want.iter().take(10).map(|w| w.1).collect();
        assert_eq!(got, expect);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }
}
