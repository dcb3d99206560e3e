//! The desktop app driven like a user with egui_kittest (clicks, keys, a dropped folder, drags
//! in the spectrogram), asserting on what the window shows: first start → add a folder
//! (the dialog answered by the test) → scan progress → rows → select → spectrogram and tags →
//! find similar (file and region) → audition plays through PulseAudio's null sink (or, without
//! a sound server, the app says there is no output device) → PNG export → map → jobs → models.
//! Snapshots of each panel are compared with `tests/snapshots/`.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::{
    H, Role, ScriptedDialogs, bars_after, click_at, click_button, count_label, count_text, drag,
    drop_files, field_with, harness, has_label, has_text, hits, inspected, job_running, nodes,
    progress_texts, seconds, select, spectrogram_x, spinning, text_with, texts, tiny_options,
    wait_for, wait_for_label, wait_for_text, wait_inspected,
};
use common::WavFormat;
use eframe::egui;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::{NodeT, Queryable};

/// Nothing is loading, searching or running.
fn idle(h: &H) -> bool {
    !job_running(h) && !has_text(h, "Loading ") && !has_label(h, "Searching…")
}

/// The playback position line "0:00.4 / 0:01.4": (position, duration) in seconds.
fn position(h: &H) -> Option<(f64, f64)> {
    texts(h).iter().find_map(|t| {
        let (a, b) = t.split_once(" / ")?;
        let ok =
            |s: &str| s.contains(':') && s.chars().all(|c| c.is_ascii_digit() || ":.".contains(c));
        (ok(a) && ok(b)).then(|| (seconds(a), seconds(b)))
    })
}

/// The duration of the inspected file, from its facts line.
fn inspected_duration(h: &H) -> f64 {
    let (_, facts) = inspected(h).unwrap();
    seconds(facts.split(" · ").next().unwrap())
}

/// The sidebar's counts say the scan of `files` files is over: `analysed` analysed, none
/// waiting, and no job runs.
fn scanned(h: &H, files: usize, analysed: usize) -> bool {
    has_label(h, &format!("{files} files"))
        && has_label(h, &format!("{analysed} analysed · 0 waiting"))
        && has_text(h, &format!(" of {files} files"))
        && !job_running(h)
}

fn snapshot(h: &mut H, name: &str, tolerance: usize) {
    h.run_steps(4);
    h.snapshot_options(name, &SnapshotOptions::new().max_failed_pixels(tolerance));
}

/// 12 generated sounds in three folders and one unreadable file.
fn sounds(dir: &Path) -> PathBuf {
    let root = dir.join("sounds");
    for i in 0..12 {
        let sub = root.join(["chords", "noise", "chirps"][i % 3]);
        std::fs::create_dir_all(&sub).unwrap();
        let x = synth::sound(i % 5, i as u64, 1.0 + (i % 4) as f64 * 0.4, 44_100);
        synth::write_stereo(&sub.join(format!("s{i:02}.wav")), &x, WavFormat::S16);
    }
    std::fs::write(root.join("broken.wav"), b"RIFF\x04\x00\x00\x00WAVE").unwrap();
    root
}

#[test]
fn add_scan_inspect_find_similar_and_play() {
    let audio_server = desktop::pulseaudio_null_sink();
    let dir = desktop::fixed_dir("flow");
    let root = sounds(&dir);
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(
        tiny_options(&dir, Arc::clone(&dialogs), true),
        [1280.0, 800.0],
    );

    // First start: an explanation and an "add a folder" button, not an empty window.
    wait_for(&mut h, "the welcome and the model", 90, |h| {
        has_label(h, "Add a folder…") && has_label(h, "Model: tiny")
    });
    h.get_by_label("Welcome to Earmark");
    snapshot(&mut h, "welcome", 0);

    // Add a folder through the dialog hook; the scan reports progress and rows fill in.
    dialogs.answer(Some(root.clone()));
    h.get_by_label("Add a folder…").click();
    wait_for(&mut h, "the scan", 120, |h| scanned(h, 13, 12));
    // The scan reported its progress: the Jobs tab keeps its bar (13 files, 1 unreadable).
    click_button(&mut h, "Jobs");
    let bars = progress_texts(&h);
    assert!(
        bars.iter().any(|t| t == "13/13 · 1 failed"),
        "the scan's progress: {bars:?}"
    );
    click_button(&mut h, "Library");
    // 12 files analysed, 1 unreadable.
    h.get_by_label("12 analysed · 0 waiting");
    h.get_by_label("1 could not be read");
    h.get_by_label("13 of 13 files");
    h.get_by_label("s04.wav");

    // The errors view lists the unreadable file with its reason.
    h.get_by_label("Errors (1)").click();
    h.run_steps(3);
    h.get_by_label("1 of 13 files");
    h.get_by_label("broken.wav");
    snapshot(&mut h, "errors", 0);
    h.get_by_label("Errors (1)").click();
    h.run_steps(3);

    // Ctrl+F focuses the filter; typing narrows the table.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    h.event(egui::Event::Text("chirps".into()));
    h.run_steps(3);
    assert!(
        field_with(&h, "chirps"),
        "the filter field shows what was typed"
    );
    h.get_by_label("4 of 13 files");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);

    // Select a file: its facts, the spectrogram and the predicted tags appear.
    select(&mut h, "s05.wav", 90);
    let (_, facts) = inspected(&h).unwrap();
    assert!(facts.starts_with("0:01.4 · 44100 Hz · 2 ch"), "{facts}");
    h.get_by_role_and_label(Role::Canvas, "Spectrogram");
    assert!(!has_text(&h, "No spectrogram"), "{:?}", texts(&h));
    let predicted = bars_after(&h, "Predicted:");
    assert_eq!(predicted.len(), 5, "{predicted:?} in {:?}", nodes(&h));
    let score = |t: &String| t.rsplit(' ').next().unwrap().parse::<f64>().unwrap();
    assert!(
        predicted.windows(2).all(|w| score(&w[0]) >= score(&w[1])),
        "{predicted:?}"
    );
    let top = predicted[0].rsplit_once(' ').unwrap().0.to_string();
    // The scan ran the head too: the label is both a stored tag and a prediction.
    assert!(h.query_all_by_label_contains(&top).count() >= 2);
    snapshot(&mut h, "library_inspector", 0);

    // ↓ moves the selection to the next row of the (filtered) table.
    h.key_press(egui::Key::ArrowDown);
    wait_inspected(&mut h, "s08.wav", 90);

    // Enter finds similar files: ranked, the query left out.
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, "similar results", 90, |h| {
        has_label(h, "Similar to s08.wav") && idle(h)
    });
    let shown = hits(&h);
    assert_eq!(
        shown.len(),
        11,
        "every other analysed file, the query excluded: {shown:?}"
    );
    h.get_by_label("Similar (11)");
    assert!(shown.iter().all(|(_, name)| name != "s08.wav"));
    assert!(shown.windows(2).all(|w| w[0].0 >= w[1].0), "{shown:?}");
    let first = shown[0].1.clone();
    h.get_by_label_contains(&first);
    snapshot(&mut h, "similar", 0);

    // Clicking a result auditions it: playback starts on the null sink, or the app says
    // plainly that there is no output device.
    h.get_by_label_contains(&first).click();
    wait_for(&mut h, "the result to load and play", 90, |h| {
        inspected(h).is_some_and(|(n, _)| n == first)
            && (position(h).is_some() || has_text(h, "No sound:"))
    });
    if audio_server {
        if has_text(&h, "No sound:") {
            panic!(
                "PulseAudio runs but playback failed: {}",
                text_with(&h, "No sound:")
            );
        }
        // 0.2 s shown: the device took at least 4800 frames.
        wait_for(&mut h, "the device to take audio", 20, |h| {
            position(h).is_some_and(|(p, _)| p >= 0.2)
        });
        h.get_by_label("Pause");
        h.key_press(egui::Key::Space);
        h.run_steps(2);
        assert!(
            has_label(&h, "Play") && !has_label(&h, "Pause"),
            "Space pauses"
        );
        // Back to the start (a click at 0 s in the spectrogram), so the snapshots below do not
        // depend on how long it played.
        let at = spectrogram_x(&h, 0.0, inspected_duration(&h));
        click_at(&mut h, at);
        h.run_steps(2);
        assert_eq!(position(&h).map(|p| p.0), Some(0.0), "{:?}", texts(&h));
    } else {
        h.get_by_label_contains("No sound:");
    }

    // A region of the selection searches over segments and says where each match is.
    let duration = inspected_duration(&h);
    let (from, to) = (
        spectrogram_x(&h, 0.2, duration),
        spectrogram_x(&h, 0.9, duration),
    );
    drag(&mut h, from, to);
    h.get_by_label("Region 0.20–0.90 s");
    h.get_by_label("Find similar to region").click();
    let heading = format!("Similar to {first}, 0.20–0.90 s");
    wait_for(&mut h, "region results", 90, |h| {
        has_label(h, &heading) && idle(h)
    });
    let shown = hits(&h);
    assert!(!shown.is_empty());
    assert!(
        shown
            .iter()
            .all(|(_, name)| name.contains("  @ ") && name.ends_with(" s")),
        "every match says where it is: {shown:?}"
    );

    // Export the spectrogram as PNG through the save dialog hook: one column per 10 ms, 80
    // bands.
    let png_path = dir.join("export.png");
    dialogs.answer(Some(png_path.clone()));
    h.get_by_label("Export PNG…").click();
    wait_for_label(&mut h, &format!("Saved {}", png_path.display()), 90);
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!(info.height, 80);
    let columns = duration * 100.0;
    assert!(
        (f64::from(info.width) - columns).abs() <= 3.0,
        "{} columns for {duration} s",
        info.width
    );

    // The map: computed by a job, then drawn.
    h.get_by_label("Map").click();
    h.run_steps(2);
    h.get_by_label("Compute map").click();
    wait_for(&mut h, "the map", 90, |h| {
        has_text(h, ": 12 files laid out")
            && h.query_by_role_and_label(Role::Canvas, "Map").is_some()
            && idle(h)
    });
    snapshot(&mut h, "map", 0);

    h.get_by_label("Jobs").click();
    snapshot(&mut h, "jobs", 600);
    h.get_by_label("Models").click();
    wait_for(&mut h, "the model list and the catalog", 90, |h| {
        has_label(h, "Class names come with the heads that use them.")
            && has_label(h, "Installed models")
            && !spinning(h)
    });
    snapshot(&mut h, "models", 0);
}

#[test]
fn bad_states_are_shown_not_fatal() {
    let dir = desktop::fixed_dir("bad");
    let root = sounds(&dir);
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut opts = tiny_options(&dir, Arc::clone(&dialogs), true);
    opts.settings.head = None;
    let mut h = harness(opts, [1280.0, 800.0]);
    wait_for(&mut h, "the library and the model", 90, |h| {
        has_label(h, "Add a folder…") && has_label(h, "Model: tiny")
    });
    // The folder dropped onto the window.
    drop_files(&mut h, std::slice::from_ref(&root));
    wait_for(&mut h, "the scan", 90, |h| scanned(h, 13, 12));

    // A file that disappears after the scan: selecting it says why it cannot be shown.
    let victim = root.join("chords/s00.wav");
    std::fs::remove_file(&victim).unwrap();
    h.get_by_label("s00.wav").click();
    wait_for_text(&mut h, "This file cannot be shown", 90);

    // The library folder disappears: the side bar says so and offers no rescan.
    let moved = dir.join("moved-away");
    std::fs::rename(&root, &moved).unwrap();
    h.get_by_label("Rescan").click();
    // Rescan used the roots known before; reading the library again marks the folder missing.
    wait_for(&mut h, "the rescan to end and the missing root", 90, |h| {
        !job_running(h) && has_text(h, "Folder not found")
    });
    h.get_by_label_contains("Missing: ");
    assert!(
        h.get_by_label("Rescan").accesskit_node().is_disabled(),
        "no rescan without a folder"
    );
    h.get_by_label("13 of 13 files");
    assert_eq!(
        app::shown_number(&h, " files"),
        Some(13),
        "nothing is dropped from the index: {:?}",
        texts(&h)
    );
    std::fs::rename(&moved, &root).unwrap();

    // A missing model file: the app says so where a model is needed.
    let mut opts = tiny_options(&dir, dialogs, true);
    opts.model = Some(dir.join("gone.safetensors"));
    let mut h = harness(opts, [1280.0, 800.0]);
    wait_for(&mut h, "the model error and the rows", 90, |h| {
        has_text(h, "model file not found") && has_label(h, "s01.wav")
    });
    select(&mut h, "s01.wav", 90);
    let before = count_text(&h, "model file not found");
    h.key_press(egui::Key::Enter);
    h.run_steps(4);
    // The Similar tab says why it cannot search.
    assert_eq!(
        count_text(&h, "model file not found"),
        before + 1,
        "{:?}",
        texts(&h)
    );
}

/// 40 s of clicks at 120 BPM, tagged (FLAC, 24-bit, 48 kHz), a 15 ms blip and an unreadable file.
fn tagged_track_blip_and_broken(dir: &Path) -> PathBuf {
    let root = dir.join("mixed");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let n = 48_000 * 40;
    let click: Vec<f64> = (0..n)
        .map(|i| {
            let into = (i % 24_000) as f64 / 48_000.0;
            let blip = (2.0 * std::f64::consts::PI * 2000.0 * into).sin();
            if into < 0.02 {
                0.6 * (-into * 150.0).exp() * blip
            } else {
                0.0
            }
        })
        .flat_map(|v| [v, v])
        .collect();
    let tmp = dir.join("clicks.wav");
    common::write_wav(&tmp, 2, 48_000, WavFormat::S24, &click);
    let tags = [
        "-c:a",
        "flac",
        "-metadata",
        "title=Night Drive",
        "-metadata",
        "artist=The Click Band",
    ];
    common::ffmpeg(&tmp, &root.join("clicks.flac"), &tags);
    let blip: Vec<f64> = (0..661).map(|i| (i as f64 * 0.14).sin() * 0.5).collect();
    common::write_wav(&root.join("blip.wav"), 1, 44_100, WavFormat::S16, &blip);
    std::fs::write(root.join("broken.wav"), b"RIFF\x04\x00\x00\x00WAVEjunk").unwrap();
    root
}

#[test]
fn library_columns_show_tags_format_and_measures_and_the_errors_view_gives_reasons() {
    let dir = desktop::fixed_dir("columns");
    let root = tagged_track_blip_and_broken(&dir);
    let _ = std::fs::remove_file(dir.join("library.sqlite"));
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(
        tiny_options(&dir, Arc::clone(&dialogs), false),
        [1024.0, 700.0],
    );
    wait_for(&mut h, "the welcome and the model", 90, |h| {
        has_label(h, "Add a folder…") && has_label(h, "Model: tiny")
    });
    drop_files(&mut h, std::slice::from_ref(&root));
    wait_for(&mut h, "the scan", 120, |h| scanned(h, 3, 1));

    // The columns show what the scan read and measured, as stored.
    let lib = earmark::library::Library::open(&dir.join("library.sqlite")).unwrap();
    let rows = lib.table_rows().unwrap();
    let track = rows
        .iter()
        .find(|r| r.path.ends_with("clicks.flac"))
        .unwrap();
    let m = track.media.clone();
    drop(lib);
    for label in ["Title", "Artist", "kHz", "Bits", "LUFS", "BPM"] {
        assert!(has_label(&h, label), "the {label} column");
    }
    for shown in ["Night Drive", "The Click Band", "48", "24"] {
        assert!(
            has_label(&h, shown),
            "{shown} in the table: {:?}",
            texts(&h)
        );
    }
    let lufs = format!("{:.1}", m.loudness_lufs.unwrap()).replace('-', "\u{2212}");
    assert!(has_label(&h, &lufs), "loudness {lufs}");
    let bpm = m.tempo_bpm.unwrap();
    assert!((bpm - 120.0).abs() < 2.4, "tempo {bpm}");
    assert!(has_label(&h, &format!("{bpm:.1}")));

    // The too-short file has its own status and count, apart from the unreadable one.
    assert!(has_label(&h, "too short (0.015 s)"), "{:?}", texts(&h));
    h.get_by_label("1 could not be read");
    h.get_by_label("1 too short to analyse");

    // The Columns menu hides a column, and shows it again.
    click_button(&mut h, "Columns");
    h.get_by_label_contains("BPM — ").click();
    h.run_steps(3);
    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    assert!(!has_label(&h, "BPM"), "the tempo column is hidden");
    click_button(&mut h, "Columns");
    h.get_by_label_contains("BPM — ").click();
    h.run_steps(3);
    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    assert!(has_label(&h, "BPM"), "and shown again");

    // The errors view: both files, the reason first (the path is not in the cell), and one
    // tooltip holding the reason and the path.
    click_button(&mut h, "Errors (1) · 1 too short");
    h.run_steps(3);
    h.get_by_label("2 of 3 files");
    assert!(has_label(&h, "Reason"));
    let (broken, reason) = earmark::library::Library::open(&dir.join("library.sqlite"))
        .unwrap()
        .errors()
        .unwrap()
        .into_iter()
        .find(|(p, _)| p.ends_with("broken.wav"))
        .unwrap();
    assert!(!reason.starts_with('/'), "{reason}");
    let cell = h.get_by_label(&reason);
    cell.hover();
    h.run_steps(4);
    let tooltip = format!("{reason}\n{broken}");
    wait_for(&mut h, "the reason's tooltip", 10, |h| {
        has_label(h, &tooltip)
    });
    assert_eq!(count_label(&h, &tooltip), 1, "one tooltip: {:?}", texts(&h));
    assert_eq!(
        count_label(&h, &reason),
        1,
        "no second tooltip repeating the cell"
    );
    assert!(
        !texts(&h)
            .iter()
            .any(|t| t.starts_with(&*root.to_string_lossy()) && t.contains(':')),
        "no cell starts with the path: {:?}",
        texts(&h)
    );
}
