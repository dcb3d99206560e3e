//! A fresh world for the `earmark` binary: its own empty data and configuration folders (nothing
//! downloaded, no settings), and no network: any download attempt goes to a proxy that refuses
//! at once, so it fails instead of hanging.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary folder holding `data/` and `config/` for the binary, and room for test files.
pub struct Offline {
    dir: tempfile::TempDir,
    /// `EARMARK_DATA_DIR`.
    pub data: PathBuf,
    /// `EARMARK_CONFIG_DIR`.
    pub config: PathBuf,
}

impl Offline {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (data, config) = (dir.path().join("data"), dir.path().join("config"));
        Offline { dir, data, config }
    }

    /// The temporary folder itself, for the test's own files.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `earmark args…` in this world: (success, stdout, stderr).
    pub fn earmark<S: AsRef<OsStr>>(&self, args: &[S]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_earmark"))
            .args(args)
            .env("EARMARK_DATA_DIR", &self.data)
            .env("EARMARK_CONFIG_DIR", &self.config)
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// [`Offline::earmark`], asserting success; returns stdout.
    pub fn earmark_ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        let (ok, out, err) = self.earmark(args);
        let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        assert!(ok, "earmark {shown:?}: {out}{err}");
        out
    }
}
