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

/// What [`import_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Copied in under its own name.
    Copied,
    /// Copied in under a new name, because its own was taken by another model or is the bundled
    /// model's (which Earmark rewrites at every start).
    Renamed {
        /// The file name it had.
        wanted: String,
    },
    /// A file with the same content was already in the folder; nothing was copied.
    AlreadyInstalled,
}

/// The result of an import: where the model is, and how it got there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The model file in the models folder.
    pub path: PathBuf,
    /// What happened.
    pub outcome: ImportOutcome,
}

/// Checks that `src` loads as an encoder, then copies it (and its description file, if any)
/// into `dest_dir`. Returns the new path; see [`import_file`].
pub fn import(src: &Path, dest_dir: &Path) -> Result<PathBuf> {
    import_file(src, dest_dir).map(|i| i.path)
}

/// Checks that `src` loads as an encoder, then copies it (and its description file, if any)
/// into `dest_dir`. Nothing is ever overwritten: when the name is taken by a file of other content,
/// or is the bundled model's, the copy gets the first free `STEM-N.EXT` (a name is free when no
/// weight file or description of that stem exists); when a file of the same content is already
/// there under the name (or one of its numbered variants), nothing is copied.
pub fn import_file(src: &Path, dest_dir: &Path) -> Result<Imported> {
    Encoder::load(src, &Device::Cpu)?;
    let not_a_file = || Error::InvalidInput(format!("{}: not a file", src.display()));
    let name = src.file_name().ok_or_else(not_a_file)?.to_string_lossy();
    let stem = src.file_stem().ok_or_else(not_a_file)?.to_string_lossy();
    let ext = src
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::create_dir_all(dest_dir).map_err(|e| Error::io(dest_dir, e))?;
    let src_side = load::description_path(src);
    let src_side = src_side.is_file().then_some(src_side);
    for n in 1..=MAX_NUMBERED {
        let candidate_stem = if n == 1 {
            stem.to_string()
        } else {
            format!("{stem}-{n}")
        };
        let dest = dest_dir.join(if ext.is_empty() {
            candidate_stem.clone()
        } else {
            format!("{candidate_stem}.{ext}")
        });
        if dest.is_file() && same_model(src, src_side.as_deref(), &dest)? {
            return Ok(Imported {
                path: dest,
                outcome: ImportOutcome::AlreadyInstalled,
            });
        }
        if is_reserved(&candidate_stem) || stem_taken(dest_dir, &candidate_stem) {
            continue;
        }
        if let Some(side) = &src_side {
            copy_new(side, &load::description_path(&dest))?;
        }
        if !copy_new(src, &dest)? {
            continue;
        }
        let outcome = if n == 1 {
            ImportOutcome::Copied
        } else {
            ImportOutcome::Renamed {
                wanted: name.into_owned(),
            }
        };
        return Ok(Imported {
            path: dest,
            outcome,
        });
    }
    Err(Error::InvalidInput(format!(
        "{}: {MAX_NUMBERED} models named like it are already installed; rename it first",
        src.display()
    )))
}

/// Most numbered variants of one name tried by an import.
const MAX_NUMBERED: u32 = 1000;

/// Whether `stem` belongs to the bundled model (its weights and description are rewritten at
/// every start).
fn is_reserved(stem: &str) -> bool {
    let bundled = Path::new(crate::model::bundled::BUNDLED_FILE);
    bundled
        .file_stem()
        .is_some_and(|b| b.to_string_lossy().eq_ignore_ascii_case(stem))
}

/// Whether a weight file or description of this stem exists (`x.pt` and `x.safetensors` would
/// share the description `x.json`).
fn stem_taken(dir: &Path, stem: &str) -> bool {
    ["safetensors", "pt", "pth", "json"]
        .iter()
        .any(|ext| dir.join(format!("{stem}.{ext}")).exists())
}

/// Whether `dest` (with its description) holds the same model as `src` (with `src_side`).
fn same_model(src: &Path, src_side: Option<&Path>, dest: &Path) -> Result<bool> {
    if src.canonicalize().ok() == dest.canonicalize().ok() {
        return Ok(true);
    }
    if !same_bytes(src, dest)? {
        return Ok(false);
    }
    let dest_side = load::description_path(dest);
    match src_side {
        Some(side) => Ok(dest_side.is_file() && same_bytes(side, &dest_side)?),
        None => Ok(!dest_side.exists()),
    }
}

/// Byte-for-byte comparison, streamed.
fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    use std::io::Read;
    let len = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .map_err(|e| Error::io(p, e))
    };
    if len(a)? != len(b)? {
        return Ok(false);
    }
    let open = |p: &Path| {
        std::fs::File::open(p)
            .map(std::io::BufReader::new)
            .map_err(|e| Error::io(p, e))
    };
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 64 << 10], vec![0u8; 64 << 10]);
    loop {
        let n = fa.read(&mut ba).map_err(|e| Error::io(a, e))?;
        if n == 0 {
            return Ok(true);
        }
        fb.read_exact(&mut bb[..n]).map_err(|e| Error::io(b, e))?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// Copies `src` to `dest` unless `dest` exists: the copy is written beside it, then linked into
/// place, which fails rather than replace a file another process put there meanwhile (on file
/// systems without hard links, a rename after a last check). Returns whether it was placed.
fn copy_new(src: &Path, dest: &Path) -> Result<bool> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".import-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    std::fs::copy(src, tmp.path()).map_err(|e| Error::io(src, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    match std::fs::hard_link(tmp.path(), dest) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) if dest.exists() => Ok(false),
        Err(_) => {
            tmp.persist(dest).map_err(|e| Error::io(dest, e.error))?;
            Ok(true)
        }
    }
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
