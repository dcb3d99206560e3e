//! The window's own controls, driven like a user: sorting the library table by its column
//! headers, the side bar's "could not be read" link, the colour theme, the Inspector and Folders
//! toggles, dismissing a message and messages that go by themselves, and Earmark's own file
//! picker where the system has no dialog. Each of these is a command the app carries out (the
//! tab bar, status bar and features change nothing themselves), so these clicks check the whole
//! round trip from what is drawn to what is shown next. Also: a scan made by another process
//! shows up in the open window.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{
    H, ScriptedDialogs, click_button, drop_files, harness, has_label, has_text, job_running,
    select, texts, tiny_options, wait_for, wait_for_label, wait_gone,
};
use common::WavFormat;
use eframe::egui;
use egui_kittest::kittest::Queryable;

/// Four sounds of different lengths (s00 1.0 s, s01 2.0 s, s02 0.5 s, s03 1.5 s) and one
/// unreadable file.
fn sounds(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("sounds");
    std::fs::create_dir_all(&root).unwrap();
    for (i, secs) in [1.0, 2.0, 0.5, 1.5].into_iter().enumerate() {
        let x = synth::sound(i, i as u64, secs, 44_100);
        synth::write_stereo(&root.join(format!("s{i:02}.wav")), &x, WavFormat::S16);
    }
    std::fs::write(root.join("broken.wav"), b"RIFF\x04\x00\x00\x00WAVE").unwrap();
    root
}

/// The file names in the table, top to bottom.
fn table_order(h: &H) -> Vec<String> {
    texts(h)
        .into_iter()
        .filter(|t| t.starts_with('s') && t.ends_with(".wav"))
        .collect()
}

#[test]
fn table_sorting_theme_toggles_and_messages_answer_clicks() {
    let dir = desktop::fixed_dir("controls");
    let root = sounds(&dir);
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(
        tiny_options(&dir, Arc::clone(&dialogs), false),
        [1280.0, 800.0],
    );
    wait_for(&mut h, "the welcome and the model", 90, |h| {
        has_label(h, "Add a folder…") && has_label(h, "Model: tiny")
    });
    drop_files(&mut h, std::slice::from_ref(&root));
    wait_for(&mut h, "the scan", 120, |h| {
        has_label(h, "4 analysed · 0 waiting") && has_label(h, "5 of 5 files") && !job_running(h)
    });

    // The table starts sorted by name; a header click sorts by that column, a second reverses.
    assert_eq!(
        table_order(&h),
        ["s00.wav", "s01.wav", "s02.wav", "s03.wav"]
    );
    h.get_by_label("Name ^");
    click_button(&mut h, "Duration");
    h.get_by_label("Duration ^");
    assert!(has_label(&h, "Name"), "the old column loses its arrow");
    assert_eq!(
        table_order(&h),
        ["s02.wav", "s00.wav", "s03.wav", "s01.wav"]
    );
    click_button(&mut h, "Duration ^");
    h.get_by_label("Duration v");
    assert_eq!(
        table_order(&h),
        ["s01.wav", "s03.wav", "s00.wav", "s02.wav"]
    );

    // The side bar's link shows the unreadable file with its reason; "Errors" goes back.
    h.get_by_label("1 could not be read").click();
    h.run_steps(3);
    h.get_by_label("1 of 5 files");
    assert!(has_label(&h, "broken.wav") && table_order(&h).is_empty());
    assert!(has_text(&h, "Reason"), "the status column gives the reason");
    click_button(&mut h, "Errors (1)");
    h.get_by_label("5 of 5 files");

    // The colour theme switches, and its button offers the other one.
    let dark_before = h.ctx.theme() == egui::Theme::Dark;
    let offered = if has_label(&h, "Dark theme") {
        "Dark theme"
    } else {
        "Light theme"
    };
    click_button(&mut h, offered);
    h.run_steps(2);
    let other = if offered == "Dark theme" {
        "Light theme"
    } else {
        "Dark theme"
    };
    h.get_by_label(other);
    assert_eq!(
        (h.ctx.theme() == egui::Theme::Dark),
        offered == "Dark theme"
    );
    if offered == "Light theme" {
        assert!(dark_before, "a dark window offers the light theme");
    }

    // Folders hides and shows the side bar; Inspector the inspector.
    select(&mut h, "s01.wav", 90);
    assert!(has_label(&h, "Add folder…") && has_label(&h, "Play"));
    h.get_by_label("Folders").click();
    h.run_steps(3);
    assert!(!has_label(&h, "Add folder…"), "the side bar is hidden");
    h.get_by_label("Inspector").click();
    h.run_steps(3);
    assert!(!has_label(&h, "Play"), "the inspector is hidden");
    h.get_by_label("Folders").click();
    h.get_by_label("Inspector").click();
    h.run_steps(3);
    assert!(has_label(&h, "Add folder…") && has_label(&h, "Play"));

    // Without a system file dialog, "Export PNG…" asks for the save path in Earmark's own
    // picker (and says why); Enter saves to the typed path, the extension added.
    dialogs.unavailable("no portal in this test");
    click_button(&mut h, "Export PNG…");
    wait_for_label(&mut h, "Export the spectrogram", 10);
    assert!(has_text(&h, "no portal in this test"), "{:?}", texts(&h));
    let png = dir.join("exported");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.event(egui::Event::Text(png.display().to_string()));
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert!(
        desktop::wait_for(&dir.join("exported.png"), Duration::from_secs(20)),
        "the picker's path was not saved to; the window shows {:?}",
        texts(&h)
    );
    wait_gone(&mut h, "Export the spectrogram", 5);
    // The next dialog of the session goes straight to the picker; Cancel closes it.
    click_button(&mut h, "Export PNG…");
    wait_for_label(&mut h, "Export the spectrogram", 10);
    click_button(&mut h, "Cancel");
    wait_gone(&mut h, "Export the spectrogram", 5);
    assert_eq!(
        dialogs.asked().len(),
        1,
        "the system's dialog was asked once"
    );

    // A message can be dismissed, and goes by itself after a few seconds.
    let gone = dir.join("no such folder");
    drop_files(&mut h, std::slice::from_ref(&gone));
    h.run_steps(3);
    assert!(has_text(&h, "no such folder: not found"), "{:?}", texts(&h));
    click_button(&mut h, "Dismiss");
    wait_gone(&mut h, "no such folder", 5);
    drop_files(&mut h, &[gone]);
    h.run_steps(3);
    assert!(has_text(&h, "no such folder: not found"));
    wait_gone(&mut h, "no such folder", 20);
    h.key_press(egui::Key::Escape);
}

/// `earmark scan` run in a terminal into the library the window has open: the window shows
/// the new files within 2 s of the scan's end, without a restart or a click.
#[test]
fn a_scan_from_the_command_line_shows_in_the_open_window() {
    let dir = desktop::fixed_dir("outside-scan");
    let root = sounds(&dir);
    let opts = tiny_options(&dir, Arc::new(ScriptedDialogs::default()), false);
    let (library, model) = (opts.library.clone().unwrap(), opts.model.clone().unwrap());
    let mut h = harness(opts, [1200.0, 780.0]);
    wait_for(&mut h, "the welcome and the model", 90, |h| {
        has_label(h, "Add a folder…") && has_label(h, "Model: tiny")
    });
    h.run_steps(5);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .arg("scan")
        .arg(&root)
        .arg("--library")
        .arg(&library)
        .arg("--model")
        .arg(&model)
        .arg("--quiet")
        .output()
        .unwrap();
    let scanned = Instant::now();
    assert!(
        out.status.success(),
        "earmark scan: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(&mut h, "the files scanned outside", 20, |h| {
        has_label(h, "5 of 5 files") && has_label(h, "4 analysed · 0 waiting")
    });
    let seen = scanned.elapsed();
    eprintln!("the window showed the outside scan {seen:.2?} after it ended");
    assert!(
        seen <= Duration::from_secs(2),
        "the window took {seen:?} to show a scan made by another process"
    );
    assert!(has_label(&h, "s01.wav"), "{:?}", texts(&h));
    h.key_press(egui::Key::Escape);
}

/// Models → CPU precision: the choice is remembered in settings.toml and is the precision the
/// engines loaded from then on take; choices the CPU cannot run are greyed out.
#[test]
fn the_cpu_precision_setting_is_remembered_and_applies_to_new_engines() {
    use earmark::model::lowp::{self, Precision};
    let dir = desktop::fixed_dir("precision");
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let mut opts = tiny_options(&dir, Arc::new(ScriptedDialogs::default()), false);
    opts.settings_dir = Some(config.clone());
    let mut h = harness(opts, [1280.0, 800.0]);
    wait_for(&mut h, "the model", 90, |h| has_label(h, "Model: tiny"));
    assert_eq!(
        lowp::default_request(),
        Precision::F32,
        "the test settings ask for f32"
    );
    click_button(&mut h, "Models");
    h.get_by_value("f32 (exact)").click();
    h.run();
    let auto = format!("Automatic ({} on this CPU)", lowp::auto_choice());
    h.get_by_label(&auto).click();
    wait_for(&mut h, "the new choice", 10, |h| {
        h.query_by_value(&auto).is_some()
    });
    assert_eq!(lowp::default_request(), Precision::Auto);
    let saved = std::fs::read_to_string(config.join("settings.toml")).unwrap();
    assert!(saved.contains("precision = \"auto\""), "{saved}");
    // What a loaded engine runs now (the app loads engines with the same default).
    let engine = earmark::engine::Engine::load(
        &common::fixture("tiny.safetensors"),
        earmark::model::device::DeviceChoice::Cpu,
    )
    .unwrap();
    assert_eq!(engine.precision(), lowp::auto_choice());
}
