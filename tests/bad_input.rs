//! Hostile and broken audio files, built by the test itself: each gives a typed error naming the
//! file, or a correct result — never a panic or a hang.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{WavFormat, ffmpeg, wav_bytes, write_wav};
use earmark::Error;
use earmark::audio::{self, AudioClip, StreamSummary};

/// Fails the test if `f` takes longer than `limit` (a hang), and returns its result.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    let out = rx
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"));
    println!("  took {:?}", started.elapsed());
    out
}

fn decode(path: &Path) -> earmark::Result<(AudioClip, StreamSummary)> {
    let p = path.to_path_buf();
    within(Duration::from_secs(5), move || {
        let mut samples = Vec::new();
        let summary = audio::stream_mono_16k(&p, |b| {
            samples.extend_from_slice(b);
            Ok(())
        })?;
        Ok((
            AudioClip {
                samples,
                sample_rate: 16_000,
            },
            summary,
        ))
    })
}

fn assert_names_file(err: &Error, path: &Path) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "error does not name the file: {msg}"
    );
    println!("  error: {msg}");
}

fn tone(n: usize, rate: f64) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate).sin())
        .collect()
}

struct Corpus {
    dir: tempfile::TempDir,
}

impl Corpus {
    fn new() -> Self {
        Corpus {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn truncated_copy(&self, from: &Path, name: &str, keep: f64) -> PathBuf {
        let bytes = std::fs::read(from).unwrap();
        let cut = (bytes.len() as f64 * keep) as usize;
        let path = self.path(name);
        std::fs::write(&path, &bytes[..cut]).unwrap();
        path
    }
}

#[test]
fn zero_byte_file_is_a_clear_error() {
    let c = Corpus::new();
    let path = c.path("empty.wav");
    std::fs::write(&path, b"").unwrap();
    let err = decode(&path).unwrap_err();
    assert!(matches!(err, Error::NoAudio { .. }), "{err:?}");
    assert_names_file(&err, &path);
}

#[test]
fn random_bytes_named_mp3_are_refused() {
    let c = Corpus::new();
    let path = c.path("noise.mp3");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let bytes: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(&path, bytes).unwrap();
    match decode(&path) {
        Err(err) => assert_names_file(&err, &path),
        // Random bytes can contain MP3 frame sync words; then the damaged frames are skipped.
        Ok((_, summary)) => assert!(summary.skipped_packets > 0, "{summary:?}"),
    }
}

#[test]
fn truncated_wav_gives_the_readable_part() {
    let c = Corpus::new();
    let full = c.path("full.wav");
    let x = tone(32_000, 16_000.0);
    write_wav(&full, 1, 16_000, WavFormat::S16, &x);
    let cut = c.truncated_copy(&full, "cut.wav", 0.5);
    let (clip, summary) = decode(&cut).unwrap();
    let (whole, _) = decode(&full).unwrap();
    assert!(summary.truncated, "{summary:?}");
    assert!(clip.samples.len() > 15_000 && clip.samples.len() < 16_100);
    assert_eq!(clip.samples[..], whole.samples[..clip.samples.len()]);
}

#[test]
fn truncated_compressed_files_never_panic() {
    let c = Corpus::new();
    let master = c.path("master.wav");
    write_wav(
        &master,
        2,
        44_100,
        WavFormat::S16,
        &tone(44_100 * 4, 44_100.0),
    );
    for (ext, args) in [
        ("flac", &["-c:a", "flac"][..]),
        ("mp3", &["-c:a", "libmp3lame"][..]),
        ("ogg", &["-c:a", "libvorbis"][..]),
        ("opus", &["-c:a", "libopus"][..]),
        ("m4a", &["-c:a", "aac"][..]),
    ] {
        let encoded = c.path(&format!("full.{ext}"));
        ffmpeg(&master, &encoded, args);
        for keep in [0.5, 0.05, 0.001] {
            let cut = c.truncated_copy(&encoded, &format!("cut_{keep}.{ext}"), keep);
            println!("{ext} truncated to {keep}:");
            match decode(&cut) {
                Ok((clip, summary)) => {
                    let full_len = 4.0 * 16_000.0;
                    assert!((clip.samples.len() as f64) <= full_len * (keep + 0.2) + 8_000.0);
                    assert!(clip.samples.iter().all(|v| v.is_finite()));
                    println!("  ok: {} samples, {summary:?}", clip.samples.len());
                }
                Err(err) => assert_names_file(&err, &cut),
            }
        }
    }
}

#[test]
fn wav_header_claiming_4_gb_decodes_what_is_there() {
    let c = Corpus::new();
    let path = c.path("liar.wav");
    let data: Vec<u8> = tone(16_000, 16_000.0)
        .iter()
        .flat_map(|v| ((v * 32767.0) as i16).to_le_bytes())
        .collect();
    std::fs::write(&path, wav_bytes(1, 16_000, 16, 1, &data, Some(0xFFFF_FFF0))).unwrap();
    let (clip, summary) = decode(&path).unwrap();
    assert_eq!(clip.samples.len(), 16_000);
    assert!(summary.truncated);
}

#[test]
fn aiff_named_wav_is_read_as_aiff() {
    let c = Corpus::new();
    let wav = c.path("src.wav");
    let x = tone(16_000, 16_000.0);
    write_wav(&wav, 1, 16_000, WavFormat::S16, &x);
    let disguised = c.path("actually_aiff.wav");
    ffmpeg(&wav, &disguised, &["-c:a", "pcm_s16be", "-f", "aiff"]);
    let (clip, _) = decode(&disguised).unwrap();
    let (reference, _) = decode(&wav).unwrap();
    assert_eq!(clip.samples, reference.samples);
}

#[test]
fn float_wav_with_nan_and_inf_is_repaired_and_reported() {
    let c = Corpus::new();
    let path = c.path("nan.wav");
    let mut x = tone(16_000, 16_000.0);
    x[100] = f64::NAN;
    x[200] = f64::INFINITY;
    x[300] = f64::NEG_INFINITY;
    write_wav(&path, 1, 16_000, WavFormat::F32, &x);
    let (clip, summary) = decode(&path).unwrap();
    assert_eq!(summary.non_finite_samples, 3);
    assert_eq!(clip.samples[100], 0.0);
    assert!((clip.samples[101] - x[101] as f32).abs() < 1e-6);
    assert!(earmark::dsp::log_mel_normalised(&clip.samples).is_ok());
}

#[test]
fn eight_channels_at_192_khz_downmix_to_the_mean() {
    let c = Corpus::new();
    let path = c.path("8ch.wav");
    let n = 192_000;
    let mut x = Vec::with_capacity(n * 8);
    for i in 0..n {
        let t = i as f64 / 192_000.0;
        for ch in 0..8 {
            // The channel mean is a 500 Hz tone of amplitude 0.4.
            let extra = if ch % 2 == 0 { 0.3 } else { -0.3 }
                * (2.0 * std::f64::consts::PI * 3000.0 * t).sin();
            x.push(0.4 * (2.0 * std::f64::consts::PI * 500.0 * t).sin() + extra);
        }
    }
    write_wav(&path, 8, 192_000, WavFormat::S24, &x);
    let (clip, _) = decode(&path).unwrap();
    assert_eq!(clip.samples.len(), 16_000);
    let err = clip.samples[400..15_600]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = (i + 400) as f64 / 16_000.0;
            (f64::from(*v) - 0.4 * (2.0 * std::f64::consts::PI * 500.0 * t).sin()).abs()
        })
        .fold(0.0, f64::max);
    // The resampler's pass-band ripple keeps the error near 1e-3 (over 50 dB SNR).
    assert!(err < 3e-3, "max error {err}");
}

#[test]
fn one_sample_file_decodes_and_is_too_short_for_analysis() {
    let c = Corpus::new();
    let path = c.path("one.wav");
    write_wav(&path, 1, 16_000, WavFormat::S16, &[0.25]);
    let (clip, _) = decode(&path).unwrap();
    assert_eq!(clip.samples.len(), 1);
    let err = earmark::dsp::log_mel_normalised(&clip.samples).unwrap_err();
    assert!(err.to_string().contains("too short"), "{err}");
}

#[test]
fn three_hour_silent_file_streams_in_bounded_memory() {
    let c = Corpus::new();
    let path = c.path("three_hours.wav");
    let rate = 8_000u32;
    let frames = 3 * 3600 * rate as usize;
    // 8-bit unsigned silence is 0x80.
    let data = vec![0x80u8; frames];
    std::fs::write(&path, wav_bytes(1, rate, 8, 1, &data, None)).unwrap();
    drop(data);
    let exe = env!("CARGO_BIN_EXE_earmark");
    let p = path.clone();
    let output = within(Duration::from_secs(5), move || {
        std::process::Command::new(exe)
            .args(["info", "--decode", "--json"])
            .arg(&p)
            .output()
            .unwrap()
    });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let decoded = &v["decoded"];
    assert_eq!(decoded["samples_16k"], 3 * 3600 * 16_000);
    assert_eq!(decoded["peak"], 0.0);
    let rss = decoded["peak_rss_mib"].as_f64().unwrap();
    println!("3-hour file: peak RSS {rss:.1} MiB");
    assert!(rss < 200.0, "peak RSS {rss} MiB");
}
