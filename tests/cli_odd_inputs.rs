//! Inputs a careless user gives the `earmark` binary: the same file twice, names that are not
//! UTF-8, a named pipe, an MP3 cut short. Each gets a result or a clear error, never a panic
//! or a hang (issue 15, items 6, 7 and 14).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{WavFormat, ffmpeg, fixture, write_wav};

fn earmark(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Three seconds of a tone at 44.1 kHz.
fn tone_wav(path: &Path) {
    let x: Vec<f64> = (0..3 * 44_100)
        .map(|i| 0.4 * (i as f64 * 440.0 * std::f64::consts::TAU / 44_100.0).sin())
        .collect();
    write_wav(path, 1, 44_100, WavFormat::S16, &x);
}

fn tensor_names(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_owned).collect();
    names.sort();
    names
}

#[test]
fn embedding_the_same_file_twice_gives_two_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("x.wav");
    tone_wav(&wav);
    let out = dir.path().join("o.safetensors");
    let model = fixture("tiny.safetensors");
    let o = earmark(&[
        "embed".as_ref(),
        wav.as_os_str(),
        wav.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let first = wav.display().to_string();
    assert_eq!(
        tensor_names(&out),
        vec![first.clone(), format!("{first} #2")]
    );
    let bytes = std::fs::read(&out).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let a = st.tensor(&first).unwrap();
    let b = st.tensor(&format!("{first} #2")).unwrap();
    assert_eq!(a.shape(), [1, 1, 320]);
    assert_eq!(a.data(), b.data());
}

/// A copy of a tone file under a name with bytes that are not UTF-8.
fn non_utf8_copy(dir: &Path, ext: &str) -> PathBuf {
    let wav = dir.join("plain.wav");
    tone_wav(&wav);
    let mut name = b"caf\xe9-\xff".to_vec();
    name.extend_from_slice(ext.as_bytes());
    let odd = dir.join(std::ffi::OsStr::from_bytes(&name));
    std::fs::copy(&wav, &odd).unwrap();
    odd
}

#[test]
fn info_json_names_a_file_whose_name_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let odd = non_utf8_copy(dir.path(), ".wav");
    for decode in [false, true] {
        let mut args = vec!["info".as_ref(), "--json".as_ref(), odd.as_os_str()];
        if decode {
            args.push("--decode".as_ref());
        }
        let o = earmark(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(
            v["path"]
                .as_str()
                .unwrap()
                .contains("caf\u{fffd}-\u{fffd}.wav")
        );
        let raw: Vec<u8> = v["path_bytes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        assert_eq!(raw, odd.as_os_str().as_bytes());
        assert_eq!(v["sample_rate"], 44_100);
    }
    // An error about such a file is JSON too.
    let missing = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"gone\xff.wav"));
    let o = earmark(&["info".as_ref(), "--json".as_ref(), missing.as_os_str()]);
    assert!(!o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["error"].is_string());
}

#[test]
fn embed_reads_a_file_whose_name_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let odd = non_utf8_copy(dir.path(), ".wav");
    let out = dir.path().join("o.safetensors");
    let model = fixture("tiny.safetensors");
    let o = earmark(&[
        "embed".as_ref(),
        odd.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(tensor_names(&out), vec![odd.to_string_lossy().into_owned()]);
}

#[test]
fn info_refuses_a_named_pipe_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.wav");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for args in [vec!["info"], vec!["info", "--decode", "--json"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_earmark"))
            .args(&args)
            .arg(&fifo)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                panic!("`earmark {}` blocked on a named pipe", args.join(" "));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let o = child.wait_with_output().unwrap();
        assert!(!o.status.success());
        let all = text(&o.stdout) + &text(&o.stderr);
        assert!(all.contains("not a regular file"), "{all}");
    }
    // The library's decoder refuses it too (scan and embed go through it).
    let err = earmark::audio::AudioDecoder::open(&fifo).err().unwrap();
    assert!(err.to_string().contains("named pipe"), "{err}");
}

#[test]
fn a_truncated_mp3_is_flagged_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    tone_wav(&wav);
    for (name, extra) in [
        ("xing.mp3", &["-b:a", "128k"][..]),
        ("no_xing.mp3", &["-b:a", "128k", "-write_xing", "0"][..]),
        ("vbr.mp3", &["-q:a", "4"][..]),
    ] {
        let mp3 = dir.path().join(name);
        let mut args = vec!["-c:a", "libmp3lame"];
        args.extend_from_slice(extra);
        ffmpeg(&wav, &mp3, &args);
        let bytes = std::fs::read(&mp3).unwrap();
        let cut = dir.path().join(format!("cut_{name}"));
        // Cut inside a frame: 60 % of the file plus a few bytes.
        std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10 + 7]).unwrap();
        for (file, want) in [(&mp3, false), (&cut, true)] {
            let o = earmark(&[
                "info".as_ref(),
                "--decode".as_ref(),
                "--json".as_ref(),
                file.as_os_str(),
            ]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["decoded"]["truncated"], want, "{}: {v}", file.display());
        }
        // The scan's analysis carries the flag (its note "truncated: only the readable part
        // was analysed").
        let prepared = earmark::library::analyse::prepare(
            &cut,
            earmark::library::analyse::Budget::Full,
            608,
            16,
        )
        .unwrap();
        assert!(prepared.truncated, "{name}");
    }
}

#[test]
fn a_wav_header_that_makes_the_reader_overflow_is_an_error_not_a_crash() {
    // Found by the decoder fuzz target: channels × bytes per sample overflows 16 bits.
    let dir = tempfile::tempdir().unwrap();
    let kept = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz/decode-wav/channels-times-bytes-overflow.wav.bin");
    let wav = dir.path().join("hostile.wav");
    std::fs::copy(&kept, &wav).unwrap();
    let out = earmark(&["info".as_ref(), "--decode".as_ref(), wav.as_os_str()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("hostile.wav"), "{err}");
    assert!(err.contains("made the reader fail"), "{err}");
}
