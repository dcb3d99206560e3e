//! The bytes that turn a rewritten file back into its original, exactly.
//!
//! Writing a tag changes a file in one place (the tag block grows, shrinks or changes) and, in
//! some formats, a few bytes scattered after it (Ogg page numbers and checksums when the tag
//! takes another page; MP4 chunk offsets when the metadata grows before the audio). The audio
//! itself moves but does not change. So the original lines up with the new file in two parts:
//! bytes before a split point sit at the same offset, bytes from the split point on sit `shift`
//! bytes later (`shift` = new length − original length). The patch keeps the split point and
//! the original bytes that differ from their lined-up counterparts, in runs. For a tag edit
//! that is a few kilobytes, however large the file; the journal keeps it instead of a copy.
//!
//! The split point is chosen to keep the fewest bytes: with `a(i)` = 1 where original byte `i`
//! differs at the same offset and `b(i)` = 1 where it differs at the shifted offset, the cost of
//! splitting at `k` is `Σ_{i<k} a(i) + Σ_{i≥k} b(i)`, minimised in one pass over the prefix sums
//! of `a(i) − b(i)`.
//!
//! A WAV file can change in two places: its RIFF INFO list before the audio and its ID3v2 chunk
//! after it, so the audio moves by one amount and what follows it by another. For such files the
//! caller knows where each unchanged chunk went and gives those places as [`Segment`]s
//! ([`UndoPatch::with_segments`]): from each segment's start on, original bytes line up with the
//! new file at the segment's own shift. The patch again keeps only the bytes that differ.

use serde::{Deserialize, Serialize};

/// Two runs closer than this are kept as one (each run costs its offset in the journal).
const MERGE_GAP: usize = 16;

/// Original bytes at an offset of the original file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Offset in the original file.
    pub offset: u64,
    /// The original bytes there, base64.
    pub bytes: String,
}

/// From `at` on (an offset of the original), original bytes sit `shift` bytes later in the new
/// file, up to the next segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Offset in the original file where the segment starts.
    pub at: u64,
    /// Where its bytes sit in the new file, relative to the original.
    pub shift: i64,
}

/// What restores an original file from the file written over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoPatch {
    /// Length of the original file.
    pub original_len: u64,
    /// Original bytes before this offset line up with the new file at the same offset.
    pub split: u64,
    /// New length − original length: where the original bytes from `split` on sit.
    pub shift: i64,
    /// The original bytes that differ from their lined-up counterparts.
    pub runs: Vec<Run>,
    /// Segments with shifts of their own, sorted by start; where one starts, it overrides
    /// `split` and `shift` up to the next (journals before them have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
}

/// The byte of `new` that original byte `i` lines up with, for split `k` and `shift`.
fn lined_up(new: &[u8], i: usize, k: usize, shift: i64) -> Option<u8> {
    let j = if i < k { i as i64 } else { i as i64 + shift };
    usize::try_from(j).ok().and_then(|j| new.get(j).copied())
}

/// Lines original bytes up with the new file, walking forward through the segments.
struct Aligner<'a> {
    new: &'a [u8],
    split: usize,
    shift: i64,
    segments: &'a [Segment],
    /// Segments started so far.
    next: usize,
}

impl<'a> Aligner<'a> {
    fn new(new: &'a [u8], split: usize, shift: i64, segments: &'a [Segment]) -> Self {
        Aligner {
            new,
            split,
            shift,
            segments,
            next: 0,
        }
    }

    /// The byte of `new` original byte `i` lines up with; `i` must not go backwards.
    fn at(&mut self, i: usize) -> Option<u8> {
        while self
            .segments
            .get(self.next)
            .is_some_and(|s| s.at <= i as u64)
        {
            self.next += 1;
        }
        match self.next.checked_sub(1).map(|n| self.segments[n]) {
            Some(seg) => lined_up(self.new, i, 0, seg.shift),
            None => lined_up(self.new, i, self.split, self.shift),
        }
    }
}

/// The runs of `original` that differ from the bytes they line up with.
fn runs_of(original: &[u8], aligner: &mut Aligner<'_>) -> Vec<Run> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, &byte) in original.iter().enumerate() {
        if aligner.at(i) == Some(byte) {
            continue;
        }
        match runs.last_mut() {
            Some((_, end)) if i - *end <= MERGE_GAP => *end = i + 1,
            _ => runs.push((i, i + 1)),
        }
    }
    runs.into_iter()
        .map(|(start, end)| Run {
            offset: start as u64,
            bytes: data_encoding::BASE64.encode(&original[start..end]),
        })
        .collect()
}

impl UndoPatch {
    /// The patch that turns `new` back into `original`.
    pub fn between(original: &[u8], new: &[u8]) -> Self {
        let shift = new.len() as i64 - original.len() as i64;
        // Valid split points keep every lined-up index inside `new` where it can be.
        let mut best = (0i64, 0usize);
        let mut running = 0i64;
        for (i, &byte) in original.iter().enumerate() {
            let a = lined_up(new, i, usize::MAX, 0) != Some(byte);
            let b = lined_up(new, i, 0, shift) != Some(byte);
            running += i64::from(a) - i64::from(b);
            if running < best.0 {
                best = (running, i + 1);
            }
        }
        let split = best.1;
        UndoPatch {
            original_len: original.len() as u64,
            split: split as u64,
            shift,
            runs: runs_of(original, &mut Aligner::new(new, split, shift, &[])),
            segments: Vec::new(),
        }
    }

    /// The patch that turns `new` back into `original` when the original's parts moved by
    /// different amounts: `segments` says where (bytes before the first lie at the same offset).
    pub fn with_segments(original: &[u8], new: &[u8], mut segments: Vec<Segment>) -> Self {
        segments.sort_by_key(|s| s.at);
        segments.dedup_by_key(|s| s.at);
        let shift = new.len() as i64 - original.len() as i64;
        let split = original.len();
        UndoPatch {
            original_len: original.len() as u64,
            split: split as u64,
            shift,
            runs: runs_of(original, &mut Aligner::new(new, split, shift, &segments)),
            segments,
        }
    }

    /// Bytes of the original the patch keeps.
    pub fn kept_bytes(&self) -> u64 {
        self.runs
            .iter()
            .map(|r| data_encoding::BASE64.decode_len(r.bytes.len()).unwrap_or(0) as u64)
            .sum()
    }

    /// The original file, rebuilt from `new` (the file as written). Errors when the patch is
    /// malformed or does not fit `new`.
    pub fn restore(&self, new: &[u8]) -> Result<Vec<u8>, String> {
        let len = usize::try_from(self.original_len).map_err(|_| "original too large")?;
        if new.len() as i64 - len as i64 != self.shift {
            return Err(format!(
                "the file is {} bytes; the journal expects {}",
                new.len(),
                len as i64 + self.shift
            ));
        }
        let split = usize::try_from(self.split)
            .ok()
            .filter(|&s| s <= len)
            .ok_or("the journal's split point is outside the file")?;
        let mut out = vec![0u8; len];
        if self.segments.is_empty() {
            let head = split.min(new.len());
            out[..head].copy_from_slice(&new[..head]);
            for (i, byte) in out.iter_mut().enumerate().skip(split) {
                if let Some(b) = lined_up(new, i, split, self.shift) {
                    *byte = b;
                }
            }
        } else {
            let mut aligner = Aligner::new(new, split, self.shift, &self.segments);
            for (i, byte) in out.iter_mut().enumerate() {
                if let Some(b) = aligner.at(i) {
                    *byte = b;
                }
            }
        }
        for run in &self.runs {
            let bytes = data_encoding::BASE64
                .decode(run.bytes.as_bytes())
                .map_err(|e| format!("the journal's saved bytes are damaged: {e}"))?;
            let start = usize::try_from(run.offset).map_err(|_| "run offset too large")?;
            let end = start
                .checked_add(bytes.len())
                .filter(|&e| e <= len)
                .ok_or("the journal's saved bytes lie outside the file")?;
            out[start..end].copy_from_slice(&bytes);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(original: &[u8], new: &[u8]) -> UndoPatch {
        let p = UndoPatch::between(original, new);
        assert_eq!(p.restore(new).unwrap(), original);
        p
    }

    /// A deterministic byte stream standing in for audio.
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (s >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn a_grown_tag_before_the_audio_keeps_only_the_old_tag() {
        // Original: 10-byte tag, then audio. New: a 30-byte tag, then the same audio.
        let audio = noise(100_000, 1);
        let mut original = b"TAG:old-v1".to_vec();
        original.extend_from_slice(&audio);
        let mut new = b"TAG:a-much-longer-new-value-xx".to_vec();
        new.extend_from_slice(&audio);
        let p = round_trip(&original, &new);
        assert_eq!(p.shift, 20);
        // "TAG:" is shared; the 6 bytes "old-v1" are all that is kept.
        assert!(p.kept_bytes() <= 10, "kept {}", p.kept_bytes());
        assert!(p.split <= 10);
    }

    #[test]
    fn a_shrunk_tag_and_a_tag_at_the_end_are_restored() {
        let audio = noise(50_000, 2);
        let mut original = vec![7u8; 4000];
        original.extend_from_slice(&audio);
        let new = audio.clone();
        let p = round_trip(&original, &new);
        // The removed block, plus at most a merge gap where noise happens to equal it.
        assert!((4000..=4000 + MERGE_GAP as u64).contains(&p.kept_bytes()));
        let mut tail_orig = audio.clone();
        tail_orig.extend_from_slice(b"moov-old");
        let mut tail_new = audio;
        tail_new.extend_from_slice(b"moov-new-and-longer");
        let p = round_trip(&tail_orig, &tail_new);
        assert!(p.kept_bytes() <= 8, "kept {}", p.kept_bytes());
    }

    #[test]
    fn scattered_page_headers_after_a_shift_cost_only_their_bytes() {
        // Pages of 4096 bytes whose 8-byte header changes (number, checksum) after the tag
        // grew by one 300-byte page: the patch keeps ~8 bytes per page, not the file.
        let pages = 200;
        let mut original = b"HEAD-comment".to_vec();
        let mut new = b"HEAD-comment-longer".to_vec();
        new.extend_from_slice(&noise(300, 3));
        for p in 0..pages {
            let body = noise(4088, 100 + p as u64);
            original.extend_from_slice(&(p as u64).to_le_bytes());
            original.extend_from_slice(&body);
            new.extend_from_slice(&((p + 1) as u64 * 0x0101_0101).to_le_bytes());
            new.extend_from_slice(&body);
        }
        let p = round_trip(&original, &new);
        let kept = p.kept_bytes();
        assert!(kept <= 12 + pages as u64 * 8, "kept {kept}");
    }

    #[test]
    fn parts_moved_by_different_amounts_keep_only_what_changed() {
        // A list before the audio grows by 8 bytes, a tag after it appears (30 bytes): the
        // audio moves by 8, the end of the file by 38.
        let audio = noise(80_000, 5);
        let original = [b"HEAD-list-old".as_slice(), &audio, b"TAIL"].concat();
        let new = [
            b"HEAD-list-new-longer-".as_slice(),
            &audio,
            b"TAIL",
            &[7u8; 30],
        ]
        .concat();
        let segments = vec![
            Segment { at: 13, shift: 8 },
            Segment {
                at: 80_013,
                shift: 8,
            },
        ];
        let p = UndoPatch::with_segments(&original, &new, segments);
        assert_eq!(p.restore(&new).unwrap(), original);
        assert!(p.kept_bytes() <= 13, "kept {}", p.kept_bytes());
        // One shift for everything would keep the whole audio.
        assert!(UndoPatch::between(&original, &new).kept_bytes() > 50_000);
        // Older journals, without segments, still read.
        let json = r#"{"original_len":3,"split":0,"shift":0,"runs":[]}"#;
        let old: UndoPatch = serde_json::from_str(json).unwrap();
        assert_eq!(old.restore(b"abc").unwrap(), b"abc");
    }

    #[test]
    fn identical_and_empty_files_need_nothing() {
        let x = noise(1000, 4);
        assert!(round_trip(&x, &x).runs.is_empty());
        assert!(round_trip(&[], &[]).runs.is_empty());
        round_trip(&x, &[]);
        round_trip(&[], &x);
    }

    #[test]
    fn a_patch_refuses_a_file_of_another_length_or_damaged_runs() {
        let p = UndoPatch::between(b"abcdef", b"abXdefgh");
        assert!(p.restore(b"abXdefg").unwrap_err().contains("bytes"));
        let mut bad = p.clone();
        bad.runs[0].bytes = "***".into();
        assert!(bad.restore(b"abXdefgh").is_err());
        let mut outside = p;
        outside.runs[0].offset = 100;
        assert!(outside.restore(b"abXdefgh").is_err());
    }
}
