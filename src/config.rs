//! User settings that outlive a run (`settings.toml` in the XDG config directory).
//!
//! `EARMARK_CONFIG_DIR` overrides the directory (tests, portable installs). Saving writes a
//! temporary file and renames it, so a crash never leaves a half-written file; a missing or
//! unreadable file gives the defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Persisted settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the encoder runs: `auto`, `cpu`, `wgpu`, `cuda[:N]`, `metal[:N]`.
    pub device: String,
    /// Precision of the encoder's matrix products on the CPU: `auto`, `f32`, `bf16`, `int8`.
    pub precision: String,
    /// The active encoder's weight file (`None`: the bundled model when there is one).
    pub model: Option<PathBuf>,
    /// A tag head (probe) run on stored clip embeddings to predict tags (`None`: the bundled
    /// model's starter head when the bundled model is active, unless [`Settings::no_head`]).
    pub head: Option<PathBuf>,
    /// The head's vocabulary (one label per line, or an official mapping file).
    pub head_labels: Option<PathBuf>,
    /// The user chose no tag head: predicted tags are off, the starter head's too.
    pub no_head: bool,
    /// The audio input live listening captures from (`None`: the system's default input).
    pub input_device: Option<String>,
    /// The audio output playback uses (`None`: the system's default output).
    pub output_device: Option<String>,
    /// Threshold and top-N of each tag head, by the head file's stem.
    pub head_limits: std::collections::BTreeMap<String, TagLimits>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            device: "auto".to_string(),
            precision: "auto".to_string(),
            model: None,
            head: None,
            head_labels: None,
            no_head: false,
            input_device: None,
            output_device: None,
            head_limits: Default::default(),
        }
    }
}

/// Which of a head's labels a file carries (stored per head in [`Settings::head_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagLimits {
    /// Lowest probability kept.
    pub threshold: f32,
    /// Most labels kept per file.
    pub top_n: usize,
}

impl Default for TagLimits {
    fn default() -> Self {
        TagLimits {
            threshold: 0.05,
            top_n: 5,
        }
    }
}

impl Settings {
    /// The threshold and top-N of the head whose tags are stored under `source`: the saved
    /// ones, else [`STARTER_LIMITS`] for the starter head and [`TagLimits::default`] for others.
    pub fn limits_for(&self, source: &str) -> TagLimits {
        self.head_limits
            .get(source)
            .copied()
            .unwrap_or(if source == STARTER_SOURCE {
                STARTER_LIMITS
            } else {
                TagLimits::default()
            })
    }
}

/// File name of the bundled model's starter tag head (a multi-label head).
pub const STARTER_HEAD: &str = "earmark-default-tags.safetensors";

/// File name of the starter head's labels, one per line (found beside the head).
pub const STARTER_VOCAB: &str = "earmark-default-tags.vocab.txt";

/// The name the starter head's tags are stored under (its file's stem).
pub const STARTER_SOURCE: &str = "earmark-default-tags";

/// The starter head's limits until the user changes them: its scores are independent
/// probabilities (one sigmoid per label), so a file keeps the labels the head is fairly sure of.
pub const STARTER_LIMITS: TagLimits = TagLimits {
    threshold: 0.3,
    top_n: 3,
};

/// Earmark's data directory (library index, installed models): `EARMARK_DATA_DIR`, else the
/// platform's (`$XDG_DATA_HOME/earmark` on Linux).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("EARMARK_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("org", "Earmark", "earmark").map(|d| d.data_dir().to_path_buf())
}

/// Where imported and downloaded models are kept: `models/` in the data directory.
pub fn models_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("models"))
}

/// File name of the bundled default model inside a models folder.
pub const BUNDLED_MODEL: &str = "earmark-default.safetensors";

/// The directory holding `settings.toml`.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("EARMARK_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("org", "Earmark", "earmark")
        .map(|d| d.config_dir().to_path_buf())
}

impl Settings {
    /// Reads the settings; defaults when there are none or they cannot be read.
    pub fn load() -> Self {
        config_dir().map_or_else(Settings::default, |d| Self::load_from(&d))
    }

    /// Reads `settings.toml` in `dir`; defaults when missing or unreadable.
    pub fn load_from(dir: &std::path::Path) -> Self {
        std::fs::read_to_string(dir.join("settings.toml"))
            .ok()
            .and_then(|text| toml::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes the settings atomically to the configuration directory.
    pub fn save(&self) -> Result<()> {
        let dir = config_dir()
            .ok_or_else(|| Error::InvalidInput("no configuration directory (set HOME)".into()))?;
        self.save_to(&dir)
    }

    /// Writes `settings.toml` in `dir` atomically.
    pub fn save_to(&self, dir: &std::path::Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let text = toml::to_string(self)
            .map_err(|e| Error::InvalidInput(format!("cannot write settings: {e}")))?;
        crate::atomic_file::write_bytes(&dir.join("settings.toml"), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load_from(dir.path()), Settings::default());
        let s = Settings {
            device: "wgpu".into(),
            model: Some(PathBuf::from("/m/a.safetensors")),
            input_device: Some("Monitor of Null Output".into()),
            output_device: Some("Null Output".into()),
            ..Settings::default()
        };
        s.save_to(dir.path()).unwrap();
        assert_eq!(Settings::load_from(dir.path()), s);
        std::fs::write(dir.path().join("settings.toml"), "device = [broken").unwrap();
        assert_eq!(Settings::load_from(dir.path()), Settings::default());
        // A file written before a field existed still loads, with that field's default.
        std::fs::write(dir.path().join("settings.toml"), "device = \"cpu\"\n").unwrap();
        let old = Settings::load_from(dir.path());
        assert_eq!((old.device.as_str(), old.input_device), ("cpu", None));
        assert_eq!(old.output_device, None);
        assert!(!old.no_head, "tags are on unless the user turned them off");
    }

    #[test]
    fn the_starter_head_has_its_own_default_limits() {
        let mut s = Settings::default();
        assert_eq!(s.limits_for(STARTER_SOURCE), STARTER_LIMITS);
        assert_eq!(s.limits_for("esc50"), TagLimits::default());
        let mine = TagLimits {
            threshold: 0.5,
            top_n: 1,
        };
        s.head_limits.insert(STARTER_SOURCE.into(), mine);
        assert_eq!(s.limits_for(STARTER_SOURCE), mine);
    }
}
