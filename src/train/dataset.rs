//! Training data (spec §7.1): random 608-frame crops of normalised log-mels from the audio files
//! under chosen folders, in a seeded shuffled order, with a held-out split and a bounded cache of
//! decoded log-mels.
//!
//! The official recipe discards files shorter than one crop. Sample libraries are mostly short
//! one-shots, so a file of at least [`MIN_FRAMES`] frames (1 s) is repeated end to end to fill a
//! crop instead; shorter files are skipped and reported. Files whose container says they are
//! shorter are set aside before the run starts ([`TrainData::set_aside`]), so the run says how
//! many files it really trains on; the others are checked as they are decoded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{Device, Tensor};
use half::f16;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::library::walk::{WalkOptions, audio_files};
use crate::model::pos::SplitMix;

/// Shortest usable file, in log-mel frames (1 s).
pub const MIN_FRAMES: usize = 100;

/// Shortest usable file in seconds, as the container states it (a little under [`MIN_FRAMES`]
/// so a file at the edge is left to the decoder to judge).
pub const MIN_SECONDS: f64 = 0.99;

/// Where the stream of crops stands (stored in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataPosition {
    /// Passes over the training files so far.
    pub epoch: u64,
    /// Next index in this epoch's order.
    pub cursor: usize,
    /// Crop-position generator state.
    pub rng: u64,
    /// Files found unusable so far (skipped from then on).
    #[serde(default)]
    pub skipped: std::collections::BTreeSet<PathBuf>,
}

/// A decoded file: normalised log-mel, f16, `[80][frames]` row-major.
struct Cached {
    data: Vec<f16>,
    frames: usize,
}

/// The crops of a run.
pub struct TrainData {
    train: Vec<PathBuf>,
    held_out: Vec<PathBuf>,
    seed: u64,
    order: Vec<usize>,
    pos: DataPosition,
    cache: HashMap<PathBuf, Arc<Cached>>,
    cache_bytes: usize,
    cache_limit: usize,
    unusable: Vec<(PathBuf, String)>,
    set_aside: Vec<(PathBuf, String)>,
    n_t: usize,
}

/// Why `path` cannot be trained on, when its header already says so: shorter than
/// [`MIN_SECONDS`]. A file that cannot be opened or does not state its length is kept (the
/// decoder reports it when the run reaches it).
fn too_short(path: &Path) -> Option<String> {
    let decoder = crate::audio::decode::AudioDecoder::open(path).ok()?;
    let seconds = decoder.info().duration_s()?;
    (seconds < MIN_SECONDS).then(|| format!("too short to train on ({seconds:.2} s, need 1 s)"))
}

/// Whether `path` falls in the held-out split (about 1 file in 20, stable across runs).
fn is_held_out(path: &Path) -> bool {
    xxhash_rust::xxh3::xxh3_64(path.to_string_lossy().as_bytes()).is_multiple_of(20)
}

impl TrainData {
    /// Lists the audio files under `roots` (sorted) and splits them; crops are `n_t` frames.
    pub fn from_roots(roots: &[PathBuf], n_t: usize, seed: u64) -> Result<Self> {
        let mut files = Vec::new();
        for root in roots {
            if !root.is_dir() {
                return Err(Error::InvalidInput(format!(
                    "{}: not a folder",
                    root.display()
                )));
            }
            let (found, _) = audio_files(root, WalkOptions::default());
            files.extend(found.into_iter().map(|f| f.os_path));
        }
        Self::from_files(files, n_t, seed)
    }

    /// Uses the given files (sorted, deduplicated); files shorter than [`MIN_SECONDS`] by
    /// their header are set aside.
    pub fn from_files(mut files: Vec<PathBuf>, n_t: usize, seed: u64) -> Result<Self> {
        files.sort();
        files.dedup();
        let mut set_aside = Vec::new();
        files.retain(|p| match too_short(p) {
            Some(why) => {
                set_aside.push((p.clone(), why));
                false
            }
            None => true,
        });
        let (mut held_out, mut train): (Vec<_>, Vec<_>) =
            files.into_iter().partition(|p| is_held_out(p));
        if train.is_empty() {
            train = std::mem::take(&mut held_out);
        }
        if train.is_empty() {
            return Err(Error::InvalidInput(match set_aside.len() {
                0 => "no audio files to train on".into(),
                1 => "no audio file of 1 s or more to train on (1 file is shorter)".into(),
                n => format!("no audio file of 1 s or more to train on ({n} files are shorter)"),
            }));
        }
        let mut data = TrainData {
            train,
            held_out,
            seed,
            order: Vec::new(),
            pos: DataPosition {
                epoch: 0,
                cursor: 0,
                rng: seed ^ 0x6372_6F70,
                skipped: Default::default(),
            },
            cache: HashMap::new(),
            cache_bytes: 0,
            cache_limit: 2 << 30,
            unusable: Vec::new(),
            set_aside,
            n_t,
        };
        data.shuffle();
        Ok(data)
    }

    /// Training files.
    pub fn train_files(&self) -> &[PathBuf] {
        &self.train
    }

    /// Held-out files.
    pub fn held_out_files(&self) -> &[PathBuf] {
        &self.held_out
    }

    /// Files left out before the run, with the reason (shorter than 1 s).
    pub fn set_aside(&self) -> &[(PathBuf, String)] {
        &self.set_aside
    }

    /// Every audio file found: the training, held-out and set-aside files.
    pub fn found(&self) -> usize {
        self.train.len() + self.held_out.len() + self.set_aside.len()
    }

    /// Files that could not be used, with the reason.
    pub fn unusable(&self) -> &[(PathBuf, String)] {
        &self.unusable
    }

    /// Bounds the decoded-log-mel cache (bytes).
    pub fn set_cache_limit(&mut self, bytes: usize) {
        self.cache_limit = bytes;
    }

    /// The stream position, for checkpoints.
    pub fn position(&self) -> DataPosition {
        self.pos.clone()
    }

    /// Continues from a stored position.
    pub fn seek(&mut self, pos: DataPosition) {
        self.pos = pos;
        self.shuffle();
    }

    fn shuffle(&mut self) {
        let mut rng = SplitMix(self.seed ^ self.pos.epoch.wrapping_mul(0x9E37_79B9));
        self.order = (0..self.train.len()).collect();
        for i in (1..self.order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            self.order.swap(i, j);
        }
    }

    fn decode(&mut self, path: &Path) -> Result<Arc<Cached>> {
        if let Some(c) = self.cache.get(path) {
            return Ok(c.clone());
        }
        let clip = crate::audio::load_mono_16k(path)?;
        let mel = crate::dsp::log_mel_normalised(&clip.samples)?;
        if mel.frames < MIN_FRAMES {
            return Err(Error::NoAudio {
                path: path.to_path_buf(),
                reason: format!(
                    "too short to train on ({} frames, need {MIN_FRAMES})",
                    mel.frames
                ),
            });
        }
        let cached = Arc::new(Cached {
            data: mel.data.iter().map(|&x| f16::from_f32(x)).collect(),
            frames: mel.frames,
        });
        let bytes = cached.data.len() * 2;
        if self.cache_bytes + bytes > self.cache_limit {
            self.cache.clear();
            self.cache_bytes = 0;
        }
        self.cache_bytes += bytes;
        self.cache.insert(path.to_path_buf(), cached.clone());
        Ok(cached)
    }

    fn next_file(&mut self) -> Result<PathBuf> {
        if self.pos.skipped.len() >= self.train.len() {
            return Err(Error::InvalidInput(
                "none of the training files could be decoded".into(),
            ));
        }
        loop {
            if self.pos.cursor >= self.order.len() {
                self.pos.epoch += 1;
                self.pos.cursor = 0;
                self.shuffle();
            }
            let path = &self.train[self.order[self.pos.cursor]];
            self.pos.cursor += 1;
            if !self.pos.skipped.contains(path) {
                return Ok(path.clone());
            }
        }
    }

    /// Copies a crop of `n_t` frames starting at `start` (cyclic for short files) into `out`.
    fn crop(c: &Cached, start: usize, n_t: usize, out: &mut Vec<f32>) {
        for band in 0..crate::dsp::N_MELS {
            let row = &c.data[band * c.frames..(band + 1) * c.frames];
            out.extend((0..n_t).map(|i| row[(start + i) % c.frames].to_f32()));
        }
    }

    /// The next batch of crops `[B, 80, n_t]`. Files that fail are reported once through
    /// `on_unusable` and dropped from the run.
    pub fn next_batch(
        &mut self,
        batch: usize,
        device: &Device,
        mut on_unusable: impl FnMut(&Path, &str),
    ) -> Result<Tensor> {
        let mut out = Vec::with_capacity(batch * crate::dsp::N_MELS * self.n_t);
        let mut filled = 0;
        while filled < batch {
            let path = self.next_file()?;
            let cached = match self.decode(&path) {
                Ok(c) => c,
                Err(e) => {
                    let why = e.to_string();
                    on_unusable(&path, &why);
                    self.unusable.push((path.clone(), why));
                    self.pos.skipped.insert(path);
                    continue;
                }
            };
            let mut rng = SplitMix(self.pos.rng);
            let span = cached.frames.saturating_sub(self.n_t) as u64 + 1;
            let start = if cached.frames >= self.n_t {
                (rng.next_u64() % span) as usize
            } else {
                (rng.next_u64() % cached.frames as u64) as usize
            };
            self.pos.rng = rng.0;
            Self::crop(&cached, start, self.n_t, &mut out);
            filled += 1;
        }
        Ok(Tensor::from_vec(
            out,
            (batch, crate::dsp::N_MELS, self.n_t),
            device,
        )?)
    }

    /// Up to `count` fixed held-out crops (one per held-out file, from its middle).
    pub fn held_out_batch(&mut self, count: usize, device: &Device) -> Result<Option<Tensor>> {
        let mut out = Vec::new();
        let mut n = 0;
        for path in self.held_out.clone().iter().take(count * 2) {
            if n == count {
                break;
            }
            let Ok(c) = self.decode(path) else { continue };
            let start = c.frames.saturating_sub(self.n_t) / 2;
            Self::crop(&c, start, self.n_t, &mut out);
            n += 1;
        }
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(Tensor::from_vec(
            out,
            (n, crate::dsp::N_MELS, self.n_t),
            device,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn files_with_non_utf8_names_keep_their_real_path() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.wav");
        std::fs::write(dir.path().join(name), b"RIFF").unwrap();
        let data = TrainData::from_roots(&[dir.path().to_path_buf()], 16, 0).unwrap();
        let all: Vec<&PathBuf> = data
            .train_files()
            .iter()
            .chain(data.held_out_files())
            .collect();
        assert_eq!(all.len(), 1);
        assert!(all[0].is_file(), "{}", all[0].display());
        assert_eq!(all[0].file_name(), Some(name));
    }

    fn tone(path: &Path, seconds: f64) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..(seconds * 16_000.0) as usize {
            let x = (i as f64 * 0.05).sin() * 8000.0;
            w.write_sample(x as i16).unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn files_shorter_than_a_second_are_set_aside_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        for (n, seconds) in [0.2, 0.5, 1.5, 2.0, 3.0].into_iter().enumerate() {
            tone(&dir.path().join(format!("t{n}.wav")), seconds);
        }
        let data = TrainData::from_roots(&[dir.path().to_path_buf()], 608, 0).unwrap();
        assert_eq!(data.found(), 5);
        assert_eq!(data.train_files().len() + data.held_out_files().len(), 3);
        let aside: Vec<String> = data
            .set_aside()
            .iter()
            .map(|(p, why)| format!("{}: {why}", p.file_name().unwrap().to_string_lossy()))
            .collect();
        assert_eq!(
            aside,
            [
                "t0.wav: too short to train on (0.20 s, need 1 s)",
                "t1.wav: too short to train on (0.50 s, need 1 s)"
            ]
        );

        let short = tempfile::tempdir().unwrap();
        tone(&short.path().join("blip.wav"), 0.1);
        let err = TrainData::from_roots(&[short.path().to_path_buf()], 608, 0)
            .err()
            .unwrap();
        assert!(err.to_string().contains("(1 file is shorter)"), "{err}");
    }
}
