//! The fixed 2-D sin-cos positional table (spec §3.2) and a small seeded random source.
//!
//! Checkpoints carry the table as `pos_embed`; it is recomputed here only for encoders built
//! without a checkpoint ([`super::Encoder::random`]).

use super::config::EncoderConfig;

/// The positional table `[1 + F·G, D]` flattened: row 0 (CLS) zeros; row `1 + f·G + c` has the
/// time column `c` coded in dims `0..D/2` and the frequency row `f` in dims `D/2..D`, each as a
/// block of sines followed by a block of cosines with `ω_k = 10000^(−k/(D/4))`. Computed in f64.
pub fn sincos_pos_embed(cfg: &EncoderConfig) -> Vec<f32> {
    let d = cfg.embed_dim;
    let (f, g) = (cfg.freq_patches(), cfg.time_patches());
    let half = d / 2;
    let quarter = half / 2;
    let mut out = vec![0.0f32; (1 + f * g) * d];
    let code = |pos: usize, dst: &mut [f32]| {
        for k in 0..quarter {
            let omega = 10000f64.powf(-(k as f64) / quarter as f64);
            let a = pos as f64 * omega;
            dst[k] = a.sin() as f32;
            dst[quarter + k] = a.cos() as f32;
        }
    };
    for fr in 0..f {
        for c in 0..g {
            let row = &mut out[(1 + fr * g + c) * d..(2 + fr * g + c) * d];
            code(c, &mut row[..half]);
            code(fr, &mut row[half..]);
        }
    }
    out
}

/// SplitMix64: a tiny deterministic generator for random test and benchmark weights.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}
