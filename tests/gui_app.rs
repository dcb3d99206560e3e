//! The desktop app through its real state, driven by egui_kittest: first start → add a folder
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
use std::time::{Duration, Instant};

use app::{H, harness, tiny_options, wait_until};
use common::WavFormat;
use earmark::gui::EarmarkApp;
use earmark::gui::app::PlayerSlot;
use earmark::gui::dialogs::ScriptedDialogs;
use earmark::gui::job_list::JobKind;
use eframe::egui;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::Queryable;

fn idle(app: &EarmarkApp) -> bool {
    app.jobs.current().is_none() && app.inspector.task.is_none() && app.similar.task.is_none()
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
    wait_until(&mut h, "the empty library to be read", 90, |a| {
        a.rows_loaded && a.model.active.is_some()
    });
    h.get_by_label("Add a folder…");
    snapshot(&mut h, "welcome", 0);

    // Add a folder through the dialog hook; the scan reports progress and rows fill in.
    dialogs.answer(Some(root.clone()));
    h.get_by_label("Add a folder…").click();
    let start = Instant::now();
    let mut saw_progress = false;
    while !(h.state().rows_loaded
        && h.state().snapshot.rows.len() == 13
        && !h.state().jobs.active(JobKind::Scan)
        && h.state().snapshot.counts.pending == 0)
    {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "scan did not finish"
        );
        saw_progress |= h.query_by_label_contains("Scan sounds").is_some()
            && h.state()
                .jobs
                .entries
                .first()
                .is_some_and(|j| j.progress.is_some());
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(saw_progress, "the scan's progress bar was never shown");
    assert_eq!(h.state().snapshot.counts.indexed, 12);
    assert_eq!(h.state().snapshot.counts.errors, 1);
    h.run_steps(4);
    h.get_by_label("s04.wav");

    // The errors view lists the unreadable file with its reason.
    h.get_by_label("Errors (1)").click();
    h.run_steps(3);
    assert_eq!(h.state().view.order.len(), 1);
    h.get_by_label("broken.wav");
    snapshot(&mut h, "errors", 0);
    h.get_by_label("Errors (1)").click();
    h.run_steps(3);

    // Ctrl+F focuses the filter; typing narrows the table.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    h.event(egui::Event::Text("chirps".into()));
    h.run_steps(3);
    assert_eq!(h.state().filter, "chirps");
    assert_eq!(h.state().view.order.len(), 4);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);

    // Select a file: the spectrogram texture and the predicted tags appear.
    h.get_by_label("s05.wav").click();
    wait_until(&mut h, "the inspector", 90, |a| {
        a.inspector
            .data
            .as_ref()
            .is_some_and(|d| d.path.ends_with("s05.wav"))
    });
    let data = h.state().inspector.data.clone().unwrap();
    let image = data.image.as_ref().unwrap();
    assert_eq!(image.height, 80);
    assert!(image.width > 100, "one column per 10 ms: {}", image.width);
    assert!(h.state().inspector.texture.is_some());
    let predicted = data.predicted.clone().unwrap().unwrap();
    assert_eq!(predicted.len(), 5);
    assert!(predicted.windows(2).all(|w| w[0].1 >= w[1].1));
    h.get_by_label("Predicted:");
    // The scan ran the head too: the label is both a stored tag and a prediction.
    assert!(h.query_all_by_label_contains(&predicted[0].0).count() >= 2);
    snapshot(&mut h, "library_inspector", 0);

    // ↓ moves the selection to the next row of the (filtered) table.
    h.key_press(egui::Key::ArrowDown);
    wait_until(&mut h, "the next file", 90, |a| {
        a.inspector
            .data
            .as_ref()
            .is_some_and(|d| d.path.ends_with("s08.wav"))
    });

    // Enter finds similar files: ranked, the query left out.
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "similar results", 90, |a| {
        a.similar.results.is_some() && idle(a)
    });
    let hits = h.state().similar.hits().to_vec();
    assert_eq!(
        hits.len(),
        11,
        "every other analysed file, the query excluded"
    );
    assert!(hits.iter().all(|x| !x.path.ends_with("s08.wav")));
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    let first = Path::new(&hits[0].path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    h.get_by_label_contains(&first);
    snapshot(&mut h, "similar", 0);

    // Clicking a result auditions it: playback starts on the null sink, or the app says
    // plainly that there is no output device.
    h.get_by_label_contains(&first).click();
    wait_until(&mut h, "the result to load", 90, |a| {
        a.inspector
            .data
            .as_ref()
            .is_some_and(|d| d.path.ends_with(&first))
            && !matches!(a.player, PlayerSlot::Closed)
    });
    if audio_server {
        let start = Instant::now();
        loop {
            let played = match &h.state().player {
                PlayerSlot::Open(p) => p.frames_played(),
                PlayerSlot::Failed(e) => panic!("PulseAudio runs but playback failed: {e}"),
                PlayerSlot::Closed => 0,
            };
            if played > 4800 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the device took no audio"
            );
            h.step();
            std::thread::sleep(Duration::from_millis(20));
        }
        h.key_press(egui::Key::Space);
        h.run_steps(2);
        let PlayerSlot::Open(p) = &h.state().player else {
            unreachable!()
        };
        assert!(!p.is_playing(), "Space pauses");
        // Back to the start, so the snapshots below do not depend on how long it played.
        h.state_mut()
            .push(earmark::gui::command::Command::Seek(0.0));
        h.run_steps(2);
    } else {
        assert!(matches!(h.state().player, PlayerSlot::Failed(_)));
        h.get_by_label_contains("No sound:");
    }

    // A region of the selection searches over segments and says where each match is.
    h.state_mut().inspector.region = Some((0.2, 0.9));
    h.run_steps(2);
    h.get_by_label("Find similar to region").click();
    wait_until(&mut h, "region results", 90, |a| {
        a.similar
            .results
            .as_ref()
            .is_some_and(|r| r.region.is_some())
            && idle(a)
    });
    assert!(h.state().similar.hits().iter().all(|x| x.at_s.is_some()));

    // Export the spectrogram as PNG through the save dialog hook.
    let png_path = dir.join("export.png");
    dialogs.answer(Some(png_path.clone()));
    h.get_by_label("Export PNG…").click();
    wait_until(&mut h, "the PNG", 90, |a| a.inspector.exported.is_some());
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    let want = h
        .state()
        .inspector
        .data
        .as_ref()
        .unwrap()
        .image
        .as_ref()
        .unwrap()
        .width;
    assert_eq!((info.width as usize, info.height), (want, 80));

    // The map: computed by a job, then drawn.
    h.get_by_label("Map").click();
    h.run_steps(2);
    h.get_by_label("Compute map").click();
    wait_until(&mut h, "the map", 90, |a| {
        a.map.points.as_ref().is_some_and(|p| p.len() == 12) && idle(a)
    });
    snapshot(&mut h, "map", 0);

    h.get_by_label("Jobs").click();
    snapshot(&mut h, "jobs", 600);
    h.get_by_label("Models").click();
    wait_until(&mut h, "the model list", 90, |a| {
        a.models.list.is_some() && a.models.catalog.is_some()
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
    wait_until(&mut h, "the library", 90, |a| {
        a.rows_loaded && a.model.active.is_some()
    });
    h.state_mut()
        .push(earmark::gui::command::Command::AddRoots(vec![root.clone()]));
    wait_until(&mut h, "the scan", 90, |a| {
        a.snapshot.rows.len() == 13
            && !a.jobs.active(JobKind::Scan)
            && a.snapshot.counts.pending == 0
    });

    // A file that disappears after the scan: selecting it says why it cannot be shown.
    let victim = root.join("chords/s00.wav");
    std::fs::remove_file(&victim).unwrap();
    h.get_by_label("s00.wav").click();
    wait_until(&mut h, "the inspector error", 90, |a| {
        a.inspector.error.is_some()
    });
    h.get_by_label_contains("This file cannot be shown");

    // The library folder disappears: the side bar says so and offers no rescan.
    let moved = dir.join("moved-away");
    std::fs::rename(&root, &moved).unwrap();
    h.state_mut().push(earmark::gui::command::Command::Rescan);
    h.run_steps(2);
    // Rescan used the roots known before; reading the library again marks the folder missing.
    wait_until(&mut h, "the rescan to end", 90, |a| {
        !a.jobs.active(JobKind::Scan)
    });
    wait_until(&mut h, "the missing root", 90, |a| {
        a.snapshot.roots.iter().any(|r| !r.present)
    });
    h.get_by_label_contains("Folder not found");
    assert_eq!(
        h.state().snapshot.rows.len(),
        13,
        "nothing is dropped from the index"
    );
    std::fs::rename(&moved, &root).unwrap();

    // A missing model file: the app says so where a model is needed.
    let mut opts = tiny_options(&dir, dialogs, true);
    opts.model = Some(dir.join("gone.safetensors"));
    let mut h = harness(opts, [1280.0, 800.0]);
    wait_until(&mut h, "the model error", 90, |a| a.model.error.is_some());
    h.get_by_label_contains("model file not found");
    h.get_by_label("s01.wav").click();
    wait_until(&mut h, "the inspector", 90, |a| a.inspector.data.is_some());
    h.key_press(egui::Key::Enter);
    h.run_steps(4);
    assert!(
        h.state()
            .similar
            .error
            .as_deref()
            .is_some_and(|e| e.contains("model file not found"))
    );
}
