//! Driving the desktop app in tests the way a user does: the harness, waiting until the window
//! shows something (background work needs real time), reading what it shows through the
//! accessibility tree (labels, buttons, progress bars, text fields), and the tiny model and
//! probe head copied into a test's own folder (so the paths the panels show do not depend on
//! where the checkout lives).
//!
//! Nothing here reads the app's fields: a test sees the window, the files on disk, and the
//! app's public options. The app's public types the tests need are re-exported from here, so a
//! move inside `earmark::gui` changes one line.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use earmark::catalog::installed::ModelSource;
pub use earmark::gui::shared::dialogs::ScriptedDialogs;
pub use earmark::gui::{AppOptions, EarmarkApp};

use earmark::config::Settings;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{AccessKitNode, By, NodeT, Queryable};

/// Accessibility roles (progress bars, text fields, canvases, …).
pub use egui::accesskit::Role;

/// The app under test.
pub type H = Harness<'static, EarmarkApp>;

/// Steps the window until `shown` holds for what it shows, failing after `secs` with the
/// texts on screen.
pub fn wait_for(h: &mut H, what: &str, secs: u64, shown: impl Fn(&H) -> bool) {
    let start = Instant::now();
    while !shown(h) {
        if start.elapsed() >= Duration::from_secs(secs) {
            panic!(
                "timed out after {secs} s waiting for {what}; the window shows:\n{}",
                texts(h).join(" | ")
            );
        }
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
    h.run_steps(4);
}

/// Steps until a node labelled exactly `label` is shown.
pub fn wait_for_label(h: &mut H, label: &str, secs: u64) {
    wait_for(h, &format!("\"{label}\""), secs, |h| has_label(h, label));
}

/// Steps until a node whose label contains `text` is shown.
pub fn wait_for_text(h: &mut H, text: &str, secs: u64) {
    wait_for(h, &format!("a text with \"{text}\""), secs, |h| {
        has_text(h, text)
    });
}

/// Steps until no node whose label contains `text` is shown.
pub fn wait_gone(h: &mut H, text: &str, secs: u64) {
    wait_for(h, &format!("\"{text}\" to go"), secs, |h| {
        !has_text(h, text)
    });
}

/// What a node says: a text's value, else its label.
pub fn text_of(node: &AccessKitNode<'_>) -> Option<String> {
    if node.role() == Role::Label {
        node.value().or_else(|| node.label())
    } else {
        node.label().or_else(|| node.value())
    }
}

/// Every node of the window with its role and what it says, in reading order (the text runs
/// inside a text are left out: the text itself says it).
pub fn nodes(h: &H) -> Vec<(Role, String)> {
    h.query_all(By::new())
        .filter(|n| n.accesskit_node().role() != Role::TextRun)
        .map(|n| {
            let a = n.accesskit_node();
            (a.role(), text_of(&a).unwrap_or_default())
        })
        .collect()
}

/// The Similar tab's results as shown: (score, name) per row, in order (the score as its bar
/// says it, e.g. 87 for "87 %").
pub fn hits(h: &H) -> Vec<(f64, String)> {
    let all = nodes(h);
    let mut out = Vec::new();
    for (i, (role, text)) in all.iter().enumerate() {
        if *role != Role::ProgressIndicator {
            continue;
        }
        let Ok(score) = text.trim_end_matches('%').trim().parse::<f64>() else {
            continue;
        };
        let name = all[i + 1..].iter().find(|(_, t)| !t.is_empty()).unwrap();
        out.push((score, name.1.clone()));
    }
    out
}

/// Every non-empty text the window shows, in reading order.
pub fn texts(h: &H) -> Vec<String> {
    nodes(h)
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| !t.is_empty())
        .collect()
}

/// A node labelled exactly `label` is shown.
pub fn has_label(h: &H, label: &str) -> bool {
    h.query_all_by_label(label).next().is_some()
}

/// A node whose label contains `text` is shown.
pub fn has_text(h: &H, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// How many nodes labelled exactly `label` are shown.
pub fn count_label(h: &H, label: &str) -> usize {
    h.query_all_by_label(label).count()
}

/// How many nodes whose label contains `text` are shown.
pub fn count_text(h: &H, text: &str) -> usize {
    h.query_all_by_label_contains(text).count()
}

/// The one shown text that contains `text` (fails when there is none).
pub fn text_with(h: &H, text: &str) -> String {
    let node = h.get_by_label_contains(text);
    text_of(&node.accesskit_node()).unwrap_or_default()
}

/// The texts of the progress bars shown, in reading order.
pub fn progress_texts(h: &H) -> Vec<String> {
    nodes(h)
        .into_iter()
        .filter(|(r, t)| *r == Role::ProgressIndicator && !t.is_empty())
        .map(|(_, t)| t)
        .collect()
}

/// The texts of the progress bars that follow the text `title` (e.g. the inspector's
/// "Predicted:" bars), up to the next text.
pub fn bars_after(h: &H, title: &str) -> Vec<String> {
    let all = nodes(h);
    let Some(at) = all.iter().position(|(_, t)| t == title) else {
        return Vec::new();
    };
    all[at + 1..]
        .iter()
        .filter(|(r, t)| *r == Role::ProgressIndicator || !t.is_empty())
        .take_while(|(r, _)| *r == Role::ProgressIndicator)
        .map(|(_, t)| t.clone())
        .collect()
}

/// A text field shows exactly `value`.
pub fn field_with(h: &H, value: &str) -> bool {
    h.query_all(By::new().role(Role::TextInput).value(value))
        .next()
        .is_some()
}

/// The number right before `suffix` in the shown text ending with it (e.g. `count(h, " files")`
/// for "13 files"), when exactly one text is that number and suffix.
pub fn shown_number(h: &H, suffix: &str) -> Option<u64> {
    let found: Vec<u64> = texts(h)
        .iter()
        .filter_map(|t| t.strip_suffix(suffix)?.parse().ok())
        .collect();
    match found.as_slice() {
        [n] => Some(*n),
        _ => None,
    }
}

/// A spinner (a progress indicator without text) is shown: something is being read.
pub fn spinning(h: &H) -> bool {
    nodes(h)
        .iter()
        .any(|(r, t)| *r == Role::ProgressIndicator && t.is_empty())
}

/// Whether a background job runs: the Jobs tab says "Jobs (running)".
pub fn job_running(h: &H) -> bool {
    has_label(h, "Jobs (running)")
}

/// The file the inspector shows: (its name, the facts line "duration · rate · channels ·
/// codec"), once loaded (not while "Loading …").
pub fn inspected(h: &H) -> Option<(String, String)> {
    if has_text(h, "Loading ") {
        return None;
    }
    let all = texts(h);
    let at = all
        .iter()
        .position(|t| t.contains(" Hz · ") && t.contains(" ch · "))?;
    Some((all.get(at.checked_sub(1)?)?.clone(), all[at].clone()))
}

/// Clicks the tab (or any button) `name`.
pub fn click_button(h: &mut H, name: &str) {
    h.get_by_role_and_label(Role::Button, name).click();
    h.run_steps(3);
}

/// Clicks `name` in the table and waits until the inspector shows it.
pub fn select(h: &mut H, name: &str, secs: u64) {
    h.get_by_label(name).click();
    wait_inspected(h, name, secs);
}

/// Waits until the inspector shows the file `name`.
pub fn wait_inspected(h: &mut H, name: &str, secs: u64) {
    wait_for(h, &format!("the inspector to show {name}"), secs, |h| {
        inspected(h).is_some_and(|(n, _)| n == name)
    });
}

/// Seconds of a shown duration such as "0:01.4" or "2:05.0".
pub fn seconds(text: &str) -> f64 {
    let (m, s) = text.trim().split_once(':').unwrap();
    m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
}

/// Width of the spectrogram's frequency axis, left of the plot (points).
const FREQUENCY_AXIS: f32 = 44.0;

/// Where the point at `t` seconds of a `duration` s file is drawn in the spectrogram (the
/// whole file in view): the plot starts after the frequency axis.
pub fn spectrogram_x(h: &H, t: f64, duration: f64) -> egui::Pos2 {
    let rect = h.get_by_role_and_label(Role::Canvas, "Spectrogram").rect();
    let left = rect.min.x + FREQUENCY_AXIS;
    let x = left + (t / duration) as f32 * (rect.max.x - left);
    egui::pos2(x, rect.center().y)
}

/// Drags the pointer from `from` to `to` with the primary button.
pub fn drag(h: &mut H, from: egui::Pos2, to: egui::Pos2) {
    h.hover_at(from);
    h.drag_at(from);
    h.run_steps(2);
    h.hover_at(egui::pos2((from.x + to.x) / 2.0, from.y));
    h.run_steps(1);
    h.hover_at(to);
    h.run_steps(2);
    h.drop_at(to);
    h.run_steps(2);
}

/// Clicks at `pos`.
pub fn click_at(h: &mut H, pos: egui::Pos2) {
    h.hover_at(pos);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.run_steps(2);
}

/// A file or folder dropped onto the window from a file manager.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Drops files or folders onto the window, as from a file manager.
pub fn drop_files(h: &mut H, paths: &[PathBuf]) {
    for p in paths {
        h.input_mut()
            .dropped_files
            .push(Arc::new(Dropped(p.clone())));
    }
    h.run_steps(2);
}

/// Sets the number field showing `now` (e.g. a form's default) to `value`, as a screen reader
/// or typing would.
pub fn set_number(h: &mut H, now: f64, value: f64) {
    h.get_by(move |n| n.role() == Role::SpinButton && n.numeric_value() == Some(now))
        .set_value_accesskit(value);
    h.run_steps(2);
}

/// Set in the child process of [`in_child_with_env`].
pub const CHILD_MARKER: &str = "EARMARK_GUI_TEST_CHILD";

/// Runs the test `name` of this test binary again in a child process with `env` set — the
/// app's documented variables (`EARMARK_DATA_DIR`, `EARMARK_CATALOG`) place its data folder and
/// catalog without touching the app's fields. Returns true in the child (run the test body),
/// false in the parent once the child passed.
pub fn in_child_with_env(name: &str, env: &[(&str, &Path)]) -> bool {
    if std::env::var_os(CHILD_MARKER).is_some() {
        return true;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .env(CHILD_MARKER, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} failed in its child process:\n{stdout}\n{stderr}"
    );
    eprintln!("{stderr}");
    false
}

/// A fresh, empty folder beside the test folders (a data directory for a child process).
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("earmark-gui-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
            // Exact arithmetic, so that snapshots do not depend on the CPU's instruction set.
            precision: "f32".into(),
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
