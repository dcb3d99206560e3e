//! Gapless trimming for MP4/M4A audio: the edit list (`elst`) of the first sound track.
//!
//! AAC encoders prepend priming frames (1,024 or 2,112) and pad the end; MP4 files say which frames
//! are real in the track's edit list. Symphonia reads the atom but does not apply it, so without
//! this every AAC file would start ~23–48 ms late. Only the box headers on the path
//! `moov/trak/{mdia/{hdlr,mdhd},edts/elst}` and `moov/mvhd` are read; `mdat` is skipped by seeking.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The real span of an MP4 sound track, in frames at its sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditSpan {
    /// Frames to drop at the start (encoder priming).
    pub skip: u64,
    /// Frames to keep after that, when the edit list says.
    pub keep: Option<u64>,
}

/// Reads the edit span of the first sound track of an MP4 file, if it has a usable edit list.
/// Any malformed or unexpected structure gives `None`: the file then decodes untrimmed.
pub fn read_edit_span(path: &Path, sample_rate: u32) -> Option<EditSpan> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let moov = find_box(&mut file, 0, len, b"moov")?;
    let movie_scale = {
        let (start, end) = find_box(&mut file, moov.0, moov.1, b"mvhd")?;
        read_timescale(&mut file, start, end)?
    };
    let mut pos = moov.0;
    while let Some((start, end)) = find_box(&mut file, pos, moov.1, b"trak") {
        pos = end;
        let Some(mdia) = find_box(&mut file, start, end, b"mdia") else {
            continue;
        };
        let Some(hdlr) = find_box(&mut file, mdia.0, mdia.1, b"hdlr") else {
            continue;
        };
        if read_at(&mut file, hdlr.0 + 8, 4)? != b"soun" {
            continue;
        }
        let mdhd = find_box(&mut file, mdia.0, mdia.1, b"mdhd")?;
        let media_scale = read_timescale(&mut file, mdhd.0, mdhd.1)?;
        let edts = find_box(&mut file, start, end, b"edts")?;
        let elst = find_box(&mut file, edts.0, edts.1, b"elst")?;
        return read_elst(&mut file, elst, movie_scale, media_scale, sample_rate);
    }
    None
}

/// The first real edit (media time ≥ 0) of an `elst` box, converted to frames.
fn read_elst(
    file: &mut File,
    (start, end): (u64, u64),
    movie_scale: u32,
    media_scale: u32,
    sample_rate: u32,
) -> Option<EditSpan> {
    let head = read_at(file, start, 8)?;
    let version = head[0];
    let count = u32::from_be_bytes([head[4], head[5], head[6], head[7]]).min(64);
    let entry_len = if version == 1 { 20 } else { 12 };
    for i in 0..u64::from(count) {
        let at = start + 8 + i * entry_len;
        if at + entry_len > end {
            return None;
        }
        let e = read_at(file, at, entry_len as usize)?;
        let (duration, media_time) = if version == 1 {
            (
                u64::from_be_bytes(e[0..8].try_into().ok()?),
                i64::from_be_bytes(e[8..16].try_into().ok()?),
            )
        } else {
            (
                u64::from(u32::from_be_bytes(e[0..4].try_into().ok()?)),
                i64::from(i32::from_be_bytes(e[4..8].try_into().ok()?)),
            )
        };
        if media_time < 0 {
            continue; // an empty edit (a gap), not a trim
        }
        let rate = u128::from(sample_rate);
        let skip = u128::from(media_time as u64) * rate / u128::from(media_scale.max(1));
        let keep = (duration > 0)
            .then(|| u128::from(duration) * rate / u128::from(movie_scale.max(1)))
            .and_then(|k| u64::try_from(k).ok());
        return Some(EditSpan {
            skip: u64::try_from(skip).ok()?,
            keep,
        });
    }
    None
}

/// The timescale field of an `mvhd` or `mdhd` box (version 0 or 1).
fn read_timescale(file: &mut File, start: u64, end: u64) -> Option<u32> {
    let version = read_at(file, start, 1)?[0];
    let at = if version == 1 { start + 20 } else { start + 12 };
    if at + 4 > end {
        return None;
    }
    let b = read_at(file, at, 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).filter(|&s| s > 0)
}

/// Finds the first child box of type `kind` between `from` and `to`; returns its payload span.
fn find_box(file: &mut File, from: u64, to: u64, kind: &[u8; 4]) -> Option<(u64, u64)> {
    let mut pos = from;
    while pos + 8 <= to {
        let h = read_at(file, pos, 8)?;
        let mut size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        let mut header = 8;
        if size == 1 {
            size = u64::from_be_bytes(read_at(file, pos + 8, 8)?.try_into().ok()?);
            header = 16;
        } else if size == 0 {
            size = to - pos;
        }
        if size < header || pos + size > to {
            return None;
        }
        if &h[4..8] == kind {
            return Some((pos + header, pos + size));
        }
        pos += size;
    }
    None
}

fn read_at(file: &mut File, at: u64, len: usize) -> Option<Vec<u8>> {
    file.seek(SeekFrom::Start(at)).ok()?;
    let mut buf = vec![0; len];
    file.read_exact(&mut buf).ok()?;
    Some(buf)
}
