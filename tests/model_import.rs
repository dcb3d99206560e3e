//! `earmark models import` never replaces a model (issue 15, item 13): a name that is taken by
//! other content gets a number, the same content is reported as already installed, and the
//! bundled model's name is reserved (Earmark rewrites that file at every start).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use std::path::Path;

use common::fixture;

fn import(file: &Path, data: &Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(["models", "import"])
        .arg(file)
        .env("EARMARK_DATA_DIR", data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Copies fixture `weights` (with description `json`) to `dir/name.safetensors` + `dir/name.json`.
fn staged(dir: &Path, name: &str, weights: &str, json: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let w = dir.join(format!("{name}.safetensors"));
    std::fs::copy(fixture(weights), &w).unwrap();
    std::fs::copy(fixture(json), dir.join(format!("{name}.json"))).unwrap();
    w
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn an_import_never_replaces_a_model_of_the_same_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let models = data.join("models");
    let first = staged(
        &dir.path().join("a"),
        "mine",
        "tiny.safetensors",
        "tiny.json",
    );
    let out = import(&first, &data);
    assert!(
        out.contains("imported") && out.contains("mine.safetensors"),
        "{out}"
    );

    // The same file again: nothing copied.
    let out = import(&first, &data);
    assert!(out.contains("already installed as"), "{out}");
    assert!(!models.join("mine-2.safetensors").exists());

    // Another model under the same name: kept apart, the first untouched.
    let other = staged(
        &dir.path().join("b"),
        "mine",
        "tiny_as.safetensors",
        "tiny_as.json",
    );
    let out = import(&other, &data);
    assert!(
        out.contains("mine-2.safetensors") && out.contains("renamed"),
        "{out}"
    );
    assert_eq!(
        read(&models.join("mine.safetensors")),
        read(&fixture("tiny.safetensors"))
    );
    assert_eq!(read(&models.join("mine.json")), read(&fixture("tiny.json")));
    assert_eq!(
        read(&models.join("mine-2.safetensors")),
        read(&fixture("tiny_as.safetensors"))
    );
    assert_eq!(
        read(&models.join("mine-2.json")),
        read(&fixture("tiny_as.json"))
    );

    // Its content again, under the original name: found as the numbered copy.
    let out = import(&other, &data);
    assert!(
        out.contains("already installed as") && out.contains("mine-2.safetensors"),
        "{out}"
    );
    assert!(!models.join("mine-3.safetensors").exists());
}

#[test]
fn an_import_named_like_the_bundled_model_gets_another_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let models = data.join("models");
    let src = staged(
        &dir.path().join("src"),
        "earmark-default",
        "tiny.safetensors",
        "tiny.json",
    );
    let out = import(&src, &data);
    assert!(
        out.contains("earmark-default-2.safetensors") && out.contains("renamed"),
        "{out}"
    );
    assert_eq!(
        read(&models.join("earmark-default-2.safetensors")),
        read(&fixture("tiny.safetensors"))
    );
    // Neither the bundled model's file nor its description was written by the import.
    assert!(!models.join("earmark-default.safetensors").exists());
    assert!(!models.join("earmark-default.json").exists());
}

#[test]
fn a_model_of_another_format_with_the_same_stem_is_not_given_its_description() {
    // `x.pt` and `x.safetensors` would share `x.json`: the second gets a new stem.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let models = data.join("models");
    let st = staged(&dir.path().join("a"), "x", "tiny.safetensors", "tiny.json");
    import(&st, &data);
    let pt_dir = dir.path().join("b");
    std::fs::create_dir_all(&pt_dir).unwrap();
    let pt = pt_dir.join("x.pt");
    std::fs::copy(fixture("tiny_state_dict.pt"), &pt).unwrap();
    std::fs::copy(fixture("tiny_state_dict.json"), pt_dir.join("x.json")).unwrap();
    let out = import(&pt, &data);
    assert!(out.contains("x-2.pt"), "{out}");
    assert_eq!(read(&models.join("x.json")), read(&fixture("tiny.json")));
    assert_eq!(
        read(&models.join("x-2.json")),
        read(&fixture("tiny_state_dict.json"))
    );
}
