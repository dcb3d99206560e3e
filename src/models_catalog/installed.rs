//! Model files on disk: the folders searched (bundled, installed), listing their weight files with
//! size and configuration, and importing a checkpoint (checked by loading it, then copied in
//! atomically with its description). Shared by the window and `earmark models`.

use std::path::{Path, PathBuf};

use candle_core::Device;

use crate::config::models_dir;
use crate::error::{Error, Result};
use crate::model::{Encoder, EncoderConfig, WeightFile, load};

/// Where a model file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// Shipped with Earmark (`models/` of the installation or source tree).
    Bundled,
    /// Imported, downloaded or trained into the data directory.
    Installed,
    /// Chosen elsewhere on disk.
    Elsewhere,
}

/// A model file on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledModel {
    /// The weight file.
    pub path: PathBuf,
    /// Where it was found.
    pub source: ModelSource,
    /// Size in bytes.
    pub size: u64,
    /// Its configuration, or why it cannot be read.
    pub config: std::result::Result<EncoderConfig, String>,
}

/// Folders searched for models, with what they hold: `EARMARK_BUNDLED_MODELS` (packages point
/// it at their shared data) or the source tree's `models/`, `../share/earmark/models` beside the
/// executable, and the data directory's `models/`.
pub fn model_folders() -> Vec<(PathBuf, ModelSource)> {
    let bundled = std::env::var_os("EARMARK_BUNDLED_MODELS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"),
        PathBuf::from,
    );
    let mut out = vec![(bundled, ModelSource::Bundled)];
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push((
            exe_dir.join("../share/earmark/models"),
            ModelSource::Bundled,
        ));
    }
    if let Some(d) = models_dir() {
        out.push((d, ModelSource::Installed));
    }
    out
}

/// Whether `path` names a weight file.
pub fn is_weight_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("safetensors" | "pt" | "pth")
    )
}

/// Every weight file in `folders` (default: [`model_folders`]), sorted by name per folder; a
/// file whose encoder configuration cannot be read is listed with the reason.
pub fn installed_models(folders: Option<&[(PathBuf, ModelSource)]>) -> Vec<InstalledModel> {
    let folders = folders.map_or_else(model_folders, <[_]>::to_vec);
    let mut out = Vec::new();
    for (dir, source) in folders {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_weight_file(p))
            .collect();
        files.sort();
        for path in files {
            out.push(describe_file(path, source));
        }
    }
    out
}

/// Reads one file's size and configuration.
pub fn describe_file(path: PathBuf, source: ModelSource) -> InstalledModel {
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let config = WeightFile::open(&path)
        .and_then(|f| load::resolve_config(&f))
        .map_err(|e| e.to_string());
    InstalledModel {
        path,
        source,
        size,
        config,
    }
}

/// Checks that `src` loads as an encoder, then copies it (and its description file, if any)
/// into `dest_dir` atomically. Returns the new path.
pub fn import(src: &Path, dest_dir: &Path) -> Result<PathBuf> {
    Encoder::load(src, &Device::Cpu)?;
    let name = src
        .file_name()
        .ok_or_else(|| Error::InvalidInput(format!("{}: not a file", src.display())))?;
    std::fs::create_dir_all(dest_dir).map_err(|e| Error::io(dest_dir, e))?;
    let dest = dest_dir.join(name);
    if dest.exists() && dest.canonicalize().ok() == src.canonicalize().ok() {
        return Ok(dest);
    }
    copy_atomic(src, &dest)?;
    let side = load::description_path(src);
    if side.is_file() {
        copy_atomic(&side, &load::description_path(&dest))?;
    }
    Ok(dest)
}

fn copy_atomic(src: &Path, dest: &Path) -> Result<()> {
    crate::atomic_file::write_atomic(dest, |tmp| {
        std::fs::copy(src, tmp)
            .map(|_| ())
            .map_err(|e| Error::io(src, e))
    })
}

/// "12.3 MB" style.
pub fn format_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", (b / 1e3).ceil())
    }
}
