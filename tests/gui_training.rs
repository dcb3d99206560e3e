//! The Training panel through the real app state: choose a data folder through the dialog hook,
//! start a short run, watch progress and loss curves arrive, stop nothing, and make the trained
//! model the active one with "Use this model".
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::sync::Arc;

use app::{harness, tiny_options, wait_until};
use common::WavFormat;
use earmark::gui::EarmarkApp;
use earmark::gui::dialogs::ScriptedDialogs;
use earmark::gui::state::{Panel, UiState};
use earmark::model::WeightFile;
use egui_kittest::Harness;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::Queryable;

#[test]
fn train_a_small_model_and_use_it() {
    let dir = desktop::fixed_dir("training");
    let audio = dir.join("audio");
    std::fs::create_dir_all(&audio).unwrap();
    for kind in 0..4 {
        let x = synth::sound(kind, kind as u64 + 3, 7.0, 16_000);
        common::write_wav(
            &audio.join(format!("c{kind}.wav")),
            1,
            16_000,
            WavFormat::S16,
            &x,
        );
    }
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(
        tiny_options(&dir, Arc::clone(&dialogs), false),
        [1280.0, 800.0],
    );
    wait_until(&mut h, "the app to start", 60, |a| a.rows_loaded);

    h.get_by_label("Training").click();
    h.run_steps(3);
    assert_eq!(h.state().state.panel, Panel::Training);
    h.get_by_label("Loss curves appear here once training runs.");
    {
        let t = &mut h.state_mut().training;
        t.runs_root = dir.join("runs");
        t.form.steps = 4;
        t.form.batch = 2;
        t.form.preset = "tiny".into();
    }
    dialogs.answer(Some(audio.clone()));
    h.get_by_label("Add training folder…").click();
    wait_until(&mut h, "the folder to be added", 30, |a| {
        a.training.form.roots == vec![audio.clone()]
    });

    h.get_by_label("Start training").click();
    h.run_steps(2);
    assert!(h.state().training.running());
    wait_until(&mut h, "the run to finish", 300, |a| !a.training.running());
    eprintln!("status: {}", h.state().training.status_line());
    h.get_by_label_contains("Finished after 4 updates");
    h.get_by_label_contains("update 4 of 4");
    h.get_by_label("checkpoint-0000004.safetensors");
    h.run_steps(4);
    // The throughput plot and the crops/s figure depend on the machine's speed; the rest is
    // deterministic (seeded run).
    h.snapshot_options(
        "training",
        &SnapshotOptions::new().max_failed_pixels(40_000),
    );

    // Evaluate the checkpoint on a labelled folder (two classes of generated sounds).
    let labelled = dir.join("labelled");
    for (class, kind) in [("tones", 0usize), ("noise", 1)] {
        std::fs::create_dir_all(labelled.join(class)).unwrap();
        for i in 0..4u64 {
            let x = synth::sound(kind, 40 + i, 2.0, 16_000);
            common::write_wav(
                &labelled.join(class).join(format!("{i}.wav")),
                1,
                16_000,
                WavFormat::S16,
                &x,
            );
        }
    }
    dialogs.answer(Some(labelled.clone()));
    h.get_by_label("Choose…").click();
    wait_until(&mut h, "the evaluation folder", 30, |a| {
        a.training.form.eval_folder == Some(labelled.clone())
    });
    h.get_by_label("Evaluate").click();
    let ck = h
        .state()
        .training
        .run_dir
        .clone()
        .unwrap()
        .join("checkpoint-0000004.safetensors");
    wait_until(&mut h, "the checkpoint's evaluation", 120, |a| {
        a.training
            .evaluation(&ck)
            .is_some_and(|t| t.starts_with("P@1"))
    });
    h.get_by_label_contains("checkpoint-0000004.safetensors: P@1");
    h.get_by_label_contains("(log-mel: P@1 1.00");
    let kept = std::fs::read_to_string(ck.with_file_name("evaluations.json")).unwrap();
    assert!(kept.contains("checkpoint-0000004.safetensors"), "{kept}");

    h.get_by_label("Use this model").click();
    let run = h.state().training.run_dir.clone().unwrap();
    let model = run.join("model.safetensors");
    wait_until(&mut h, "the trained model to become active", 60, |a| {
        a.model.active.as_ref().is_some_and(|m| m.path == model)
    });

    // Continue pretraining the trained model: its sizes replace the preset's (a "small" preset
    // would be 384 wide; the trained model is "tiny", 192 wide).
    dialogs.answer(Some(model.clone()));
    h.get_by_label("Model…").click();
    wait_until(&mut h, "the model to continue", 30, |a| {
        a.training.form.init == Some(model.clone())
    });
    h.get_by_label("continue model.safetensors");
    {
        let form = &mut h.state_mut().training.form;
        form.preset = "small".into();
        form.steps = 2;
    }
    h.get_by_label("Start training").click();
    h.run_steps(2);
    wait_until(&mut h, "the continued run to finish", 300, |a| {
        !a.training.running()
    });
    h.get_by_label_contains("Finished after 2 updates");
    let run2 = h.state().training.run_dir.clone().unwrap();
    assert_ne!(run2, run, "a new run gets its own folder");
    let config_of = |p: &std::path::Path| {
        let file = WeightFile::open(p).unwrap();
        earmark::model::load::resolve_config(&file).unwrap()
    };
    let continued = config_of(&run2.join("model.safetensors"));
    assert_eq!(continued, config_of(&model));
    assert_eq!(continued.embed_dim, 192);

    // The form and the last run are remembered: a new window offers to resume that run and
    // lists its checkpoints.
    let state = UiState {
        training: h.state().training.form.clone(),
        ..UiState::default()
    };
    assert_eq!(state.training.last_run, Some(run2.clone()));
    let opts = tiny_options(&dir, Arc::clone(&dialogs), false);
    let mut h2 = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(10_000)
        .build_eframe(move |_cc| EarmarkApp::with_state(state, opts));
    wait_until(&mut h2, "the second window to start", 60, |a| a.rows_loaded);
    h2.get_by_label("Training").click();
    h2.run_steps(3);
    h2.get_by_label("Resume last run");
    h2.get_by_label("checkpoint-0000002.safetensors");
    h2.get_by_label("continue model.safetensors");
}
