//! The Models panel's download flow, driven by egui_kittest against a loopback HTTP server: the
//! catalog's entries are listed, Download starts a worker-thread transfer whose progress shows,
//! Cancel stops it keeping the part received, Resume finishes it with a Range request and the
//! model appears among the installed ones, and a missing file's 404 is shown.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/download_fixture.rs"]
mod download_fixture;
#[path = "common/http_server.rs"]
mod http_server;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fixture;
use download_fixture::encoder_entry;
use earmark::config::Settings;
use earmark::gui::dialogs::ScriptedDialogs;
use earmark::gui::models::ModelSource;
use earmark::gui::{AppOptions, EarmarkApp};
use earmark::models_catalog::verify::sha256_file;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use http_server::FileServer;

type H = Harness<'static, EarmarkApp>;

fn wait_until(h: &mut H, what: &str, done: impl Fn(&EarmarkApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
    h.run_steps(3);
}

fn catalog(server: &FileServer, dir: &Path) -> std::path::PathBuf {
    let tiny = fixture("tiny.safetensors");
    let size = std::fs::metadata(&tiny).unwrap().len();
    let entry =
        |name: &str, file: &str, checks: &str| encoder_entry(name, file, &server.url(file), checks);
    let text = format!(
        "format = 1\n{}{}",
        entry(
            "tiny",
            "tiny.safetensors",
            &format!(
                "size = {size}\nsha256 = \"{}\"",
                sha256_file(&tiny).unwrap()
            )
        ),
        entry("gone", "gone.pt", "")
    );
    let path = dir.join("catalog.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn download_cancel_resume_and_a_404_in_the_models_panel() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let server = FileServer::start();
    let body = std::fs::read(fixture("tiny.safetensors")).unwrap();
    server.put("tiny.safetensors", body.clone());
    // Slow enough (≈ 4 s in all) to be caught half way.
    server.slow("tiny.safetensors", Some(Duration::from_millis(30)));
    let cat = catalog(&server, dir.path());
    let opts = AppOptions {
        library: Some(dir.path().join("library.sqlite")),
        settings: Settings {
            device: "cpu".into(),
            ..Settings::default()
        },
        dialogs: Arc::new(ScriptedDialogs::default()),
        probe_gpu: false,
        model_folders: Some(vec![(models.clone(), ModelSource::Installed)]),
        ..AppOptions::default()
    };
    let mut h: H = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(10_000)
        .build_eframe(move |cc| EarmarkApp::new(cc, opts));
    h.state_mut().models.catalog_file = Some(cat);
    h.get_by_label("Models").click();
    wait_until(&mut h, "the catalog", |a| {
        a.models.catalog.is_some() && a.models.list.is_some()
    });
    h.get_by_label("Available to download");
    h.get_by_label("tiny");
    h.get_by_label("gone");

    // Download the first entry; stop it once bytes have arrived.
    h.get_all_by_label("Download").next().unwrap().click();
    wait_until(&mut h, "the first bytes and a speed", |a| {
        a.models
            .download
            .as_ref()
            .and_then(|d| d.progress())
            .is_some_and(|p| p.done > 0 && p.eta.is_some())
    });
    let progress = h
        .state()
        .models
        .download
        .as_ref()
        .unwrap()
        .progress()
        .unwrap();
    assert_eq!(progress.total, Some(body.len() as u64));
    assert!(progress.done < body.len() as u64, "{progress:?}");
    // Roughly 4 KiB per 30 ms (≈ 136 kB/s): the speed shown is of that order.
    assert!(
        (5_000.0..400_000.0).contains(&progress.bytes_per_sec),
        "{progress:?}"
    );
    // The bar's text says how far, how fast and how long.
    assert!(h.query_by_label_contains(" of 519 kB · ").is_some());
    assert!(h.query_by_label_contains("/s · ").is_some());
    assert!(h.query_by_label_contains(" left").is_some());
    h.get_by_label("Cancel").click();
    wait_until(&mut h, "the cancelled download", |a| {
        a.models.download.is_none() && a.models.catalog.is_some()
    });
    let note = h.state().models.download_note.clone().unwrap().unwrap_err();
    assert!(note.contains("cancelled"), "{note}");
    let part = models.join("tiny.safetensors.part");
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept > 0 && kept < body.len() as u64, "{kept}");
    assert!(!models.join("tiny.safetensors").exists());

    // Resume at full speed: the rest is asked for with a Range request.
    server.slow("tiny.safetensors", None);
    h.get_by_label("Resume").click();
    wait_until(&mut h, "the finished download", |a| {
        a.models.download.is_none()
            && a.models.download_note.as_ref().is_some_and(Result::is_ok)
            && a.models.list.is_some()
            && a.models.catalog.is_some()
    });
    assert_eq!(
        std::fs::read(models.join("tiny.safetensors")).unwrap(),
        body
    );
    let last = server.requests_for("tiny.safetensors").pop().unwrap();
    assert_eq!(last.range, Some(format!("bytes={kept}-")));
    let listed = h.state().models.list.clone().unwrap();
    assert!(
        listed
            .iter()
            .any(|m| m.path == models.join("tiny.safetensors") && m.config.is_ok()),
        "{listed:?}"
    );
    h.get_by_label("Download again");

    // A file the server does not have: the 404 is shown, nothing is written.
    h.get_by_label("Download").click();
    wait_until(&mut h, "the failed download", |a| {
        a.models.download.is_none() && a.models.download_note.as_ref().is_some_and(Result::is_err)
    });
    let note = h.state().models.download_note.clone().unwrap().unwrap_err();
    assert!(
        note.starts_with("Download of gone failed: http://"),
        "{note}"
    );
    assert!(note.contains("HTTP 404 Not Found"), "{note}");
    h.get_by_label_contains("HTTP 404 Not Found");
    assert!(!models.join("gone.pt").exists());

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
    wait_until(&mut h, "the heads", |a| {
        a.models
            .catalog
            .as_ref()
            .is_some_and(|c| !c.heads.is_empty())
    });
    h.get_by_label("matpac++_general_audio / esc50");
    h.get_by_label("Use head").click();
    h.run_steps(3);
    let settings = &h.state().settings;
    assert_eq!(settings.head.as_ref(), Some(&head));
    assert_eq!(
        settings.head_labels.as_ref(),
        Some(&group.join("esc50.vocab.txt"))
    );
    h.get_by_label("in use");
}
