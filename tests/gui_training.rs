//! The Training panel driven like a user, asserting on what it shows: set the form, choose a
//! data folder through the dialog hook, start a short run (continuing the active model, the
//! default), see how many files it really uses, watch progress and loss curves arrive with
//! their figures explained, compare the run's model with the active one before "Use this
//! model", evaluate a checkpoint, make the trained model the active one, continue pretraining
//! it, and find the form remembered by a new window.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::{
    H, ScriptedDialogs, click_button, harness, has_label, has_text, in_child_with_env, set_number,
    text_with, tiny_options, wait_for, wait_for_label, wait_for_text,
};
use common::WavFormat;
use earmark::gui::EarmarkApp;
use earmark::model::WeightFile;
use egui_kittest::Harness;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::Queryable;

/// What eframe keeps between runs of the window, in memory.
#[derive(Default)]
struct MemoryStorage(BTreeMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }

    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }

    fn flush(&mut self) {}
}

/// The training runs' folders, oldest first.
fn runs(data: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(data.join("training"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    runs
}

/// Scrolls the button `label` of the form column into view and clicks it.
fn press(h: &mut H, label: &str) {
    h.get_by_label(label).scroll_to_me();
    h.run_steps(3);
    h.get_by_label(label).click();
    h.run_steps(2);
}

/// No run is going on: the form offers to start one.
fn idle(h: &H) -> bool {
    has_label(h, "Start training") && !has_label(h, "Stop")
}

#[test]
fn train_a_small_model_and_use_it() {
    // Runs go to the app's data directory: a fresh one, named by its variable.
    let data = std::env::temp_dir()
        .join("earmark-gui-tests")
        .join("training-data");
    if !in_child_with_env(
        "train_a_small_model_and_use_it",
        &[("EARMARK_DATA_DIR", &data)],
    ) {
        return;
    }
    app::fresh_dir("training-data");
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
    // Two one-shots shorter than a second: set aside before the run, and counted.
    for n in 0..2 {
        let x = synth::sound(n, n as u64 + 9, 0.4, 16_000);
        common::write_wav(
            &audio.join(format!("short{n}.wav")),
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
    wait_for_label(&mut h, "Add a folder…", 60);

    click_button(&mut h, "Training");
    h.get_by_label("Train a model");
    h.get_by_label("Loss curves appear here once training runs.");
    // A run continues the active model unless random weights are asked for.
    wait_for_label(&mut h, "continue the active model (tiny.safetensors)", 60);
    h.get_by_label("Random weights");
    // The mask ratio is explained in words where it is set.
    // (the label and the slider it names).
    h.get_all_by_label("Mask ratio").next().unwrap().hover();
    h.run_steps(3);
    wait_for_text(
        &mut h,
        "Mask ratio: the share of the spectrogram's patches",
        10,
    );
    h.hover_at(eframe::egui::pos2(1270.0, 790.0));
    h.run_steps(3);
    // A short run: 4 updates of 2 crops (the form's defaults are 2000 and 16), preset tiny.
    set_number(&mut h, 2000.0, 4.0);
    set_number(&mut h, 16.0, 2.0);
    h.get_by_value("tiny");
    dialogs.answer(Some(audio.clone()));
    h.get_by_label("Add training folder…").click();
    wait_for_label(&mut h, &audio.display().to_string(), 30);

    h.get_by_label("Start training").click();
    h.run_steps(2);
    assert!(has_label(&h, "Stop"), "a run is going on");
    // The files really used, and where the run starts from.
    wait_for_text(&mut h, "Training on 4 of 6 files", 120);
    let status = text_with(&h, "Training on 4 of 6 files");
    assert!(
        status.contains(": 2 shorter than 1 s; continuing tiny.safetensors, from update 0 of 4"),
        "{status}"
    );
    wait_for(&mut h, "the run to finish", 300, idle);
    h.get_by_label_contains("Finished after 4 updates");
    h.get_by_label_contains("update 4 of 4");
    h.get_by_label("2 files skipped");
    // The figures are explained in words.
    h.get_by_label_contains("perplexity ");
    h.get_by_label_contains("|g| ");
    h.get_by_label("What these numbers mean").click();
    h.run_steps(3);
    for start in [
        "Perplexity: how many of its prototype sounds",
        "|g|: the size of the gradient",
        "Teacher temperature: how sharp",
        "Mask ratio: the share",
    ] {
        h.get_by_label_contains(start);
    }
    h.get_by_label("What these numbers mean").click();
    h.run_steps(3);
    // Before "Use this model": the run asks for a labelled folder to compare it with the
    // active model.
    h.get_by_label("Before you use it");
    h.get_by_label("Choose evaluation folder…");
    h.get_by_label("checkpoint-0000004.safetensors");
    let run = runs(&data).pop().unwrap();
    assert!(run.join("checkpoint-0000004.safetensors").is_file());
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
    press(&mut h, "Choose…");
    wait_for_label(
        &mut h,
        &format!("Evaluation folder: {}", labelled.display()),
        30,
    );
    // The run's model and the active one are compared on it, before "Use this model".
    wait_for_text(&mut h, "Active model (tiny): P@1 ", 180);
    let ours = text_with(&h, "This run's model: P@1 ");
    let theirs = text_with(&h, "Active model (tiny): P@1 ");
    let p_at_1 = |t: &str| -> f64 { t.split("P@1 ").nth(1).unwrap()[..4].parse().unwrap() };
    assert!((0.0..=1.0).contains(&p_at_1(&ours)), "{ours}");
    assert!((0.0..=1.0).contains(&p_at_1(&theirs)), "{theirs}");
    h.get_by_label_contains("On labelled (k-NN precision at 1");
    h.get_by_label_contains("Log-mel baseline: P@1 1.00");
    press(&mut h, "Evaluate");
    wait_for_text(&mut h, "checkpoint-0000004.safetensors: P@1", 120);
    h.get_by_label_contains("(log-mel: P@1 1.00");
    let ck = run.join("checkpoint-0000004.safetensors");
    let kept = std::fs::read_to_string(ck.with_file_name("evaluations.json")).unwrap();
    assert!(kept.contains("checkpoint-0000004.safetensors"), "{kept}");

    // "Use this model": the trained model becomes the active one.
    press(&mut h, "Use this model");
    let model = run.join("model.safetensors");
    wait_for_label(&mut h, "Model: model", 60);
    click_button(&mut h, "Models");
    wait_for_label(&mut h, &model.display().to_string(), 30);
    click_button(&mut h, "Training");

    // Continue pretraining the trained model: its sizes replace the preset's (a "small" preset
    // would be 384 wide; the trained model is 64 wide). The preset is a choice only
    // for random weights.
    h.get_by_label("continue the active model (model.safetensors)");
    press(&mut h, "Random weights");
    h.get_by_label("random weights");
    h.get_by_value("tiny").click();
    h.run_steps(2);
    h.get_by_label("small").click();
    h.run_steps(2);
    dialogs.answer(Some(model.clone()));
    press(&mut h, "Model…");
    wait_for_label(&mut h, "continue model.safetensors", 30);
    assert!(!has_label(&h, "random weights"));
    set_number(&mut h, 4.0, 2.0);
    h.get_by_label("Start training").click();
    h.run_steps(2);
    wait_for(&mut h, "the continued run to finish", 300, |h| {
        idle(h) && has_text(h, "Finished after 2 updates")
    });
    let run2 = runs(&data).pop().unwrap();
    assert_ne!(run2, run, "a new run gets its own folder");
    let config_of = |p: &std::path::Path| {
        let file = WeightFile::open(p).unwrap();
        earmark::model::load::resolve_config(&file).unwrap()
    };
    let continued = config_of(&run2.join("model.safetensors"));
    assert_eq!(continued, config_of(&model));
    // The first run continued the active model (the 64-wide test model), not the tiny preset's
    // random weights (192 wide).
    assert_eq!(config_of(&model), config_of(&dir.join("tiny.safetensors")));
    assert_eq!(continued.embed_dim, 64);

    // The form and the last run are remembered: the window is saved as eframe saves it on
    // closing, and a new window started from that storage offers to resume that run and lists
    // its checkpoints.
    let mut storage = MemoryStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    let storage: &'static MemoryStorage = Box::leak(Box::new(storage));
    let opts = tiny_options(&dir, Arc::clone(&dialogs), false);
    let mut h2: H = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_max_steps(10_000)
        .build_eframe(move |cc| {
            cc.storage = Some(storage);
            EarmarkApp::new(cc, opts)
        });
    wait_for_label(&mut h2, "Model: tiny", 60);
    click_button(&mut h2, "Training");
    h2.get_by_label("Resume last run");
    h2.get_by_label("checkpoint-0000002.safetensors");
    h2.get_by_label("continue model.safetensors");
}
