//! Whether an MPEG audio file (MP1/MP2/MP3) ends inside a frame.
//!
//! An MPEG audio stream has no end marker, so the demuxer treats a frame cut short by the end
//! of the file like the end of the stream. This check reads the file's last bytes, finds the
//! chain of frames there (two headers a frame length apart, with the same version, layer and
//! sample rate) and follows it: a chain that runs past the end of the file (before any ID3v1
//! or APE tag) means the file was truncated. A file cut exactly between frames is a valid,
//! shorter stream and is not flagged here (its Xing frame count, when present, still tells).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes read from the end of the file: several of the largest frames (2881 bytes).
const TAIL: u64 = 16 * 1024;

/// Bit rates in kbit/s by (version 1?, layer), index 1..=14.
const KBPS_V1: [[u32; 15]; 3] = [
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
const KBPS_V2: [[u32; 15]; 2] = [
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// The bits that stay the same from frame to frame: sync, version, layer, sample rate.
const SAME_MASK: u32 = 0xFFFE_0C00;

/// Total length in bytes (header included) of the frame whose header is `h`.
fn frame_len(h: u32) -> Option<usize> {
    if h >> 21 != 0x7FF {
        return None;
    }
    let version = (h >> 19) & 3; // 0: 2.5, 2: 2, 3: 1
    let layer = (h >> 17) & 3; // 1: III, 2: II, 3: I
    let rate_idx = ((h >> 12) & 0xF) as usize;
    let sr_idx = ((h >> 10) & 3) as usize;
    if version == 1 || layer == 0 || rate_idx == 0 || rate_idx == 15 || sr_idx == 3 {
        return None;
    }
    let kbps = if version == 3 {
        KBPS_V1[(3 - layer) as usize][rate_idx]
    } else {
        KBPS_V2[usize::from(layer != 3)][rate_idx]
    };
    let sample_rate = [44_100, 48_000, 32_000][sr_idx]
        >> match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
    let padding = ((h >> 9) & 1) as usize;
    let bitrate = kbps * 1000;
    Some(match layer {
        3 => (12 * bitrate / sample_rate) as usize * 4 + padding * 4,
        1 if version != 3 => (72 * bitrate / sample_rate) as usize + padding,
        _ => (144 * bitrate / sample_rate) as usize + padding,
    })
}

fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Where the audio of `tail` ends: before a trailing ID3v1 tag and an APEv2 tag.
fn audio_end(tail: &[u8]) -> usize {
    let mut end = tail.len();
    if end >= 128 && &tail[end - 128..end - 125] == b"TAG" {
        end -= 128;
    }
    if end >= 32 && &tail[end - 32..end - 24] == b"APETAGEX" {
        let f = &tail[end - 32..end];
        let size = u32::from_le_bytes([f[12], f[13], f[14], f[15]]) as usize;
        let flags = u32::from_le_bytes([f[20], f[21], f[22], f[23]]);
        let header = if flags & 0x8000_0000 != 0 { 32 } else { 0 };
        end = end.saturating_sub(size + header);
    }
    end
}

/// Whether the frames at the end of `tail` run past its audio end.
pub fn tail_is_cut(tail: &[u8]) -> bool {
    let end = audio_end(tail);
    // The first place where two frames follow each other starts the chain.
    let start = (0..end.saturating_sub(4)).find(|&p| {
        let Some(h) = word(tail, p) else { return false };
        let Some(len) = frame_len(h) else {
            return false;
        };
        word(tail, p + len)
            .is_some_and(|n| n & SAME_MASK == h & SAME_MASK && frame_len(n).is_some())
    });
    let Some(mut at) = start else {
        return false;
    };
    let first = word(tail, at).unwrap_or(0) & SAME_MASK;
    loop {
        if at == end {
            return false;
        }
        if end - at < 4 {
            // The cut fell inside the next frame's header.
            return tail[at] == 0xFF;
        }
        let Some(h) = word(tail, at).filter(|h| h & SAME_MASK == first) else {
            return false; // something else follows the audio: not our business
        };
        let Some(len) = frame_len(h) else {
            return false;
        };
        if at + len > end {
            return true;
        }
        at += len;
    }
}

/// Whether the MPEG audio file at `path` ends inside a frame.
pub fn last_frame_cut(path: &Path) -> std::io::Result<bool> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))?;
    let mut tail = Vec::with_capacity(TAIL as usize);
    file.take(TAIL).read_to_end(&mut tail)?;
    Ok(tail_is_cut(&tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames.
    const HEADER: [u8; 4] = [0xFF, 0xFB, 0x90, 0x64];

    fn frames(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            out.extend_from_slice(&HEADER);
            out.extend((0..413).map(|k| ((i * 31 + k * 7) % 251) as u8 & 0x7F));
        }
        out
    }

    #[test]
    fn frame_length_follows_the_header() {
        assert_eq!(frame_len(u32::from_be_bytes(HEADER)), Some(417));
        assert_eq!(frame_len(0x1234_5678), None);
    }

    #[test]
    fn whole_frames_are_not_cut_and_a_partial_one_is() {
        let whole = frames(30);
        assert!(!tail_is_cut(&whole));
        let mut tagged = whole.clone();
        tagged.extend_from_slice(b"TAG");
        tagged.extend(std::iter::repeat_n(b' ', 125));
        assert!(!tail_is_cut(&tagged));
        for cut in [1, 2, 3, 100, 416] {
            assert!(tail_is_cut(&whole[..whole.len() - cut]), "cut {cut}");
        }
        assert!(!tail_is_cut(&whole[..whole.len() - 417]));
    }
}
