//! The schedules of MATPAC pretraining (spec §7.4–7.7, §8): learning rate, teacher temperature,
//! EMA decays and the MATPAC++ winner-takes-all temperature.
//!
//! The official run has 294,816 updates, a 19,654-update learning-rate warm-up and a 9,827-update
//! teacher-temperature warm-up. A run of another length keeps the same proportions
//! ([`Schedules::scaled`]); [`Schedules::official`] reproduces the reference numbers exactly.

use serde::{Deserialize, Serialize};

/// Updates of the official run.
pub const OFFICIAL_TOTAL: u64 = 294_816;
/// Learning-rate warm-up of the official run.
pub const OFFICIAL_LR_WARMUP: u64 = 19_654;
/// Teacher-temperature warm-up of the official run.
pub const OFFICIAL_TEMP_WARMUP: u64 = 9_827;

/// `start + (end − start)·k/total`, held at `end` from `total` on (the reference's
/// `get_annealed_rate`).
pub fn annealed(start: f64, end: f64, step: u64, total: u64) -> f64 {
    if total == 0 || step >= total {
        return end;
    }
    start + (end - start) * step as f64 / total as f64
}

/// `start·decay^k` (the reference's `get_exp_annealed_rate`).
pub fn exp_annealed(start: f64, decay: f64, step: u64) -> f64 {
    start * decay.powf(step as f64)
}

/// All step-dependent hyper-parameters of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedules {
    /// Updates of the whole run (EMA schedules and the cosine end).
    pub total_steps: u64,
    /// Peak learning rate.
    pub peak_lr: f64,
    /// Updates of the linear learning-rate warm-up from 0.
    pub lr_warmup: u64,
    /// Teacher temperature at step 0.
    pub teacher_temp_start: f64,
    /// Teacher temperature after the warm-up.
    pub teacher_temp_end: f64,
    /// Updates of the linear teacher-temperature warm-up.
    pub teacher_temp_warmup: u64,
    /// Encoder EMA decay at step 0 and at the end.
    pub ema_encoder: (f64, f64),
    /// Classification-head EMA decay at step 0 and at the end.
    pub ema_head: (f64, f64),
    /// MATPAC++ temperature at step 0 and its per-step decay.
    pub mcl_temperature: (f64, f64),
}

impl Schedules {
    /// The official MATPAC run (spec §7).
    pub fn official() -> Self {
        Schedules {
            total_steps: OFFICIAL_TOTAL,
            peak_lr: 3e-4,
            lr_warmup: OFFICIAL_LR_WARMUP,
            teacher_temp_start: 0.04,
            teacher_temp_end: 0.07,
            teacher_temp_warmup: OFFICIAL_TEMP_WARMUP,
            ema_encoder: (0.99995, 0.99999),
            ema_head: (0.998, 1.0),
            mcl_temperature: (0.1, 0.99997),
        }
    }

    /// The official schedules compressed to a run of `total_steps` updates: the warm-ups keep their
    /// share of the run (20/300 and 10/300). Short runs cannot wait for a 0.99995 teacher, so the
    /// encoder EMA starts at `1 − 20/total` (at most the official 0.99995) — the teacher then
    /// follows the student over about 5 % of the run, as the official teacher does over its
    /// 20,000-update horizon.
    pub fn scaled(total_steps: u64, peak_lr: f64) -> Self {
        let official = Self::official();
        let share =
            |n: u64| ((n as f64 / OFFICIAL_TOTAL as f64) * total_steps as f64).round() as u64;
        let start = (1.0 - 20.0 / total_steps.max(1) as f64).clamp(0.9, official.ema_encoder.0);
        Schedules {
            total_steps,
            peak_lr,
            lr_warmup: share(OFFICIAL_LR_WARMUP).max(1),
            teacher_temp_warmup: share(OFFICIAL_TEMP_WARMUP).max(1),
            ema_encoder: (start, official.ema_encoder.1.max(start)),
            ..official
        }
    }

    /// Learning rate of update `k` (0 at k = 0, linear warm-up, then half-cosine to 0).
    pub fn lr(&self, k: u64) -> f64 {
        if k < self.lr_warmup {
            return self.peak_lr * k as f64 / self.lr_warmup as f64;
        }
        let span = self.total_steps.saturating_sub(self.lr_warmup).max(1) as f64;
        let t = ((k - self.lr_warmup) as f64 / span).min(1.0);
        0.5 * self.peak_lr * (1.0 + (std::f64::consts::PI * t).cos())
    }

    /// Teacher temperature of update `k`.
    pub fn teacher_temp(&self, k: u64) -> f64 {
        annealed(
            self.teacher_temp_start,
            self.teacher_temp_end,
            k,
            self.teacher_temp_warmup,
        )
    }

    /// Encoder EMA decay of update `k`.
    pub fn ema_encoder(&self, k: u64) -> f64 {
        annealed(self.ema_encoder.0, self.ema_encoder.1, k, self.total_steps)
    }

    /// Classification-head EMA decay of update `k`.
    pub fn ema_head(&self, k: u64) -> f64 {
        annealed(self.ema_head.0, self.ema_head.1, k, self.total_steps)
    }

    /// MATPAC++ winner-takes-all temperature of update `k`.
    pub fn mcl_temperature(&self, k: u64) -> f64 {
        exp_annealed(self.mcl_temperature.0, self.mcl_temperature.1, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_lr_has_its_warmup_peak_and_end() {
        let s = Schedules::official();
        assert_eq!(s.lr(0), 0.0);
        assert!((s.lr(OFFICIAL_LR_WARMUP / 2) - 1.5e-4).abs() < 1e-8);
        assert!((s.lr(OFFICIAL_LR_WARMUP) - 3e-4).abs() < 1e-12);
        assert!(s.lr(OFFICIAL_TOTAL) < 1e-12);
        // Half-way through the cosine the rate is half the peak.
        let mid = OFFICIAL_LR_WARMUP + (OFFICIAL_TOTAL - OFFICIAL_LR_WARMUP) / 2;
        assert!((s.lr(mid) - 1.5e-4).abs() < 1e-8);
    }

    #[test]
    fn scaled_schedules_keep_the_warmup_share() {
        let s = Schedules::scaled(3000, 5e-4);
        assert_eq!(s.lr_warmup, 200);
        assert_eq!(s.teacher_temp_warmup, 100);
        assert!(s.ema_encoder.0 < 0.9934 && s.ema_encoder.0 > 0.9932);
    }
}
