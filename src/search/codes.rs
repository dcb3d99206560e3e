//! 8-bit codes of unit vectors, for the first pass of similarity search.
//!
//! Each vector is stored as `round(x / scale)` in `-127..=127` with its own scale
//! (`max |x| / 127`), a quarter of the f32 bytes. The dot product of two code vectors is an exact
//! integer sum, so the first pass reads half the memory of f16 and needs no conversion; on x86-64
//! with AVX2 (detected at run time) it runs on 256-bit registers, elsewhere on the baseline
//! vector instructions. The approximate cosine is `dot(codes) · scale_a · scale_b`; its error is
//! about 1e-4 for 3840-wide vectors, and the index re-ranks the best candidates with the exact
//! values.

/// Codes for `v` written into `out` (cleared first); returns the scale.
pub fn quantise(v: &[f32], out: &mut Vec<i8>) -> f32 {
    out.clear();
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        out.resize(v.len(), 0);
        return 0.0;
    }
    let scale = max / 127.0;
    out.extend(
        v.iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

/// The integer dot product of two code vectors of equal length.
pub fn dot(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `dot_avx2` only needs the AVX2 instructions, which the CPU was just found to have.
        #[allow(unsafe_code)]
        let sum = unsafe { dot_avx2(a, b) };
        return sum;
    }
    dot_portable(a, b)
}

/// Sixteen independent accumulators; products of two codes fit `i16` and their sum over
/// 3840 values fits `i32` (at most 3840 · 127² ≈ 6.2e7), so the compiler uses the
/// multiply-and-add-pairs instruction.
#[inline(always)]
fn dot_portable(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += i32::from(i16::from(x[i]) * i16::from(y[i]));
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// [`dot_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_avx2(a: &[i8], b: &[i8]) -> i32 {
    dot_portable(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_within_half_a_step() {
        let v: Vec<f32> = (0..200).map(|i| ((i as f32) * 0.37).sin() * 0.3).collect();
        let mut c = Vec::new();
        let s = quantise(&v, &mut c);
        assert_eq!(c.len(), v.len());
        assert!(c.iter().any(|&x| x == 127 || x == -127));
        for (x, &q) in v.iter().zip(&c) {
            assert!((x - f32::from(q) * s).abs() <= s / 2.0 + 1e-7);
        }
        let zero = quantise(&[0.0; 5], &mut c);
        assert_eq!((zero, c.as_slice()), (0.0, &[0i8; 5][..]));
    }

    #[test]
    fn dot_equals_the_integer_sum_for_every_length() {
        let mut rng = crate::model::pos::SplitMix(3);
        for len in [0, 1, 15, 16, 17, 100, 3840] {
            let a: Vec<i8> = (0..len).map(|_| (rng.normal() * 60.0) as i8).collect();
            let b: Vec<i8> = (0..len).map(|_| (rng.normal() * 60.0) as i8).collect();
            let want: i64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| i64::from(x) * i64::from(y))
                .sum();
            assert_eq!(i64::from(dot(&a, &b)), want, "length {len}");
            assert_eq!(i64::from(dot_portable(&a, &b)), want, "length {len}");
        }
        let ext = vec![127i8; 3840];
        let neg = vec![-127i8; 3840];
        assert_eq!(dot(&ext, &neg), -3840 * 127 * 127);
    }

    #[test]
    fn approximate_cosine_is_close_to_the_exact_one() {
        let mut rng = crate::model::pos::SplitMix(9);
        let unit = |rng: &mut crate::model::pos::SplitMix| {
            let v: Vec<f32> = (0..3840).map(|_| rng.normal()).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let (a, b) = (unit(&mut rng), unit(&mut rng));
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let (mut ca, mut cb) = (Vec::new(), Vec::new());
        let (sa, sb) = (quantise(&a, &mut ca), quantise(&b, &mut cb));
        let approx = dot(&ca, &cb) as f32 * sa * sb;
        assert!((approx - exact).abs() < 1e-3, "{approx} vs {exact}");
    }
}
