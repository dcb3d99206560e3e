//! The tile loop shared by the reduced-precision kernels.
//!
//! Both formats pack a weight matrix once into panels of [`NR`] columns of 32-bit words (two
//! bf16 or four int8 values of the inner dimension per word), pack a block of activation rows on
//! each call, run an [`MR`] × [`NR`] register tile over the whole inner dimension, and turn each
//! row of the tile into f32 values that the caller's epilogue (bias, GELU, residual) finishes
//! while they are still in cache. [`TileFormat`] is what differs between the formats.

use super::split_rows;

/// Columns of a packed panel (two 16-lane vectors).
pub const NR: usize = 32;
/// Rows of a register tile.
pub const MR: usize = 12;
/// Rows whose packed activations are reused across all panels before moving on (fits L2).
const ROW_BLOCK: usize = 8 * MR;

/// A weight matrix `[k, n]` packed into panels of [`NR`] columns: each panel holds
/// `k.div_ceil(per_word)` rows of [`NR`] words, a word carrying `per_word` values of the inner
/// dimension of one column.
#[derive(Debug, Clone)]
pub struct Panels {
    k: usize,
    n: usize,
    words: Vec<u32>,
}

impl Panels {
    /// Packs `word(p, col)` (the `p`-th word of column `col`; `col` may lie past `n` in the last
    /// panel, where the word must stand for zeros) for every panel, word row and column.
    pub(super) fn pack(
        k: usize,
        n: usize,
        per_word: usize,
        word: impl Fn(usize, usize) -> u32,
    ) -> Self {
        let rows = k.div_ceil(per_word);
        let mut words = vec![0u32; n.div_ceil(NR) * rows * NR];
        for (panel, out) in words.chunks_exact_mut(rows * NR).enumerate() {
            for (p, row) in out.chunks_exact_mut(NR).enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    *v = word(p, panel * NR + c);
                }
            }
        }
        Panels { k, n, words }
    }

    /// Inner dimension.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Output columns.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// Weights packed in one reduced-precision format, with that format's way of packing
/// activations, multiplying a tile and turning its sums into f32 values.
pub(super) trait TileFormat: Sync {
    /// The register tile's sums (f32 for bf16, i32 for int8).
    type Acc: Copy + Default;
    /// Values of the inner dimension in one packed word.
    const PER_WORD: usize;
    /// A packed activation word that stands for zeros (rows padded to whole tiles).
    const ZERO_WORD: u32;

    /// Whether this CPU runs the format's kernel.
    fn available() -> bool;
    /// The packed weights.
    fn panels(&self) -> &Panels;
    /// Packs one row of activations into `dst`; returns the row's scale (1 where the format
    /// has none).
    fn pack_row(src: &[f32], dst: &mut [u32]) -> f32;
    /// One tile: `a` holds [`MR`] packed rows of `words` words, `b` one panel.
    fn tile(a: &[u32], b: &[u32], words: usize, tile: &mut [[Self::Acc; NR]; MR]);
    /// One row of a finished tile as the f32 values of columns `col0 .. col0 + out.len()`.
    fn finish(&self, sums: &[Self::Acc; NR], row_scale: f32, col0: usize, out: &mut [f32]);
    /// [`run_rows`] compiled with the format's CPU features enabled, so that the packing, the
    /// conversions and the caller's epilogue are vectorised 16 lanes wide as well. Only called
    /// once the CPU was found to have them.
    fn run_rows_fast<E>(&self, a: &[f32], rows: usize, row0: usize, out: &mut [f32], epilogue: &E)
    where
        E: Fn(usize, usize, &mut [f32]) + Sync;
}

/// `out[m, n] = a[m, k] · W` (≈ for int8), then `epilogue(row, col0, values)` on every run of
/// up to [`NR`] finished values of a row (`values[j]` is column `col0 + j`); rows are split
/// across candle's thread count. Returns `false` (leaving `out` untouched) when the CPU lacks
/// the format's instructions.
pub(super) fn matmul<F, E>(a: &[f32], m: usize, w: &F, out: &mut [f32], epilogue: &E) -> bool
where
    F: TileFormat,
    E: Fn(usize, usize, &mut [f32]) + Sync,
{
    let (k, n) = (w.panels().k, w.panels().n);
    assert_eq!(a.len(), m * k, "matmul: activations of the wrong size");
    assert_eq!(out.len(), m * n, "matmul: output of the wrong size");
    if !F::available() {
        return false;
    }
    split_rows(out, m, n, MR, |row0, rows, out_rows| {
        let a_rows = &a[row0 * k..(row0 + rows) * k];
        w.run_rows_fast(a_rows, rows, row0, out_rows, epilogue);
    });
    true
}

/// The work of one thread: rows `row0 .. row0 + rows` of the product.
#[inline(always)]
pub(super) fn run_rows<F, E>(
    w: &F,
    a: &[f32],
    rows: usize,
    row0: usize,
    out: &mut [f32],
    epilogue: &E,
) where
    F: TileFormat,
    E: Fn(usize, usize, &mut [f32]) + Sync,
{
    let (k, n) = (w.panels().k, w.panels().n);
    let words = k.div_ceil(F::PER_WORD);
    let mut packed = Vec::new();
    let mut row_scales = [0f32; ROW_BLOCK];
    let mut tile = [[F::Acc::default(); NR]; MR];
    for block0 in (0..rows).step_by(ROW_BLOCK) {
        let block_rows = ROW_BLOCK.min(rows - block0);
        let tiles = block_rows.div_ceil(MR);
        packed.clear();
        packed.resize(tiles * MR * words, F::ZERO_WORD);
        for (r, dst) in packed.chunks_exact_mut(words).take(block_rows).enumerate() {
            let src = &a[(block0 + r) * k..(block0 + r + 1) * k];
            row_scales[r] = F::pack_row(src, dst);
        }
        for (panel, b) in w.panels().words.chunks_exact(words * NR).enumerate() {
            let col0 = panel * NR;
            let cols = NR.min(n - col0);
            for t in 0..tiles {
                let a_tile = &packed[t * MR * words..(t + 1) * MR * words];
                F::tile(a_tile, b, words, &mut tile);
                for (i, sums) in tile.iter().enumerate() {
                    let r = t * MR + i;
                    let row = block0 + r;
                    if row >= rows {
                        break;
                    }
                    let dst = &mut out[row * n + col0..row * n + col0 + cols];
                    w.finish(sums, row_scales[r], col0, dst);
                    epilogue(row0 + row, col0, dst);
                }
            }
        }
    }
}
