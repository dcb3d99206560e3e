//! The Live tab through the real app state and a real sound server: a private PulseAudio
//! server with a null sink, a known file played into it with `paplay`, the sink's monitor
//! captured by the app. The level meter moves, the spectrogram fills, the head's and the
//! personal tags appear; "find similar" lists library files in the Similar tab; "save snippet"
//! writes a WAV of the chosen length into the library folder and it is indexed; the chosen
//! output device is saved and playback uses it; stopping the server shows the loss, and
//! capture resumes when it returns.
//!
//! Without `pulseaudio` and `paplay` the test fails (the CI installs them).
#![cfg(all(feature = "gui", feature = "live"))]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/pulse.rs"]
mod pulse;
#[path = "common/synth.rs"]
mod synth;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{WavFormat, fixture, write_wav};
use earmark::config::Settings;
use earmark::gui::app::PlayerSlot;
use earmark::gui::command::Command;
use earmark::gui::dialogs::ScriptedDialogs;
use earmark::gui::models::ModelSource;
use earmark::gui::state::Panel;
use earmark::gui::{AppOptions, EarmarkApp};
use earmark::live::DeviceState;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use pulse::PulseServer;

type H = Harness<'static, EarmarkApp>;

/// Steps the app in real time until `done` holds, failing after `secs`.
fn wait_until(h: &mut H, what: &str, secs: u64, done: impl Fn(&EarmarkApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}; device state {:?}, error {:?}",
            h.state().live.device,
            h.state().live.error
        );
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
    h.run_steps(3);
}

/// Copies a file into the test's folder so the paths the panel shows stay the same.
fn local_copy(dir: &Path, src: PathBuf) -> PathBuf {
    let dest = dir.join(src.file_name().unwrap());
    std::fs::copy(&src, &dest).unwrap();
    dest
}

fn capturing(app: &EarmarkApp) -> bool {
    matches!(app.live.device, Some(DeviceState::Capturing { .. }))
}

/// The index's files: two 3 s sounds of each of five kinds (16 kHz mono).
fn library_folder(dir: &Path) -> PathBuf {
    let root = dir.join("sounds");
    std::fs::create_dir_all(&root).unwrap();
    for kind in 0..5 {
        for seed in 1..=2u64 {
            let x = synth::sound(kind, seed, 3.0, 16_000);
            write_wav(
                &root.join(format!("k{kind}-{seed}.wav")),
                1,
                16_000,
                WavFormat::S16,
                &x,
            );
        }
    }
    root
}

#[test]
fn live_tab_listens_searches_saves_and_survives_server_loss() {
    pulse::run_in_private_runtime_dir("private_server_live_tab", Duration::from_secs(500));
}

#[test]
#[ignore = "runs inside live_tab_listens_searches_saves_and_survives_server_loss's private server"]
fn private_server_live_tab() {
    if !pulse::in_private_child() {
        return;
    }
    let server = PulseServer::start();
    let dir = desktop::fixed_dir("live");
    let model = {
        local_copy(&dir, synth::tiny_model().with_extension("json"));
        local_copy(&dir, synth::tiny_model())
    };
    let root = library_folder(&dir);
    let library = dir.join("library.sqlite");
    // Index the folder and teach a personal tag with the command line (its own copy).
    let earmark = |args: &[&str]| {
        let out = std::process::Command::new(pulse::private_binary())
            .args(args)
            .arg("--library")
            .arg(&library)
            .arg("--model")
            .arg(&model)
            .output()
            .unwrap();
        assert!(out.status.success(), "earmark {args:?}: {out:?}");
    };
    earmark(&["scan", root.to_str().unwrap(), "--quiet"]);
    let k0 = |s: u64| root.join(format!("k0-{s}.wav"));
    earmark(&[
        "tag",
        "add",
        "chord",
        k0(1).to_str().unwrap(),
        k0(2).to_str().unwrap(),
    ]);
    // What the test plays: 14 s of another chord, 48 kHz stereo.
    let played = dir.join("played.wav");
    let chord = synth::sound(0, 5, 14.0, 48_000);
    let stereo: Vec<f64> = chord.iter().flat_map(|&v| [v, v]).collect();
    write_wav(&played, 2, 48_000, WavFormat::S16, &stereo);

    let settings_dir = dir.join("config");
    let opts = AppOptions {
        library: Some(library.clone()),
        model: Some(model.clone()),
        settings: Settings {
            device: "cpu".into(),
            head: Some(local_copy(&dir, fixture("probe_tiny.pth"))),
            head_labels: Some(local_copy(&dir, fixture("probe_tiny_labels.txt"))),
            input_device: Some("no such microphone".into()),
            ..Settings::default()
        },
        settings_dir: Some(settings_dir.clone()),
        dialogs: Arc::new(ScriptedDialogs::default()),
        probe_gpu: false,
        model_folders: Some(vec![(dir.join("models"), ModelSource::Installed)]),
        ..AppOptions::default()
    };
    let mut h: H = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(10_000)
        .build_eframe(move |cc| EarmarkApp::new(cc, opts));
    wait_until(&mut h, "the app to start", 60, |a| {
        a.rows_loaded && a.model.active.is_some() && a.snapshot.rows.len() == 10
    });
    h.get_by_label("Inspector").click();
    h.get_by_label("Live").click();
    h.run_steps(3);
    assert_eq!(h.state().state.panel, Panel::Live);
    wait_until(&mut h, "the device lists", 30, |a| a.live.devices.is_some());

    // A device that does not exist: a clear message, and the session keeps trying.
    h.get_by_label("Start listening").click();
    wait_until(&mut h, "the missing device to be reported", 60, |a| {
        matches!(a.live.device, Some(DeviceState::Unavailable { .. }))
    });
    h.get_by_label_contains("Cannot capture: no input device");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::L);
    h.run_steps(2);
    assert!(!h.state().live.active(), "Ctrl+L stops listening");

    // The default input (the null sink's monitor), chosen in the picker and saved.
    h.get_by_value("no such microphone").click();
    h.run_steps(2);
    h.get_by_label("Default input").click();
    h.run_steps(2);
    assert_eq!(h.state().settings.input_device, None);
    assert_eq!(Settings::load_from(&settings_dir).input_device, None);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::L);
    wait_until(&mut h, "capture", 60, |a| {
        capturing(a) && a.live.level.readings > 10
    });
    h.get_by_label_contains("Listening to");

    // Play the chord: the meter moves, the spectrogram fills, tags arrive.
    let silence_db = h.state().live.level.rms_dbfs;
    let mut player = pulse::paplay(&played);
    wait_until(&mut h, "the level to rise", 30, |a| {
        a.live.level.rms_dbfs > -40.0
    });
    eprintln!(
        "level: {silence_db:.1} dBFS before, {:.1} dBFS playing",
        h.state().live.level.rms_dbfs
    );
    wait_until(&mut h, "tags of the head and personal tags", 60, |a| {
        a.live.tags.len() == 2 && a.live.picture.total() > 400 && a.live.timeline.len() >= 4
    });
    let tags = h.state().live.tags.clone();
    eprintln!("tags: {tags:?}");
    // The head first, then the personal tags.
    assert_eq!(tags[0].source, "probe_tiny");
    assert_eq!(tags[0].tags.len(), 5);
    assert!(tags[0].tags.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(tags[0].tags[0].label.starts_with("class_"));
    assert_eq!(tags[1].source, earmark::gui::live::PERSONAL);
    assert_eq!(tags[1].tags.len(), 1);
    assert_eq!(tags[1].tags[0].label, "chord");
    assert!((0.0..=1.0).contains(&tags[1].tags[0].score));
    h.get_by_label("chord");
    assert!(h.state().live.texture.is_some());
    h.run_steps(4);
    h.snapshot_options(
        "live",
        // The picture, the meter, the tags and the timeline follow the live audio (and the
        // sound server's timing); the controls and the layout are compared.
        &SnapshotOptions::new().max_failed_pixels(320_000),
    );

    // "Find similar" for the last 4 s (all chord): results in the Similar tab, chords first.
    wait_until(&mut h, "4 s of the chord", 30, |a| a.live.heard_s() > 8.0);
    h.get_by_label("Find similar in my library").click();
    h.run_steps(2);
    assert_eq!(h.state().state.panel, Panel::Similar);
    wait_until(&mut h, "similar results", 60, |a| {
        a.similar.results.is_some() && a.similar.task.is_none()
    });
    assert_eq!(h.state().similar.error, None);
    let hits = h.state().similar.hits().to_vec();
    eprintln!("hits: {hits:?}");
    assert_eq!(hits.len(), 10, "every analysed file is ranked");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    let name = |i: usize| {
        Path::new(&hits[i].path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    // Measured: the two chords at cosine ≈ 0.87, the next file (plucked strings) ≈ 0.6.
    assert!(
        name(0).starts_with("k0-") && name(1).starts_with("k0-"),
        "the closest files to a chord are the chords: {hits:?}"
    );
    h.get_by_label("Similar to the last 4 s heard");

    // "Save snippet": 4 s as a 16-bit WAV in the library folder, then indexed.
    h.get_by_label("Live").click();
    h.run_steps(2);
    h.get_by_label("Save snippet").click();
    wait_until(&mut h, "the snippet to be written", 30, |a| {
        a.live.saved.is_some()
    });
    let saved = h.state().live.saved.clone().unwrap().unwrap();
    assert_eq!(
        saved.parent().unwrap().canonicalize().unwrap(),
        root.canonicalize().unwrap()
    );
    let reader = hound::WavReader::open(&saved).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 16_000, 16)
    );
    assert_eq!(reader.duration(), 4 * 16_000);
    let saved_path = saved.to_string_lossy().into_owned();
    wait_until(&mut h, "the snippet to be indexed", 90, |a| {
        a.snapshot
            .rows
            .iter()
            .any(|r| r.path == saved_path && r.status == "indexed")
    });
    let _ = player.wait();

    // The output device: chosen here, saved, and playback goes through it.
    let outputs = h.state().live.devices.as_ref().unwrap().outputs.clone();
    eprintln!("outputs: {outputs:?}");
    let output = outputs
        .iter()
        .find(|n| n.contains("PulseAudio"))
        .or(outputs.first())
        .cloned()
        .expect("the sound server offers an output");
    h.get_by_value("Default output").click();
    h.run_steps(2);
    h.get_by_label(&output).click();
    h.run_steps(2);
    assert_eq!(
        Settings::load_from(&settings_dir).output_device.as_deref(),
        Some(output.as_str())
    );
    let row = h
        .state()
        .snapshot
        .rows
        .iter()
        .find(|r| r.name == "k1-1.wav")
        .cloned()
        .unwrap();
    h.state_mut()
        .push(Command::Audition(row.id, row.path.clone()));
    wait_until(
        &mut h,
        "playback through the chosen output",
        60,
        |a| matches!(&a.player, PlayerSlot::Open(p) if p.device() == output && p.frames_played() > 4800),
    );

    // Stop the sound server: the loss is shown, nothing panics; it returns: capture resumes.
    server.kill();
    wait_until(&mut h, "the loss to be reported", 30, |a| {
        matches!(a.live.device, Some(DeviceState::Lost { .. }))
    });
    h.get_by_label_contains("Input lost");
    let columns_before = h.state().live.picture.total();
    let server = PulseServer::start();
    wait_until(&mut h, "capture to resume", 60, capturing);
    wait_until(&mut h, "new audio after resuming", 30, |a| {
        a.live.picture.total() > columns_before + 200
    });
    h.get_by_label("Stop listening").click();
    h.run_steps(2);
    assert!(!h.state().live.active());
    drop(server);
}

#[test]
fn output_device_setting_round_trips_through_settings_toml() {
    let dir = tempfile::tempdir().unwrap();
    let opts = AppOptions {
        library: Some(dir.path().join("library.sqlite")),
        settings_dir: Some(dir.path().to_path_buf()),
        probe_gpu: false,
        model_folders: Some(Vec::new()),
        ..AppOptions::default()
    };
    let mut app = EarmarkApp::with_state(Default::default(), opts.clone());
    earmark::gui::panels::audio_devices::set_output_device(
        &mut app,
        Some("Speakers of the test".into()),
    );
    let text = std::fs::read_to_string(dir.path().join("settings.toml")).unwrap();
    assert!(
        text.contains("output_device = \"Speakers of the test\""),
        "{text}"
    );
    let settings = Settings::load_from(dir.path());
    assert_eq!(
        settings.output_device.as_deref(),
        Some("Speakers of the test")
    );

    // A window started with those settings shows the choice in the Live tab.
    let opts = AppOptions { settings, ..opts };
    let mut h: H = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| EarmarkApp::new(cc, opts));
    h.state_mut().state.panel = Panel::Live;
    h.run_steps(3);
    h.get_by_value("Speakers of the test");
    // Back to the default: the setting is cleared in the file.
    earmark::gui::panels::audio_devices::set_output_device(h.state_mut(), None);
    assert_eq!(Settings::load_from(dir.path()).output_device, None);
}
