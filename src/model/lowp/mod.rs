//! Reduced-precision matrix products for the encoder on the CPU.
//!
//! [`Precision`] is what the user asks for (`--precision`, the window's setting); [`resolve`]
//! turns it into what this CPU runs: bf16 needs AVX512-BF16 ([`bf16`]), int8 needs AVX512-VNNI
//! ([`int8`]); `auto` takes the fastest precision whose accuracy Earmark measured as good enough
//! and falls back to f32 elsewhere. Only the four linear layers of each block and the patch
//! embedding use it; LayerNorm, softmax, the attention products and every sum stay in f32.

pub mod bf16;
pub mod int8;
pub mod linear;
mod tiles;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, Result};

/// The number format of the encoder's matrix products on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats throughout (the reference).
    F32,
    /// bfloat16 products with f32 accumulation (AVX512-BF16).
    Bf16,
    /// 8-bit integer products (AVX512-VNNI): weights per output column, activations per row.
    Int8,
    /// The fastest precision this CPU runs that keeps Earmark's accuracy bars.
    #[default]
    Auto,
}

impl Precision {
    /// Every choice, in the order menus show them.
    pub const ALL: [Precision; 4] = [
        Precision::Auto,
        Precision::F32,
        Precision::Bf16,
        Precision::Int8,
    ];

    /// The name on the command line and in settings.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
            Precision::Auto => "auto",
        }
    }

    /// Whether this CPU runs it (`auto` and f32 always).
    pub fn supported(self) -> bool {
        match self {
            Precision::F32 | Precision::Auto => true,
            Precision::Bf16 => bf16::available(),
            Precision::Int8 => int8::available(),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown precision {s:?}: choose f32, bf16, int8 or auto"
                ))
            })
    }
}

/// The precision engines take when they load (see [`set_default`]): an index into
/// [`Precision::ALL`], f32 until the command line or the window asks for another (both ask for
/// `auto` unless the user chose), so that the library used on its own stays exact.
static DEFAULT: AtomicU8 = AtomicU8::new(1);

/// Sets the precision every encoder loaded from now on asks for (the command line's
/// `--precision`, the window's setting); engines already loaded keep theirs.
pub fn set_default(precision: Precision) {
    let index = Precision::ALL
        .iter()
        .position(|&p| p == precision)
        .unwrap_or(0);
    DEFAULT.store(index as u8, Ordering::Relaxed);
}

/// The precision set by [`set_default`] (f32 until then).
pub fn default_request() -> Precision {
    Precision::ALL
        .get(usize::from(DEFAULT.load(Ordering::Relaxed)))
        .copied()
        .unwrap_or_default()
}

/// What `auto` picks on this CPU: int8 where AVX512-VNNI runs it (the fastest measured, with
/// embeddings within cosine 0.999 of f32), else bf16 where AVX512-BF16 runs it, else f32.
pub fn auto_choice() -> Precision {
    if int8::available() {
        Precision::Int8
    } else if bf16::available() {
        Precision::Bf16
    } else {
        Precision::F32
    }
}

/// The precision the encoder runs for a request: `auto` becomes [`auto_choice`]; an explicit
/// choice this CPU cannot run is an error that names the missing instructions.
pub fn resolve(requested: Precision) -> Result<Precision> {
    match requested {
        Precision::Auto => Ok(auto_choice()),
        Precision::F32 => Ok(Precision::F32),
        p if p.supported() => Ok(p),
        Precision::Bf16 => Err(Error::InvalidInput(
            "bf16 needs a CPU with AVX512-BF16, which this one lacks: use --precision f32 or auto"
                .into(),
        )),
        _ => Err(Error::InvalidInput(
            "int8 needs a CPU with AVX512-VNNI, which this one lacks: use --precision f32 or auto"
                .into(),
        )),
    }
}

/// `f32` → bfloat16 bits, rounding to nearest even (NaN stays NaN).
#[inline(always)]
pub fn bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    let rounding = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

/// Runs `f(row0, rows, out_rows)` over blocks of whole rows of a `[m, n]` output, each a
/// multiple of `align` rows, on up to candle's thread count (`RAYON_NUM_THREADS`) threads.
pub(crate) fn split_rows(
    out: &mut [f32],
    m: usize,
    n: usize,
    align: usize,
    f: impl Fn(usize, usize, &mut [f32]) + Sync,
) {
    let threads = candle_core::utils::get_num_threads().clamp(1, m.div_ceil(align).max(1));
    if threads == 1 || n == 0 {
        f(0, m, out);
        return;
    }
    let per = m.div_ceil(threads).div_ceil(align) * align;
    std::thread::scope(|s| {
        for (i, block) in out.chunks_mut(per * n).enumerate() {
            let f = &f;
            s.spawn(move || f(i * per, block.len() / n, block));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounding_is_to_nearest_even() {
        assert_eq!(bf16_bits(1.0), 0x3f80);
        // 1 + 2^-8 lies halfway between 1 and the next bf16: ties go to the even mantissa (1.0).
        assert_eq!(bf16_bits(1.0 + 2f32.powi(-8)), 0x3f80);
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        assert_eq!(bf16_bits(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        assert_eq!(bf16_bits(-2.5), 0xc020);
        assert!(f32::from_bits(u32::from(bf16_bits(f32::NAN)) << 16).is_nan());
        assert_eq!(bf16_bits(f32::INFINITY), 0x7f80);
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().ok(), Some(p));
        }
        assert_eq!("BF16".parse::<Precision>().ok(), Some(Precision::Bf16));
        let err = "fp8".parse::<Precision>().err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("f32, bf16, int8 or auto")));
    }

    #[test]
    fn auto_resolves_to_something_this_cpu_runs() {
        let p = resolve(Precision::Auto).ok();
        assert!(p.is_some_and(|p| p != Precision::Auto && p.supported()));
        assert_eq!(resolve(Precision::F32).ok(), Some(Precision::F32));
    }
}
