//! The model the window uses: the bundled default and the active model's description and
//! identity ([`ActiveModel`], read once per model by a background task and shared by every
//! feature through [`crate::gui::shared::view::ModelSlot`]).
//! Listing and importing model files lives in [`crate::catalog::installed`], re-exported
//! here.

use std::path::{Path, PathBuf};

use crate::config::BUNDLED_MODEL;
use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::model_id::ModelIdentity;
use crate::model::{EncoderConfig, WeightFile, load};

pub use crate::catalog::installed::{
    InstalledModel, ModelSource, describe_file, format_size, import, installed_models,
    is_weight_file, model_folders,
};

/// The bundled default model: the copy in one of `folders` when given (tests), else the one
/// compiled into Earmark, written to the data directory on first use.
pub fn bundled_default(folders: Option<&[(PathBuf, ModelSource)]>) -> Option<PathBuf> {
    match folders {
        Some(folders) => folders
            .iter()
            .map(|(d, _)| d.join(BUNDLED_MODEL))
            .find(|p| p.is_file()),
        None => crate::model::bundled::bundled_model_path().ok(),
    }
}

/// The active model: its file, configuration and identity in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveModel {
    /// The weight file.
    pub path: PathBuf,
    /// Configuration.
    pub config: EncoderConfig,
    /// Identity (hash of weights and configuration).
    pub identity: ModelIdentity,
}

impl ActiveModel {
    /// Reads the configuration and hashes the weights of `path` (a worker-thread job for big
    /// files).
    pub fn describe(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Model(format!(
                "model file not found: {} — import one or choose another in Models",
                path.display()
            )));
        }
        let file = WeightFile::open(path)?;
        let config = load::resolve_config(&file)?;
        drop(file);
        let identity = ModelIdentity::of_file(path, &config)?;
        Ok(ActiveModel {
            path: path.to_path_buf(),
            config,
            identity,
        })
    }

    /// Short name for people.
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// This model's id in `lib`, if the library has it (read-only: nothing is registered).
    pub fn id_in(&self, lib: &Library) -> Result<Option<i64>> {
        lib.model_id_of(&self.identity.identity)
    }
}
