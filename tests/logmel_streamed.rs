//! `earmark logmel FILE --out X.safetensors` streams through a scratch file: the tensor it
//! writes equals the log-mel of the whole file computed in memory, for a file of several
//! transpose blocks, normalised and raw, and the output is the same data as the `.npy` one.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::ffi::OsStr;
use std::path::Path;

use common::{WavFormat, write_wav};
use earmark::dsp::{LogMelFrontEnd, N_MELS};
use synth::earmark;

fn logmel(input: &Path, out: &Path, raw: bool) {
    let mut args = vec![
        OsStr::new("logmel"),
        input.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    if raw {
        args.push(OsStr::new("--raw"));
    }
    earmark(&args);
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn a_streamed_safetensors_log_mel_equals_the_in_memory_one() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("long.wav");
    // 55 s at 44.1 kHz: ~5 500 frames, more than one 4 096-frame block.
    let x: Vec<f64> = (0..55 * 44_100)
        .map(|i| {
            let t = f64::from(i) / 44_100.0;
            0.4 * (std::f64::consts::TAU * (150.0 + 20.0 * t) * t).sin()
        })
        .collect();
    write_wav(&wav, 1, 44_100, WavFormat::S16, &x);
    let samples = earmark::audio::load_mono_16k(&wav).unwrap().samples;
    for raw in [false, true] {
        let out = dir.path().join("mel.safetensors");
        logmel(&wav, &out, raw);
        let bytes = std::fs::read(&out).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let t = file.tensor("logmel").unwrap();
        let want = LogMelFrontEnd::new(!raw).compute(&samples).unwrap();
        assert!(want.frames > 4096);
        assert_eq!(t.shape(), [N_MELS, want.frames]);
        let got = floats(t.data());
        let diff = got
            .iter()
            .zip(&want.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-5, "raw {raw}: {diff}");
        // The .npy output (Fortran order: frame-major on disk) holds the same values.
        let npy = dir.path().join("mel.npy");
        logmel(&wav, &npy, raw);
        let npy = floats(&std::fs::read(&npy).unwrap()[128..]);
        let frames = want.frames;
        for (i, v) in npy.iter().enumerate() {
            let (t, b) = (i / N_MELS, i % N_MELS);
            assert_eq!(*v, got[b * frames + t], "frame {t} band {b}");
        }
        assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| {
            let name = e.unwrap().file_name();
            !name.to_string_lossy().ends_with(".partial")
        }));
    }
}

#[test]
fn a_file_too_short_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("blip.wav");
    write_wav(&wav, 1, 16_000, WavFormat::S16, &[0.1; 100]);
    let out = dir.path().join("mel.safetensors");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args([OsStr::new("logmel"), wav.as_os_str(), OsStr::new("--out")])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("too short"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the input"
    );
}
