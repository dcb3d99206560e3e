//! The chunk check for WAV and AIFF files: after a tag is written into one, every chunk other
//! than the tag chunks — the format, the audio (`data`, `SSND`), markers, loops, `bext`, `iXML`,
//! whatever the file had — must be there byte for byte and in the same order, or nothing is
//! written. Lofty only appends, replaces or removes its own chunks; this proves it for each file.
//!
//! Tag chunks are the ID3v2 chunk (`ID3 `/`id3 `), a RIFF `LIST` of type `INFO`, and `JUNK`
//! padding (which the ID3v2 writer may leave where a longer tag was).
//!
//! The same comparison says where each kept chunk went, which is what the undo patch needs
//! when the INFO list before the audio and the ID3v2 chunk after it both changed
//! ([`UndoPatch::with_segments`](super::patch::UndoPatch::with_segments)).

use super::patch::Segment;

/// How the numbers of a chunked file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// RIFF (WAV).
    Little,
    /// IFF (AIFF, AIFF-C).
    Big,
}

/// A chunk of the file: its id, where its header starts and its content (without the pad byte).
type Chunk<'a> = ([u8; 4], usize, &'a [u8]);

/// A parsed chunked file.
struct Form<'a> {
    /// `RIFF`/`WAVE`, `FORM`/`AIFF`, `FORM`/`AIFC`.
    kind: [u8; 8],
    order: Order,
    chunks: Vec<Chunk<'a>>,
    /// Where the form ends (trailing bytes may follow).
    end: usize,
}

/// The form and the chunks of a chunked file, in order.
fn chunks(bytes: &[u8]) -> Result<Form<'_>, String> {
    let head = bytes
        .get(..12)
        .ok_or("the file is too short for a RIFF or AIFF header")?;
    let order = match &head[..4] {
        b"RIFF" => Order::Little,
        b"FORM" => Order::Big,
        _ => return Err("the file does not start with a RIFF or FORM header".into()),
    };
    let size = |b: &[u8]| {
        let b = [b[0], b[1], b[2], b[3]];
        match order {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        }
    };
    // The form's own size bounds its chunks; a file with trailing bytes keeps them outside.
    let end = (8 + size(&head[4..8]) as usize).min(bytes.len());
    let mut form = [0u8; 8];
    form[..4].copy_from_slice(&head[..4]);
    form[4..].copy_from_slice(&head[8..12]);
    let mut out = Vec::new();
    let mut pos = 12;
    while pos + 8 <= end {
        let mut id = [0u8; 4];
        id.copy_from_slice(&bytes[pos..pos + 4]);
        let len = size(&bytes[pos + 4..pos + 8]) as usize;
        let start = pos + 8;
        let stop = start.saturating_add(len).min(end);
        out.push((id, pos, &bytes[start..stop]));
        pos = start.saturating_add(len).saturating_add(len & 1);
    }
    Ok(Form {
        kind: form,
        order,
        chunks: out,
        end,
    })
}

/// Whether the chunk is one a tag writer may add, change or remove.
fn is_tag_chunk((id, _, body): &Chunk<'_>, order: Order) -> bool {
    match id {
        b"ID3 " | b"id3 " | b"JUNK" => true,
        b"LIST" => order == Order::Little && body.starts_with(b"INFO"),
        _ => false,
    }
}

/// Checks that `written` holds every chunk of `original` other than the tag chunks, byte for
/// byte, in the same order, under the same form, and returns where each went (a segment per
/// kept chunk and one for what follows the form); the reason when not.
pub fn untouched_segments(original: &[u8], written: &[u8]) -> Result<Vec<Segment>, String> {
    let before = chunks(original)?;
    let after =
        chunks(written).map_err(|e| format!("the written file does not read as chunks: {e}"))?;
    if before.kind != after.kind {
        return Err("the written file's form changed".into());
    }
    let order = before.order;
    let kept = |form: &Form<'_>| -> Vec<([u8; 4], usize, usize, u64)> {
        form.chunks
            .iter()
            .filter(|c| !is_tag_chunk(c, order))
            .map(|&(id, at, body)| (id, at, body.len(), xxhash_rust::xxh3::xxh3_64(body)))
            .collect()
    };
    let (kept_before, kept_after) = (kept(&before), kept(&after));
    let same = |a: &[([u8; 4], usize, usize, u64)], b: &[([u8; 4], usize, usize, u64)]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x.0, x.2, x.3) == (y.0, y.2, y.3))
    };
    if kept_before.is_empty() || !same(&kept_before, &kept_after) {
        let names = |l: &[([u8; 4], usize, usize, u64)]| {
            l.iter()
                .map(|(id, _, len, _)| format!("{}({len})", String::from_utf8_lossy(id)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Err(format!(
            "writing the tag would change the file's other chunks (before: {}; after: {})",
            names(&kept_before),
            names(&kept_after)
        ));
    }
    let shift = |from: usize, to: usize| to as i64 - from as i64;
    let mut segments: Vec<Segment> = kept_before
        .iter()
        .zip(&kept_after)
        .map(|(b, a)| Segment {
            at: b.1 as u64,
            shift: shift(b.1, a.1),
        })
        .collect();
    segments.push(Segment {
        at: before.end as u64,
        shift: shift(before.end, after.end),
    });
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RIFF/WAVE file of `chunks` (ids and bodies), odd bodies padded.
    fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        for (id, data) in chunks {
            body.extend_from_slice(*id);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn tag_chunks_may_change_and_nothing_else_may() {
        let fmt: &[u8] = &[1, 0, 1, 0, 0x44, 0xac, 0, 0, 0x88, 0x58, 1, 0, 2, 0, 16, 0];
        let audio: &[u8] = &[1, 2, 3, 4, 5];
        let original = riff(&[(b"fmt ", fmt), (b"data", audio), (b"cue ", b"xy")]);
        let tagged = riff(&[
            (b"fmt ", fmt),
            (b"LIST", b"INFOIGNR\x05\x00\x00\x00Rock\x00"),
            (b"data", audio),
            (b"cue ", b"xy"),
            (b"ID3 ", b"ID3\x04tag"),
        ]);
        let segments = untouched_segments(&original, &tagged).unwrap();
        // fmt stays put; data and cue move by the INFO list (8 + 17 + 1 pad bytes); the end by
        // that and the ID3 chunk (8 + 7 + 1 pad).
        let shifts: Vec<i64> = segments.iter().map(|s| s.shift).collect();
        assert_eq!(shifts, [0, 26, 26, 42]);
        let patch = super::super::patch::UndoPatch::with_segments(&original, &tagged, segments);
        assert_eq!(patch.restore(&tagged).unwrap(), original);
        assert!(patch.kept_bytes() <= 4, "kept {}", patch.kept_bytes());
        untouched_segments(&tagged, &original).unwrap();
        let changed_audio = riff(&[
            (b"fmt ", fmt),
            (b"data", &[1, 2, 3, 4, 6]),
            (b"cue ", b"xy"),
        ]);
        let err = untouched_segments(&original, &changed_audio).unwrap_err();
        assert!(err.contains("other chunks"), "{err}");
        let lost_cue = riff(&[(b"fmt ", fmt), (b"data", audio)]);
        assert!(untouched_segments(&original, &lost_cue).is_err());
        let reordered = riff(&[(b"fmt ", fmt), (b"cue ", b"xy"), (b"data", audio)]);
        assert!(untouched_segments(&original, &reordered).is_err());
        let mut aiff = original.clone();
        aiff[..4].copy_from_slice(b"FORM");
        assert!(untouched_segments(&original, &aiff).is_err());
        assert!(untouched_segments(b"RIFF", &original).is_err());
    }
}
