//! One generated signal written in every supported format and codec, decoded to 16 kHz mono and
//! compared with the source: lossless formats exact in length with SNR ≥ 40 dB after resampling,
//! lossy ones correlated ≥ 0.99 after alignment. Tags written into every WAV sample format and
//! into AIFF leave the decoded audio bit-identical and undo to the original bytes.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::f64::consts::PI;
use std::path::Path;

use common::{WavFormat, ffmpeg, wav_bytes, write_wav};
use earmark::writeback::formats::{FileTags, detect};
use earmark::writeback::iff::untouched_segments;
use earmark::writeback::patch::UndoPatch;
use earmark::writeback::{Field, TagFormat};

const RATE: u32 = 44_100;
const SECONDS: f64 = 3.0;

/// Left and right channels: tones and a chirp below 7 kHz, so the 16 kHz version is exactly
/// defined; the chirp makes the signal aperiodic, so alignment is unambiguous.
fn source(t: f64) -> (f64, f64) {
    let l = 0.3 * (2.0 * PI * 220.0 * t).sin()
        + 0.2 * (2.0 * PI * 1000.0 * t).sin()
        + 0.15 * (2.0 * PI * (300.0 * t + 200.0 * t * t)).sin();
    let r = 0.3 * (2.0 * PI * 440.0 * t + 0.4).sin() + 0.15 * (2.0 * PI * 3100.0 * t).sin();
    (l, r)
}

fn source_frames() -> usize {
    (SECONDS * f64::from(RATE)) as usize
}

/// The analytic mono mean at 16 kHz.
fn expected_16k(len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| {
            let (l, r) = source(i as f64 / 16_000.0);
            (l + r) / 2.0
        })
        .collect()
}

fn write_source(path: &Path, format: WavFormat) {
    let mut x = Vec::new();
    for i in 0..source_frames() {
        let (l, r) = source(i as f64 / f64::from(RATE));
        x.push(l);
        x.push(r);
    }
    write_wav(path, 2, RATE, format, &x);
}

/// SNR in dB, ignoring 50 ms at each end (edge effects of any band-limited resampler).
fn snr_db(got: &[f32], want: &[f64]) -> f64 {
    let edge = 800;
    let (mut sig, mut err) = (0.0, 0.0);
    for (g, w) in got[edge..want.len() - edge]
        .iter()
        .zip(&want[edge..want.len() - edge])
    {
        sig += w * w;
        err += (f64::from(*g) - w).powi(2);
    }
    10.0 * (sig / err.max(1e-30)).log10()
}

/// Best normalised cross-correlation over lags of ±4000 samples.
fn best_correlation(got: &[f32], want: &[f64]) -> (f64, i64) {
    let n = want.len().min(got.len());
    let mut best = (f64::MIN, 0);
    for lag in -4000i64..=4000 {
        let (mut dot, mut gg, mut ww) = (0.0, 0.0, 0.0);
        for (i, w) in want
            .iter()
            .enumerate()
            .take(n.saturating_sub(4000))
            .skip(4000)
        {
            let g = f64::from(got[(i as i64 + lag) as usize]);
            dot += g * w;
            gg += g * g;
            ww += w * w;
        }
        let c = dot / (gg.sqrt() * ww.sqrt()).max(1e-30);
        if c > best.0 {
            best = (c, lag);
        }
    }
    best
}

fn check_lossless(path: &Path, label: &str) {
    let clip = earmark::audio::load_mono_16k(path).unwrap_or_else(|e| panic!("{label}: {e}"));
    let expected_len = (source_frames() * 16_000).div_ceil(RATE as usize);
    assert_eq!(clip.samples.len(), expected_len, "{label}: length");
    let snr = snr_db(&clip.samples, &expected_16k(expected_len));
    println!("{label:<14} lossless  SNR {snr:6.1} dB");
    assert!(snr >= 40.0, "{label}: SNR {snr:.1} dB < 40 dB");
}

fn check_lossy(path: &Path, label: &str) {
    let clip = earmark::audio::load_mono_16k(path).unwrap_or_else(|e| panic!("{label}: {e}"));
    let want = expected_16k(clip.samples.len().max(16_000));
    let (corr, lag) = best_correlation(&clip.samples, &want);
    println!(
        "{label:<14} lossy     correlation {corr:.4} at lag {lag} samples, length {}",
        clip.samples.len()
    );
    assert!(corr >= 0.99, "{label}: correlation {corr:.4} < 0.99");
    // Encoder delays (MP3/Vorbis/Opus pre-skip, AAC priming) are removed: no time shift.
    assert!(
        lag.abs() <= 1,
        "{label}: decoded audio is shifted by {lag} samples"
    );
}

#[test]
fn every_wav_sample_format_decodes() {
    let dir = tempfile::tempdir().unwrap();
    for (format, label) in [
        (WavFormat::U8, "wav u8"),
        (WavFormat::S16, "wav s16"),
        (WavFormat::S24, "wav s24"),
        (WavFormat::S32, "wav s32"),
        (WavFormat::F32, "wav f32"),
        (WavFormat::F64, "wav f64"),
    ] {
        let path = dir.path().join(format!("{label}.wav").replace(' ', "_"));
        write_source(&path, format);
        check_lossless(&path, label);
    }
}

#[test]
fn every_container_and_codec_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.wav");
    write_source(&master, WavFormat::S32);
    let lossless: [(&str, &str, &[&str]); 5] = [
        ("aiff", "aiff s16be", &["-c:a", "pcm_s16be"]),
        ("caf", "caf s24", &["-c:a", "pcm_s24le", "-f", "caf"]),
        ("flac", "flac", &["-c:a", "flac"]),
        ("m4a", "alac (m4a)", &["-c:a", "alac"]),
        ("caf", "alac (caf)", &["-c:a", "alac", "-f", "caf"]),
    ];
    for (ext, label, args) in lossless {
        let path = dir
            .path()
            .join(format!("{}.{ext}", label.replace([' ', '(', ')'], "_")));
        ffmpeg(&master, &path, args);
        check_lossless(&path, label);
    }
    let lossy: [(&str, &str, &[&str]); 5] = [
        ("mp3", "mp3", &["-c:a", "libmp3lame", "-b:a", "192k"]),
        ("ogg", "ogg vorbis", &["-c:a", "libvorbis", "-q:a", "5"]),
        ("m4a", "aac (m4a)", &["-c:a", "aac", "-b:a", "192k"]),
        ("opus", "opus (ogg)", &["-c:a", "libopus", "-b:a", "128k"]),
        ("webm", "opus (webm)", &["-c:a", "libopus", "-b:a", "128k"]),
    ];
    for (ext, label, args) in lossy {
        let path = dir
            .path()
            .join(format!("{}.{ext}", label.replace([' ', '(', ')'], "_")));
        ffmpeg(&master, &path, args);
        check_lossy(&path, label);
    }
}

#[test]
fn sixteen_khz_mono_passes_through_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mono16k.wav");
    let x: Vec<f64> = (0..16_000).map(|i| source(i as f64 / 16_000.0).0).collect();
    write_wav(&path, 1, 16_000, WavFormat::S16, &x);
    let clip = earmark::audio::load_mono_16k(&path).unwrap();
    let want: Vec<f32> = x
        .iter()
        .map(|v| ((v * 32767.0).round() as i16) as f32 / 32768.0)
        .collect();
    assert_eq!(clip.samples, want);
}

/// Every interleaved sample at the file's own rate, decoded by Earmark's decoder.
fn decode_all(path: &Path) -> Vec<f32> {
    let mut d = earmark::audio::AudioDecoder::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(block) = d.next_block().unwrap() {
        out.extend_from_slice(block);
    }
    out
}

/// Writes genre, mood and EARMARK_TAGS into `path` (twice: a first tag, then a longer one over
/// it) as write-back does, checking each time that the other chunks are untouched, the decoded
/// audio is bit-identical, the tag reads back, and the undo patch rebuilds the original exactly
/// from a few bytes. `Err` when write-back refuses the file (with the reason).
fn tag_round_trip(path: &Path, label: &str) -> Result<(), String> {
    let original = std::fs::read(path).unwrap();
    let samples = decode_all(path);
    let format = detect(std::io::Cursor::new(&original))?;
    assert!(
        matches!(format, TagFormat::Wav | TagFormat::Aiff),
        "{label}: {format:?}"
    );
    let custom = Field::Custom("EARMARK_TAGS".into());
    let mut now = original.clone();
    for (round, value) in ["kick", "kick; punchy; 909 drum machine"]
        .iter()
        .enumerate()
    {
        let mut tags = FileTags::read(&mut std::io::Cursor::new(&now), format)?;
        for field in [&Field::Genre, &Field::Mood, &custom] {
            tags.set(field, value, false);
        }
        let written = tags.write_into(now.clone(), false)?;
        let segments = untouched_segments(&now, &written)?;
        let patch = UndoPatch::with_segments(&now, &written, segments);
        assert_eq!(patch.restore(&written).unwrap(), now, "{label}: undo");
        assert!(
            patch.kept_bytes() < 4096,
            "{label}: undo keeps {} bytes",
            patch.kept_bytes()
        );
        let back = FileTags::read(&mut std::io::Cursor::new(&written), format).unwrap();
        for field in [&Field::Genre, &Field::Mood, &custom] {
            assert_eq!(back.get(field).as_deref(), Some(*value), "{label}: {field}");
        }
        let out = path.with_extension(format!("tagged{round}.{}", ext(path)));
        std::fs::write(&out, &written).unwrap();
        assert_eq!(decode_all(&out), samples, "{label}: decoded audio changed");
        println!(
            "{label:<14} tagged ({} → {} bytes), audio identical, undo keeps {} bytes",
            now.len(),
            written.len(),
            patch.kept_bytes()
        );
        now = written;
    }
    Ok(())
}

fn ext(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_owned()
}

#[test]
fn tags_written_into_wav_and_aiff_leave_the_audio_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    for (format, label) in [
        (WavFormat::U8, "wav u8"),
        (WavFormat::S16, "wav s16"),
        (WavFormat::S24, "wav s24"),
        (WavFormat::S32, "wav s32"),
        (WavFormat::F32, "wav f32"),
        (WavFormat::F64, "wav f64"),
    ] {
        let path = dir.path().join(format!("{label}.wav").replace(' ', "_"));
        write_source(&path, format);
        tag_round_trip(&path, label).unwrap();
    }
    // ffmpeg's own files: a WAV with a RIFF INFO list before the audio, and AIFF, AIFF-C.
    let master = dir.path().join("master.wav");
    write_source(&master, WavFormat::S32);
    let made: [(&str, &str, &[&str]); 4] = [
        (
            "wav",
            "wav info",
            &["-c:a", "pcm_s24le", "-metadata", "genre=Rock"],
        ),
        ("aiff", "aiff s16be", &["-c:a", "pcm_s16be"]),
        ("aiff", "aiff s24be", &["-c:a", "pcm_s24be"]),
        ("aifc", "aifc sowt", &["-c:a", "pcm_s16le"]),
    ];
    for (ext, label, args) in made {
        let path = dir
            .path()
            .join(format!("{}.{ext}", label.replace(' ', "_")));
        ffmpeg(&master, &path, args);
        tag_round_trip(&path, label).unwrap();
    }
    // An odd-sized data chunk, padded as the format asks, and one whose pad byte is missing
    // (some writers forget it): the first is tagged; the second is tagged the same way or
    // refused with a reason, never damaged.
    let odd: Vec<u8> = (0..4_411u32).map(|i| (i * 37 % 256) as u8).collect();
    let mut padded = wav_bytes(1, 44_100, 8, 1, &odd, None);
    padded.push(0);
    let riff = (padded.len() - 8) as u32;
    padded[4..8].copy_from_slice(&riff.to_le_bytes());
    let path = dir.path().join("odd_padded.wav");
    std::fs::write(&path, &padded).unwrap();
    tag_round_trip(&path, "wav odd").unwrap();
    let path = dir.path().join("odd_unpadded.wav");
    std::fs::write(&path, wav_bytes(1, 44_100, 8, 1, &odd, None)).unwrap();
    match tag_round_trip(&path, "wav odd, no pad") {
        Ok(()) => println!("wav odd, no pad: tagged"),
        Err(why) => println!("wav odd, no pad: refused: {why}"),
    }
}
