//! Options shared by the library subcommands: where the index is, and which model is active.

use std::path::PathBuf;

use anyhow::Context;
use earmark::engine::Engine;
use earmark::library::model_id::ModelIdentity;
use earmark::library::{ACTIVE_MODEL_KEY, Library};
use earmark::model::Precision;
use earmark::model::device::DeviceChoice;
use earmark::model::{EncoderConfig, load};

/// `--library PATH`.
#[derive(clap::Args, Debug, Clone)]
pub struct LibraryArg {
    /// The index file (default: `library.sqlite` in the user's data directory).
    #[arg(long, value_name = "PATH")]
    pub library: Option<PathBuf>,
}

impl LibraryArg {
    /// Opens the chosen index (read-only when it cannot be written; see
    /// [`LibraryArg::open_writable`]).
    pub fn open(&self) -> anyhow::Result<Library> {
        let path = match &self.library {
            Some(p) => p.clone(),
            None => Library::default_path()?,
        };
        Library::open(&path).with_context(|| format!("opening {}", path.display()))
    }

    /// Opens the chosen index for a command that changes it: a library that can only be read
    /// is refused with a clear message before any work starts.
    pub fn open_writable(&self) -> anyhow::Result<Library> {
        let lib = self.open()?;
        lib.require_writable()?;
        Ok(lib)
    }
}

/// `--model PATH` and `--device`.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArg {
    /// Encoder weights (.safetensors or .pt); remembered as the library's active model.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Where the encoder runs: auto, cpu, wgpu, cuda[:N], metal[:N] (a GPU that fails falls
    /// back to the CPU with a notice).
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Precision of the encoder's matrix products on the CPU: f32, bf16 (AVX512-BF16), int8
    /// (AVX512-VNNI) or auto (the fastest this CPU runs within Earmark's accuracy bars).
    #[arg(long, default_value = "auto", value_name = "P")]
    pub precision: Precision,
}

/// A loaded model with its identity in the index.
pub struct Active {
    pub encoder: Engine,
    pub identity: ModelIdentity,
    pub on_gpu: bool,
}

impl ModelArg {
    /// The weight file: `--model`, else the library's active model setting, else the bundled
    /// default model.
    pub fn weights(&self, lib: &Library) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.model {
            return Ok(p.clone());
        }
        match lib.setting(ACTIVE_MODEL_KEY)? {
            Some(p) => Ok(PathBuf::from(p)),
            None => Ok(earmark::model::bundled::bundled_model_path()?),
        }
    }

    /// Loads the model and records it as the active one.
    pub fn load(&self, lib: &Library) -> anyhow::Result<Active> {
        let path = self.weights(lib)?;
        let file = earmark::model::WeightFile::open(&path)?;
        let cfg: EncoderConfig = load::resolve_config(&file)?;
        drop(file);
        super::embed::use_precision(self.precision)?;
        let encoder = Engine::load(&path, self.device)?;
        for notice in encoder.take_notices() {
            eprintln!("notice: {notice}");
        }
        let on_gpu = encoder.on_gpu();
        let identity = ModelIdentity::of_file(&path, &cfg)?;
        let abs = path.canonicalize().unwrap_or(path);
        lib.set_setting(ACTIVE_MODEL_KEY, &abs.to_string_lossy())?;
        Ok(Active {
            encoder,
            identity,
            on_gpu,
        })
    }

    /// The id of the model to search with, without loading its weights when possible.
    pub fn model_id(&self, lib: &Library) -> anyhow::Result<(i64, usize)> {
        let path = self.weights(lib)?;
        let file = earmark::model::WeightFile::open(&path)?;
        let cfg = load::resolve_config(&file)?;
        let identity = ModelIdentity::of_file(&path, &cfg)?;
        Ok((lib.ensure_model(&identity)?, identity.clip_dim))
    }
}
