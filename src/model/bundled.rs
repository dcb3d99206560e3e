//! The default model that ships inside Earmark: a small MATPAC encoder pretrained by Earmark's own
//! trainer on freely licensed audio (`models/earmark-default.md` is its card). Its weights are
//! compiled into the binary and written once to the user's data folder, so every command and the
//! window work offline from the first start.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// File name of the bundled model in the data folder's `models/`.
pub const BUNDLED_FILE: &str = crate::config::BUNDLED_MODEL;

/// The bundled weights (safetensors with the model description in the header).
static BUNDLED: &[u8] = include_bytes!("../../models/earmark-default.safetensors");

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
}
