//! The Models panel's download flow, driven by egui_kittest against a loopback HTTP server: the
//! catalog's entries are listed, Download starts a worker-thread transfer whose progress shows,
//! Cancel stops it keeping the part received, Resume finishes it with a Range request and the
//! model appears among the installed ones, a missing file's 404 is shown, an unreachable
//! server's error names the address once and leaves the list where it was, and the bundled
//! model is listed once though the data directory holds a copy of it.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/download_fixture.rs"]
mod download_fixture;
#[path = "common/http_server.rs"]
mod http_server;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use app::{
    AppOptions, H, ModelSource, ScriptedDialogs, click_button, count_label, harness, has_label,
    has_text, in_child_with_env, progress_texts, spinning, text_with, texts, wait_for,
};
use common::fixture;
use download_fixture::encoder_entry;
use earmark::catalog::verify::sha256_file;
use earmark::config::Settings;
use egui_kittest::kittest::Queryable;
use http_server::FileServer;

/// The download's bar: "tiny.safetensors: 12 kB of 519 kB · 136 kB/s · 3 s left".
fn transfer(h: &H) -> Option<String> {
    progress_texts(h)
        .into_iter()
        .find(|t| t.starts_with("tiny.safetensors: "))
}

/// The kilobytes of "12 kB".
fn kilobytes(text: &str) -> f64 {
    text.trim().strip_suffix(" kB").unwrap().parse().unwrap()
}

/// The catalog and the installed models are listed (nothing is being read).
fn listed(h: &H) -> bool {
    has_label(h, "Class names come with the heads that use them.")
        && has_label(h, "Installed models")
        && !spinning(h)
}

/// An address nothing answers at: a loopback port just closed.
fn offline_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}/offline.pt")
    })
    .clone()
}

fn catalog(server: &FileServer, dir: &Path) -> std::path::PathBuf {
    let tiny = fixture("tiny.safetensors");
    let size = std::fs::metadata(&tiny).unwrap().len();
    let entry =
        |name: &str, file: &str, checks: &str| encoder_entry(name, file, &server.url(file), checks);
    let text = String::from("format = 1\n")
        + &format!(
            "{}{}",
            entry(
                "tiny",
                "tiny.safetensors",
                &format!(
                    "size = {size}\nsha256 = \"{}\"",
                    sha256_file(&tiny).unwrap()
                )
            ),
            entry("gone", "gone.pt", "")
        )
        + &encoder_entry("offline", "offline.pt", &offline_url(), "");
    let path = dir.join("catalog.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn download_cancel_resume_and_a_404_in_the_models_panel() {
    // The catalog is the app's variable's file, written below once the server runs.
    let cat = std::env::temp_dir()
        .join("earmark-gui-tests")
        .join("downloads-catalog.toml");
    if !in_child_with_env(
        "download_cancel_resume_and_a_404_in_the_models_panel",
        &[("EARMARK_CATALOG", &cat)],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let server = FileServer::start();
    let body = std::fs::read(fixture("tiny.safetensors")).unwrap();
    server.put("tiny.safetensors", body.clone());
    // Slow enough (≈ 4 s in all) to be caught half way.
    server.slow("tiny.safetensors", Some(Duration::from_millis(30)));
    std::fs::create_dir_all(cat.parent().unwrap()).unwrap();
    std::fs::copy(catalog(&server, dir.path()), &cat).unwrap();
    let settings_dir = dir.path().join("config");
    let bundled = dir.path().join("bundled");
    for folder in [&bundled, &models] {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::copy(
            fixture("tiny.safetensors"),
            folder.join("earmark-default.safetensors"),
        )
        .unwrap();
        std::fs::copy(fixture("tiny.json"), folder.join("earmark-default.json")).unwrap();
    }
    let opts = AppOptions {
        library: Some(dir.path().join("library.sqlite")),
        settings: Settings {
            device: "cpu".into(),
            ..Settings::default()
        },
        settings_dir: Some(settings_dir.clone()),
        dialogs: Arc::new(ScriptedDialogs::default()),
        probe_gpu: false,
        // The bundled model, and its copy in the data directory (as Earmark writes it).
        model_folders: Some(vec![
            (bundled.clone(), ModelSource::Bundled),
            (models.clone(), ModelSource::Installed),
        ]),
        ..AppOptions::default()
    };
    let mut h = harness(opts, [1280.0, 800.0]);
    click_button(&mut h, "Models");
    wait_for(&mut h, "the catalog", 60, listed);
    h.get_by_label("Available to download");
    h.get_by_label("tiny");
    h.get_by_label("gone");
    // The bundled model once, though both folders hold it.
    wait_for(&mut h, "the bundled model", 60, |h| {
        has_label(h, "earmark-default.safetensors")
    });
    assert_eq!(count_label(&h, "earmark-default.safetensors"), 1);
    h.get_by_label("bundled");

    // Download the first entry; stop it once bytes have arrived.
    h.get_all_by_label("Download").next().unwrap().click();
    wait_for(&mut h, "the first bytes and a speed", 60, |h| {
        transfer(h).is_some_and(|t| {
            let done = t.split(": ").nth(1).unwrap().split(" of ").next().unwrap();
            kilobytes(done) > 0.0 && t.ends_with(" left")
        })
    });
    // The bar's text says how far (of the whole file), how fast and how long.
    let bar = transfer(&h).unwrap();
    let parts: Vec<&str> = bar.split(" · ").collect();
    assert_eq!(parts.len(), 3, "{bar}");
    let (done, total) = parts[0]
        .strip_prefix("tiny.safetensors: ")
        .unwrap()
        .split_once(" of ")
        .unwrap();
    assert_eq!(
        total,
        earmark::catalog::installed::format_size(body.len() as u64),
        "{bar}"
    );
    assert!(kilobytes(done) < kilobytes(total), "{bar}");
    // Roughly 4 KiB per 30 ms (≈ 136 kB/s): the speed shown is of that order.
    let speed = kilobytes(parts[1].strip_suffix("/s").unwrap());
    assert!((5.0..400.0).contains(&speed), "{bar}");
    assert!(bar.contains(" of 519 kB · "), "{bar}");
    // Cancel (the download's own button, or the status bar's for the job).
    h.get_all_by_label("Cancel").next().unwrap().click();
    wait_for(&mut h, "the cancelled download", 60, |h| {
        has_text(h, "Download of tiny cancelled") && has_label(h, "Resume") && listed(h)
    });
    let part = models.join("tiny.safetensors.part");
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept > 0 && kept < body.len() as u64, "{kept}");
    assert!(!models.join("tiny.safetensors").exists());

    // Resume at full speed: the rest is asked for with a Range request.
    server.slow("tiny.safetensors", None);
    h.get_by_label("Resume").click();
    wait_for(&mut h, "the finished download", 60, |h| {
        has_text(h, "Downloaded tiny: ") && has_label(h, "Download again") && listed(h)
    });
    assert_eq!(
        std::fs::read(models.join("tiny.safetensors")).unwrap(),
        body
    );
    let last = server.requests_for("tiny.safetensors").pop().unwrap();
    assert_eq!(last.range, Some(format!("bytes={kept}-")));
    // Listed among the installed models as an encoder.
    h.get_by_label("tiny.safetensors");
    assert!(
        has_text(&h, "-d · ") && !has_text(&h, "not an encoder"),
        "{:?}",
        texts(&h)
    );

    // A file the server does not have: the 404 is shown, nothing is written.
    h.get_all_by_label("Download")
        .min_by(|a, b| a.rect().min.y.total_cmp(&b.rect().min.y))
        .unwrap()
        .click();
    wait_for(&mut h, "the failed download", 60, |h| {
        has_text(h, "Download of gone failed: ") && listed(h)
    });
    let note = text_with(&h, "Download of gone failed: ");
    assert!(
        note.starts_with("Download of gone failed: http://"),
        "{note}"
    );
    assert!(note.contains("HTTP 404 Not Found"), "{note}");
    assert!(!models.join("gone.pt").exists());

    // An unreachable server: the error names the address once, and neither the download nor
    // its error moves the list under the pointer.
    let row = |h: &H| h.get_by_label("offline").rect();
    let before = row(&h);
    let offline_button = h
        .get_all_by_label("Download")
        .max_by(|a, b| a.rect().min.y.total_cmp(&b.rect().min.y))
        .unwrap();
    assert!((offline_button.rect().center().y - before.center().y).abs() < 4.0);
    offline_button.click();
    h.run_steps(3);
    assert_eq!(row(&h), before, "the download's bar does not move the list");
    wait_for(&mut h, "the failed offline download", 60, |h| {
        has_text(h, "Download of offline failed: ") && listed(h)
    });
    let note = text_with(&h, "Download of offline failed: ");
    assert_eq!(note.matches(&offline_url()).count(), 1, "{note}");
    assert!(note.contains("gave up after 4 tries"), "{note}");
    assert_eq!(row(&h), before, "the error does not move the list");
    assert!(!models.join("offline.pt").exists());

    // Heads unpacked from a probe archive are offered as tag heads, with their class names.
    let group = models.join("heads/matpac++_general_audio");
    std::fs::create_dir_all(&group).unwrap();
    let head = group.join("esc50.pth");
    std::fs::copy(fixture("probe_tiny.pth"), &head).unwrap();
    std::fs::copy(
        fixture("probe_tiny_labels.txt"),
        group.join("esc50.vocab.txt"),
    )
    .unwrap();
    h.get_by_label("Refresh").click();
    wait_for(&mut h, "the heads", 60, |h| {
        has_label(h, "matpac++_general_audio / esc50") && listed(h)
    });
    h.get_by_label("class names");
    h.get_by_label("Use head").click();
    h.run_steps(3);
    h.get_by_label("in use");
    // The Tag head section names it, and the settings file keeps it with its class names.
    h.get_by_label(&head.display().to_string());
    let settings = Settings::load_from(&settings_dir);
    assert_eq!(settings.head.as_ref(), Some(&head));
    assert_eq!(settings.head_labels, Some(group.join("esc50.vocab.txt")));
}
