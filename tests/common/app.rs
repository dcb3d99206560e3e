//! Driving the desktop app in tests: the harness, waiting for its background work, and the tiny
//! model and probe head copied into a test's own folder (so the paths the panels show do not
//! depend on where the checkout lives).
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use earmark::config::Settings;
use earmark::gui::dialogs::ScriptedDialogs;
use earmark::gui::models::ModelSource;
use earmark::gui::{AppOptions, EarmarkApp};
use egui_kittest::Harness;

/// The app under test.
pub type H = Harness<'static, EarmarkApp>;

/// Steps the app until `done` holds (background work needs real time), failing after `secs`.
pub fn wait_until(h: &mut H, what: &str, secs: u64, done: impl Fn(&EarmarkApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
    h.run_steps(4);
}

/// Copies `src` into `dir` (once) and returns the copy's path.
pub fn local_copy(dir: &Path, src: PathBuf) -> PathBuf {
    let dest = dir.join(src.file_name().unwrap());
    if !dest.exists() {
        std::fs::copy(&src, &dest).unwrap();
    }
    dest
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/matpac")
        .join(name)
}

/// The tiny test model (weights and config) copied into `dir`.
pub fn tiny_model_in(dir: &Path) -> PathBuf {
    local_copy(dir, fixture("tiny.json"));
    local_copy(dir, fixture("tiny.safetensors"))
}

/// Options for a window on `dir/library.sqlite` with the tiny model on the CPU, no GPU probe,
/// `dir/models` as the models folder, and (when `with_head`) the tiny probe head and its labels.
pub fn tiny_options(dir: &Path, dialogs: Arc<ScriptedDialogs>, with_head: bool) -> AppOptions {
    let (head, head_labels) = if with_head {
        (
            Some(local_copy(dir, fixture("probe_tiny.pth"))),
            Some(local_copy(dir, fixture("probe_tiny_labels.txt"))),
        )
    } else {
        (None, None)
    };
    AppOptions {
        library: Some(dir.join("library.sqlite")),
        model: Some(tiny_model_in(dir)),
        settings: Settings {
            device: "cpu".into(),
            head,
            head_labels,
            ..Settings::default()
        },
        dialogs,
        probe_gpu: false,
        model_folders: Some(vec![(dir.join("models"), ModelSource::Installed)]),
        ..AppOptions::default()
    }
}

/// A window of `size` running the app with `opts`.
pub fn harness(opts: AppOptions, size: [f32; 2]) -> H {
    Harness::builder()
        .with_size(size)
        .with_max_steps(10_000)
        .build_eframe(move |cc| EarmarkApp::new(cc, opts))
}
