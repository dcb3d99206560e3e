//! Cosine top-k over clip embeddings.
//!
//! Vectors are normalised once at load and held twice: as f16 (what the index stores, so
//! nothing is lost against the database) and as 8-bit codes ([`super::codes`]). A query runs in
//! two passes:
//! 1. every vector's code is scored against the query's code in parallel blocks (integer dot
//!    products, half the bytes of f16 and no conversion), a bounded heap per block keeping the
//!    best [`candidates`]`(k)` that pass the filter;
//! 2. those candidates are scored again with the exact f16 values and the best `k` returned,
//!    so the scores and their order are exact.
//!
//! A true top-k vector is missed only if code rounding (≈1e-4 in cosine) pushes it below
//! `8k + 64` others; `earmark bench search` measures the recall against [`ClipIndex::exact_top_k`].

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use super::codes;
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
    codes: Vec<i8>,
    scales: Vec<f32>,
}

/// How many first-pass candidates are re-scored exactly for a top-`k` query.
pub fn candidates(k: usize) -> usize {
    k.saturating_mul(8).saturating_add(64)
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
        let unit = normalised(vector);
        let start = self.vectors.len();
        self.vectors.extend(unit.iter().map(|&x| f16::from_f32(x)));
        // Codes of the stored (f16-rounded) values, so both passes see the same vector.
        let stored: Vec<f32> = self.vectors[start..].iter().map(|x| x.to_f32()).collect();
        let mut code = Vec::with_capacity(self.dim);
        self.scales.push(codes::quantise(&stored, &mut code));
        self.codes.extend_from_slice(&code);
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

    /// The `k` most similar files to `query` that pass `filter`, best first: the 8-bit first
    /// pass, then an exact re-rank of its best [`candidates`]`(k)`.
    pub fn top_k(&self, query: &[f32], k: usize, filter: &Filter) -> Result<Vec<Hit>> {
        let Some(q) = self.unit_query(query, k)? else {
            return Ok(Vec::new());
        };
        let mut q_code = Vec::with_capacity(self.dim);
        let q_scale = codes::quantise(&q, &mut q_code);
        let dim = self.dim;
        let keep = candidates(k);
        let first = self.best_in_blocks(&self.codes, keep, filter, |at, v| {
            codes::dot(&q_code, v) as f32 * self.scales[at] * q_scale
        });
        let mut buf = vec![0f32; dim];
        let mut rescored: Vec<Scored> = first
            .into_iter()
            .map(|Scored(_, at)| {
                self.vectors[at * dim..(at + 1) * dim].convert_to_f32_slice(&mut buf);
                Scored(dot(&q, &buf), at)
            })
            .collect();
        rescored.sort();
        rescored.truncate(k);
        Ok(self.hits(rescored))
    }

    /// The same answer as [`Self::top_k`] from the exact f16 values of every vector (the
    /// reference the first pass is measured against; several times slower).
    pub fn exact_top_k(&self, query: &[f32], k: usize, filter: &Filter) -> Result<Vec<Hit>> {
        let Some(q) = self.unit_query(query, k)? else {
            return Ok(Vec::new());
        };
        let best = self.best_in_blocks(&self.vectors, k, filter, |_, v| {
            let mut buf = vec![0f32; v.len()];
            v.convert_to_f32_slice(&mut buf);
            dot(&q, &buf)
        });
        Ok(self.hits(best))
    }

    /// The scores of an even sample of at most `max` vectors that pass `filter` (all of them
    /// when there are fewer), from the 8-bit codes (≈1e-4 from the exact cosine): the
    /// distribution a [`super::ScoreScale`] places results in.
    pub fn score_sample(&self, query: &[f32], filter: &Filter, max: usize) -> Result<Vec<f32>> {
        let Some(q) = self.unit_query(query, max)? else {
            return Ok(Vec::new());
        };
        let mut q_code = Vec::with_capacity(self.dim);
        let q_scale = codes::quantise(&q, &mut q_code);
        let stride = self.len().div_ceil(max).max(1);
        Ok((0..self.len())
            .step_by(stride)
            .filter(|&at| filter.accepts(&self.candidates[at]))
            .map(|at| {
                let code = &self.codes[at * self.dim..(at + 1) * self.dim];
                codes::dot(&q_code, code) as f32 * self.scales[at] * q_scale
            })
            .collect())
    }

    /// The normalised query, or `None` when nothing can be returned.
    fn unit_query(&self, query: &[f32], k: usize) -> Result<Option<Vec<f32>>> {
        if query.len() != self.dim {
            return Err(Error::InvalidInput(format!(
                "query has {} values, the index holds {}-d vectors",
                query.len(),
                self.dim
            )));
        }
        if k == 0 || self.is_empty() {
            return Ok(None);
        }
        Ok(Some(normalised(query)))
    }

    /// The `keep` best-scoring vectors of `rows` (one row of `dim` values per candidate) that
    /// pass `filter`, best first; blocks are scored in parallel.
    fn best_in_blocks<T: Sync>(
        &self,
        rows: &[T],
        keep: usize,
        filter: &Filter,
        score: impl Fn(usize, &[T]) -> f32 + Sync,
    ) -> Vec<Scored> {
        let dim = self.dim;
        let heaps: Vec<BinaryHeap<Scored>> = rows
            .par_chunks(BLOCK * dim)
            .enumerate()
            .map(|(b, block)| {
                let mut heap = BinaryHeap::with_capacity(keep + 1);
                for (i, v) in block.chunks_exact(dim).enumerate() {
                    let at = b * BLOCK + i;
                    let s = score(at, v);
                    if heap.len() == keep && heap.peek().is_some_and(|w: &Scored| s <= w.0) {
                        continue;
                    }
                    if !filter.accepts(&self.candidates[at]) {
                        continue;
                    }
                    heap.push(Scored(s, at));
                    if heap.len() > keep {
                        heap.pop();
                    }
                }
                heap
            })
            .collect();
        let mut all: Vec<Scored> = heaps.into_iter().flatten().collect();
        all.sort();
        all.truncate(keep);
        all
    }

    fn hits(&self, best: Vec<Scored>) -> Vec<Hit> {
        best.into_iter()
            .map(|Scored(score, at)| Hit {
                candidate: self.candidates[at].clone(),
                score,
            })
            .collect()
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
        for (h, w) in hits.iter().zip(&want) {
            assert!((h.score - w.0).abs() < 1e-6, "{} vs {}", h.score, w.0);
        }
        let exact = index.exact_top_k(&q, 10, &filter).unwrap();
        assert_eq!(exact, hits);
    }

    #[test]
    fn score_sample_is_an_even_filtered_sample_of_the_exact_scores() {
        let dim = 32;
        let mut rng = crate::model::pos::SplitMix(5);
        let mut index = ClipIndex::new(dim);
        let mut all = Vec::new();
        for i in 0..1000 {
            let v: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
            index
                .push(cand(i, &format!("/x/{i}.wav"), &format!("fp{i}"), 1.0), &v)
                .unwrap();
            all.push(v);
        }
        let q: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
        let every = index.score_sample(&q, &Filter::default(), 5000).unwrap();
        assert_eq!(
            every.len(),
            1000,
            "all of them when there are fewer than asked"
        );
        let qn = normalised(&q);
        for (s, v) in every.iter().zip(&all) {
            assert!((s - dot(&qn, &normalised(v))).abs() < 0.01, "{s}");
        }
        let sample = index.score_sample(&q, &Filter::default(), 100).unwrap();
        assert_eq!(sample.len(), 100);
        assert_eq!(sample[1], every[10], "every tenth");
        let filter = Filter {
            exclude_fingerprint: Some("fp0".into()),
            ..Filter::default()
        };
        assert_eq!(index.score_sample(&q, &filter, 100).unwrap().len(), 99);
        assert!(
            ClipIndex::new(dim)
                .score_sample(&q, &filter, 10)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn near_duplicates_keep_their_exact_order() {
        // Versions of one sound differ by less than the code rounding; the re-rank must still
        // order them by their exact similarity.
        let dim = 768;
        let mut rng = crate::model::pos::SplitMix(11);
        let base: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
        let mut index = ClipIndex::new(dim);
        for i in 0..2000 {
            let noise = if i < 20 { 0.002 * (i + 1) as f32 } else { 3.0 };
            let v: Vec<f32> = base.iter().map(|&b| b + noise * rng.normal()).collect();
            index
                .push(cand(i, &format!("/x/{i}.wav"), &format!("{i}"), 1.0), &v)
                .unwrap();
        }
        let filter = Filter::default();
        let hits = index.top_k(&base, 20, &filter).unwrap();
        let mut ids: Vec<i64> = hits.iter().map(|h| h.candidate.file_id).collect();
        assert_eq!(hits, index.exact_top_k(&base, 20, &filter).unwrap());
        assert!(
            hits[0].score - hits[19].score < 0.002,
            "versions this close"
        );
        ids.sort();
        assert_eq!(ids, (0..20).collect::<Vec<i64>>());
    }
}
