//! `earmark models list | download | import` against a loopback HTTP server: a download with
//! `--catalog`, the list with each entry's status, a download through the proxy the environment
//! names, the probe archive's heads predicting with their downloaded class names, a 404 and an
//! unknown name reported, and import checked by loading.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/download_fixture.rs"]
mod download_fixture;
#[path = "common/http_server.rs"]
mod http_server;

use std::path::Path;

use common::fixture;
use download_fixture::*;

fn earmark(args: &[&str], data: &Path) -> (bool, String, String) {
    earmark_with(args, data, None)
}

/// Runs the CLI with no proxy in its environment, or with `HTTP_PROXY` set to `proxy`.
fn earmark_with(args: &[&str], data: &Path, proxy: Option<&str>) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"));
    cmd.args(args)
        .env("EARMARK_DATA_DIR", data)
        .env_remove("EARMARK_CATALOG");
    for var in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    if let Some(p) = proxy {
        cmd.env("HTTP_PROXY", p);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_lists_downloads_and_imports() {
    let fx = Fixture::new();
    let extra = [
        encoder_entry("gone", "gone.pt", &fx.server.url("gone.pt"), ""),
        encoder_entry(
            "proxied",
            "proxied.pt",
            "http://models.example.invalid/files/tiny_state_dict.pt",
            "",
        ),
    ]
    .concat();
    let cat = fx.dir.path().join("catalog.toml");
    std::fs::write(&cat, fx.catalog_text(&extra)).unwrap();
    let data = fx.dir.path().join("data");
    let cat_s = cat.to_str().unwrap();
    let (ok, out, err) = earmark(&["models", "download", "tiny", "--catalog", cat_s], &data);
    assert!(ok, "{out}{err}");
    assert!(out.contains("installed"), "{out}");
    let installed = data.join("models/tiny.safetensors");
    assert_eq!(read(&installed), read(&fixture("tiny.safetensors")));
    let (ok, out, err) = earmark(&["models", "list", "--catalog", cat_s], &data);
    assert!(ok, "{err}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{out}"))
            .to_owned()
    };
    assert!(line("tiny").contains("installed") && !line("tiny").contains("not installed"));
    assert!(line("tiny-pt").contains("not installed"), "{out}");
    assert!(
        out.contains("tiny.safetensors (519 kB) 64-d, 2 blocks, n_t 608"),
        "{out}"
    );
    // Through the proxy the environment names: the host is only known to the proxy.
    let (ok, out, err) = earmark_with(
        &["models", "download", "proxied", "--catalog", cat_s],
        &data,
        Some(&fx.server.base),
    );
    assert!(ok, "{out}{err}");
    let log = fx.server.log();
    let n = log.len();
    assert_eq!(log[n - 2].path, "CONNECT models.example.invalid:80");
    assert_eq!(log[n - 1].path, "/files/tiny_state_dict.pt");
    assert_eq!(
        read(&data.join("models/proxied.pt")),
        read(&fixture("tiny_state_dict.pt"))
    );
    let (ok, _, err) = earmark(&["models", "download", "gone", "--catalog", cat_s], &data);
    assert!(!ok);
    assert!(err.contains("HTTP 404"), "{err}");
    // The downloaded probe heads predict with their downloaded class names.
    let (ok, out, err) = earmark(&["models", "download", "probes", "--catalog", cat_s], &data);
    assert!(ok, "{out}{err}");
    let head = data.join("models/heads/matpac++_general_audio/esc50.pth");
    let (ok, out, err) = earmark(
        &[
            "predict",
            fixture("sig_7p5s.safetensors").to_str().unwrap(),
            "--model",
            installed.to_str().unwrap(),
            "--head",
            head.to_str().unwrap(),
            "--top",
            "2",
        ],
        &data,
    );
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["sound_6 (0.53)", "sound_0 (0.29)"]
    );
    let (ok, _, err) = earmark(
        &["models", "download", "nothing", "--catalog", cat_s],
        &data,
    );
    assert!(!ok && err.contains("no catalog entry `nothing`"), "{err}");
    // The built-in catalog lists the official files.
    let (ok, out, _) = earmark(&["models", "list"], &data);
    assert!(
        ok && out.contains("matpac-plus-music") && out.contains("probe archive"),
        "{out}"
    );
    // Import: checked by loading, copied with its description.
    let src = fx.dir.path().join("mine.safetensors");
    std::fs::copy(fixture("tiny.safetensors"), &src).unwrap();
    std::fs::copy(fixture("tiny.json"), fx.dir.path().join("mine.json")).unwrap();
    let (ok, out, err) = earmark(&["models", "import", src.to_str().unwrap()], &data);
    assert!(ok && out.contains("imported"), "{out}{err}");
    assert!(data.join("models/mine.json").is_file());
    let junk = fx.dir.path().join("junk.pt");
    std::fs::write(&junk, b"not a model at all").unwrap();
    let (ok, _, err) = earmark(&["models", "import", junk.to_str().unwrap()], &data);
    assert!(!ok && err.contains("junk.pt"), "{err}");
    assert!(!data.join("models/junk.pt").exists());
}
