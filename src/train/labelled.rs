//! Labelled audio for supervised fine-tuning: a table of files and their labels, decoded once
//! into normalised log-mels and drawn class-balanced, as crops of whole 16-frame columns.
//!
//! A crop is what the encoder sees of a file at inference in precise mode: a file up to
//! `max_cols` columns long is taken whole, zero-padded to a multiple of 16 frames (zero is the
//! dataset mean in normalised units); a longer one gives a random window of `max_cols` columns.
//! Crops of one draw are grouped by length, so no crop sees padding the encoder would not see.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use half::f16;
use rayon::prelude::*;

use crate::dsp::N_MELS;
use crate::error::{Error, Result};
use crate::model::pos::SplitMix;

/// Frames per patch column.
pub const COLUMN: usize = 16;
/// Longest stretch of a file kept in memory (30 s of frames); crops come from it.
const MAX_KEPT_FRAMES: usize = 3000;

/// One row of a label table: a file and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledFile {
    /// The audio file.
    pub path: PathBuf,
    /// Its label (a name of the vocabulary).
    pub label: String,
}

/// Reads the first column of a vocabulary table (`label<TAB>…`, a header row starting with
/// `label` is skipped): the labels in their order.
pub fn read_vocabulary(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let labels: Vec<String> = text
        .lines()
        .filter_map(|l| l.split('\t').next())
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "label" && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if labels.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{}: no labels in the vocabulary",
            path.display()
        )));
    }
    Ok(labels)
}

/// Reads a label table `path<TAB>label<TAB>package<TAB>split` (header row first) and keeps
/// the rows whose split is `split`.
pub fn read_table(path: &Path, split: &str) -> Result<Vec<LabelledFile>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 4 {
            return Err(Error::InvalidInput(format!(
                "{}: line {} has {} columns, expected path, label, package, split",
                path.display(),
                n + 1,
                cols.len()
            )));
        }
        if cols[3].trim() == split {
            rows.push(LabelledFile {
                path: PathBuf::from(cols[0]),
                label: cols[1].trim().to_string(),
            });
        }
    }
    Ok(rows)
}

/// A decoded file: band-major log-mel `[80, frames]` and its label index.
struct Item {
    mel: Vec<f16>,
    frames: usize,
    label: u32,
}

/// Crops of one length: `data` is `[n, 80, cols·16]` row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct CropGroup {
    /// Columns per crop.
    pub cols: usize,
    /// The crops' values.
    pub data: Vec<f32>,
    /// Label index of each crop.
    pub labels: Vec<u32>,
}

impl CropGroup {
    /// Number of crops.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the group holds no crop.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// The decoded labelled files of one split.
pub struct LabelledSet {
    labels: Vec<String>,
    items: Vec<Item>,
    by_label: Vec<Vec<usize>>,
    /// Files that could not be used, with the reason.
    pub unusable: Vec<(PathBuf, String)>,
}

impl LabelledSet {
    /// Decodes `files` (in parallel). A label outside `labels` is an error; a file that cannot
    /// be decoded or holds no audio is set aside with its reason.
    pub fn load(files: &[LabelledFile], labels: &[String]) -> Result<Self> {
        let index: BTreeMap<&str, u32> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i as u32))
            .collect();
        for f in files {
            if !index.contains_key(f.label.as_str()) {
                return Err(Error::InvalidInput(format!(
                    "{}: label `{}` is not in the vocabulary",
                    f.path.display(),
                    f.label
                )));
            }
        }
        let decoded: Vec<std::result::Result<Item, (PathBuf, String)>> = files
            .par_iter()
            .map(|f| {
                let label = index[f.label.as_str()];
                decode(&f.path, label).map_err(|e| (f.path.clone(), e.to_string()))
            })
            .collect();
        let mut items = Vec::new();
        let mut unusable = Vec::new();
        for d in decoded {
            match d {
                Ok(item) => items.push(item),
                Err(bad) => unusable.push(bad),
            }
        }
        let mut by_label = vec![Vec::new(); labels.len()];
        for (i, item) in items.iter().enumerate() {
            by_label[item.label as usize].push(i);
        }
        Ok(LabelledSet {
            labels: labels.to_vec(),
            items,
            by_label,
            unusable,
        })
    }

    /// The vocabulary.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Number of usable files.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no file is usable.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Usable files per label.
    pub fn counts(&self) -> Vec<usize> {
        self.by_label.iter().map(Vec::len).collect()
    }

    /// `batch` crops drawn class-balanced (a label with files uniformly, then one of its files),
    /// at most `max_cols` columns each, augmented when `augment`; grouped by length.
    pub fn draw(
        &self,
        batch: usize,
        max_cols: usize,
        augment: bool,
        rng: &mut SplitMix,
    ) -> Vec<CropGroup> {
        let present: Vec<usize> = (0..self.labels.len())
            .filter(|&l| !self.by_label[l].is_empty())
            .collect();
        let mut groups: BTreeMap<usize, CropGroup> = BTreeMap::new();
        if present.is_empty() {
            return Vec::new();
        }
        for _ in 0..batch {
            let label = present[(rng.next_u64() % present.len() as u64) as usize];
            let files = &self.by_label[label];
            let item = &self.items[files[(rng.next_u64() % files.len() as u64) as usize]];
            let cols = item.frames.div_ceil(COLUMN).clamp(1, max_cols);
            let span = item.frames.saturating_sub(cols * COLUMN) as u64;
            let start = if span > 0 {
                (rng.next_u64() % (span + 1)) as usize
            } else {
                0
            };
            let group = groups.entry(cols).or_insert_with(|| CropGroup {
                cols,
                data: Vec::new(),
                labels: Vec::new(),
            });
            let at = group.data.len();
            crop_into(item, start, cols * COLUMN, &mut group.data);
            if augment {
                augment_crop(
                    &mut group.data[at..],
                    cols * COLUMN,
                    item.frames - start,
                    rng,
                );
            }
            group.labels.push(item.label);
        }
        groups.into_values().collect()
    }

    /// Every file once, from its start (at most `max_cols` columns), grouped by length in
    /// groups of at most `batch`: for evaluation.
    pub fn all(&self, batch: usize, max_cols: usize) -> Vec<CropGroup> {
        let mut by_cols: BTreeMap<usize, Vec<&Item>> = BTreeMap::new();
        for item in &self.items {
            let cols = item.frames.div_ceil(COLUMN).clamp(1, max_cols);
            by_cols.entry(cols).or_default().push(item);
        }
        let mut out = Vec::new();
        for (cols, items) in by_cols {
            for chunk in items.chunks(batch.max(1)) {
                let mut group = CropGroup {
                    cols,
                    data: Vec::new(),
                    labels: Vec::new(),
                };
                for item in chunk {
                    crop_into(item, 0, cols * COLUMN, &mut group.data);
                    group.labels.push(item.label);
                }
                out.push(group);
            }
        }
        out
    }
}

fn decode(path: &Path, label: u32) -> Result<Item> {
    let clip = crate::audio::load_mono_16k(path)?;
    let keep = clip
        .samples
        .len()
        .min(MAX_KEPT_FRAMES * crate::dsp::HOP_LENGTH + crate::dsp::WIN_LENGTH);
    let mel = crate::dsp::log_mel_normalised(&clip.samples[..keep])?;
    if mel.frames == 0 {
        return Err(Error::NoAudio {
            path: path.to_path_buf(),
            reason: "no complete frame".into(),
        });
    }
    Ok(Item {
        mel: mel.data.iter().map(|&x| f16::from_f32(x)).collect(),
        frames: mel.frames,
        label,
    })
}

/// Appends `[80, len]` frames of `item` from `start`, zero past its end.
fn crop_into(item: &Item, start: usize, len: usize, out: &mut Vec<f32>) {
    for band in 0..N_MELS {
        let row = &item.mel[band * item.frames..(band + 1) * item.frames];
        out.extend((start..start + len).map(|i| row.get(i).map_or(0.0, |v| v.to_f32())));
    }
}

/// Level (±10 dB), spectral tilt and two smooth band boosts or cuts, a small shift across
/// bands, half of the time a room-like tail, one masked band range and, half of the time, up to
/// 80 ms of silence before the sound (as recordings often have), applied to the first `valid`
/// frames of a crop `[80, len]` (padding stays at zero).
fn augment_crop(crop: &mut [f32], len: usize, valid: usize, rng: &mut SplitMix) {
    let valid = valid.min(len);
    let delay = if rng.uniform() < 0.5 {
        (rng.next_u64() % 9) as usize
    } else {
        0
    };
    if delay > 0 {
        for band in 0..N_MELS {
            let row = &mut crop[band * len..(band + 1) * len];
            row.copy_within(0..len - delay, delay);
            row[..delay].fill(0.0);
            // Frames pushed past the crop's valid part are dropped with the padding.
            let end = (valid + delay).min(len);
            row[end..].fill(0.0);
        }
    }
    let valid = (valid + delay).min(len);
    let level = (rng.uniform() - 0.5) * 1.1;
    let tilt = (rng.uniform() - 0.5) * 0.6;
    let shift = (rng.next_u64() % 5) as isize - 2;
    // Two smooth boosts or cuts of a random band region (a different microphone, synthesizer
    // or room colours the sound differently).
    let bumps: Vec<(f32, f32, f32)> = (0..2)
        .map(|_| {
            let centre = rng.uniform() * N_MELS as f32;
            let width = 3.0 + rng.uniform() * 12.0;
            let gain = (rng.uniform() - 0.5) * 0.8;
            (centre, width, gain)
        })
        .collect();
    // Half of the time a room's tail: each frame keeps at least the previous one less a decay.
    let tail = if rng.uniform() < 0.5 {
        Some(0.05 + rng.uniform() * 0.25)
    } else {
        None
    };
    let original: Vec<f32> = crop.to_vec();
    for band in 0..N_MELS {
        let source = (band as isize - shift).clamp(0, N_MELS as isize - 1) as usize;
        let slope = tilt * (band as f32 / (N_MELS - 1) as f32 * 2.0 - 1.0);
        let colour: f32 = bumps
            .iter()
            .map(|&(c, w, g)| g * (-((band as f32 - c) / w).powi(2)).exp())
            .sum();
        let mut previous = f32::MIN;
        for t in delay..valid {
            let mut v = original[source * len + t] + level + slope + colour;
            if let Some(decay) = tail {
                v = v.max(previous - decay);
                previous = v;
            }
            crop[band * len + t] = v;
        }
    }
    if rng.uniform() < 0.5 {
        let width = 1 + (rng.next_u64() % 8) as usize;
        let first = (rng.next_u64() % (N_MELS - width) as u64) as usize;
        for band in first..first + width {
            crop[band * len + delay..band * len + valid].fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(frames: usize, label: u32) -> Item {
        Item {
            mel: (0..N_MELS * frames)
                .map(|i| f16::from_f32(1.0 + i as f32 * 1e-3))
                .collect(),
            frames,
            label,
        }
    }

    fn set(items: Vec<Item>, labels: usize) -> LabelledSet {
        let mut by_label = vec![Vec::new(); labels];
        for (i, it) in items.iter().enumerate() {
            by_label[it.label as usize].push(i);
        }
        LabelledSet {
            labels: (0..labels).map(|l| format!("l{l}")).collect(),
            items,
            by_label,
            unusable: Vec::new(),
        }
    }

    #[test]
    fn short_files_are_padded_to_whole_columns_and_long_ones_cropped() {
        let s = set(vec![item(20, 0), item(500, 1)], 2);
        let groups = s.all(8, 19);
        assert_eq!(groups.len(), 2);
        let short = &groups[0];
        assert_eq!((short.cols, short.len()), (2, 1));
        // Frame 20.. of the first band is padding.
        assert!(short.data[19] > 0.5);
        assert_eq!(short.data[20], 0.0);
        assert_eq!(short.data.len(), N_MELS * 32);
        assert_eq!(groups[1].cols, 19);
        assert_eq!(groups[1].data.len(), N_MELS * 19 * 16);
    }

    #[test]
    fn draws_are_balanced_between_labels_and_grouped_by_length() {
        let mut items: Vec<Item> = (0..30).map(|_| item(40, 0)).collect();
        items.push(item(100, 1));
        let s = set(items, 3);
        let mut rng = SplitMix(7);
        let mut counts = [0usize; 3];
        for _ in 0..50 {
            for g in s.draw(16, 19, true, &mut rng) {
                assert_eq!(g.data.len(), g.len() * N_MELS * g.cols * COLUMN);
                for &l in &g.labels {
                    counts[l as usize] += 1;
                    assert_eq!(g.cols, if l == 0 { 3 } else { 7 });
                }
            }
        }
        // Label 2 has no file; the other two are drawn about equally though 30:1 in files.
        assert_eq!(counts[2], 0);
        assert!(counts[1] > 300 && counts[0] > 300, "{counts:?}");
    }

    #[test]
    fn augmentation_leaves_padding_at_zero() {
        let it = item(20, 0);
        let mut crop = Vec::new();
        crop_into(&it, 0, 32, &mut crop);
        let mut rng = SplitMix(3);
        for _ in 0..20 {
            let mut c = crop.clone();
            augment_crop(&mut c, 32, 20, &mut rng);
            // The sound may start up to 8 frames late; nothing appears after it.
            for band in 0..N_MELS {
                assert!(c[band * 32 + 28..band * 32 + 32].iter().all(|&v| v == 0.0));
            }
            let first_sound = (0..32)
                .find(|&t| (0..N_MELS).any(|b| c[b * 32 + t] != 0.0))
                .unwrap();
            assert!(first_sound <= 8);
        }
    }
}
