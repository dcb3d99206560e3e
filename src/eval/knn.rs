//! Leave-one-out k-nearest-neighbour precision under cosine similarity: for every item, the
//! share of its `k` most similar other items that have its label, averaged over items.
//! With fewer than `k` other items, all of them are the neighbours.

use rayon::prelude::*;

use crate::search::index::{dot, normalised};

/// Mean precision@k for each `k` in `ks`. `features` is `n × dim`, row-major.
pub fn knn_precision(features: &[f32], dim: usize, labels: &[usize], ks: &[usize]) -> Vec<f64> {
    let n = labels.len();
    if n < 2 || dim == 0 {
        return vec![0.0; ks.len()];
    }
    let unit: Vec<Vec<f32>> = features.chunks_exact(dim).map(normalised).collect();
    let kmax = ks.iter().copied().max().unwrap_or(1).min(n - 1);
    let per_item: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut sims: Vec<(f32, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (dot(&unit[i], &unit[j]), j))
                .collect();
            // Best first; ties by index so results are reproducible.
            sims.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            sims.truncate(kmax);
            ks.iter()
                .map(|&k| {
                    let k = k.clamp(1, n - 1);
                    let hits = sims[..k]
                        .iter()
                        .filter(|s| labels[s.1] == labels[i])
                        .count();
                    hits as f64 / k as f64
                })
                .collect()
        })
        .collect();
    (0..ks.len())
        .map(|q| per_item.iter().map(|p| p[q]).sum::<f64>() / n as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five 2-D points: class 0 at angles 0°, 10°, 100°; class 1 at 90°, 180°.
    /// Nearest other item (cosine): 0°→10° ✓, 10°→0° ✓, 100°→90° ✗, 90°→100° ✗, 180°→100° ✗:
    /// P@1 = 2/5. Two nearest: 0°{10°,90°} ½, 10°{0°,90°} ½, 100°{90°,180°} 0,
    /// 90°{100°,10°} 0, 180°{100°,90°} ½: P@2 = 1.5/5.
    #[test]
    fn hand_computed_precision() {
        let pts: Vec<f32> = [0f32, 10.0, 100.0, 90.0, 180.0]
            .iter()
            .flat_map(|a| {
                let r = a.to_radians();
                [r.cos(), r.sin()]
            })
            .collect();
        let p = knn_precision(&pts, 2, &[0, 0, 0, 1, 1], &[1, 2, 10]);
        assert!((p[0] - 0.4).abs() < 1e-12, "{p:?}");
        assert!((p[1] - 0.3).abs() < 1e-12, "{p:?}");
        // k = 10 > 4 others: all others; class 0 items see 2 of 4, class 1 items 1 of 4.
        assert!(
            (p[2] - (3.0 * 0.5 + 2.0 * 0.25) / 5.0).abs() < 1e-12,
            "{p:?}"
        );
    }
}
