//! The last seconds heard, at 16 kHz mono: for "find similar" and for saving a snippet as WAV.

use std::path::{Path, PathBuf};

use crate::audio::MODEL_SAMPLE_RATE;
use crate::{Error, Result};

/// A bounded record of the most recent 16 kHz samples and their stream position.
#[derive(Debug, Clone)]
pub struct SampleHistory {
    /// Circular storage; `write` is the next slot written.
    buf: Vec<f32>,
    write: usize,
    /// Samples ever appended (the stream position of the next sample).
    total: u64,
}

impl SampleHistory {
    /// A history holding at most `capacity` samples.
    pub fn new(capacity: usize) -> Self {
        SampleHistory {
            buf: vec![0.0; capacity.max(1)],
            write: 0,
            total: 0,
        }
    }

    /// Appends samples, forgetting the oldest beyond the capacity.
    pub fn extend(&mut self, samples: &[f32]) {
        let cap = self.buf.len();
        let tail = if samples.len() > cap {
            &samples[samples.len() - cap..]
        } else {
            samples
        };
        for &x in tail {
            self.buf[self.write] = x;
            self.write = (self.write + 1) % cap;
        }
        self.total += samples.len() as u64;
    }

    /// Samples appended so far (the stream position of the next one).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The last `n` samples (fewer when fewer were heard), oldest first, with the stream
    /// position of the first.
    pub fn last(&self, n: usize) -> (u64, Vec<f32>) {
        let cap = self.buf.len();
        let held = usize::try_from(self.total).map_or(cap, |t| t.min(cap));
        let n = n.min(held);
        let start = (self.write + cap - n) % cap;
        let mut out = Vec::with_capacity(n);
        if start + n <= cap {
            out.extend_from_slice(&self.buf[start..start + n]);
        } else {
            out.extend_from_slice(&self.buf[start..]);
            out.extend_from_slice(&self.buf[..n - (cap - start)]);
        }
        (self.total - n as u64, out)
    }
}

/// Writes 16 kHz mono `samples` as a 16-bit WAV file named after the current UTC time in
/// `folder` (created if needed), never replacing an existing file; returns its path.
///
/// The file is written under a temporary name and renamed when complete, so a library scan
/// never sees half a file.
pub fn save_snippet(samples: &[f32], folder: &Path) -> Result<PathBuf> {
    if samples.is_empty() {
        return Err(Error::InvalidInput(
            "nothing heard yet: no audio to save".into(),
        ));
    }
    std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
    let stamp = utc_stamp(std::time::SystemTime::now());
    let path = (1..)
        .map(|i| {
            let suffix = if i == 1 {
                String::new()
            } else {
                format!("-{i}")
            };
            folder.join(format!("earmark-live-{stamp}{suffix}.wav"))
        })
        .find(|p| !p.exists())
        .ok_or_else(|| Error::InvalidInput("no free snippet name".into()))?;
    let partial = path.with_extension("wav.partial");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: MODEL_SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let wav_error = |e: hound::Error| Error::io(&partial, std::io::Error::other(e.to_string()));
    let mut writer = hound::WavWriter::create(&partial, spec).map_err(wav_error)?;
    for &x in samples {
        let v = (x.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        writer.write_sample(v).map_err(wav_error)?;
    }
    writer.finalize().map_err(wav_error)?;
    std::fs::rename(&partial, &path).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = crate::calendar::civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_returns_the_newest_samples_with_their_position() {
        let mut h = SampleHistory::new(5);
        h.extend(&[1.0, 2.0, 3.0]);
        assert_eq!(h.last(10), (0, vec![1.0, 2.0, 3.0]));
        h.extend(&[4.0, 5.0, 6.0, 7.0]);
        assert_eq!(h.last(10), (2, vec![3.0, 4.0, 5.0, 6.0, 7.0]));
        assert_eq!(h.last(2), (5, vec![6.0, 7.0]));
        h.extend(&(8..20).map(|v| v as f32).collect::<Vec<_>>());
        assert_eq!(h.total(), 19);
        assert_eq!(h.last(3), (16, vec![17.0, 18.0, 19.0]));
    }

    #[test]
    fn dates_match_known_days() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_099_723);
        assert_eq!(utc_stamp(t), "20251125-194203");
    }

    #[test]
    fn snippets_round_trip_and_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let x: Vec<f32> = (0..1600).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect();
        let a = save_snippet(&x, dir.path()).unwrap();
        let b = save_snippet(&x, dir.path()).unwrap();
        assert_ne!(a, b);
        let clip = crate::audio::load_mono_16k(&a).unwrap();
        assert_eq!(clip.samples.len(), x.len());
        let err = clip
            .samples
            .iter()
            .zip(&x)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1.0 / 32767.0, "{err}");
        assert!(save_snippet(&[], dir.path()).is_err());
    }
}
