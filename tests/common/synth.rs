//! Generated audio for library tests: distinct timbres (chords, noise bands, chirps, plucks,
//! pulse trains) written as WAV and converted with ffmpeg, plus files broken in many ways.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion
#![allow(dead_code)]

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use crate::common::{WavFormat, ffmpeg, wav_bytes, write_wav};

/// A small deterministic generator.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn signed(&mut self) -> f64 {
        2.0 * self.next() - 1.0
    }
}

/// Mono samples of sound `kind` (0..5) with variation `seed`, `secs` long at `rate`.
pub fn sound(kind: usize, seed: u64, secs: f64, rate: u32) -> Vec<f64> {
    let n = (secs * f64::from(rate)) as usize;
    let fs = f64::from(rate);
    let mut rng = Rng(seed * 7919 + kind as u64);
    let base = 110.0 * 2f64.powf(rng.next() * 2.0);
    match kind % 5 {
        // A chord of three harmonic-rich tones.
        0 => (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                [1.0, 1.26, 1.5]
                    .iter()
                    .map(|r| {
                        (1..6)
                            .map(|h| (2.0 * PI * base * r * h as f64 * t).sin() / h as f64)
                            .sum::<f64>()
                    })
                    .sum::<f64>()
                    * 0.12
            })
            .collect(),
        // Band-passed noise (two-pole resonator).
        1 => {
            let f = 500.0 + rng.next() * 3000.0;
            let r = 0.98f64;
            let (a1, a2) = (2.0 * r * (2.0 * PI * f / fs).cos(), -r * r);
            let (mut y1, mut y2) = (0.0, 0.0);
            (0..n)
                .map(|_| {
                    let y = rng.signed() * 0.05 + a1 * y1 + a2 * y2;
                    y2 = y1;
                    y1 = y;
                    (y * 0.5).clamp(-0.9, 0.9)
                })
                .collect()
        }
        // A chirp with its own start and rate, with a vibrato.
        2 => {
            let rate = 100.0 + rng.next() * 1500.0;
            let vib = 3.0 + rng.next() * 6.0;
            (0..n)
                .map(|i| {
                    let t = i as f64 / fs;
                    let phase = base * 2.0 * t + rate * t * t + 3.0 * (2.0 * PI * vib * t).sin();
                    0.4 * (2.0 * PI * phase).sin()
                })
                .collect()
        }
        // Plucked strings (Karplus–Strong), a new note every 0.25 s.
        3 => {
            let mut out = vec![0.0; n];
            let note = (0.25 * fs) as usize;
            let mut start = 0;
            while start < n {
                let p = (fs / (base * (1.0 + rng.next()))) as usize + 2;
                let mut buf: Vec<f64> = (0..p).map(|_| rng.signed() * 0.5).collect();
                for (k, o) in out[start..(start + note).min(n)].iter_mut().enumerate() {
                    let j = k % p;
                    let v = 0.5 * (buf[j] + buf[(j + 1) % p]) * 0.996;
                    buf[j] = v;
                    *o = v;
                }
                start += note;
            }
            out
        }
        // A pulse train with a noisy decay (percussive clicks).
        _ => {
            let period = (fs / (4.0 + rng.next() * 8.0)) as usize;
            let mut env = 0.0;
            (0..n)
                .map(|i| {
                    if i % period == 0 {
                        env = 0.8;
                    }
                    env *= 0.999;
                    env * rng.signed()
                })
                .collect()
        }
    }
}

/// Writes `x` (mono) as a 44.1 kHz stereo WAV (the second channel slightly delayed).
pub fn write_stereo(path: &Path, x: &[f64], format: WavFormat) {
    let mut inter = Vec::with_capacity(x.len() * 2);
    for i in 0..x.len() {
        inter.push(x[i]);
        inter.push(x[i.saturating_sub(7)] * 0.9);
    }
    write_wav(path, 2, 44_100, format, &inter);
}

/// ffmpeg targets: extension and codec arguments (every container/codec Earmark reads).
pub const FFMPEG_FORMATS: &[(&str, &[&str])] = &[
    ("flac", &["-c:a", "flac"]),
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "128k"]),
    ("ogg", &["-c:a", "libvorbis", "-q:a", "3"]),
    ("opus", &["-c:a", "libopus", "-b:a", "64k"]),
    ("webm", &["-c:a", "libopus", "-b:a", "64k"]),
    ("m4a", &["-c:a", "aac", "-b:a", "128k"]),
    ("caf", &["-c:a", "alac", "-f", "caf"]),
    ("aiff", &["-c:a", "pcm_s16be"]),
];

/// WAV sample formats used for the plain files.
pub const WAV_FORMATS: &[WavFormat] = &[
    WavFormat::S16,
    WavFormat::S24,
    WavFormat::F32,
    WavFormat::U8,
    WavFormat::S32,
];

/// Builds a library under `dir`: `n_wav` WAVs and `per_format` files of each ffmpeg format, in
/// nested folders (plus a hidden folder). Returns the good files.
pub fn generate_library(dir: &Path, n_wav: usize, per_format: usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for i in 0..n_wav {
        let sub = dir.join(format!("wav/{}", i % 7));
        std::fs::create_dir_all(&sub).unwrap();
        let p = sub.join(format!("s{i:04}.wav"));
        let secs = 0.6 + (i % 5) as f64 * 0.3;
        write_stereo(
            &p,
            &sound(i, i as u64, secs, 44_100),
            WAV_FORMATS[i % WAV_FORMATS.len()],
        );
        files.push(p);
    }
    let tmp = dir.join(".work");
    std::fs::create_dir_all(&tmp).unwrap();
    for (f, (ext, args)) in FFMPEG_FORMATS.iter().enumerate() {
        let sub = dir.join(format!("coded/{ext}"));
        std::fs::create_dir_all(&sub).unwrap();
        for j in 0..per_format {
            let seed = 10_000 + (f * 100 + j) as u64;
            let master = tmp.join(format!("m{f}_{j}.wav"));
            write_stereo(&master, &sound(f + j, seed, 1.0, 44_100), WavFormat::S16);
            let p = sub.join(format!("c{j:03}.{ext}"));
            ffmpeg(&master, &p, args);
            files.push(p);
        }
    }
    std::fs::remove_dir_all(&tmp).unwrap();
    files.sort();
    files
}

/// Writes 20 files broken in different ways under `dir/broken`; returns their paths.
pub fn write_broken(
    dir: &Path,
    good_flac: &Path,
    good_mp3: &Path,
    good_ogg: &Path,
) -> Vec<PathBuf> {
    let b = dir.join("broken");
    std::fs::create_dir_all(&b).unwrap();
    let mut rng = Rng(99);
    let mut noise = |n: usize| {
        (0..n)
            .map(|_| (rng.next() * 256.0) as u8)
            .collect::<Vec<u8>>()
    };
    let pcm = |n: usize| vec![0u8; n];
    let flac = std::fs::read(good_flac).unwrap();
    let mp3 = std::fs::read(good_mp3).unwrap();
    let ogg = std::fs::read(good_ogg).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.wav", Vec::new()),
        ("noise.wav", noise(5000)),
        ("noise.mp3", noise(5000)),
        ("noise.flac", noise(5000)),
        ("noise.ogg", noise(5000)),
        ("noise.m4a", noise(5000)),
        ("text.aiff", b"this is not audio at all\n".repeat(50)),
        (
            "header_only.wav",
            wav_bytes(2, 44_100, 16, 1, &[], None)[..20].to_vec(),
        ),
        ("no_samples.wav", wav_bytes(2, 44_100, 16, 1, &[], None)),
        (
            "ten_samples.wav",
            wav_bytes(1, 44_100, 16, 1, &pcm(20), None),
        ),
        (
            "zero_channels.wav",
            wav_bytes(0, 44_100, 16, 1, &pcm(4000), None),
        ),
        ("zero_rate.wav", wav_bytes(1, 0, 16, 1, &pcm(4000), None)),
        (
            "odd_bits.wav",
            wav_bytes(1, 44_100, 13, 1, &pcm(4000), None),
        ),
        (
            "unknown_tag.wav",
            wav_bytes(1, 44_100, 16, 0x1234, &pcm(4000), None),
        ),
        ("flac_head.flac", flac[..42.min(flac.len())].to_vec()),
        ("mp3_head.mp3", mp3[..60.min(mp3.len())].to_vec()),
        ("ogg_head.ogg", ogg[..100.min(ogg.len())].to_vec()),
        ("zeros.ogg", vec![0u8; 8000]),
        ("zeros.flac", vec![0u8; 8000]),
        ("riff_only.wav", b"RIFF\x04\x00\x00\x00WAVE".to_vec()),
    ];
    cases
        .into_iter()
        .map(|(name, bytes)| {
            let p = b.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect()
}

/// Path of the tiny fixture model.
pub fn tiny_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/matpac/tiny.safetensors")
}

/// Runs `earmark` with `args`, asserting success; returns stdout.
pub fn earmark(args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "earmark {:?} failed: {}\n{}",
        args,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A path as the index stores it (canonical).
pub fn canon(p: &std::path::Path) -> String {
    p.canonicalize().unwrap().to_string_lossy().into_owned()
}

/// `earmark scan ROOT --library LIB --model <tiny> --quiet`.
pub fn scan_with_tiny_model(root: &std::path::Path, lib: &std::path::Path) -> String {
    use std::ffi::OsStr;
    earmark(&[
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--library"),
        lib.as_os_str(),
        OsStr::new("--model"),
        tiny_model().as_os_str(),
        OsStr::new("--quiet"),
    ])
}
