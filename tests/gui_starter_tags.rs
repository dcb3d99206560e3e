//! The bundled model's starter tags in the window (egui_kittest), in a fresh data folder with
//! nothing downloaded: the first start says what the bundled model is and offers the official
//! model as one download; after a scan of a few drum, instrument and speech sounds the Library
//! table and its tag filter show starter tags, and the inspector the head's scores. The Models
//! tab names the starter head, turns it off and on, and its one official download, without a
//! network, says so once and leaves the tab working.
//!
//! The starter head is retrained from time to time: the tests check that labels of its
//! vocabulary appear, not which ones.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/desktop.rs"]
mod desktop;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::{
    AppOptions, ScriptedDialogs, click_button, count_text, fresh_dir, harness, has_label, has_text,
    in_child_with_env, job_running, select, spinning, text_with, texts, wait_for, wait_for_text,
};
use earmark::config::Settings;
use earmark::model::bundled::{definition, starter_labels};
use egui_kittest::kittest::Queryable;

/// A folder with the four sounds of `tests/fixtures/starter` (kick, hi-hat, note, speech).
fn sounds(dir: &Path) -> PathBuf {
    let root = dir.join("sounds");
    std::fs::create_dir_all(&root).unwrap();
    for name in ["kick", "hihat", "note", "speech"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/starter")
            .join(format!("{name}.wav"));
        std::fs::copy(src, root.join(format!("{name}.wav"))).unwrap();
    }
    root
}

/// A window on `dir/library.sqlite` with the bundled model (no model given: the window writes
/// the compiled-in one to the data folder) on the CPU and default settings.
fn bundled_options(dir: &Path, dialogs: Arc<ScriptedDialogs>) -> AppOptions {
    AppOptions {
        library: Some(dir.join("library.sqlite")),
        settings: Settings {
            device: "cpu".into(),
            ..Settings::default()
        },
        dialogs,
        probe_gpu: false,
        persistence_path: Some(dir.join("window-state")),
        ..AppOptions::default()
    }
}

/// Whether `text` is a list of starter labels ("kick, tom", as the table's tags column shows).
fn is_starter_list(text: &str) -> bool {
    let labels = starter_labels();
    let parts: Vec<&str> = text.split(", ").collect();
    // The column may cut its text at its edge: the last part may be cut.
    let (last, whole) = parts.split_last().unwrap();
    !text.is_empty()
        && whole.iter().all(|p| labels.contains(p))
        && (labels.contains(last) || last.ends_with('…'))
        && labels.iter().any(|l| parts[0] == *l)
}

#[test]
fn a_fresh_library_shows_starter_tags_in_the_table() {
    let dir = fresh_dir("starter-tags");
    let (data, config) = (dir.join("data"), dir.join("config"));
    let env = [
        ("EARMARK_DATA_DIR", data.as_path()),
        ("EARMARK_CONFIG_DIR", config.as_path()),
    ];
    if !in_child_with_env("a_fresh_library_shows_starter_tags_in_the_table", &env) {
        return;
    }
    let root = sounds(&dir);
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(bundled_options(&dir, Arc::clone(&dialogs)), [1280.0, 800.0]);

    // First start: what the bundled model is, and the official model as one download.
    wait_for(&mut h, "the welcome and the bundled model", 120, |h| {
        has_label(h, "Add a folder…") && has_text(h, "bundled model is a small encoder")
    });
    assert!(has_text(
        &h,
        "Download MATPAC++ with its probe heads (about 360 MB)"
    ));

    dialogs.answer(Some(root.clone()));
    h.get_by_label("Add a folder…").click();
    wait_for(&mut h, "the scanned library", 240, |h| {
        has_label(h, "4 files") && has_label(h, "4 analysed · 0 waiting") && !job_running(h)
    });
    wait_for(&mut h, "starter tags in the table", 60, |h| {
        texts(h).iter().any(|t| is_starter_list(t))
    });
    // Hovering a file's tags says what each one means.
    let shown = texts(&h).into_iter().find(|t| is_starter_list(t)).unwrap();
    let first = shown.split(", ").next().unwrap().to_string();
    h.get_by_label(&shown).hover();
    let meaning = definition(&first).unwrap();
    wait_for_text(&mut h, meaning, 10);

    // The tag filter lists the starter tags with their file counts.
    h.get_by_label_contains("Tag filter").click();
    h.run_steps(3);
    let labels = starter_labels();
    let listed: Vec<String> = texts(&h)
        .into_iter()
        .filter(|t| {
            t.split_once(" (")
                .is_some_and(|(l, n)| labels.contains(&l) && n.ends_with(')'))
        })
        .collect();
    assert!(
        !listed.is_empty(),
        "no starter tag in the filter: {:?}",
        texts(&h)
    );
    h.key_press(eframe::egui::Key::Escape);
    h.run_steps(3);

    // The inspector shows the head's scores of the selected file, starter labels all.
    select(&mut h, "speech.wav", 60);
    wait_for_text(&mut h, "Predicted:", 60);
    let scored = texts(&h)
        .into_iter()
        .filter(|t| {
            t.rsplit_once(' ')
                .is_some_and(|(l, s)| labels.contains(&l) && s.parse::<f32>().is_ok())
        })
        .count();
    assert!(scored >= 3, "{:?}", texts(&h));
}

#[test]
fn models_names_the_starter_head_and_offers_the_official_model_once() {
    let dir = fresh_dir("starter-models");
    let (data, config, catalog) = (
        dir.join("data"),
        dir.join("config"),
        dir.join("catalog.toml"),
    );
    let env = [
        ("EARMARK_DATA_DIR", data.as_path()),
        ("EARMARK_CONFIG_DIR", config.as_path()),
        ("EARMARK_CATALOG", catalog.as_path()),
    ];
    if !in_child_with_env(
        "models_names_the_starter_head_and_offers_the_official_model_once",
        &env,
    ) {
        return;
    }
    // The official entries' names, at an address nothing answers at (no network).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/matpac.pt");
    let entries = ["matpac-plus", "probes"]
        .iter()
        .map(|name| {
            let kind = if *name == "probes" {
                "probe-archive"
            } else {
                "encoder"
            };
            format!(
                "[[entry]]\nname = \"{name}\"\nkind = \"{kind}\"\nfile = \"{name}.bin\"\n\
                 url = \"{url}\"\ndescription = \"x\"\n[entry.config]\nencoder = \"vit-base\"\n\
                 n_t = 608\nconcat_freq = true\npooling = \"time-mean\"\nmode = \"precise\"\n"
            )
        })
        .collect::<String>();
    std::fs::write(&catalog, format!("format = 1\n{entries}")).unwrap();

    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(bundled_options(&dir, dialogs), [1280.0, 800.0]);
    click_button(&mut h, "Models");
    wait_for(&mut h, "the Models tab", 120, |h| {
        has_label(h, "Installed models") && has_text(h, "about 360 MB") && !spinning(h)
    });
    assert!(has_text(&h, "bundled model is a small encoder"));
    let n = starter_labels().len();
    wait_for_text(
        &mut h,
        &format!("The starter tags of the bundled model: {n} types of sound"),
        30,
    );

    // No tag head, then the starter tags again.
    h.get_by_label("No tag head").click();
    wait_for_text(&mut h, "Predicted tags are off", 10);
    h.get_by_label("Use the starter tags").click();
    wait_for_text(&mut h, "The starter tags of the bundled model", 10);

    // One download for the encoder and its heads; without a network it says so once.
    h.get_by_label_contains("Download MATPAC++ with its probe heads")
        .click();
    wait_for(&mut h, "the failed download", 120, |h| {
        has_text(h, "Download of matpac-plus failed: ")
    });
    let note = text_with(&h, "Download of matpac-plus failed: ");
    assert_eq!(note.matches(&url).count(), 1, "{note}");
    // One job tried, and stopped at its first part.
    assert_eq!(count_text(&h, "Download of probes failed"), 0);
    assert!(!has_text(&h, "Downloaded "), "{:?}", texts(&h));
    // Nothing else broke: the tab still lists the models and offers the download again.
    assert!(has_label(&h, "Installed models"));
    assert!(has_text(&h, "Download MATPAC++ with its probe heads"));
    assert!(!data.join("models/matpac-plus.bin").exists());
    // The starter head is the Tag head section's, not one of the downloaded heads.
    assert!(!has_text(&h, "earmark-default / earmark-default-tags"));
}
