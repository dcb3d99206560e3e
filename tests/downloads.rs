//! Downloads from the model catalog against a loopback HTTP server started by the test: success
//! (through a redirect), a transfer cut off mid-body and resumed with a Range request (within one
//! call and across calls), corrupt files rejected with the previous good file kept, a 404
//! reported, and the heads installed from the downloaded files (probe archive unpacked with its
//! vocabulary, AudioSet encoder+head) giving the reference fixture probabilities. Also the CLI:
//! `earmark models download|list|import` with `--catalog`.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/http_server.rs"]
mod http_server;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use candle_core::Device;
use common::*;
use earmark::model::{Encoder, embed};
use earmark::models_catalog::verify::sha256_file;
use earmark::models_catalog::{
    Catalog, EntryStatus, FetchOptions, Fetcher, InstallReport, Installer, catalog::EntryKind,
    entry_path, head_vocabulary, status,
};
use earmark::tags::{Head, Vocabulary, format_label, top_k};
use http_server::FileServer;

const PROB_TOL: f32 = 1e-5;

fn quick() -> FetchOptions {
    FetchOptions {
        attempts: 3,
        retry_delay: Duration::from_millis(10),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(10),
        // The loopback server is reached directly whatever proxy the machine has.
        proxy_from_env: false,
    }
}

fn sha(path: &Path) -> String {
    sha256_file(path).unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// The class map of the tiny probe (index → label, as the ESC-50 mapping is written).
fn tiny_esc50_json() -> Vec<u8> {
    let pairs: Vec<String> = (0..10).map(|i| format!("\"{i}\": \"sound_{i}\"")).collect();
    format!("{{{}}}", pairs.join(", ")).into_bytes()
}

/// The probe archive as the release lays it out, with the tiny probe as the ESC-50 head, a head
/// of a task without a vocabulary, a file that is not a head and macOS metadata.
fn probe_zip() -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let probe = read(&fixture("probe_tiny.pth"));
        for (name, bytes) in [
            (
                "Weights_probes_matpac/matpac++_general_audio/esc50/esc50.pth",
                probe.clone(),
            ),
            (
                "Weights_probes_matpac/matpac++_music/nsynth_pitch/nsynth_pitch.pth",
                probe.clone(),
            ),
            ("Weights_probes_matpac/README.txt", b"heads".to_vec()),
            ("__MACOSX/matpac++_music/._x.pth", b"junk".to_vec()),
        ] {
            zip.start_file(name, opts).unwrap();
            zip.write_all(&bytes).unwrap();
        }
        zip.finish().unwrap();
    }
    buf.into_inner()
}

struct Fixture {
    server: FileServer,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// Serves the fixture files used below.
    fn new() -> Self {
        let server = FileServer::start();
        for name in [
            "tiny.safetensors",
            "tiny_state_dict.pt",
            "tiny_as_state_dict.pt",
        ] {
            server.put(name, read(&fixture(name)));
        }
        server.put(
            "audioset_mapping.csv",
            read(&fixture("audioset_test_mapping.csv")),
        );
        server.put("esc50_mapping.json", tiny_esc50_json());
        server.put("Weights_probes_matpac.zip", probe_zip());
        Fixture {
            server,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn models(&self) -> PathBuf {
        self.dir.path().join("models")
    }

    /// A catalog of the served files; `extra` is appended (more entries).
    fn catalog_text(&self, extra: &str) -> String {
        let u = |n: &str| self.server.url(n);
        let redirect = format!("{}/redirect/tiny.safetensors", self.server.base);
        let tiny = "encoder = { embed_dim = 64, depth = 2, num_heads = 4, mlp_hidden_dim = 256, n_t = 608 }";
        let tiny_as = "encoder = { embed_dim = 64, depth = 2, num_heads = 4, mlp_hidden_dim = 256, n_t = 992 }";
        format!(
            r#"format = 1

[[entry]]
name = "tiny"
kind = "encoder"
file = "tiny.safetensors"
url = "{redirect}"
description = "The tiny fixture encoder"
size = {tiny_size}
sha256 = "{tiny_sha}"
[entry.config]
{tiny}
n_t = 608
concat_freq = true
pooling = "time-mean"
mode = "precise"

[[entry]]
name = "tiny-pt"
kind = "encoder"
file = "tiny_state_dict.pt"
url = "{tiny_pt}"
description = "The tiny fixture encoder as a PyTorch file"
[entry.config]
{tiny}
n_t = 608
concat_freq = true
pooling = "time-mean"
mode = "precise"

[[entry]]
name = "tiny-as-head"
kind = "encoder+head"
file = "tiny_as_state_dict.pt"
url = "{tiny_as_url}"
description = "The tiny AudioSet encoder with its head"
vocabularies = ["audioset-labels"]
[entry.config]
{tiny_as}
n_t = 992
concat_freq = false
pooling = "time-mean"
mode = "precise"

[[entry]]
name = "probes"
kind = "probe-archive"
file = "Weights_probes_matpac.zip"
url = "{zip}"
description = "Probe heads"
vocabularies = ["esc50-labels"]
[entry.config]
encoder = "vit-base"
n_t = 608
concat_freq = true
pooling = "time-mean"
mode = "precise"

[[entry]]
name = "audioset-labels"
kind = "vocabulary"
file = "audioset_mapping.csv"
url = "{as_csv}"
description = "AudioSet names"
classes = 527

[[entry]]
name = "esc50-labels"
kind = "vocabulary"
file = "esc50_mapping.json"
url = "{esc}"
description = "ESC-50 names"
task = "esc50"
classes = 10
{extra}"#,
            redirect = redirect,
            tiny_size = read(&fixture("tiny.safetensors")).len(),
            tiny_sha = sha(&fixture("tiny.safetensors")),
            tiny_pt = u("tiny_state_dict.pt"),
            tiny_as_url = u("tiny_as_state_dict.pt"),
            zip = u("Weights_probes_matpac.zip"),
            as_csv = u("audioset_mapping.csv"),
            esc = u("esc50_mapping.json"),
        )
    }

    fn catalog(&self, extra: &str) -> Catalog {
        Catalog::parse(&self.catalog_text(extra), "test catalog").unwrap()
    }

    fn install(
        &self,
        catalog: &Catalog,
        name: &str,
        opts: FetchOptions,
    ) -> earmark::Result<InstallReport> {
        self.install_counting(catalog, name, opts).0
    }

    /// Installs `name`, counting progress reports and checking that they only grow.
    fn install_counting(
        &self,
        catalog: &Catalog,
        name: &str,
        opts: FetchOptions,
    ) -> (earmark::Result<InstallReport>, usize) {
        let installer = Installer::new(catalog, self.models(), Fetcher::new(opts));
        let mut reports = 0usize;
        let mut last: Option<(String, u64)> = None;
        let r = installer.install(name, &AtomicBool::new(false), &mut |p| {
            reports += 1;
            if let Some((f, done)) = &last
                && *f == p.file
            {
                // Only a restart from the beginning (a server without ranges) goes back.
                assert!(p.done >= *done || p.done == 0, "progress went back: {p:?}");
            }
            if let Some(t) = p.total {
                assert!(p.done <= t, "{p:?}");
            }
            last = Some((p.file.clone(), p.done));
        });
        (r, reports)
    }
}

/// An extra catalog entry for the encoder file name `file` served at `url`.
fn encoder_entry(name: &str, file: &str, url: &str, checks: &str) -> String {
    format!(
        r#"
[[entry]]
name = "{name}"
kind = "encoder"
file = "{file}"
url = "{url}"
description = "x"
{checks}
[entry.config]
encoder = {{ embed_dim = 64, depth = 2, num_heads = 4, mlp_hidden_dim = 256, n_t = 608 }}
n_t = 608
concat_freq = true
pooling = "time-mean"
mode = "precise"
"#
    )
}

#[test]
fn download_succeeds_through_a_redirect_and_loads_like_a_bundled_model() {
    let fx = Fixture::new();
    let catalog = fx.catalog("");
    let entry = catalog.require("tiny").unwrap();
    assert_eq!(status(entry, &fx.models()), EntryStatus::Missing);
    let (report, reports) = fx.install_counting(&catalog, "tiny", quick());
    let report = report.unwrap();
    assert!(reports >= 2, "progress was reported {reports} times");
    let path = fx.models().join("tiny.safetensors");
    assert_eq!(report.path, path);
    assert_eq!(read(&path), read(&fixture("tiny.safetensors")));
    assert_eq!(status(entry, &fx.models()), EntryStatus::Installed);
    assert!(!fx.models().join("tiny.safetensors.part").exists());
    let redirected: Vec<u16> = fx.server.log().iter().map(|s| s.status).collect();
    assert_eq!(redirected, [302, 200]);
    // The description written beside it is what the fixture's own description says.
    let desc: serde_json::Value =
        serde_json::from_slice(&read(&fx.models().join("tiny.json"))).unwrap();
    let want: serde_json::Value = serde_json::from_slice(&read(&fixture("tiny.json"))).unwrap();
    assert_eq!(desc["encoder"]["embed_dim"], want["encoder"]["embed_dim"]);
    assert_eq!(desc["encoder"]["num_heads"], want["encoder"]["num_heads"]);
    assert_eq!(desc["encoder"]["n_t"], want["encoder"]["n_t"]);
    let enc = Encoder::load(&path, &Device::Cpu).unwrap();
    assert_eq!(enc.config().embed_dim, 64);
    // With a checksum in the catalog, a second download finds the file and keeps it.
    let requests = fx.server.log().len();
    let again = fx.install(&catalog, "tiny", quick()).unwrap();
    assert_eq!(again.reused, [path]);
    assert_eq!(fx.server.log().len(), requests);
}

#[test]
fn a_cut_transfer_resumes_with_a_range_request() {
    let fx = Fixture::new();
    let catalog = fx.catalog("");
    let file = "tiny_state_dict.pt";
    let full = read(&fixture(file));
    // Within one call: the first answer drops after 100,000 bytes, the retry asks for the rest.
    fx.server.cut(file, 100_000, 1);
    let report = fx.install(&catalog, "tiny-pt", quick()).unwrap();
    assert_eq!(report.resumed_from, [100_000]);
    let seen = fx.server.requests_for(file);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range.as_deref(), Some("bytes=100000-"));
    assert_eq!(seen[1].status, 206);
    let path = fx.models().join(file);
    assert_eq!(read(&path), full);
    // The size came from the server (the catalog gives none), and the file loads.
    Encoder::load(&path, &Device::Cpu).unwrap();

    // Across calls: one try only, cut twice → the part stays; the next call resumes it.
    std::fs::remove_file(&path).unwrap();
    fx.server.cut(file, 200_000, 1);
    let one_try = FetchOptions {
        attempts: 1,
        ..quick()
    };
    let err = fx
        .install(&catalog, "tiny-pt", one_try.clone())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broke off") || err.contains("ended after"),
        "{err}"
    );
    let entry = catalog.require("tiny-pt").unwrap();
    assert_eq!(
        status(entry, &fx.models()),
        EntryStatus::Partial { bytes: 200_000 }
    );
    assert!(
        !path.exists(),
        "a partial download must not take the file's place"
    );
    let report = fx.install(&catalog, "tiny-pt", one_try).unwrap();
    assert_eq!(report.resumed_from, [200_000]);
    assert_eq!(
        fx.server
            .requests_for(file)
            .last()
            .unwrap()
            .range
            .as_deref(),
        Some("bytes=200000-")
    );
    assert_eq!(read(&path), full);

    // A part that is already whole (a crash before it was put in place): the server answers the
    // resume with 416 and the file is checked and placed without another transfer.
    std::fs::remove_file(&path).unwrap();
    let part = fx.models().join("tiny_state_dict.pt.part");
    std::fs::write(&part, &full).unwrap();
    fx.install(&catalog, "tiny-pt", quick()).unwrap();
    assert_eq!(fx.server.requests_for(file).last().unwrap().status, 416);
    assert_eq!(read(&path), full);
    assert!(!part.exists());

    // A server that ignores Range: the part is dropped and the whole file taken from the start.
    std::fs::remove_file(&path).unwrap();
    fx.server.ignore_ranges(file);
    fx.server.cut(file, 50_000, 1);
    fx.install(&catalog, "tiny-pt", quick()).unwrap();
    let last = fx.server.requests_for(file).pop().unwrap();
    assert_eq!(
        (last.range.as_deref(), last.status),
        (Some("bytes=50000-"), 200)
    );
    assert_eq!(read(&path), full);
}

#[test]
fn corrupt_downloads_are_rejected_and_the_good_file_kept() {
    let fx = Fixture::new();
    let good = read(&fixture("tiny.safetensors"));
    let good_sha = sha(&fixture("tiny.safetensors"));
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    fx.server.put("flipped.safetensors", flipped);
    fx.server
        .put("short.safetensors", good[..good.len() - 10].to_vec());
    fx.server.put("noise.safetensors", vec![7u8; 5000]);
    let extra = [
        encoder_entry(
            "wrong-sha",
            "tiny.safetensors",
            &fx.server.url("flipped.safetensors"),
            &format!("sha256 = \"{good_sha}\""),
        ),
        encoder_entry(
            "wrong-size",
            "tiny.safetensors",
            &fx.server.url("short.safetensors"),
            &format!("size = {}", good.len()),
        ),
        encoder_entry(
            "not-a-model",
            "tiny.safetensors",
            &fx.server.url("noise.safetensors"),
            "",
        ),
    ]
    .concat();
    let catalog = fx.catalog(&extra);
    let path = fx.models().join("tiny.safetensors");
    let desc = fx.models().join("tiny.json");
    // Nothing there yet: a corrupt file never lands.
    let e = fx
        .install(&catalog, "wrong-sha", quick())
        .unwrap_err()
        .to_string();
    assert!(e.contains("SHA-256"), "{e}");
    assert!(!path.exists() && !desc.exists());
    fx.install(&catalog, "tiny", quick()).unwrap();
    let desc_before = read(&desc);
    // A good file in place: every bad download leaves it (and its description) as it was.
    let mut wrong_sha_catalog = catalog.clone();
    // The checksum of something else, so the file in place does not satisfy it either.
    wrong_sha_catalog
        .entries
        .iter_mut()
        .find(|e| e.name == "wrong-sha")
        .unwrap()
        .sha256 = Some("0".repeat(64));
    for (cat, name, why) in [
        (&wrong_sha_catalog, "wrong-sha", "SHA-256"),
        (&catalog, "wrong-size", "expected"),
        (
            &catalog,
            "not-a-model",
            "neither a PyTorch archive nor safetensors",
        ),
    ] {
        let e = fx.install(cat, name, quick()).unwrap_err().to_string();
        assert!(e.contains(why), "{name}: {e}");
        assert_eq!(read(&path), good, "{name} replaced the good file");
        assert_eq!(read(&desc), desc_before);
        assert!(!fx.models().join("tiny.safetensors.part").exists());
    }
}

#[test]
fn a_missing_file_is_reported_as_404() {
    let fx = Fixture::new();
    let extra = encoder_entry("gone", "gone.pt", &fx.server.url("gone.pt"), "");
    let catalog = fx.catalog(&extra);
    let e = fx.install(&catalog, "gone", quick()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, earmark::Error::Download(_)), "{e:?}");
    assert!(
        msg.contains("404 Not Found") && msg.contains("/files/gone.pt"),
        "{msg}"
    );
    // Not retried: a 404 is final.
    assert_eq!(fx.server.requests_for("gone.pt").len(), 1);
    assert!(!fx.models().join("gone.pt").exists());
    assert!(!fx.models().join("gone.pt.part").exists());
}

#[test]
fn downloaded_probe_archive_and_encoder_give_the_reference_probabilities() {
    let fx = Fixture::new();
    let catalog = fx.catalog("");
    fx.install(&catalog, "tiny", quick()).unwrap();
    let report = fx.install(&catalog, "probes", quick()).unwrap();
    let head_path = fx.models().join("heads/matpac++_general_audio/esc50.pth");
    assert!(report.extra.contains(&head_path), "{report:?}");
    assert!(report.path.ends_with("heads/Weights_probes_matpac.zip"));
    // The task without a vocabulary is unpacked with numbered classes; the README is skipped.
    let other = fx.models().join("heads/matpac++_music/nsynth_pitch.pth");
    assert!(other.is_file());
    assert_eq!(head_vocabulary(&other), None);
    let vocab_path = head_vocabulary(&head_path).unwrap();
    assert!(vocab_path.ends_with("esc50.vocab.json"));
    let vocab = Vocabulary::load(&vocab_path).unwrap();
    let head = Head::load(&head_path).unwrap();
    assert_eq!((head.classes(), vocab.len()), (10, 10));
    // The head on the reference input.
    let x = load("probe_tiny.safetensors", "input_emb_pooled");
    let want = load("probe_tiny.safetensors", "probs");
    assert_close(
        "probe on fixture input",
        &head.probabilities(&x.data).unwrap(),
        &want.data,
        PROB_TOL,
    );
    // Downloaded encoder → downloaded head → downloaded names, end to end.
    let enc = Encoder::load(&fx.models().join("tiny.safetensors"), &Device::Cpu).unwrap();
    let e = embed(&enc, &logmel_norm("sig_7p5s"), &head.embed_options()).unwrap();
    let probs = head.probabilities(&e.clip_vector()).unwrap();
    assert_close("probe end to end", &probs, &want.data, PROB_TOL);
    let labels: Vec<String> = top_k(&probs, 3)
        .iter()
        .map(|&(i, p)| format_label(&vocab.labels[i], p))
        .collect();
    assert_eq!(
        labels,
        ["sound_6 (0.53)", "sound_0 (0.29)", "sound_2 (0.11)"]
    );
    let probes = catalog.require("probes").unwrap();
    assert_eq!(probes.kind, EntryKind::ProbeArchive);
    assert_eq!(status(probes, &fx.models()), EntryStatus::Installed);
}

#[test]
fn downloaded_audioset_encoder_and_head_give_the_reference_probabilities() {
    let fx = Fixture::new();
    let catalog = fx.catalog("");
    let report = fx.install(&catalog, "tiny-as-head", quick()).unwrap();
    let path = fx.models().join("tiny_as_state_dict.pt");
    assert_eq!(report.path, path);
    // Its vocabulary came along, into vocab/ and beside the checkpoint.
    assert!(entry_path(catalog.require("audioset-labels").unwrap(), &fx.models()).is_file());
    let vocab = Vocabulary::load(&head_vocabulary(&path).unwrap()).unwrap();
    assert_eq!(vocab.len(), 527);
    let enc = Encoder::load(&path, &Device::Cpu).unwrap();
    assert_eq!(enc.config().n_t, 992);
    let head = Head::load(&path).unwrap();
    let opts = catalog
        .require("tiny-as-head")
        .unwrap()
        .config
        .as_ref()
        .unwrap()
        .embed_options(EntryKind::EncoderWithHead);
    assert_eq!(opts, head.embed_options());
    for sig in ["sig_7p5s", "sig_13s"] {
        let clip = embed(&enc, &logmel_norm(sig), &opts).unwrap().clip_vector();
        let probs = head.probabilities(&clip).unwrap();
        let want = load("as_head_case.safetensors", &format!("{sig}.probs"));
        assert_close(sig, &probs, &want.data, PROB_TOL);
    }
    let top = top_k(
        &head
            .probabilities(
                &embed(&enc, &logmel_norm("sig_7p5s"), &opts)
                    .unwrap()
                    .clip_vector(),
            )
            .unwrap(),
        1,
    );
    assert_eq!(
        format_label(&vocab.labels[top[0].0], top[0].1),
        "Pulse (0.09)"
    );
}

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
