//! The beat period read from the onset envelope's autocorrelation.
//!
//! [`Autocorrelation`] accumulates `Σ o[n]·o[n−lag]` for every lag up to four beats at the
//! slowest tempo as the envelope streams past (a ring of that many values, nothing more), so
//! an hour of audio needs the same memory as a minute. [`choose`] then scores each tempo on a
//! fine grid by the mean normalised autocovariance at one to four beat periods, takes the best
//! (the slowest of equally periodic levels: any multiple of the beat scores as well as the beat
//! itself), and climbs to twice or three times that tempo while the beats in between are as
//! periodic as the ones kept (octave errors), staying inside [`MIN_BPM`]–[`MAX_BPM`].

use super::{MAX_BPM, MIN_BPM};

/// Beat periods at the slowest tempo covered by the lags.
const BEATS_SPANNED: f64 = 4.0;
/// Step of the tempo grid in BPM.
const GRID_STEP: f64 = 0.05;
/// Share of the kept level's periodicity the beats in between must reach to climb a level.
const CLIMB_RATIO: f64 = 0.5;
/// Least mean normalised autocovariance at the beat period for a tempo to be reported.
const MIN_STRENGTH: f64 = 0.1;
/// Least variance of the onset envelope worth reading: a steady tone's envelope only ripples
/// (its analysis frames catch it at drifting phases, variance ≈0.002, periodic all the same),
/// clicks at −30 dBFS give ≈0.3 and full-scale ones ≈17. The log compression makes this nearly
/// independent of the level above ≈−50 dBFS.
const MIN_VARIANCE: f64 = 0.01;

/// Streaming autocorrelation of the onset envelope over a fixed range of lags.
pub(super) struct Autocorrelation {
    /// `sums[lag] = Σ o[n]·o[n−lag]`.
    sums: Vec<f64>,
    /// The last `sums.len()` values, stored twice so the newest window is one slice.
    ring: Vec<f32>,
    pos: usize,
    total: f64,
    count: u64,
}

impl Autocorrelation {
    /// Lags 0 to four beats at [`MIN_BPM`] for an envelope of `frame_rate` values per second.
    pub(super) fn new(frame_rate: f64) -> Self {
        let max_lag = (BEATS_SPANNED * 60.0 / MIN_BPM * frame_rate).ceil() as usize + 2;
        Autocorrelation {
            sums: vec![0.0; max_lag + 1],
            ring: vec![0.0; 2 * (max_lag + 1)],
            pos: 0,
            total: 0.0,
            count: 0,
        }
    }

    /// Adds one envelope value.
    pub(super) fn push(&mut self, value: f32) {
        let len = self.sums.len();
        self.ring[self.pos] = value;
        self.ring[self.pos + len] = value;
        // ring[pos + len − lag] is the value `lag` steps back (zero before the start).
        let window = &self.ring[self.pos + 1..=self.pos + len];
        let x = f64::from(value);
        for (sum, &past) in self.sums.iter_mut().zip(window.iter().rev()) {
            *sum += x * f64::from(past);
        }
        self.pos = (self.pos + 1) % len;
        self.total += x;
        self.count += 1;
    }

    /// Bytes held in the buffers.
    #[cfg(test)]
    pub(super) fn footprint(&self) -> usize {
        self.sums.capacity() * 8 + self.ring.capacity() * 4
    }

    /// Normalised autocovariance `r[lag]` (`r[0] = 1`), or `None` when there are too few
    /// values (fewer than twice the longest lag) or they hardly vary ([`MIN_VARIANCE`]).
    pub(super) fn normalised(&self) -> Option<Vec<f64>> {
        let n = self.count as usize;
        let max_lag = self.sums.len() - 1;
        if n < 2 * max_lag {
            return None;
        }
        let mean = self.total / n as f64;
        let cov: Vec<f64> = self
            .sums
            .iter()
            .enumerate()
            .map(|(lag, s)| s / (n - lag) as f64 - mean * mean)
            .collect();
        let c0 = cov[0];
        if !(c0.is_finite() && c0 > MIN_VARIANCE) {
            return None;
        }
        Some(cov.iter().map(|c| c / c0).collect())
    }
}

/// `r` at a fractional lag, linearly interpolated; 0 outside the range.
fn at(r: &[f64], lag: f64) -> f64 {
    let i = lag.floor();
    if i < 0.0 || i as usize + 1 >= r.len() {
        return 0.0;
    }
    let i0 = i as usize;
    let t = lag - i;
    r[i0] * (1.0 - t) + r[i0 + 1] * t
}

/// Mean of `r` at the multiples `k·period` for the `k` that `keep` accepts among `1..=count`.
fn comb(r: &[f64], period: f64, count: usize, keep: impl Fn(usize) -> bool) -> f64 {
    let (sum, n) = (1..=count)
        .filter(|&k| keep(k))
        .fold((0.0, 0usize), |(s, n), k| {
            (s + at(r, k as f64 * period), n + 1)
        });
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Period in envelope frames of `bpm`.
fn period(frame_rate: f64, bpm: f64) -> f64 {
    60.0 * frame_rate / bpm
}

/// The tempo in BPM from the normalised autocovariance `r` of an envelope at `frame_rate`
/// values per second; `None` when no tempo stands out.
pub(super) fn choose(r: &[f64], frame_rate: f64) -> Option<f64> {
    let max_lag = (r.len() - 1) as f64;
    let strength = |bpm: f64| comb(r, period(frame_rate, bpm), 4, |_| true);
    let steps = ((MAX_BPM - MIN_BPM) / GRID_STEP).round() as usize;
    let (mut bpm, mut best) = (MIN_BPM, f64::NEG_INFINITY);
    for i in 0..=steps {
        let candidate = MIN_BPM + i as f64 * GRID_STEP;
        let s = strength(candidate);
        if s > best {
            (bpm, best) = (candidate, s);
        }
    }
    if best < MIN_STRENGTH {
        return None;
    }
    // Climb while the beats in between are about as periodic as the level kept.
    loop {
        let level = strength(bpm);
        let climb = [2usize, 3]
            .into_iter()
            .filter(|&m| bpm * m as f64 <= MAX_BPM + GRID_STEP)
            .map(|m| {
                let between = comb(r, period(frame_rate, bpm) / m as f64, 4 * m, |k| k % m != 0);
                (m, between / level)
            })
            .filter(|&(_, ratio)| ratio >= CLIMB_RATIO)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match climb {
            Some((m, _)) => bpm *= m as f64,
            None => break,
        }
    }
    Some(refine(r, frame_rate, bpm, max_lag))
}

/// The tempo near `bpm` (±3 %) whose multiples up to the longest lag line up best with the
/// autocorrelation's peaks: more beats in the comb give a finer estimate.
fn refine(r: &[f64], frame_rate: f64, bpm: f64, max_lag: f64) -> f64 {
    let span = bpm * 0.03;
    let step = 0.01;
    let steps = (2.0 * span / step).round() as usize;
    let mut best = (bpm, f64::NEG_INFINITY);
    for i in 0..=steps {
        let candidate = bpm - span + i as f64 * step;
        let p = period(frame_rate, candidate);
        let count = ((max_lag - 1.0) / p).floor().max(1.0) as usize;
        let s = comb(r, p, count, |_| true);
        if s > best.1 {
            best = (candidate, s);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope of spikes every `beat` seconds (accented every `bar` beats by `accent`).
    fn spikes(frame_rate: f64, bpm: f64, seconds: f64, bar: usize, accent: f32) -> Autocorrelation {
        let mut acf = Autocorrelation::new(frame_rate);
        let frames = (seconds * frame_rate) as usize;
        let beat = 60.0 * frame_rate / bpm;
        let mut next = 0.0;
        let mut index = 0usize;
        for n in 0..frames {
            let v = if n as f64 >= next {
                next += beat;
                index += 1;
                10.0 * if (index - 1).is_multiple_of(bar) {
                    accent
                } else {
                    1.0
                }
            } else {
                0.0
            };
            acf.push(v);
        }
        acf
    }

    #[test]
    fn spikes_give_their_tempo_at_every_level() {
        for bpm in [60.0, 75.0, 90.0, 120.0, 133.0, 150.0, 174.0, 200.0] {
            let acf = spikes(200.0, bpm, 60.0, 1, 1.0);
            let r = acf.normalised().expect("enough frames");
            let got = choose(&r, 200.0).expect("a tempo");
            assert!((got / bpm - 1.0).abs() < 0.01, "{bpm}: {got}");
        }
    }

    #[test]
    fn accents_on_the_downbeat_keep_the_beat() {
        for (bpm, bar) in [(120.0, 4), (96.0, 3), (140.0, 4)] {
            let r = spikes(200.0, bpm, 60.0, bar, 2.0)
                .normalised()
                .expect("frames");
            let got = choose(&r, 200.0).expect("a tempo");
            assert!((got / bpm - 1.0).abs() < 0.01, "{bpm}/{bar}: {got}");
        }
    }

    #[test]
    fn too_few_frames_or_a_flat_envelope_give_nothing() {
        let mut acf = Autocorrelation::new(200.0);
        for _ in 0..100 {
            acf.push(1.0);
        }
        assert!(acf.normalised().is_none());
        for _ in 0..10_000 {
            acf.push(1.0);
        }
        assert!(acf.normalised().is_none());
    }
}
