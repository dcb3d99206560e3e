//! What the scan reads and measures of a file beside its analysis, in the same decode: the
//! loudness (EBU R128 integrated and true peak, at the file's own rate and channels), the tempo
//! of music (files of [`TEMPO_MIN_S`] or more), and — read with lofty — the title, artist, album
//! and bit depth.
//!
//! The meters keep a fixed amount of state whatever the length of the file
//! ([`crate::dsp::loudness`], [`crate::dsp::tempo`]), so measuring keeps the decode's bounds.
//! The tempo is estimated on the 16 kHz mono signal the analysis makes anyway (a beat lies far
//! below 8 kHz). Reading the tags is bounded by lofty's allocation limit, and a reader that
//! panics on a hostile file costs that file its tags only.

use std::path::{Path, PathBuf};

use super::Library;
use super::db::{files_of_roots, now_ms, sql};
use crate::audio::{self, AudioDecoder, AudioInfo, MonoResampler, StreamSummary};
use crate::dsp::{LoudnessMeter, TempoEstimator};
use crate::error::Result;
use crate::jobs::{JobContext, JobEvent, ProgressTracker};
use crate::wording::count;

/// Files at least this long (seconds) get a tempo: shorter ones are one-shots and loops whose
/// "tempo" would mislead.
pub const TEMPO_MIN_S: f64 = 30.0;

/// The measures of one file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measures {
    /// Integrated loudness (EBU R128), LUFS; `None` for silence or under 400 ms of audio.
    pub loudness_lufs: Option<f64>,
    /// True peak, dBTP; `None` for digital silence.
    pub true_peak_dbtp: Option<f64>,
    /// Tempo in BPM, for files of [`TEMPO_MIN_S`] or more with a steady beat.
    pub tempo_bpm: Option<f64>,
}

/// The meters one decode feeds.
#[derive(Debug)]
pub struct Meters {
    loudness: Option<LoudnessMeter>,
    tempo: TempoEstimator,
}

impl Meters {
    /// Meters for a file described by `info`. A channel layout the loudness meter refuses
    /// leaves the loudness unmeasured (the tempo is still estimated).
    pub fn new(info: &AudioInfo) -> Self {
        Meters {
            loudness: LoudnessMeter::new(info.channels, info.sample_rate).ok(),
            tempo: TempoEstimator::new(audio::MODEL_SAMPLE_RATE),
        }
    }

    /// Takes interleaved frames at the file's own rate.
    pub fn native(&mut self, interleaved: &[f32]) {
        if let Some(m) = &mut self.loudness {
            m.push(interleaved);
        }
    }

    /// Takes 16 kHz mono samples.
    pub fn mono_16k(&mut self, mono: &[f32]) {
        self.tempo.push(mono);
    }

    /// The figures of a file that lasted `duration_s` seconds.
    pub fn finish(self, duration_s: f64) -> Measures {
        let loudness = self.loudness.map(LoudnessMeter::finish).unwrap_or_default();
        let tempo_bpm = if duration_s >= TEMPO_MIN_S {
            self.tempo.finish()
        } else {
            None
        };
        Measures {
            loudness_lufs: loudness.integrated_lufs,
            true_peak_dbtp: loudness.true_peak_dbtp,
            tempo_bpm,
        }
    }
}

/// [`audio::stream_mono_16k`] that also feeds `meters` (when given) with every block: the
/// source frames as decoded and the 16 kHz mono blocks handed to `sink`.
pub fn stream_measured(
    path: &Path,
    mut meters: Option<&mut Meters>,
    mut sink: impl FnMut(&[f32]) -> Result<()>,
) -> Result<StreamSummary> {
    let mut decoder = AudioDecoder::open(path)?;
    let info = decoder.info().clone();
    let mut resampler =
        MonoResampler::new(info.sample_rate, info.channels, audio::MODEL_SAMPLE_RATE)?;
    let mut out = Vec::new();
    let mut summary = StreamSummary::default();
    let mut emit = |out: &[f32], summary: &mut StreamSummary, meters: &mut Option<&mut Meters>| {
        if out.is_empty() {
            return Ok(());
        }
        summary.output_samples += out.len() as u64;
        if let Some(m) = meters.as_deref_mut() {
            m.mono_16k(out);
        }
        sink(out)
    };
    while let Some(block) = decoder.next_block()? {
        summary.source_frames += (block.len() / info.channels.max(1)) as u64;
        if let Some(m) = meters.as_deref_mut() {
            m.native(block);
        }
        out.clear();
        resampler.process_interleaved(block, &mut out)?;
        emit(&out, &mut summary, &mut meters)?;
    }
    out.clear();
    resampler.finish(&mut out)?;
    emit(&out, &mut summary, &mut meters)?;
    let stats = decoder.stats();
    summary.skipped_packets = stats.skipped_packets;
    summary.non_finite_samples = stats.non_finite_samples;
    summary.truncated = stats.truncated;
    Ok(summary)
}

/// Decodes `path` once and measures it (for files analysed before the library kept measures).
pub fn measure_file(path: &Path) -> Result<Measures> {
    let info = AudioDecoder::open(path)?.info().clone();
    let mut meters = Meters::new(&info);
    let summary = stream_measured(path, Some(&mut meters), |_| Ok(()))?;
    let duration_s = summary.output_samples as f64 / f64::from(audio::MODEL_SAMPLE_RATE);
    Ok(meters.finish(duration_s))
}

/// Writes `m` as file `file_id`'s measures, taken at `now` (ms).
pub(crate) fn write_measures(
    conn: &rusqlite::Connection,
    file_id: i64,
    m: &Measures,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE files SET loudness_lufs = ?2, true_peak_dbtp = ?3, tempo_bpm = ?4,
         measured_at = ?5 WHERE id = ?1",
        rusqlite::params![file_id, m.loudness_lufs, m.true_peak_dbtp, m.tempo_bpm, now],
    )?;
    Ok(())
}

impl Library {
    /// Analysed files under `root_ids` that have no measures yet (indexed by an Earmark that
    /// did not measure), as `(id, path as stored, path on disk)`, sorted by path.
    pub fn files_to_measure(&self, root_ids: &[i64]) -> Result<Vec<(i64, String, PathBuf)>> {
        let what = "listing files to measure";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, path, path_bytes FROM files WHERE root_id = ?1
                 AND removed_at IS NULL AND status = 'indexed' AND measured_at IS NULL
                 ORDER BY path",
            )
            .map_err(sql(what))?;
        files_of_roots(&mut stmt, root_ids, &[], what)
    }

    /// Stores the measures of file `file_id` (and the bit depth, when known).
    pub fn store_measures(&self, file_id: i64, m: &Measures, bit_depth: Option<u32>) -> Result<()> {
        let what = "storing measures";
        write_measures(&self.conn, file_id, m, now_ms()).map_err(sql(what))?;
        if bit_depth.is_some() {
            self.conn
                .execute(
                    "UPDATE files SET bit_depth = ?2 WHERE id = ?1",
                    rusqlite::params![file_id, bit_depth],
                )
                .map_err(sql(what))?;
        }
        Ok(())
    }
}

/// Measures the analysed files of `root_ids` that have none (indexed before the library kept
/// measures), one decode each, reporting through `ctx`; returns how many were measured. A
/// file that cannot be read now keeps its analysis and stays unmeasured (a note says why).
pub fn measure_missing(lib: &Library, root_ids: &[i64], ctx: &JobContext) -> Result<usize> {
    let todo = lib.files_to_measure(root_ids)?;
    if todo.is_empty() {
        return Ok(0);
    }
    ctx.events.send(JobEvent::Note(format!(
        "measuring loudness and tempo of {} analysed before",
        count(todo.len(), "file")
    )));
    let mut tracker = ProgressTracker::new(todo.len());
    let mut measured = 0;
    for (id, path, real) in todo {
        ctx.control.checkpoint()?;
        match measure_file(&real) {
            Ok(m) => {
                let bits = read_tag_facts(&real).bit_depth;
                lib.store_measures(id, &m, bits)?;
                measured += 1;
            }
            Err(e) => ctx.events.send(JobEvent::Note(format!(
                "not measured: {path}: {}",
                reason_of(&e, &path)
            ))),
        }
        tracker.finish_item(false);
        ctx.events.progress(tracker.snapshot(Some(path)));
    }
    Ok(measured)
}

/// An error's text without the path of the file it is about (views show the path beside it).
pub fn reason_of(e: &crate::error::Error, path: &str) -> String {
    strip_own_path(path, &e.to_string())
}

/// `reason` without a leading `"{path}: "` (older versions stored reasons that way).
pub fn strip_own_path(path: &str, reason: &str) -> String {
    match reason.strip_prefix(path).and_then(|r| r.strip_prefix(": ")) {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => reason.to_string(),
    }
}

/// What lofty reads of a file's tags and format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagFacts {
    /// Title.
    pub title: Option<String>,
    /// Artist.
    pub artist: Option<String>,
    /// Album.
    pub album: Option<String>,
    /// Bits per sample (lossless and PCM formats).
    pub bit_depth: Option<u32>,
}

/// Reads title, artist, album and bit depth with lofty; a file lofty cannot read (or whose
/// reading panics) gives nothing, as the decoder's own tags and codec then stand.
pub fn read_tag_facts(path: &Path) -> TagFacts {
    crate::jobs::guard::run_caught(|| lofty_facts(path))
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn lofty_facts(path: &Path) -> Option<TagFacts> {
    use lofty::config::{ParseOptions, ParsingMode};
    use lofty::file::{AudioFile, TaggedFileExt};
    use lofty::tag::Accessor;

    let options = ParseOptions::new()
        .read_cover_art(false)
        .parsing_mode(ParsingMode::BestAttempt);
    let file = lofty::probe::Probe::open(path)
        .ok()?
        .options(options)
        .guess_file_type()
        .ok()?
        .read()
        .ok()?;
    let text = |v: Option<std::borrow::Cow<'_, str>>| {
        v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    };
    let mut facts = TagFacts {
        bit_depth: file.properties().bit_depth().map(u32::from),
        ..TagFacts::default()
    };
    // The primary tag first (ID3v2 in MP3, Vorbis comments in FLAC), then any other.
    let tags = file.primary_tag().into_iter().chain(file.tags());
    for tag in tags {
        facts.title = facts.title.or_else(|| text(tag.title()));
        facts.artist = facts.artist.or_else(|| text(tag.artist()));
        facts.album = facts.album.or_else(|| text(tag.album()));
    }
    Some(facts)
}

/// The bit depth a PCM codec name states (`pcm_s24le` → 24), for files lofty cannot read.
pub fn pcm_bit_depth(codec: &str) -> Option<u32> {
    let rest = codec.strip_prefix("pcm_")?;
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|&b| (1..=64).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_codec_names_give_their_bit_depth() {
        assert_eq!(pcm_bit_depth("pcm_s16le"), Some(16));
        assert_eq!(pcm_bit_depth("pcm_s24be"), Some(24));
        assert_eq!(pcm_bit_depth("pcm_f32le"), Some(32));
        assert_eq!(pcm_bit_depth("pcm_u8"), Some(8));
        assert_eq!(pcm_bit_depth("mp3"), None);
        assert_eq!(pcm_bit_depth("pcm_mulaw"), None);
    }

    #[test]
    fn a_reason_loses_its_own_path_only() {
        assert_eq!(
            strip_own_path("/a/b.wav", "/a/b.wav: cannot decode"),
            "cannot decode"
        );
        assert_eq!(strip_own_path("/a/b.wav", "/a/c.wav: x"), "/a/c.wav: x");
        assert_eq!(strip_own_path("/a/b.wav", "no path here"), "no path here");
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(2, "file"), "2 files");
    }

    /// A 16-bit mono WAV of a 997 Hz sine of `amplitude` lasting `secs` at `rate`.
    fn sine_wav(path: &Path, rate: u32, secs: f64, amplitude: f64) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..(f64::from(rate) * secs) as usize {
            let v =
                amplitude * (2.0 * std::f64::consts::PI * 997.0 * i as f64 / f64::from(rate)).sin();
            w.write_sample((v * 32767.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }

    fn model() -> crate::library::model_id::ModelIdentity {
        crate::library::model_id::ModelIdentity {
            identity: "w:c".into(),
            name: "test".into(),
            config_hash: "c".into(),
            config_json: "{}".into(),
            clip_dim: 2,
            segment_dim: 2,
        }
    }

    #[test]
    fn files_analysed_before_measures_are_measured_once_by_the_next_scan() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("tone.wav");
        sine_wav(&wav, 44_100, 2.0, 0.5);
        let mut lib = Library::in_memory().unwrap();
        let root = lib.ensure_root(&dir.path().to_string_lossy()).unwrap();
        let id = lib
            .insert_pending(root, &wav.to_string_lossy(), 1, 0, "f")
            .unwrap();
        let model_id = lib.ensure_model(&model()).unwrap();
        // As an Earmark without measures stored it: no measures, no bit depth.
        let meta = super::super::FileMeta {
            duration_s: 2.0,
            sample_rate: 44_100,
            channels: 1,
            ..Default::default()
        };
        let segments = super::super::Segments::default();
        lib.store_analysis(
            id,
            model_id,
            &meta,
            "full",
            &[0.0, 1.0],
            None,
            &segments,
            None,
        )
        .unwrap();
        assert_eq!(lib.files_to_measure(&[root]).unwrap().len(), 1);

        let (tx, rx) = crossbeam_channel::unbounded();
        let ctx = JobContext {
            events: crate::jobs::EventSink::new(tx),
            control: std::sync::Arc::new(crate::jobs::JobControl::new()),
        };
        assert_eq!(measure_missing(&lib, &[root], &ctx).unwrap(), 1);
        let notes: Vec<String> = rx
            .try_iter()
            .filter_map(|e| match e {
                JobEvent::Note(n) => Some(n),
                _ => None,
            })
            .collect();
        assert!(
            notes.iter().any(|n| n.contains("1 file analysed before")),
            "{notes:?}"
        );
        let row = &lib.table_rows().unwrap()[0];
        let m = &row.media;
        // A 997 Hz sine at half scale in one channel: −3.01 − 6.02 LUFS, peak −6.02 dBTP.
        let lufs = m.loudness_lufs.unwrap();
        assert!((lufs - -9.03).abs() < 0.2, "{lufs}");
        let peak = m.true_peak_dbtp.unwrap();
        assert!((peak - -6.02).abs() < 0.2, "{peak}");
        assert_eq!(m.tempo_bpm, None, "2 s is no music");
        assert_eq!(m.bit_depth, Some(16));
        assert!(lib.files_to_measure(&[root]).unwrap().is_empty());
        assert_eq!(
            measure_missing(&lib, &[root], &ctx).unwrap(),
            0,
            "once only"
        );
    }

    #[test]
    fn too_short_files_have_their_own_count_status_and_reason() {
        let mut lib = Library::in_memory().unwrap();
        let root = lib.ensure_root("/lib").unwrap();
        let short = lib
            .insert_pending(root, "/lib/click.wav", 1, 0, "a")
            .unwrap();
        let bad = lib.insert_pending(root, "/lib/bad.wav", 1, 0, "b").unwrap();
        lib.store_too_short(short, 0.015).unwrap();
        lib.store_error(bad, "cannot decode audio: damaged")
            .unwrap();
        let counts = lib.status().unwrap();
        assert_eq!((counts.errors, counts.too_short), (1, 1));
        let rows = lib.table_rows().unwrap();
        assert_eq!(rows[1].status, "too_short");
        assert_eq!(rows[1].duration_s, Some(0.015));
        assert_eq!(rows[0].status, "error");
        let export = lib.export_rows().unwrap();
        assert_eq!(export[1].status, "too_short");
        assert_eq!(
            lib.errors().unwrap()[1].1,
            "too short to analyse (0.015 s of audio)"
        );
        // New content makes it an ordinary file waiting for analysis.
        lib.mark_changed(short, 2, 1, "c").unwrap();
        let counts = lib.status().unwrap();
        assert_eq!((counts.too_short, counts.pending), (0, 1));
        let _ = &mut lib;
    }

    #[test]
    fn tags_of_a_file_lofty_cannot_read_are_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noise.wav");
        std::fs::write(&path, b"RIFF\x04\x00\x00\x00WAVEjunk").unwrap();
        assert_eq!(read_tag_facts(&path), TagFacts::default());
        assert_eq!(
            read_tag_facts(&dir.path().join("missing.wav")),
            TagFacts::default()
        );
    }
}
