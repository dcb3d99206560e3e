//! The fast training path's strided matrix products (through the `gemm` crate) and the way
//! its passes split rows over the threads ([`par_rows`]). Every pass splits its work in a fixed
//! way, so results do not depend on timing.

use rayon::prelude::*;

/// Below this many values a row pass runs on the calling thread.
pub(super) const PAR_MIN: usize = 16 * 1024;

/// A read-only strided matrix view: element `(r, c)` is `data[r·rs + c·cs]`.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The values (the view may skip some).
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A contiguous row-major `[rows, cols]` matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        View {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// The last index the view reads, plus one (0 for an empty view).
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
        }
    }
}

/// The worker threads of the current pool.
pub fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// `dst[m, n] (row stride d_rs) = scale·a·b`, or `+=` when `accumulate`; `par` lets the
/// product use every thread (off inside an already parallel loop).
pub fn matmul(
    dst: &mut [f32],
    d_rs: usize,
    a: View,
    b: View,
    scale: f32,
    accumulate: bool,
    par: bool,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "matmul: inner sizes differ");
    assert!(a.extent() <= a.data.len() && b.extent() <= b.data.len());
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        n <= d_rs && (m - 1) * d_rs + n <= dst.len(),
        "matmul: dst too small"
    );
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * d_rs..r * d_rs + n].fill(0.0);
            }
        }
        return;
    }
    let t = threads();
    if par && t > 1 && m >= 2 * 16 && m * n * k >= 64 * 64 * 64 {
        // Split the rows of the product over the threads (each packs its own panels): this
        // scales better than the product's own threading on the model's mid-sized shapes.
        let per = m.div_ceil(t).next_multiple_of(16).min(m);
        let used = (m - 1) * d_rs + n;
        dst[..used]
            .par_chunks_mut(per * d_rs)
            .enumerate()
            .for_each(|(i, block)| {
                let r0 = i * per;
                let rows = per.min(m - r0);
                let a = View {
                    data: &a.data[r0 * a.rs..],
                    rows,
                    ..a
                };
                matmul_serial(block, d_rs, a, b, scale, accumulate);
            });
        return;
    }
    matmul_serial(dst, d_rs, a, b, scale, accumulate);
}

/// [`matmul`] on the calling thread (sizes already checked).
fn matmul_serial(dst: &mut [f32], d_rs: usize, a: View, b: View, scale: f32, accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(a.extent() <= a.data.len() && b.extent() <= b.data.len());
    assert!((m - 1) * d_rs + n <= dst.len(), "matmul: dst too small");
    // SAFETY: the asserts above prove that every index the product reads (`a`, `b`: up to
    // `extent`) and writes (`dst`: rows `0..m` of `n` values at stride `d_rs`) lies inside the
    // slices, which are f32 and outlive the call; `dst` is borrowed mutably, so it overlaps
    // neither input.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            d_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Rows per block so that `rows` split into a few blocks per thread.
pub(super) fn block_rows(rows: usize, cols: usize) -> usize {
    if rows * cols < PAR_MIN {
        return rows.max(1);
    }
    rows.div_ceil(threads() * 4).max(1)
}

/// Runs `f(first_row, block)` over blocks of whole rows of `data` (`cols` values a row).
pub fn par_rows(data: &mut [f32], cols: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let cols = cols.max(1);
    let per = block_rows(data.len() / cols, cols);
    data.par_chunks_mut(per * cols)
        .enumerate()
        .for_each(|(i, block)| f(i * per, block));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_products_match_a_plain_loop() {
        let a: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect(); // [3, 4]
        let b: Vec<f32> = (0..8).map(|i| 1.0 - i as f32 * 0.25).collect(); // [2, 4]
        let mut c = vec![1.0f32; 6];
        // c[3,2] += 2·a·bᵀ
        matmul(
            &mut c,
            2,
            View::rows(&a, 3, 4),
            View::rows(&b, 2, 4).t(),
            2.0,
            true,
            true,
        );
        for i in 0..3 {
            for j in 0..2 {
                let want: f32 =
                    1.0 + 2.0 * (0..4).map(|k| a[i * 4 + k] * b[j * 4 + k]).sum::<f32>();
                assert!((c[i * 2 + j] - want).abs() < 1e-5, "{i},{j}");
            }
        }
    }

    #[test]
    fn products_split_over_threads_equal_one_product() {
        let (m, k, n) = (150, 70, 90);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 13) % 17) as f32 * 0.1 - 0.8)
            .collect();
        let b: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7) % 11) as f32 * 0.2 - 1.0)
            .collect();
        for transposed in [false, true] {
            let av = if transposed {
                View::rows(&a, k, m).t()
            } else {
                View::rows(&a, m, k)
            };
            let bv = View::rows(&b, n, k).t();
            let mut one = vec![0.5f32; m * n];
            let mut split = one.clone();
            matmul_serial(&mut one, n, av, bv, 0.5, true);
            matmul(&mut split, n, av, bv, 0.5, true, true);
            assert_eq!(one, split, "transposed lhs: {transposed}");
        }
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// Prints the matrix products' speed (`cargo test --release --lib fast::kernels::speed -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn product_speed() {
        for (m, k, n) in [
            (1072, 384, 1536),
            (464, 384, 1152),
            (1528, 256, 1024),
            (6112, 512, 2048),
        ] {
            let a = vec![0.5f32; m * k];
            let w = vec![0.25f32; n * k];
            let mut c = vec![0.0f32; m * n];
            for (what, b) in [
                ("x·wᵀ", View::rows(&w, n, k).t()),
                ("x·w", View::rows(&w, k, n)),
            ] {
                for par in [false, true] {
                    let t = std::time::Instant::now();
                    for _ in 0..10 {
                        matmul(&mut c, n, View::rows(&a, m, k), b, 1.0, false, par);
                    }
                    let dt = t.elapsed().as_secs_f64() / 10.0;
                    println!(
                        "{m}x{k}x{n} {what} par={par}: {:.1} GFLOP/s",
                        2.0 * (m * k * n) as f64 / dt / 1e9
                    );
                }
            }
        }
    }
}
