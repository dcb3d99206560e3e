//! Streamed decoding of audio files into interleaved `f32` frames.
//!
//! Symphonia reads the containers (WAV, AIFF, CAF, FLAC, MP3, Ogg, MP4/M4A, MKV/WebM) and decodes
//! PCM, FLAC, MP3, Vorbis, AAC and ALAC; Opus packets go to libopus. Frames come out one packet at
//! a time, so a file of any length is decoded in bounded memory.
//!
//! Damaged input never panics: a packet that fails to decode is skipped and counted, a stream that
//! ends early (truncated file) ends the decode with what was readable, and non-finite samples are
//! replaced by silence and counted. Anything worse is an [`Error`] naming the file. An MPEG audio
//! stream has no end marker; its truncation is found by [`super::mpeg_tail`]. Only regular
//! files are opened.

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder as SymphoniaDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::{MetadataOptions, MetadataRevision, StandardTag};

use super::mp4_edit::{self, EditSpan};
use super::opus_codec::OpusStreamDecoder;
use crate::{Error, Result};

/// The most channels Earmark accepts in one file.
pub const MAX_CHANNELS: usize = 64;
/// The highest source sample rate Earmark accepts (Hz).
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// What a file is, read from its headers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudioInfo {
    /// Container format, e.g. `wave`, `flac`, `ogg`.
    pub container: String,
    /// Codec, e.g. `pcm_s16le`, `mp3`, `opus`.
    pub codec: String,
    /// Number of channels.
    pub channels: usize,
    /// Source sample rate in Hz.
    pub sample_rate: u32,
    /// Number of frames according to the container, when it says.
    pub frames: Option<u64>,
    /// Embedded title.
    pub title: Option<String>,
    /// Embedded artist.
    pub artist: Option<String>,
    /// Embedded album.
    pub album: Option<String>,
    /// Embedded genre.
    pub genre: Option<String>,
}

impl AudioInfo {
    /// Duration in seconds according to the container, when it says.
    pub fn duration_s(&self) -> Option<f64> {
        self.frames
            .map(|n| n as f64 / f64::from(self.sample_rate.max(1)))
    }
}

/// Counters of what a decode had to repair or skip.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecodeStats {
    /// Packets that failed to decode and were skipped.
    pub skipped_packets: u64,
    /// NaN or infinite samples replaced by silence.
    pub non_finite_samples: u64,
    /// The stream ended before its container said it would (truncated file).
    pub truncated: bool,
}

enum Codec {
    Symphonia(Box<dyn SymphoniaDecoder>),
    Opus(OpusStreamDecoder),
}

/// A streaming decoder over one audio file.
pub struct AudioDecoder {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    codec: Codec,
    track_id: u32,
    info: AudioInfo,
    block: Vec<f32>,
    stats: DecodeStats,
    finished: bool,
    /// Frames handed out so far.
    decoded: u64,
    /// Gapless trimming still to apply (MP4 edit lists).
    trim: Option<EditSpan>,
}

/// A packet that fails to decode this many times in a row ends the decode with an error.
const MAX_CONSECUTIVE_BAD_PACKETS: u32 = 64;

impl AudioDecoder {
    /// Opens `path`, probes its container and prepares a decoder for its first audio track.
    ///
    /// Only regular files are opened: a named pipe, device or socket is refused before it is
    /// opened (opening a pipe for reading would wait for a writer).
    pub fn open(path: &Path) -> Result<Self> {
        let kind = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .file_type();
        if !kind.is_file() {
            return Err(Error::NoAudio {
                path: path.to_path_buf(),
                reason: format!(
                    "not a regular file ({}); Earmark reads audio only from regular files",
                    describe(kind)
                ),
            });
        }
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(Error::NoAudio {
                path: path.to_path_buf(),
                reason: "the file is empty (0 bytes)".into(),
            });
        }
        let unsupported = |reason: String| Error::UnsupportedFormat {
            path: path.to_path_buf(),
            reason,
        };
        let mut format = match probe(path, Box::new(file)) {
            Ok(format) => format,
            // Readers that look at the end of a seekable file (Ogg, FLAC) fail on a truncated
            // one; read as an unseekable stream, the readable part still decodes.
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let file = File::open(path).map_err(|e| Error::io(path, e))?;
                probe(path, Box::new(ReadOnlySource::new(file)))
                    .map_err(|e| unsupported(e.to_string()))?
            }
            Err(e) => return Err(unsupported(e.to_string())),
        };
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| unsupported("no audio track".into()))?
            .clone();
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| unsupported("the audio track has no codec parameters".into()))?
            .clone();
        let sample_rate = params
            .sample_rate
            .filter(|&r| r > 0)
            .ok_or_else(|| unsupported("the audio track has no sample rate".into()))?;
        if sample_rate > MAX_SAMPLE_RATE {
            return Err(unsupported(format!(
                "sample rate {sample_rate} Hz is above the supported {MAX_SAMPLE_RATE} Hz"
            )));
        }
        let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
        let container = format.format_info().short_name.to_string();
        let (codec, codec_name) = if params.codec == CODEC_ID_OPUS {
            let dec =
                OpusStreamDecoder::new(&params, track.delay.unwrap_or(0)).map_err(|reason| {
                    Error::Decode {
                        path: path.to_path_buf(),
                        reason,
                    }
                })?;
            (Codec::Opus(dec), "opus".to_string())
        } else {
            let registry = symphonia::default::get_codecs();
            let name = registry
                .get_audio_decoder(params.codec)
                .map(|d| d.codec.info.short_name.to_string())
                .unwrap_or_else(|| format!("codec {}", params.codec));
            let dec = registry
                .make_audio_decoder(&params, &AudioDecoderOptions::default())
                .map_err(|e| unsupported(format!("{name}: {e}")))?;
            (Codec::Symphonia(dec), name)
        };
        let channels = match &codec {
            Codec::Opus(d) => d.channels(),
            Codec::Symphonia(_) => channels,
        };
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(unsupported(format!(
                "{channels} channels (supported: 1 to {MAX_CHANNELS})"
            )));
        }
        let mut info = AudioInfo {
            container,
            codec: codec_name,
            channels,
            sample_rate,
            frames: track.num_frames,
            ..AudioInfo::default()
        };
        let trim = if info.container == "isomp4" {
            mp4_edit::read_edit_span(path, sample_rate)
        } else {
            None
        };
        let mut metadata = format.metadata();
        while let Some(rev) = metadata.pop() {
            apply_tags(&mut info, &rev);
        }
        if let Some(rev) = metadata.current() {
            apply_tags(&mut info, rev);
        }
        Ok(AudioDecoder {
            path: path.to_path_buf(),
            format,
            codec,
            track_id: track.id,
            info,
            block: Vec::new(),
            stats: DecodeStats::default(),
            finished: false,
            decoded: 0,
            trim,
        })
    }

    /// What the headers say about the file.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// What the decode had to repair or skip so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Decodes the next packet: interleaved frames with [`AudioInfo::channels`] channels, or `None`
    /// at the end of the stream. A packet may decode to zero frames (an empty block).
    pub fn next_block(&mut self) -> Result<Option<&[f32]>> {
        let mut bad_in_a_row = 0u32;
        loop {
            if self.finished {
                return Ok(None);
            }
            let packet = match contained(|| self.format.next_packet()) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.finished = true;
                    self.stats.truncated |= self.mpeg_cut_short();
                    return Ok(None);
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.stats.truncated = true;
                    self.finished = true;
                    return Ok(None);
                }
                Err(SymError::ResetRequired) => {
                    // A chained stream starts a new track: Earmark reads the first one only.
                    self.finished = true;
                    return Ok(None);
                }
                Err(SymError::DecodeError(_)) => {
                    // A damaged container packet: skip it, as players do.
                    self.stats.skipped_packets += 1;
                    bad_in_a_row += 1;
                    if bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS {
                        return Err(self.decode_error("too many consecutive damaged packets"));
                    }
                    continue;
                }
                Err(e) => return Err(self.decode_error(&e.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoded = match &mut self.codec {
                Codec::Symphonia(dec) => match contained(|| dec.decode(&packet)) {
                    Ok(buf) => {
                        if buf.spec().channels().count() != self.info.channels {
                            return Err(self.decode_error("the channel count changes mid-stream"));
                        }
                        self.block.clear();
                        buf.copy_to_vec_interleaved(&mut self.block);
                        Ok(())
                    }
                    Err(SymError::DecodeError(reason)) => Err(reason.to_string()),
                    Err(SymError::IoError(e)) => Err(e.to_string()),
                    Err(e) => return Err(self.decode_error(&e.to_string())),
                },
                Codec::Opus(dec) => dec.decode(&packet, &mut self.block),
            };
            match decoded {
                Ok(()) => {
                    self.stats.non_finite_samples += sanitise(&mut self.block);
                    self.apply_trim();
                    self.decoded += (self.block.len() / self.info.channels.max(1)) as u64;
                    return Ok(Some(&self.block));
                }
                Err(_) => {
                    self.stats.skipped_packets += 1;
                    bad_in_a_row += 1;
                    if bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS {
                        return Err(self.decode_error("too many consecutive undecodable packets"));
                    }
                }
            }
        }
    }

    /// Whether an MPEG audio stream that just ended was cut short: fewer frames than its
    /// Xing/VBRI header counts, or a last frame that runs past the end of the file.
    fn mpeg_cut_short(&self) -> bool {
        if !matches!(self.info.container.as_str(), "mp1" | "mp2" | "mp3") {
            return false;
        }
        // Two MPEG frames of slack for encoder delay and padding, and one per damaged frame
        // skipped (reported as such).
        let slack = (self.stats.skipped_packets + 2) * 1152;
        let short = self.info.frames.is_some_and(|n| self.decoded + slack < n);
        short || super::mpeg_tail::last_frame_cut(&self.path).unwrap_or(false)
    }

    /// Drops priming frames at the start and padding frames at the end (MP4 edit lists).
    fn apply_trim(&mut self) {
        let Some(span) = self.trim.as_mut() else {
            return;
        };
        let channels = self.info.channels;
        let frames = (self.block.len() / channels) as u64;
        let skip = span.skip.min(frames);
        span.skip -= skip;
        self.block.drain(..skip as usize * channels);
        if let Some(keep) = span.keep.as_mut() {
            let kept = (frames - skip).min(*keep);
            *keep -= kept;
            self.block.truncate(kept as usize * channels);
        }
    }

    fn decode_error(&self, reason: &str) -> Error {
        Error::Decode {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }
}

/// Probes the container of `source`, with the file extension as a hint.
fn probe(
    path: &Path,
    source: Box<dyn MediaSource>,
) -> std::result::Result<Box<dyn FormatReader>, SymError> {
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    contained(|| {
        symphonia::default::get_probe().probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
    })
}

/// Runs one call into a container reader or codec, turning a panic inside it (a hostile
/// header that makes the reader's arithmetic overflow, say) into an error for this file.
fn contained<T>(
    call: impl FnOnce() -> std::result::Result<T, SymError>,
) -> std::result::Result<T, SymError> {
    crate::jobs::guard::run_caught(call).unwrap_or_else(|panicked| {
        Err(SymError::IoError(std::io::Error::other(format!(
            "the file's structure made the reader fail ({panicked})"
        ))))
    })
}

/// What kind of non-regular file `kind` is, for messages.
fn describe(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "not a plain file"
    }
}

/// Replaces NaN and infinite samples by silence; returns how many there were.
fn sanitise(block: &mut [f32]) -> u64 {
    let mut count = 0;
    for v in block.iter_mut() {
        if !v.is_finite() {
            *v = 0.0;
            count += 1;
        }
    }
    count
}

fn apply_tags(info: &mut AudioInfo, rev: &MetadataRevision) {
    let tracks = rev.per_track.iter().map(|t| &t.metadata);
    for container in std::iter::once(&rev.media).chain(tracks) {
        for tag in &container.tags {
            let (slot, value) = match &tag.std {
                Some(StandardTag::TrackTitle(v)) => (&mut info.title, v),
                Some(StandardTag::Artist(v)) => (&mut info.artist, v),
                Some(StandardTag::Album(v)) => (&mut info.album, v),
                Some(StandardTag::Genre(v)) => (&mut info.genre, v),
                _ => continue,
            };
            let value = value.trim();
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value.to_string());
            }
        }
    }
}
