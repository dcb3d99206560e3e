//! Reading and setting write-back's fields in the tag formats of the files Earmark writes, with
//! `lofty`: ID3v2 in MP3, Vorbis comments in FLAC, Ogg Vorbis and Opus, and the `ilst` atoms of
//! M4A.
//!
//! Each format's own tag type is edited (never lofty's format-neutral `Tag`, which would drop
//! the frames it has no name for), so everything else in the tag is written back as it was read.
//!
//! | field        | ID3v2.4        | ID3v2.3        | Vorbis comment | MP4                          |
//! |--------------|----------------|----------------|----------------|------------------------------|
//! | genre        | `TCON`         | `TCON`         | `GENRE`        | `©gen`                       |
//! | mood         | `TMOO`         | `TXXX:MOOD`    | `MOOD`         | `----:com.apple.iTunes:MOOD` |
//! | custom `X`   | `TXXX:X`       | `TXXX:X`       | `X` (upper)    | `----:com.apple.iTunes:X`    |

use std::borrow::Cow;
use std::io::{Cursor, Read, Seek};

use lofty::config::{ParseOptions, WriteOptions};
use lofty::file::{AudioFile, FileType};
use lofty::flac::FlacFile;
use lofty::id3::v2::{Frame, FrameId, Id3v2Tag, Id3v2Version, TextInformationFrame};
use lofty::mp4::{Atom, AtomData, AtomIdent, Ilst, Mp4File};
use lofty::mpeg::MpegFile;
use lofty::ogg::tag::VorbisComments;
use lofty::ogg::{OggPictureStorage, OpusFile, VorbisFile};
use lofty::probe::Probe;
use lofty::tag::TagExt;
use serde::{Deserialize, Serialize};

use super::fields::{Field, LABEL_SEPARATOR};

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
        }
    }
}

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
        Some(other) => Err(format!(
            "tags are not written into {other:?} files (only MP3, FLAC, Ogg Vorbis, Opus and M4A)"
        )),
        None => Err("not an audio file whose tags Earmark can write".into()),
    }
}

enum Inner {
    Id3(Id3v2Tag),
    Vorbis(VorbisComments),
    Mp4(Ilst),
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
        };
        Ok(FileTags { format, inner })
    }

    /// The ID3v2 version the file's tag had, for MP3 files that have one.
    pub fn id3_version(&self) -> Option<Id3v2Version> {
        match &self.inner {
            Inner::Id3(tag) if !tag.is_empty() => Some(tag.original_version()),
            _ => None,
        }
    }

    /// The field's current value (several values joined by `"; "`); `None` when empty.
    pub fn get(&self, field: &Field) -> Option<String> {
        match &self.inner {
            Inner::Id3(tag) => match field {
                Field::Genre => tag.get_texts(&frame_id("TCON")).and_then(joined),
                Field::Mood => tag
                    .get_texts(&frame_id("TMOO"))
                    .and_then(joined)
                    .or_else(|| joined(tag.get_user_text(ID3_MOOD_TXXX).into_iter())),
                Field::Custom(name) => joined(tag.get_user_text(name).into_iter()),
            },
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
            Inner::Id3(tag) => {
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
        };
        result.map_err(|e| format!("cannot write the tag: {e}"))?;
        Ok(file.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_audio_and_unhandled_formats_are_refused_with_a_reason() {
        let err = detect(Cursor::new(b"just some text, not audio".to_vec())).unwrap_err();
        assert!(err.contains("not an audio file"), "{err}");
        let mut wav = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
        wav.extend_from_slice(&[16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0]);
        wav.extend_from_slice(&[2, 0, 16, 0]);
        wav.extend_from_slice(b"data\x00\x00\x00\x00");
        let err = detect(Cursor::new(wav)).unwrap_err();
        assert!(err.contains("Wav"), "{err}");
    }
}
