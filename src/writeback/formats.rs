//! Reading and setting write-back's fields in the tag formats of the files Earmark writes, with
//! `lofty`: ID3v2 in MP3, Vorbis comments in FLAC, Ogg Vorbis and Opus, the `ilst` atoms of
//! M4A, and an ID3v2 chunk (`ID3 `) in WAV and AIFF files.
//!
//! WAV and AIFF carry the same ID3v2 frames as MP3, in a chunk of their own after the audio —
//! what foobar2000, Mp3tag, Kid3, MusicBrainz Picard, iTunes and ffmpeg (AIFF; WAV without an
//! INFO list) read. A WAV file also has its RIFF `LIST/INFO` list, which Windows Explorer,
//! Audacity, ffmpeg and most sample tools read: its genre goes into `IGNR` as well, and the
//! default field ([`DEFAULT_FIELD`], the labels) into `IKEY`, the list's keywords entry — made
//! for exactly this, "keywords separated by a semicolon and a blank". A value found only in the
//! INFO list counts as the field's value (a vendor's keywords are kept unless asked). Every
//! chunk besides the tag chunks is left byte for byte as it was (checked after each write, see
//! [`super::iff`]).
//!
//! Each format's own tag type is edited (never lofty's format-neutral `Tag`, which would drop
//! the frames it has no name for), so everything else in the tag is written back as it was read.
//!
//! | field        | ID3v2.4        | ID3v2.3        | Vorbis comment | MP4                          |
//! |--------------|----------------|----------------|----------------|------------------------------|
//! | genre        | `TCON`         | `TCON`         | `GENRE`        | `©gen`                       |
//! | mood         | `TMOO`         | `TXXX:MOOD`    | `MOOD`         | `----:com.apple.iTunes:MOOD` |
//! | custom `X`   | `TXXX:X`       | `TXXX:X`       | `X` (upper)    | `----:com.apple.iTunes:X`    |
//!
//! (WAV and AIFF: the ID3v2 columns; in WAV also `IGNR` for the genre and `IKEY` for
//! `EARMARK_TAGS`.)

use std::borrow::Cow;
use std::io::{Cursor, Read, Seek};

use lofty::config::{ParseOptions, WriteOptions};
use lofty::file::{AudioFile, FileType};
use lofty::flac::FlacFile;
use lofty::id3::v2::{Frame, FrameId, Id3v2Tag, Id3v2Version, TextInformationFrame};
use lofty::iff::aiff::AiffFile;
use lofty::iff::wav::{RiffInfoList, WavFile};
use lofty::mp4::{Atom, AtomData, AtomIdent, Ilst, Mp4File};
use lofty::mpeg::MpegFile;
use lofty::ogg::tag::VorbisComments;
use lofty::ogg::{OggPictureStorage, OpusFile, VorbisFile};
use lofty::probe::Probe;
use lofty::tag::TagExt;
use serde::{Deserialize, Serialize};

use super::fields::{DEFAULT_FIELD, Field, LABEL_SEPARATOR};

/// The file kinds write-back handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagFormat {
    /// MPEG audio with an ID3v2 tag.
    Mp3,
    /// FLAC with Vorbis comments.
    Flac,
    /// Ogg Vorbis with Vorbis comments.
    Vorbis,
    /// Ogg Opus with Vorbis comments.
    Opus,
    /// MP4/M4A with `ilst` atoms.
    M4a,
    /// RIFF WAVE with an ID3v2 chunk (and the genre and labels in `LIST/INFO` too).
    Wav,
    /// AIFF or AIFF-C with an ID3v2 chunk.
    Aiff,
}

impl TagFormat {
    /// The kind of file and tag, for people.
    pub fn describe(self) -> &'static str {
        match self {
            TagFormat::Mp3 => "MP3, ID3v2",
            TagFormat::Flac => "FLAC, Vorbis comments",
            TagFormat::Vorbis => "Ogg Vorbis, Vorbis comments",
            TagFormat::Opus => "Opus, Vorbis comments",
            TagFormat::M4a => "M4A, MP4 atoms",
            TagFormat::Wav => "WAV, ID3v2 chunk and RIFF INFO",
            TagFormat::Aiff => "AIFF, ID3v2 chunk",
        }
    }

    /// Whether the file is chunked (RIFF/IFF): its audio chunks are checked unchanged after a
    /// write.
    pub fn is_chunked(self) -> bool {
        matches!(self, TagFormat::Wav | TagFormat::Aiff)
    }
}

/// The formats write-back handles, for people.
pub const SUPPORTED: &str = "MP3, FLAC, Ogg Vorbis, Opus, M4A, WAV and AIFF";

/// The reason given for a file whose kind (`what`: "CAF files", "WavPack files") write-back
/// does not handle.
pub fn unsupported(what: &str) -> String {
    format!("not supported for writing tags: {what} (Earmark writes tags into {SUPPORTED} files)")
}

/// What an unrecognised file is called when its name says nothing either.
const UNKNOWN_KIND: &str = "files of this kind";

/// The format of the file `reader` reads, judged by its content; an error (the reason) for
/// files write-back does not handle.
pub fn detect<R: Read + Seek>(reader: R) -> Result<TagFormat, String> {
    let probe = Probe::new(reader)
        .guess_file_type()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    match probe.file_type() {
        Some(FileType::Mpeg) => Ok(TagFormat::Mp3),
        Some(FileType::Flac) => Ok(TagFormat::Flac),
        Some(FileType::Vorbis) => Ok(TagFormat::Vorbis),
        Some(FileType::Opus) => Ok(TagFormat::Opus),
        Some(FileType::Mp4) => Ok(TagFormat::M4a),
        Some(FileType::Wav) => Ok(TagFormat::Wav),
        Some(FileType::Aiff) => Ok(TagFormat::Aiff),
        Some(other) => Err(unsupported(&format!("{other:?} files"))),
        None => Err(unsupported(UNKNOWN_KIND)),
    }
}

/// [`detect`], naming the kind of an unrecognised file by `path`'s extension ("CAF files").
pub fn detect_file<R: Read + Seek>(reader: R, path: &std::path::Path) -> Result<TagFormat, String> {
    detect(reader).map_err(|why| match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if why == unsupported(UNKNOWN_KIND) => {
            unsupported(&format!("{} files", ext.to_ascii_uppercase()))
        }
        _ => why,
    })
}

enum Inner {
    Id3(Id3v2Tag),
    Vorbis(VorbisComments),
    Mp4(Ilst),
    /// A WAV file's ID3v2 chunk, its `LIST/INFO` and whether the INFO list was changed.
    Wav(Id3v2Tag, RiffInfoList, bool),
}

/// A file's tag, read to be looked at or edited.
pub struct FileTags {
    format: TagFormat,
    inner: Inner,
}

fn parse_options() -> ParseOptions {
    // Properties are not needed; conversions would change what is written back.
    ParseOptions::new()
        .read_properties(false)
        .implicit_conversions(false)
}

const ID3_MOOD_TXXX: &str = "MOOD";

/// The RIFF INFO entry that also holds `field` in a WAV file, if any.
fn riff_key(field: &Field) -> Option<&'static str> {
    match field {
        Field::Genre => Some("IGNR"),
        Field::Custom(name) if name == DEFAULT_FIELD => Some("IKEY"),
        _ => None,
    }
}
const MP4_FREEFORM_MEAN: &str = "com.apple.iTunes";
const MP4_GENRE: AtomIdent<'static> = AtomIdent::Fourcc(*b"\xa9gen");

fn frame_id(id: &'static str) -> FrameId<'static> {
    FrameId::Valid(Cow::Borrowed(id))
}

fn freeform(name: &str) -> AtomIdent<'static> {
    AtomIdent::Freeform {
        mean: Cow::Borrowed(MP4_FREEFORM_MEAN),
        name: Cow::Owned(name.to_owned()),
    }
}

fn vorbis_key(field: &Field) -> String {
    field.name().to_ascii_uppercase()
}

fn joined<'a>(values: impl Iterator<Item = &'a str>) -> Option<String> {
    let parts: Vec<&str> = values.map(str::trim).filter(|v| !v.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(LABEL_SEPARATOR))
}

impl FileTags {
    /// Reads the tag of a file of `format` (an empty tag when the file has none).
    pub fn read<R: Read + Seek>(reader: &mut R, format: TagFormat) -> Result<Self, String> {
        let bad = |e: lofty::error::FileParseError| format!("cannot read its tags: {e}");
        let opts = parse_options();
        let inner = match format {
            TagFormat::Mp3 => Inner::Id3(
                MpegFile::read_from(reader, opts)
                    .map_err(bad)?
                    .id3v2()
                    .cloned()
                    .unwrap_or_default(),
            ),
            TagFormat::Flac => {
                let file = FlacFile::read_from(reader, opts).map_err(bad)?;
                let mut comments = file.vorbis_comments().cloned().unwrap_or_default();
                // FLAC keeps pictures in their own blocks; writing the comments rewrites those
                // blocks from the comments' pictures, so they travel along.
                for (picture, info) in file.pictures() {
                    comments
                        .insert_picture(picture.clone(), Some(*info))
                        .map_err(|e| format!("cannot keep a picture: {e}"))?;
                }
                Inner::Vorbis(comments)
            }
            TagFormat::Vorbis => Inner::Vorbis(
                VorbisFile::read_from(reader, opts)
                    .map_err(bad)?
                    .vorbis_comments()
                    .clone(),
            ),
            TagFormat::Opus => Inner::Vorbis(
                OpusFile::read_from(reader, opts)
                    .map_err(bad)?
                    .vorbis_comments()
                    .clone(),
            ),
            TagFormat::M4a => Inner::Mp4(
                Mp4File::read_from(reader, opts)
                    .map_err(bad)?
                    .ilst()
                    .cloned()
                    .unwrap_or_default(),
            ),
            TagFormat::Wav => {
                let file = WavFile::read_from(reader, opts).map_err(bad)?;
                Inner::Wav(
                    file.id3v2().cloned().unwrap_or_default(),
                    file.riff_info().cloned().unwrap_or_default(),
                    false,
                )
            }
            TagFormat::Aiff => Inner::Id3(
                AiffFile::read_from(reader, opts)
                    .map_err(bad)?
                    .id3v2()
                    .cloned()
                    .unwrap_or_default(),
            ),
        };
        Ok(FileTags { format, inner })
    }

    /// The ID3v2 version the file's tag had, for MP3 files that have one.
    pub fn id3_version(&self) -> Option<Id3v2Version> {
        match &self.inner {
            Inner::Id3(tag) | Inner::Wav(tag, ..) if !tag.is_empty() => {
                Some(tag.original_version())
            }
            _ => None,
        }
    }

    /// The field's current value (several values joined by `"; "`); `None` when empty.
    pub fn get(&self, field: &Field) -> Option<String> {
        match &self.inner {
            Inner::Id3(tag) => id3_get(tag, field),
            Inner::Wav(tag, info, _) => id3_get(tag, field)
                .or_else(|| riff_key(field).and_then(|key| joined(info.get(key).into_iter()))),
            Inner::Vorbis(tag) => joined(tag.get_all(&vorbis_key(field))),
            Inner::Mp4(tag) => {
                let ident = match field {
                    Field::Genre => MP4_GENRE,
                    Field::Mood => freeform("MOOD"),
                    Field::Custom(name) => freeform(name),
                };
                let atom = tag.get(&ident)?;
                joined(atom.data().filter_map(|d| match d {
                    AtomData::UTF8(s) | AtomData::UTF16(s) => Some(s.as_str()),
                    _ => None,
                }))
            }
        }
    }

    /// Sets the field to `value`, replacing what it held. `id3v23` picks the ID3v2.3 frames.
    pub fn set(&mut self, field: &Field, value: &str, id3v23: bool) {
        match &mut self.inner {
            Inner::Id3(tag) => id3_set(tag, field, value, id3v23),
            Inner::Wav(tag, info, info_changed) => {
                id3_set(tag, field, value, id3v23);
                if let Some(key) = riff_key(field) {
                    info.insert(key.to_owned(), value.to_owned());
                    *info_changed = true;
                }
            }
            Inner::Vorbis(tag) => tag.insert(vorbis_key(field), value.to_owned()),
            Inner::Mp4(tag) => {
                let ident = match field {
                    Field::Genre => MP4_GENRE,
                    Field::Mood => freeform("MOOD"),
                    Field::Custom(name) => freeform(name),
                };
                if *field == Field::Genre {
                    // The numeric genre atom would compete with the text one.
                    let _ = tag.remove(&AtomIdent::Fourcc(*b"gnre")).count();
                }
                tag.replace_atom(Atom::new(ident, AtomData::UTF8(value.to_owned())));
            }
        }
    }

    /// The file's bytes with this tag written into them.
    pub fn write_into(&self, original: Vec<u8>, id3v23: bool) -> Result<Vec<u8>, String> {
        let mut opts = WriteOptions::new();
        if matches!(self.format, TagFormat::Vorbis | TagFormat::Opus) {
            // Ogg files are rewritten whole anyway; padding would only add pages.
            opts = opts.preferred_padding(0);
        }
        let opts = opts.use_id3v23(id3v23);
        let mut file = Cursor::new(original);
        let result = match &self.inner {
            Inner::Id3(tag) => tag.save_to(&mut file, opts),
            Inner::Vorbis(tag) => tag.save_to(&mut file, opts),
            Inner::Mp4(tag) => tag.save_to(&mut file, opts),
            Inner::Wav(tag, info, info_changed) => tag.save_to(&mut file, opts).and_then(|()| {
                if *info_changed {
                    std::io::Seek::rewind(&mut file)?;
                    info.save_to(&mut file, opts)
                } else {
                    Ok(())
                }
            }),
        };
        result.map_err(|e| format!("cannot write the tag: {e}"))?;
        Ok(file.into_inner())
    }
}

/// The field's value in an ID3v2 tag.
fn id3_get(tag: &Id3v2Tag, field: &Field) -> Option<String> {
    match field {
        Field::Genre => tag.get_texts(&frame_id("TCON")).and_then(joined),
        Field::Mood => tag
            .get_texts(&frame_id("TMOO"))
            .and_then(joined)
            .or_else(|| joined(tag.get_user_text(ID3_MOOD_TXXX).into_iter())),
        Field::Custom(name) => joined(tag.get_user_text(name).into_iter()),
    }
}

/// Sets the field in an ID3v2 tag; `id3v23` picks the ID3v2.3 frames.
fn id3_set(tag: &mut Id3v2Tag, field: &Field, value: &str, id3v23: bool) {
    let text = |id: &'static str| {
        Frame::Text(TextInformationFrame::new(
            frame_id(id),
            lofty::TextEncoding::UTF8,
            value.to_owned(),
        ))
    };
    match field {
        Field::Genre => {
            tag.insert(text("TCON"));
        }
        Field::Mood if id3v23 => {
            let _ = tag.remove(&frame_id("TMOO")).count();
            tag.insert_user_text(ID3_MOOD_TXXX.to_owned(), value.to_owned());
        }
        Field::Mood => {
            let _ = tag.remove_user_text(ID3_MOOD_TXXX);
            tag.insert(text("TMOO"));
        }
        Field::Custom(name) => {
            tag.insert_user_text(name.clone(), value.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhandled_files_are_not_supported_and_wav_is() {
        let text = b"just some text, not audio".to_vec();
        let err = detect(Cursor::new(text.clone())).unwrap_err();
        assert!(err.starts_with("not supported for writing tags: "), "{err}");
        let err = detect_file(Cursor::new(text), std::path::Path::new("loop.caf")).unwrap_err();
        assert!(
            err.starts_with("not supported for writing tags: CAF files"),
            "{err}"
        );
        let mut wav = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
        wav.extend_from_slice(&[16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0]);
        wav.extend_from_slice(&[2, 0, 16, 0]);
        wav.extend_from_slice(b"data\x00\x00\x00\x00");
        assert_eq!(detect(Cursor::new(wav)), Ok(TagFormat::Wav));
    }
}
