//! The 2-D map of the library: clip vectors → PCA (randomised subspace iteration to at most
//! 50 dimensions, rotated to principal axes) → Barnes–Hut t-SNE (the `bhtsne` crate), started
//! from the first two principal components so the layout is reproducible. Computed as a job
//! and stored per model in the index.

use crate::error::{Error, Result};
use crate::jobs::{JobContext, JobEvent};
use crate::library::Library;
use crate::search::index::dot;

/// Map settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapOptions {
    /// Dimensions kept by PCA before t-SNE.
    pub pca_dims: usize,
    /// t-SNE perplexity (lowered for small libraries).
    pub perplexity: f32,
    /// t-SNE iterations.
    pub epochs: usize,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            pca_dims: 50,
            perplexity: 30.0,
            epochs: 1000,
        }
    }
}

/// Principal-component scores of `n` row vectors of width `dim`: `n × c` row-major, columns in
/// order of decreasing variance, `c = min(dims, n, dim)`.
pub fn pca(data: &[f32], n: usize, dim: usize, dims: usize) -> (Vec<f32>, usize) {
    let c = dims.min(n).min(dim).max(1);
    let mut mean = vec![0f32; dim];
    for row in data.chunks_exact(dim) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, &x)| *m += x / n as f32);
    }
    let x: Vec<f32> = data
        .chunks_exact(dim)
        .flat_map(|row| row.iter().zip(&mean).map(|(a, m)| a - m))
        .collect();
    // Basis columns stored as rows: `basis[j]` is a d-vector.
    let mut rng = crate::model::pos::SplitMix(0x3a9);
    let mut basis: Vec<Vec<f32>> = (0..c)
        .map(|_| (0..dim).map(|_| rng.normal()).collect())
        .collect();
    orthonormalise(&mut basis);
    for _ in 0..4 {
        // basis ← orth(Xᵀ X basis)
        let scores = project_rows(&x, dim, &basis);
        let mut next = vec![vec![0f32; dim]; c];
        for (row, s) in x.chunks_exact(dim).zip(scores.chunks_exact(c)) {
            for (b, &sj) in next.iter_mut().zip(s) {
                b.iter_mut().zip(row).for_each(|(v, &r)| *v += sj * r);
            }
        }
        orthonormalise(&mut next);
        basis = next;
    }
    let scores = project_rows(&x, dim, &basis);
    // Rotate to principal axes: eigenvectors of the c × c scatter of the scores.
    let mut cov = vec![0f64; c * c];
    for s in scores.chunks_exact(c) {
        for i in 0..c {
            for j in 0..c {
                cov[i * c + j] += f64::from(s[i]) * f64::from(s[j]);
            }
        }
    }
    let (values, vectors) = jacobi_eigen(cov, c);
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let mut out = vec![0f32; n * c];
    for (s, o) in scores.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
        for (k, &e) in order.iter().enumerate() {
            o[k] = (0..c)
                .map(|i| f64::from(s[i]) * vectors[i * c + e])
                .sum::<f64>() as f32;
        }
    }
    (out, c)
}

fn project_rows(x: &[f32], dim: usize, basis: &[Vec<f32>]) -> Vec<f32> {
    x.chunks_exact(dim)
        .flat_map(|row| basis.iter().map(move |b| dot(row, b)))
        .collect()
}

fn orthonormalise(vs: &mut [Vec<f32>]) {
    for i in 0..vs.len() {
        for j in 0..i {
            let (done, rest) = vs.split_at_mut(i);
            let p = dot(&rest[0], &done[j]);
            rest[0]
                .iter_mut()
                .zip(&done[j])
                .for_each(|(a, b)| *a -= p * b);
        }
        let norm = dot(&vs[i], &vs[i]).sqrt();
        if norm > 1e-20 {
            vs[i].iter_mut().for_each(|a| *a /= norm);
        }
    }
}

/// Eigen-decomposition of a symmetric `c × c` matrix by cyclic Jacobi rotations: eigenvalues and
/// eigenvectors as columns of a row-major matrix.
fn jacobi_eigen(mut a: Vec<f64>, c: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; c * c];
    (0..c).for_each(|i| v[i * c + i] = 1.0);
    for _ in 0..50 {
        let off: f64 = (0..c)
            .flat_map(|i| (0..c).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * c + j] * a[i * c + j])
            .sum();
        if off < 1e-18 {
            break;
        }
        for p in 0..c {
            for q in p + 1..c {
                let apq = a[p * c + q];
                if apq.abs() < 1e-30 {
                    continue;
                }
                let theta = (a[q * c + q] - a[p * c + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (cs, sn) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..c {
                    let (akp, akq) = (a[k * c + p], a[k * c + q]);
                    a[k * c + p] = cs * akp - sn * akq;
                    a[k * c + q] = sn * akp + cs * akq;
                }
                for k in 0..c {
                    let (apk, aqk) = (a[p * c + k], a[q * c + k]);
                    a[p * c + k] = cs * apk - sn * aqk;
                    a[q * c + k] = sn * apk + cs * aqk;
                }
                for k in 0..c {
                    let (vkp, vkq) = (v[k * c + p], v[k * c + q]);
                    v[k * c + p] = cs * vkp - sn * vkq;
                    v[k * c + q] = sn * vkp + cs * vkq;
                }
            }
        }
    }
    ((0..c).map(|i| a[i * c + i]).collect(), v)
}

/// 2-D positions for `n` vectors of width `dim` (PCA, then t-SNE when there are enough points).
pub fn layout(data: &[f32], n: usize, dim: usize, opts: &MapOptions) -> Result<Vec<[f32; 2]>> {
    if data.len() != n * dim || dim == 0 {
        return Err(Error::InvalidInput(
            "map: vectors do not match their count".into(),
        ));
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let (scores, c) = pca(data, n, dim, opts.pca_dims);
    let first_two = |s: &[f32]| [s[0], s.get(1).copied().unwrap_or(0.0)];
    let perplexity = opts.perplexity.min((n as f32 - 1.0) / 3.0);
    if n < 16 || perplexity < 2.0 {
        return Ok(scores.chunks_exact(c).map(first_two).collect());
    }
    // Start from PCA scaled to a small spread, as t-SNE implementations usually do.
    let sd = (scores.chunks_exact(c).map(|s| s[0] * s[0]).sum::<f32>() / n as f32).sqrt();
    let scale = if sd > 0.0 { 1e-4 / sd } else { 1.0 };
    let init: Vec<f32> = scores
        .chunks_exact(c)
        .flat_map(|s| first_two(s).map(|v| v * scale))
        .collect();
    let rows: Vec<&[f32]> = scores.chunks_exact(c).collect();
    let mut tsne: bhtsne::tSNE<f32, &[f32]> = bhtsne::tSNE::new(&rows);
    tsne.perplexity(perplexity)
        .epochs(opts.epochs)
        .initial_embedding(init)
        .barnes_hut(0.5, |a, b| {
            a.iter()
                .zip(b.iter())
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f32>()
                .sqrt()
        });
    let flat = tsne.embedding();
    Ok(flat.chunks_exact(2).map(|p| [p[0], p[1]]).collect())
}

/// The map job: lays out every analysed file of `model_id` and stores the points.
pub fn compute_map(
    lib: &mut Library,
    model_id: i64,
    dim: usize,
    opts: &MapOptions,
    ctx: &JobContext,
) -> Result<usize> {
    let (ids, data) = clip_vectors(lib, model_id, dim)?;
    lay_out(lib, model_id, dim, opts, ctx, &ids, &data)
}

/// The map job after a scan: lays out the analysed files of `model_id` again unless the stored
/// map holds exactly those files already. `None` when nothing had to be done.
pub fn update_map(
    lib: &mut Library,
    model_id: i64,
    dim: usize,
    opts: &MapOptions,
    ctx: &JobContext,
) -> Result<Option<usize>> {
    let (ids, data) = clip_vectors(lib, model_id, dim)?;
    let mut stored: Vec<i64> = lib.map_points(model_id)?.into_iter().map(|p| p.0).collect();
    stored.sort_unstable();
    let mut current = ids.clone();
    current.sort_unstable();
    if current == stored {
        return Ok(None);
    }
    lay_out(lib, model_id, dim, opts, ctx, &ids, &data).map(Some)
}

/// The ids and normalised clip vectors (row-major) of every file `model_id` analysed.
fn clip_vectors(lib: &Library, model_id: i64, dim: usize) -> Result<(Vec<i64>, Vec<f32>)> {
    let mut ids = Vec::new();
    let mut data = Vec::new();
    lib.for_each_clip(model_id, |c, v| {
        if v.len() == dim {
            ids.push(c.file_id);
            data.extend_from_slice(&super::index::normalised(&v));
        }
    })?;
    Ok((ids, data))
}

fn lay_out(
    lib: &mut Library,
    model_id: i64,
    dim: usize,
    opts: &MapOptions,
    ctx: &JobContext,
    ids: &[i64],
    data: &[f32],
) -> Result<usize> {
    ctx.events
        .send(JobEvent::Note(format!("laying out {} files", ids.len())));
    ctx.control.checkpoint()?;
    let points = layout(data, ids.len(), dim, opts)?;
    ctx.control.checkpoint()?;
    lib.store_map(model_id, ids, &points)?;
    Ok(points.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_finds_the_dominant_direction_and_tsne_separates_clusters() {
        let dim = 12;
        let mut rng = crate::model::pos::SplitMix(3);
        let mut data = Vec::new();
        for i in 0..60 {
            let centre = if i < 30 { 5.0 } else { -5.0 };
            for d in 0..dim {
                data.push(if d == 3 { centre } else { 0.0 } + rng.normal() * 0.3);
            }
        }
        let (scores, c) = pca(&data, 60, dim, 4);
        assert_eq!(c, 4);
        assert!(
            scores
                .chunks_exact(c)
                .take(30)
                .all(|s| s[0].signum() == scores[0].signum())
        );
        assert!(
            scores
                .chunks_exact(c)
                .skip(30)
                .all(|s| s[0].signum() != scores[0].signum())
        );
        let pts = layout(
            &data,
            60,
            dim,
            &MapOptions {
                epochs: 300,
                ..MapOptions::default()
            },
        )
        .unwrap();
        let centre = |r: std::ops::Range<usize>| {
            let n = r.len() as f32;
            r.fold([0f32; 2], |a, i| {
                [a[0] + pts[i][0] / n, a[1] + pts[i][1] / n]
            })
        };
        let (a, b) = (centre(0..30), centre(30..60));
        let d = |p: [f32; 2], c: [f32; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
        let misplaced = (0..60)
            .filter(|&i| {
                let (own, other) = if i < 30 { (a, b) } else { (b, a) };
                d(pts[i], own) >= d(pts[i], other)
            })
            .count();
        assert_eq!(misplaced, 0, "points nearer the other cluster's centre");
    }
}
