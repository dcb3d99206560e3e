//! Unstructured random masking (spec §7.2 step 2): per sample, the patches are ordered by
//! uniform noise; the first `n_keep` of that order are visible, the rest masked, kept in that
//! order.

use crate::error::{Error, Result};

/// The masking of one batch: per sample, the shuffle order and its inverse.
#[derive(Debug, Clone, PartialEq)]
pub struct Masking {
    /// `argsort(noise)` per sample, `[B][N]`.
    pub ids_shuffle: Vec<Vec<u32>>,
    /// `argsort(ids_shuffle)` per sample, `[B][N]`.
    pub ids_restore: Vec<Vec<u32>>,
    /// Visible patches per sample (the first `n_keep` of `ids_shuffle`).
    pub n_keep: usize,
}

/// `int(n·(1 − ratio))` as the reference computes it in floating point.
pub fn keep_count(n: usize, ratio: f64) -> usize {
    (n as f64 * (1.0 - ratio)) as usize
}

impl Masking {
    /// Builds the masking from per-sample noise `[B][N]` (uniform in `[0, 1)`).
    pub fn from_noise(noise: &[Vec<f32>], ratio: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&ratio) {
            return Err(Error::InvalidInput(format!(
                "mask ratio must be in [0, 1), got {ratio}"
            )));
        }
        let n = noise.first().map_or(0, Vec::len);
        let n_keep = keep_count(n, ratio);
        if n_keep == 0 || n_keep == n {
            return Err(Error::InvalidInput(format!(
                "mask ratio {ratio} leaves {n_keep} of {n} patches visible"
            )));
        }
        let mut ids_shuffle = Vec::with_capacity(noise.len());
        let mut ids_restore = Vec::with_capacity(noise.len());
        for row in noise {
            if row.len() != n {
                return Err(Error::InvalidInput("noise rows differ in length".into()));
            }
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.sort_by(|&a, &b| row[a as usize].total_cmp(&row[b as usize]).then(a.cmp(&b)));
            let mut restore = vec![0u32; n];
            for (pos, &idx) in order.iter().enumerate() {
                restore[idx as usize] = pos as u32;
            }
            ids_shuffle.push(order);
            ids_restore.push(restore);
        }
        Ok(Masking {
            ids_shuffle,
            ids_restore,
            n_keep,
        })
    }

    /// Patches per sample.
    pub fn len(&self) -> usize {
        self.ids_shuffle.first().map_or(0, Vec::len)
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ids_shuffle.is_empty()
    }

    /// Masked patches per sample.
    pub fn n_masked(&self) -> usize {
        self.len() - self.n_keep
    }

    /// Visible patch indices per sample, in shuffle order.
    pub fn visible(&self) -> Vec<&[u32]> {
        self.ids_shuffle.iter().map(|o| &o[..self.n_keep]).collect()
    }

    /// Masked patch indices per sample, in shuffle order.
    pub fn masked(&self) -> Vec<&[u32]> {
        self.ids_shuffle.iter().map(|o| &o[self.n_keep..]).collect()
    }

    /// The binary mask per sample in patch order (1 = masked).
    pub fn mask(&self) -> Vec<Vec<f32>> {
        self.ids_restore
            .iter()
            .map(|r| {
                r.iter()
                    .map(|&p| if (p as usize) < self.n_keep { 0.0 } else { 1.0 })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_grid_keeps_57_of_190() {
        assert_eq!(keep_count(190, 0.7), 57);
    }

    #[test]
    fn order_follows_the_noise() {
        let m = Masking::from_noise(&[vec![0.9, 0.1, 0.5, 0.3]], 0.5).unwrap();
        assert_eq!(m.ids_shuffle[0], vec![1, 3, 2, 0]);
        assert_eq!(m.ids_restore[0], vec![3, 0, 2, 1]);
        assert_eq!(m.visible()[0], &[1, 3]);
        assert_eq!(m.masked()[0], &[2, 0]);
        assert_eq!(m.mask()[0], vec![1.0, 0.0, 1.0, 0.0]);
    }
}
