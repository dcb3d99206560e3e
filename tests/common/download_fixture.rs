//! The catalog fixture of the download tests: a loopback server serving the golden fixture files
//! (tiny encoders, the AudioSet encoder+head, a probe archive built here, small vocabularies),
//! a catalog pointing at it, and installing from it with fast retries.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use earmark::catalog::verify::sha256_file;
use earmark::catalog::{Catalog, FetchOptions, Fetcher, InstallReport, Installer};

use super::common::fixture;
use super::http_server::FileServer;

pub fn quick() -> FetchOptions {
    FetchOptions {
        attempts: 3,
        retry_delay: Duration::from_millis(10),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(10),
        // The loopback server is reached directly whatever proxy the machine has.
        proxy_from_env: false,
    }
}

pub fn sha(path: &Path) -> String {
    sha256_file(path).unwrap()
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// The class map of the tiny probe (index → label, as the ESC-50 mapping is written).
pub fn tiny_esc50_json() -> Vec<u8> {
    let pairs: Vec<String> = (0..10).map(|i| format!("\"{i}\": \"sound_{i}\"")).collect();
    format!("{{{}}}", pairs.join(", ")).into_bytes()
}

/// The probe archive as the release lays it out, with the tiny probe as the ESC-50 head, a head
/// of a task without a vocabulary, a file that is not a head and macOS metadata.
pub fn probe_zip() -> Vec<u8> {
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

pub struct Fixture {
    /// The server.
    pub server: FileServer,
    /// A temporary folder (the models folder is `models/` in it).
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Serves the fixture files used below.
    pub fn new() -> Self {
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

    pub fn models(&self) -> PathBuf {
        self.dir.path().join("models")
    }

    /// A catalog of the served files; `extra` is appended (more entries).
    pub fn catalog_text(&self, extra: &str) -> String {
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

    pub fn catalog(&self, extra: &str) -> Catalog {
        Catalog::parse(&self.catalog_text(extra), "test catalog").unwrap()
    }

    pub fn install(
        &self,
        catalog: &Catalog,
        name: &str,
        opts: FetchOptions,
    ) -> earmark::Result<InstallReport> {
        self.install_counting(catalog, name, opts).0
    }

    /// Installs `name`, counting progress reports and checking that they only grow.
    pub fn install_counting(
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
pub fn encoder_entry(name: &str, file: &str, url: &str, checks: &str) -> String {
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
