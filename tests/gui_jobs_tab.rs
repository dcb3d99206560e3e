//! Training and downloads are jobs of the window's one background service: a training run started
//! in the Training tab and a model download started in the Models tab both appear in the Jobs
//! tab with their progress, Cancel there stops each of them (the run still checkpoints and
//! exports its model, the download keeps the part received), and the tabs that started them say
//! so. Driven like a user: clicks, a dialog answer, the form's number fields, and what the window
//! shows.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/download_fixture.rs"]
mod download_fixture;
#[path = "common/http_server.rs"]
mod http_server;
#[path = "common/synth.rs"]
mod synth;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use app::{
    ScriptedDialogs, click_button, count_label, fresh_dir, harness, has_text, in_child_with_env,
    progress_texts, set_number, tiny_options, wait_for, wait_for_label, wait_for_text,
};
use common::{WavFormat, fixture};
use download_fixture::encoder_entry;
use earmark::catalog::installed::format_size;
use earmark::catalog::verify::sha256_file;
use egui_kittest::kittest::Queryable;
use http_server::FileServer;

/// Four short generated sounds to train on.
fn training_audio(dir: &Path) -> std::path::PathBuf {
    let audio = dir.join("audio");
    std::fs::create_dir_all(&audio).unwrap();
    for kind in 0..4 {
        let x = synth::sound(kind, kind as u64 + 3, 7.0, 16_000);
        let path = audio.join(format!("c{kind}.wav"));
        common::write_wav(&path, 1, 16_000, WavFormat::S16, &x);
    }
    audio
}

/// A catalog with one encoder, served slowly enough to be caught half way.
fn slow_catalog(server: &FileServer, path: &Path) -> usize {
    let tiny = fixture("tiny.safetensors");
    let body = std::fs::read(&tiny).unwrap();
    server.put("tiny.safetensors", body.clone());
    server.slow("tiny.safetensors", Some(Duration::from_millis(100)));
    let checks = format!(
        "size = {}\nsha256 = \"{}\"",
        body.len(),
        sha256_file(&tiny).unwrap()
    );
    let url = server.url("tiny.safetensors");
    let text = format!(
        "format = 1\n{}",
        encoder_entry("tiny", "tiny.safetensors", &url, &checks)
    );
    std::fs::write(path, text).unwrap();
    body.len()
}

#[test]
fn training_and_a_download_show_in_the_jobs_tab_and_cancel_there() {
    let dir = fresh_dir("jobs-tab");
    let (data, catalog) = (dir.join("data"), dir.join("catalog.toml"));
    let env = [
        ("EARMARK_DATA_DIR", data.as_path()),
        ("EARMARK_CATALOG", &catalog),
    ];
    if !in_child_with_env(
        "training_and_a_download_show_in_the_jobs_tab_and_cancel_there",
        &env,
    ) {
        return;
    }
    let audio = training_audio(&dir);
    let server = FileServer::start();
    let size = slow_catalog(&server, &catalog);
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(
        tiny_options(&dir, Arc::clone(&dialogs), false),
        [1280.0, 800.0],
    );
    h.run_steps(3);

    // A long run (2000 updates) of two crops per update on the generated sounds.
    click_button(&mut h, "Training");
    wait_for_label(&mut h, "Start training", 30);
    set_number(&mut h, 16.0, 2.0);
    dialogs.answer(Some(audio.clone()));
    h.get_by_label("Add training folder…").click();
    wait_for_label(&mut h, &audio.display().to_string(), 30);
    h.get_by_label("Start training").click();
    wait_for_text(&mut h, " of 2000", 300);

    // The download of the catalog's encoder, which the slow server keeps going for seconds.
    click_button(&mut h, "Models");
    wait_for_label(&mut h, "Available to download", 60);
    wait_for_label(&mut h, "Download", 60);
    h.get_by_label("Download").click();
    wait_for_text(&mut h, &format!(" of {}", format_size(size as u64)), 60);

    // Both are listed in the Jobs tab, running, each with its progress bar.
    click_button(&mut h, "Jobs (running)");
    wait_for(&mut h, "both jobs with their progress", 60, |h| {
        let bars = progress_texts(h);
        let training = bars.iter().any(|b| b.contains("/2000 · "));
        let download = bars.iter().any(|b| b.contains(&format!("/{size} · ")));
        training && download
    });
    assert!(has_text(&h, "Training run-"), "the run is named");
    assert!(has_text(&h, "Download tiny"), "the download is named");
    assert_eq!(count_label(&h, "running"), 2);

    // Cancel both from the Jobs tab (the status bar at the bottom has a Cancel of its own, for
    // the first job running: not that one).
    let in_tab: Vec<_> = h
        .get_all_by_label("Cancel")
        .filter(|b| b.rect().max.y < 700.0)
        .collect();
    assert_eq!(in_tab.len(), 2, "one Cancel per job in the Jobs tab");
    for button in in_tab {
        button.click();
    }
    h.run_steps(3);
    wait_for(&mut h, "both jobs to be cancelled", 120, |h| {
        count_label(h, "cancelled") == 2
    });
    assert!(!has_text(&h, "Jobs (running)"));

    // The tabs that started them say how they ended.
    click_button(&mut h, "Training");
    wait_for_text(&mut h, "Stopped after ", 30);
    wait_for_label(&mut h, "Use this model", 30);
    click_button(&mut h, "Models");
    wait_for_text(
        &mut h,
        "Download of tiny cancelled; Download again resumes it.",
        30,
    );
    let part = dir.join("models/tiny.safetensors.part");
    let kept = std::fs::metadata(&part).map_or(0, |m| m.len());
    assert!(
        kept > 0 && kept < size as u64,
        "{kept} of {size} bytes kept"
    );
    assert!(!dir.join("models/tiny.safetensors").exists());
    let runs = std::fs::read_dir(data.join("training")).unwrap().count();
    assert_eq!(runs, 1, "the run has its folder in the data directory");
}

/// A training run that panics ends its job "failed: internal error: <message>" (the Training tab
/// hears the same reason), and the service goes on with the next job.
#[test]
fn a_training_job_that_panics_fails_with_its_message_and_the_next_job_runs() {
    use earmark::gui::shared::job_list::{JobList, JobState};
    use earmark::jobs::{JobKind, Service};
    use earmark::train::TrainEvent;
    use earmark::train::trainer::run_job;

    let service = Service::new();
    let (tx, heard) = crossbeam_channel::unbounded();
    service
        .submit(JobKind::Training, "Training run-1", move |ctx| {
            run_job(
                || panic!("the data set vanished"),
                ctx,
                |ev| {
                    let _ = tx.send(ev);
                },
            )
        })
        .unwrap();
    service
        .submit(JobKind::Download, "Download tiny", |_| Ok("fetched".into()))
        .unwrap();
    let mut list = JobList::default();
    let start = std::time::Instant::now();
    loop {
        list.follow(&service);
        if list.entries.len() == 2 && list.entries.iter().all(|j| j.state.finished()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the jobs did not end"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let reason = "internal error: the data set vanished";
    let training = list.entries.iter().find(|j| j.kind == JobKind::Training);
    assert_eq!(
        training.map(|j| &j.state),
        Some(&JobState::Failed(reason.into()))
    );
    let download = list.entries.iter().find(|j| j.kind == JobKind::Download);
    assert_eq!(
        download.map(|j| &j.state),
        Some(&JobState::Done("fetched".into()))
    );
    let events: Vec<TrainEvent> = heard.try_iter().collect();
    assert_eq!(
        events,
        vec![TrainEvent::Failed {
            reason: reason.into()
        }]
    );
}
