//! The library end to end through the CLI: a generated library of every format with 20 broken
//! files is scanned; every file ends indexed or listed with its error; after changing 3 files,
//! deleting 2 and moving 1, a rescan touches exactly those; status and export agree. A small
//! library shows what each file holds: tags, format, loudness, tempo, and files too short to
//! analyse apart from unreadable ones.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::WavFormat;
use earmark::library::{FileStatus, Library};
use synth::{canon, earmark, generate_library, sound, tiny_model, write_broken, write_stereo};

fn scan_json(lib: &Path, root: &Path) -> serde_json::Value {
    let out = earmark(&[
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--library"),
        lib.as_os_str(),
        OsStr::new("--model"),
        tiny_model().as_os_str(),
        OsStr::new("--json"),
    ]);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn strings(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn scan_indexes_everything_and_rescan_touches_only_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let good = generate_library(&root, 236, 8);
    let pick = |ext: &str| {
        good.iter()
            .find(|p| p.extension() == Some(OsStr::new(ext)))
            .unwrap()
    };
    let broken = write_broken(&root, pick("flac"), pick("mp3"), pick("ogg"));
    // A hidden folder is skipped by default; a symlink loop must not hang the walk.
    std::fs::create_dir_all(root.join(".hidden")).unwrap();
    write_stereo(
        &root.join(".hidden/secret.wav"),
        &sound(0, 1, 0.5, 44_100),
        WavFormat::S16,
    );
    std::os::unix::fs::symlink(&root, root.join("wav/loop")).unwrap();
    assert_eq!(good.len() + broken.len(), 320);

    let lib_path = dir.path().join("lib.sqlite");
    let report = scan_json(&lib_path, &root);
    let lib = Library::open(&lib_path).unwrap();
    let status = lib.status().unwrap();
    assert_eq!(
        status.files, 320,
        "every generated file has a row (hidden one skipped)"
    );
    assert_eq!(status.pending, 0);
    let errors: BTreeSet<String> = lib.errors().unwrap().into_iter().map(|(p, _)| p).collect();
    let want_errors: BTreeSet<String> = broken.iter().map(|p| canon(p)).collect();
    assert_eq!(errors, want_errors, "exactly the broken files are errors");
    for (path, reason) in lib.errors().unwrap() {
        assert!(!reason.trim().is_empty(), "{path}: error without a reason");
    }
    assert_eq!(status.indexed, 300);
    assert_eq!(report["analysed"].as_array().unwrap().len(), 300);
    // Of the 20, a file of ten samples is too short to analyse: its own status, not a failure.
    assert_eq!(report["failed"].as_array().unwrap().len(), 19, "{report}");
    assert_eq!(report["too_short"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!((status.errors, status.too_short), (19, 1));
    let rows = lib.export_rows().unwrap();
    for p in &good {
        let row = rows.iter().find(|r| r.path == canon(p)).unwrap();
        assert_eq!(row.status, "indexed", "{}", row.path);
        assert!(
            row.duration_s.unwrap() > 0.4,
            "{}: {:?}",
            row.path,
            row.duration_s
        );
        assert!(
            row.codec.is_some() && matches!(row.sample_rate, Some(44_100 | 48_000)),
            "{row:?}"
        );
    }
    drop(lib);

    // Change 3 files (new content), delete 2, move 1 to another folder.
    let changed: Vec<&PathBuf> = vec![&good[3], &good[50], &good[290]];
    for (i, p) in changed.iter().enumerate() {
        let x = sound(4, 500 + i as u64, 1.3, 44_100);
        if p.extension() == Some(OsStr::new("wav")) {
            write_stereo(p, &x, WavFormat::S16);
        } else {
            let tmp = dir.path().join("tmp.wav");
            write_stereo(&tmp, &x, WavFormat::S16);
            let args: &[&str] = synth::FFMPEG_FORMATS
                .iter()
                .find(|(e, _)| p.extension() == Some(OsStr::new(e)))
                .unwrap()
                .1;
            common::ffmpeg(&tmp, p, args);
        }
    }
    let deleted = [good[10].clone(), good[200].clone()];
    let deleted_canon: BTreeSet<String> = deleted.iter().map(|p| canon(p)).collect();
    for p in &deleted {
        std::fs::remove_file(p).unwrap();
    }
    let from = good[120].clone();
    let from_canon = canon(&from);
    std::fs::create_dir_all(root.join("moved")).unwrap();
    let to = root.join("moved/renamed.wav");
    std::fs::rename(&from, &to).unwrap();
    let lib = Library::open(&lib_path).unwrap();
    let moved_id = lib.file_by_path(&from_canon).unwrap().unwrap().0;
    let moved_model = lib.latest_model().unwrap().unwrap().0;
    let moved_vec = lib.clip_vector(moved_id, moved_model).unwrap().unwrap();
    drop(lib);

    let report = scan_json(&lib_path, &root);
    let r = &report["roots"][0];
    let want_changed: BTreeSet<String> = changed.iter().map(|p| canon(p)).collect();
    assert_eq!(strings(&r["changed"]), want_changed);
    assert_eq!(strings(&r["removed"]), deleted_canon);
    assert_eq!(r["moved"], serde_json::json!([[from_canon, canon(&to)]]));
    assert!(strings(&r["new"]).is_empty());
    assert_eq!(
        strings(&report["analysed"]),
        want_changed,
        "only changed files re-analysed"
    );
    assert_eq!(r["unchanged"], 320 - 3 - 2 - 1);

    let lib = Library::open(&lib_path).unwrap();
    let (id_after, _) = lib.file_by_path(&canon(&to)).unwrap().unwrap();
    assert_eq!(id_after, moved_id, "a move keeps the row");
    assert_eq!(
        lib.clip_vector(id_after, moved_model).unwrap().unwrap(),
        moved_vec
    );
    assert_eq!(lib.status().unwrap().files, 318);
    let known = lib.all_known_files().unwrap();
    assert!(known.iter().all(|k| k.status != FileStatus::Pending));

    // A third scan with nothing changed analyses nothing.
    let report = scan_json(&lib_path, &root);
    assert!(report["analysed"].as_array().unwrap().is_empty());
    assert_eq!(report["roots"][0]["unchanged"], 318);

    // The CLI views agree with the index.
    let lib_arg = ["--library", lib_path.to_str().unwrap()];
    let errs = earmark(&[
        OsStr::new("errors"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    assert_eq!(errs.lines().filter(|l| !l.starts_with(' ')).count(), 20);
    let csv = earmark(&[
        OsStr::new("export"),
        OsStr::new("--format"),
        OsStr::new("csv"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    assert_eq!(csv.lines().count(), 1 + 318);
    let json = earmark(&[
        OsStr::new("export"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 318);
}

/// `n` samples of a 997 Hz sine at `amplitude`, at `rate`.
fn sine(rate: u32, secs: f64, amplitude: f64) -> Vec<f64> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .map(|i| {
            amplitude * (2.0 * std::f64::consts::PI * 997.0 * i as f64 / f64::from(rate)).sin()
        })
        .collect()
}

/// Interleaves `x` into `channels` identical channels.
fn same_in(channels: usize, x: &[f64]) -> Vec<f64> {
    x.iter()
        .flat_map(|&v| std::iter::repeat_n(v, channels))
        .collect()
}

/// A click track: a 20 ms 2 kHz blip every beat of `bpm`, over quiet noise.
fn clicks(rate: u32, secs: f64, bpm: f64) -> Vec<f64> {
    let n = (f64::from(rate) * secs) as usize;
    let beat = 60.0 / bpm * f64::from(rate);
    let mut seed = 7u64;
    (0..n)
        .map(|i| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let noise = ((seed >> 33) as f64 / f64::from(1u32 << 31) - 0.5) * 0.01;
            let into = (i as f64 % beat) / f64::from(rate);
            let blip = if into < 0.02 {
                0.6 * (-into * 150.0).exp() * (2.0 * std::f64::consts::PI * 2000.0 * into).sin()
            } else {
                0.0
            };
            blip + noise
        })
        .collect()
}

fn row<'a>(rows: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("{name} not exported"))
}

fn number(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn scan_stores_tags_format_loudness_and_tempo_and_tells_too_short_files_apart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib");
    let (music, samples) = (root.join("music"), root.join("samples"));
    std::fs::create_dir_all(&music).unwrap();
    std::fs::create_dir_all(&samples).unwrap();
    // 40 s of clicks at 120 BPM, 24-bit stereo FLAC at 48 kHz, tagged.
    let tmp = dir.path().join("clicks.wav");
    let track = same_in(2, &clicks(48_000, 40.0, 120.0));
    common::write_wav(&tmp, 2, 48_000, WavFormat::S24, &track);
    common::ffmpeg(
        &tmp,
        &music.join("clicks.flac"),
        &[
            "-c:a",
            "flac",
            "-metadata",
            "title=Night Drive",
            "-metadata",
            "artist=The Click Band",
            "-metadata",
            "album=Metronomes",
        ],
    );
    // 5 s of a 997 Hz sine at half scale in both channels: −6.02 LUFS, −6.02 dBTP.
    let tone = music.join("tone.wav");
    common::write_wav(
        &tone,
        2,
        44_100,
        WavFormat::S16,
        &same_in(2, &sine(44_100, 5.0, 0.5)),
    );
    common::ffmpeg(
        &tone,
        &music.join("tone.mp3"),
        &["-c:a", "libmp3lame", "-b:a", "192k"],
    );
    // 15 ms: too short for the model; and a file that is no audio at all.
    common::write_wav(
        &samples.join("click.wav"),
        1,
        44_100,
        WavFormat::S16,
        &sine(44_100, 0.015, 0.5),
    );
    std::fs::write(samples.join("broken.wav"), b"RIFF\x04\x00\x00\x00WAVEjunk").unwrap();

    let lib_path = dir.path().join("lib.sqlite");
    let report = scan_json(&lib_path, &root);
    assert_eq!(report["analysed"].as_array().unwrap().len(), 3, "{report}");
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "only the broken file failed: {report}");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(
        !reason.starts_with('/') && !reason.is_empty(),
        "the reason comes first: {reason}"
    );
    let short = &report["too_short"][0];
    assert!(
        short["path"].as_str().unwrap().ends_with("click.wav"),
        "{report}"
    );
    assert!((number(&short["duration_s"]) - 0.015).abs() < 0.002);

    let lib = Library::open(&lib_path).unwrap();
    let s = lib.status().unwrap();
    assert_eq!((s.indexed, s.errors, s.too_short), (3, 1, 1));
    drop(lib);
    let lib_arg = ["--library", lib_path.to_str().unwrap()];
    let status = earmark(&[
        OsStr::new("status"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    assert!(
        status.contains("1 error, 1 too short to analyse"),
        "{status}"
    );

    let json = earmark(&[
        OsStr::new("export"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let flac = row(&rows, "clicks.flac");
    assert_eq!(flac["title"], "Night Drive");
    assert_eq!(flac["artist"], "The Click Band");
    assert_eq!(flac["album"], "Metronomes");
    assert_eq!(
        (flac["sample_rate"].as_i64(), flac["bit_depth"].as_i64()),
        (Some(48_000), Some(24))
    );
    assert_eq!(flac["channels"].as_i64(), Some(2));
    let bpm = number(&flac["tempo_bpm"]);
    assert!((bpm - 120.0).abs() <= 2.4, "tempo within 2 %: {bpm}");
    assert!(
        flac["loudness_lufs"].is_number() && flac["true_peak_dbtp"].is_number(),
        "{flac}"
    );

    let wav = row(&rows, "tone.wav");
    assert_eq!(
        (wav["bit_depth"].as_i64(), wav["sample_rate"].as_i64()),
        (Some(16), Some(44_100))
    );
    let (lufs, peak) = (
        number(&wav["loudness_lufs"]),
        number(&wav["true_peak_dbtp"]),
    );
    assert!((lufs - -6.02).abs() < 0.1, "integrated loudness {lufs}");
    assert!((peak - -6.02).abs() < 0.15, "true peak {peak}");
    assert!(wav["tempo_bpm"].is_null(), "a 5 s file has no tempo: {wav}");
    let mp3 = row(&rows, "tone.mp3");
    assert!(
        mp3["bit_depth"].is_null(),
        "a lossy file has no bit depth: {mp3}"
    );
    assert!((number(&mp3["loudness_lufs"]) - -6.02).abs() < 0.3, "{mp3}");

    let click = row(&rows, "click.wav");
    assert_eq!(click["status"], "too_short");
    assert_eq!(click["error"], "too short to analyse (0.015 s of audio)");
    let broken = row(&rows, "broken.wav");
    assert_eq!(broken["status"], "error");
    assert!(
        !broken["error"].as_str().unwrap().starts_with('/'),
        "{broken}"
    );

    let csv = earmark(&[
        OsStr::new("export"),
        OsStr::new("--format"),
        OsStr::new("csv"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    let header = csv.lines().next().unwrap();
    assert!(header.contains("title,artist,album"), "{header}");
    assert!(
        header.contains("bit_depth,loudness_lufs,true_peak_dbtp,tempo_bpm"),
        "{header}"
    );
    let line = csv.lines().find(|l| l.contains("clicks.flac")).unwrap();
    assert!(
        line.contains("Night Drive") && line.contains(",24,"),
        "{line}"
    );

    // A rescan with nothing changed measures nothing again.
    let report = scan_json(&lib_path, &root);
    assert_eq!(report["measured"], 0);
    assert!(report["analysed"].as_array().unwrap().is_empty());
}
