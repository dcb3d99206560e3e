//! The default model that ships inside Earmark: a small MATPAC encoder pretrained by Earmark's own
//! trainer on freely licensed audio (`models/earmark-default.md` is its card), and its **starter
//! tag head**: a multi-label head naming 47 kinds of sound (drums, instrument families, voice,
//! music, common effects, noise), each with a one-line definition. Weights, labels and definitions
//! are compiled into the binary and written to the user's data folder on first use, so every
//! command and the window work offline and name sounds from the first scan.
//!
//! Which head is in force ([`head_in_force`]): the head the user chose; else, with the bundled
//! model active, the starter head (it takes this encoder's clip embedding, so it does not apply
//! to another model); none when the user turned tags off.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::config::{STARTER_HEAD, STARTER_VOCAB, Settings};
use crate::error::{Error, Result};

/// File name of the bundled model in the data folder's `models/`.
pub const BUNDLED_FILE: &str = crate::config::BUNDLED_MODEL;

/// The bundled weights (safetensors with the model description in the header).
static BUNDLED: &[u8] = include_bytes!("../../models/earmark-default.safetensors");

/// The starter head's weights (`tags.weight [C, E]`, `tags.bias [C]`).
static STARTER: &[u8] = include_bytes!("../../models/earmark-default-tags.safetensors");

/// The starter head's labels, one per line, in output order.
static STARTER_LABELS: &str = include_str!("../../models/earmark-default-tags.vocab.txt");

/// `label<TAB>group<TAB>definition` of every starter label, after a header row.
static DEFINITIONS: &str = include_str!("../../models/recipe/starter-labels.tsv");

/// Folder of the models folder where the starter head is written (beside downloaded heads).
pub const STARTER_DIR: &str = "heads/earmark-default";

/// The folder where models live: `$XDG_DATA_HOME/earmark/models` (`EARMARK_DATA_DIR/models`
/// when that variable is set).
pub fn models_dir() -> Result<PathBuf> {
    crate::config::models_dir()
        .ok_or_else(|| Error::Model("no home directory to keep models in".into()))
}

/// The bundled model's bytes.
pub fn bundled_bytes() -> &'static [u8] {
    BUNDLED
}

/// Path of the bundled model, writing it to [`models_dir`] first when it is missing or differs
/// (an older Earmark's default). The write is atomic.
pub fn bundled_model_path() -> Result<PathBuf> {
    let dir = models_dir()?;
    let path = dir.join(BUNDLED_FILE);
    let current = std::fs::metadata(&path).ok().map(|m| m.len());
    let same =
        current == Some(BUNDLED.len() as u64) && std::fs::read(&path).is_ok_and(|b| b == BUNDLED);
    if !same {
        crate::atomic_file::write_bytes(&path, BUNDLED)?;
    }
    Ok(path)
}

/// Whether the file at `path` is the bundled model (the same bytes as the compiled-in weights,
/// wherever it lies). The answer is kept per file, size and modification time, so asking again
/// (every frame of the window) costs one `stat`.
pub fn is_bundled_model(path: &Path) -> bool {
    type Seen = (PathBuf, u64, Option<std::time::SystemTime>, bool);
    static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if meta.len() != BUNDLED.len() as u64 {
        return false;
    }
    let modified = meta.modified().ok();
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(s) = seen
        .iter()
        .find(|s| s.0 == path && s.1 == meta.len() && s.2 == modified)
    {
        return s.3;
    }
    let same = std::fs::read(path).is_ok_and(|b| b == BUNDLED);
    seen.retain(|s| s.0 != path);
    seen.push((path.to_path_buf(), meta.len(), modified, same));
    same
}

/// The starter head's bytes.
pub fn starter_head_bytes() -> &'static [u8] {
    STARTER
}

/// The starter head's labels, in output order.
pub fn starter_labels() -> Vec<&'static str> {
    STARTER_LABELS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// `(label, group, definition)` of each starter label, in the order of the label file.
pub fn starter_definitions() -> &'static [(&'static str, &'static str, &'static str)] {
    static PARSED: OnceLock<Vec<(&str, &str, &str)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        DEFINITIONS
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.splitn(3, '\t').map(str::trim);
                match (cols.next(), cols.next(), cols.next()) {
                    (Some(l), Some(g), Some(d)) if !l.is_empty() && !d.is_empty() => {
                        Some((l, g, d))
                    }
                    _ => None,
                }
            })
            .collect()
    })
}

/// The one-line definition of a starter label (`None` for any other label).
pub fn definition(label: &str) -> Option<&'static str> {
    starter_definitions()
        .iter()
        .find(|(l, _, _)| *l == label)
        .map(|(_, _, d)| *d)
}

/// The starter head and its label file, written to `models_dir/heads/earmark-default/` first when
/// missing or different (an older Earmark's). Both writes are atomic; a folder checked once is
/// not read again by this process.
pub fn starter_head_paths() -> Result<(PathBuf, PathBuf)> {
    static CHECKED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let dir = models_dir()?.join(STARTER_DIR);
    let (head, vocab) = (dir.join(STARTER_HEAD), dir.join(STARTER_VOCAB));
    let mut checked = CHECKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if checked.contains(&dir) && head.is_file() && vocab.is_file() {
        return Ok((head, vocab));
    }
    for (path, bytes) in [(&head, STARTER), (&vocab, STARTER_LABELS.as_bytes())] {
        if !std::fs::read(path).is_ok_and(|b| b == bytes) {
            crate::atomic_file::write_bytes(path, bytes)?;
        }
    }
    checked.push(dir);
    Ok((head, vocab))
}

/// The tag head in force, and why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadInForce {
    /// The head the user chose, with its vocabulary.
    Chosen {
        /// The head file.
        head: PathBuf,
        /// Its labels, if given.
        labels: Option<PathBuf>,
    },
    /// The bundled model's starter head.
    Starter {
        /// The head file (in the models folder).
        head: PathBuf,
        /// Its labels.
        labels: PathBuf,
    },
    /// The user turned predicted tags off.
    Off,
    /// No head chosen and the model is not the bundled one: the starter head does not fit it.
    NotForThisModel,
    /// The starter head could not be written to the models folder.
    Unavailable(String),
}

impl HeadInForce {
    /// The head file and its labels, when there is a head.
    pub fn head(&self) -> Option<(PathBuf, Option<PathBuf>)> {
        match self {
            HeadInForce::Chosen { head, labels } => Some((head.clone(), labels.clone())),
            HeadInForce::Starter { head, labels } => Some((head.clone(), Some(labels.clone()))),
            _ => None,
        }
    }

    /// Whether it is the starter head.
    pub fn is_starter(&self) -> bool {
        matches!(self, HeadInForce::Starter { .. })
    }

    /// Why there is no head, for people (`None` when there is one).
    pub fn why_none(&self) -> Option<String> {
        match self {
            HeadInForce::Chosen { .. } | HeadInForce::Starter { .. } => None,
            HeadInForce::Off => Some("Predicted tags are off (no tag head chosen).".into()),
            HeadInForce::NotForThisModel => Some(
                "No tag head for this model (the starter tags belong to the bundled model): \
                 choose one in Models."
                    .into(),
            ),
            HeadInForce::Unavailable(why) => {
                Some(format!("The starter tag head is not available: {why}"))
            }
        }
    }
}

/// The head in force with `settings` when `model` is the active model: the chosen head; else,
/// unless tags are off, the starter head when `model` is the bundled one.
pub fn head_in_force(settings: &Settings, model: Option<&Path>) -> HeadInForce {
    if let Some(head) = &settings.head {
        return HeadInForce::Chosen {
            head: head.clone(),
            labels: settings.head_labels.clone(),
        };
    }
    if settings.no_head {
        return HeadInForce::Off;
    }
    if !model.is_some_and(is_bundled_model) {
        return HeadInForce::NotForThisModel;
    }
    match starter_head_paths() {
        Ok((head, labels)) => HeadInForce::Starter { head, labels },
        Err(e) => HeadInForce::Unavailable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_model_describes_itself_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BUNDLED_FILE);
        std::fs::write(&path, bundled_bytes()).unwrap();
        let file = crate::model::WeightFile::open(&path).unwrap();
        let cfg = crate::model::load::resolve_config(&file).unwrap();
        assert_eq!(cfg.n_t, 608);
        let enc = crate::model::Encoder::load(&path, &candle_core::Device::Cpu).unwrap();
        assert_eq!(enc.config(), &cfg);
    }

    #[test]
    fn every_starter_label_has_a_definition() {
        let labels = starter_labels();
        assert!(labels.len() >= 40, "{} labels", labels.len());
        for l in &labels {
            let d = definition(l).unwrap_or_else(|| panic!("{l} has no definition"));
            assert!(d.len() > 10 && !d.contains('\t'), "{l}: {d}");
        }
        assert_eq!(definition("not a label"), None);
    }

    #[test]
    fn the_starter_head_fits_the_bundled_encoder() {
        let dir = tempfile::tempdir().unwrap();
        let (head_path, model_path) = (dir.path().join(STARTER_HEAD), dir.path().join("m.st"));
        std::fs::write(&head_path, starter_head_bytes()).unwrap();
        std::fs::write(&model_path, bundled_bytes()).unwrap();
        let head = crate::tags::Head::load(&head_path).unwrap();
        assert!(matches!(head, crate::tags::Head::MultiLabel(_)));
        assert_eq!(head.classes(), starter_labels().len());
        let file = crate::model::WeightFile::open(&model_path).unwrap();
        let cfg = crate::model::load::resolve_config(&file).unwrap();
        assert_eq!(head.inputs(), cfg.concat_dim());
        assert!(is_bundled_model(&model_path));
        assert!(!is_bundled_model(&head_path));
    }

    #[test]
    fn the_chosen_head_wins_and_the_starter_head_needs_the_bundled_model() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.safetensors");
        std::fs::write(&other, b"not the bundled model").unwrap();
        let mut settings = Settings::default();
        // Another model, nothing chosen: no head, and a line that says why.
        let none = head_in_force(&settings, Some(&other));
        assert_eq!(none, HeadInForce::NotForThisModel);
        assert!(none.head().is_none() && none.why_none().unwrap().contains("bundled model"));
        assert_eq!(head_in_force(&settings, None), HeadInForce::NotForThisModel);
        // Turned off: off whatever the model.
        settings.no_head = true;
        assert_eq!(head_in_force(&settings, Some(&other)), HeadInForce::Off);
        // A chosen head is used with any model, with its labels.
        let head = dir.path().join("esc50.pth");
        settings.head = Some(head.clone());
        settings.head_labels = Some(dir.path().join("esc50.json"));
        let chosen = head_in_force(&settings, Some(&other));
        assert_eq!(chosen.head(), Some((head, settings.head_labels.clone())));
        assert!(!chosen.is_starter() && chosen.why_none().is_none());
    }
}
