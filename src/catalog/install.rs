//! Installing a catalog entry into the models folder: download (with its vocabularies), check,
//! put in place, and what follows for its kind.
//!
//! Layout inside the models folder (the data directory's `models/` by default):
//!
//! | kind | files |
//! | --- | --- |
//! | encoder | `FILE` and its model description `STEM.json` (so it loads like any model) |
//! | encoder+head | the same, plus its class names `STEM.vocab.EXT` |
//! | vocabulary | `vocab/FILE` |
//! | probe archive | `heads/FILE` and one `heads/GROUP/TASK.pth` per task, with `TASK.vocab.EXT` |
//!
//! A file is downloaded into `FILE.part` beside its final place. Only once its size (the
//! catalog's, else the announced length), SHA-256 (when known) and content (a checkpoint opens
//! with the expected encoder tensors, a head loads, a vocabulary parses with the expected class
//! count) are right does it replace the previous file, by a rename. A failed check deletes the
//! `.part` file and leaves the previous file as it was; a broken-off or cancelled transfer keeps
//! the `.part` file for the next try to resume.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::archive::{TaskVocabulary, unpack_probes};
use super::fetch::{Fetcher, TransferProgress};
use super::manifest::{Catalog, CatalogEntry, EntryKind};
use super::verify;
use crate::atomic_file::write_bytes;
use crate::error::{Error, Result};
use crate::model::{WeightFile, keys};
use crate::tags::{Head, Vocabulary};

/// Subfolder of vocabulary files.
pub const VOCAB_DIR: &str = "vocab";
/// Subfolder of probe heads.
pub const HEADS_DIR: &str = "heads";

/// Where an entry's file lives inside `models_dir`.
pub fn entry_path(entry: &CatalogEntry, models_dir: &Path) -> PathBuf {
    match entry.kind {
        EntryKind::Encoder | EntryKind::EncoderWithHead => models_dir.join(&entry.file),
        EntryKind::Vocabulary => models_dir.join(VOCAB_DIR).join(&entry.file),
        EntryKind::ProbeArchive => models_dir.join(HEADS_DIR).join(&entry.file),
    }
}

/// The `.part` file a download of `path` goes to.
pub fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

/// The class names kept beside a head file (`X.pth` → `X.vocab.json|csv|txt`), if any.
pub fn head_vocabulary(head: &Path) -> Option<PathBuf> {
    let stem = head.file_stem()?.to_string_lossy().into_owned();
    ["json", "csv", "txt"]
        .iter()
        .map(|ext| head.with_file_name(format!("{stem}.vocab.{ext}")))
        .find(|p| p.is_file())
}

/// Whether an entry is in the models folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// Downloaded and in place.
    Installed,
    /// A download stopped part way; `bytes` are kept for a resume.
    Partial {
        /// Bytes received so far.
        bytes: u64,
    },
    /// Not downloaded.
    Missing,
}

/// Where `entry` stands in `models_dir`.
pub fn status(entry: &CatalogEntry, models_dir: &Path) -> EntryStatus {
    let path = entry_path(entry, models_dir);
    if path.is_file() {
        return EntryStatus::Installed;
    }
    match std::fs::metadata(part_path(&path)) {
        Ok(m) => EntryStatus::Partial { bytes: m.len() },
        Err(_) => EntryStatus::Missing,
    }
}

/// What an installation did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstallReport {
    /// The entry's file in place.
    pub path: PathBuf,
    /// Other files written (model description, vocabularies, heads).
    pub extra: Vec<PathBuf>,
    /// Files that were already in place and not downloaded again.
    pub reused: Vec<PathBuf>,
    /// Offsets transfers resumed from.
    pub resumed_from: Vec<u64>,
    /// Things people should know (heads left out, sizes that could not be checked).
    pub notes: Vec<String>,
}

/// Installs catalog entries into one models folder.
pub struct Installer<'a> {
    catalog: &'a Catalog,
    models_dir: PathBuf,
    fetcher: Fetcher,
}

impl<'a> Installer<'a> {
    /// An installer for `catalog` writing into `models_dir`.
    pub fn new(catalog: &'a Catalog, models_dir: PathBuf, fetcher: Fetcher) -> Self {
        Installer {
            catalog,
            models_dir,
            fetcher,
        }
    }

    /// Downloads and installs the entry `name` (and the vocabularies it lists); progress of
    /// each transfer goes to `progress`, `cancel` stops between reads.
    pub fn install(
        &self,
        name: &str,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&TransferProgress),
    ) -> Result<InstallReport> {
        let entry = self.catalog.require(name)?;
        let mut report = InstallReport::default();
        let mut vocab_paths = Vec::new();
        for v in self.catalog.vocabularies_of(entry) {
            let path = self.obtain(v, cancel, progress, &mut report)?;
            vocab_paths.push((v, path));
        }
        let path = entry_path(entry, &self.models_dir);
        // A file already in place is kept when a checksum proves it is the catalog's.
        if path.is_file()
            && entry.sha256.is_some()
            && verify::check(&path, &entry.file, entry.size, entry.sha256.as_deref()).is_ok()
        {
            report.reused.push(path.clone());
            report.path = path;
            return Ok(report);
        }
        let part = self.download(entry, &path, cancel, progress, &mut report)?;
        let placed = self.put_in_place(entry, &part, &path, &vocab_paths, &mut report);
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        report.path = path;
        Ok(report)
    }

    /// A vocabulary in place: the one there (when it parses with the right count) or a fresh
    /// download.
    fn obtain(
        &self,
        v: &CatalogEntry,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&TransferProgress),
        report: &mut InstallReport,
    ) -> Result<PathBuf> {
        let path = entry_path(v, &self.models_dir);
        if path.is_file()
            && verify::check(&path, &v.file, v.size, v.sha256.as_deref()).is_ok()
            && check_vocabulary(v, &path, &path).is_ok()
        {
            report.reused.push(path.clone());
            return Ok(path);
        }
        let part = self.download(v, &path, cancel, progress, report)?;
        if let Err(e) = self.put_in_place(v, &part, &path, &[], report) {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        report.extra.push(path.clone());
        Ok(path)
    }

    /// Fetches `entry` into its `.part` file and checks size and checksum; returns the part.
    fn download(
        &self,
        entry: &CatalogEntry,
        path: &Path,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&TransferProgress),
        report: &mut InstallReport,
    ) -> Result<PathBuf> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let part = part_path(path);
        let fetched = self
            .fetcher
            .fetch(&entry.url, &part, &entry.file, cancel, progress)?;
        report.resumed_from.extend(&fetched.resumed_from);
        let size = entry.size.or(fetched.announced);
        if size.is_none() && entry.sha256.is_none() {
            report.notes.push(format!(
                "{}: neither the catalog nor the server gave a size; only its content was checked",
                entry.file
            ));
        }
        if let Err(e) = verify::check(&part, &entry.file, size, entry.sha256.as_deref()) {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        Ok(part)
    }

    /// Checks the content of a verified `.part` file for its kind, writes what goes with it and
    /// renames it into place.
    fn put_in_place(
        &self,
        entry: &CatalogEntry,
        part: &Path,
        path: &Path,
        vocabularies: &[(&CatalogEntry, PathBuf)],
        report: &mut InstallReport,
    ) -> Result<()> {
        match entry.kind {
            EntryKind::Vocabulary => check_vocabulary(entry, part, path)?,
            EntryKind::Encoder | EntryKind::EncoderWithHead => {
                let Some(cfg) = &entry.config else {
                    return Err(Error::InvalidInput(format!("{}: no config", entry.name)));
                };
                let enc = cfg.encoder_config()?;
                let file = WeightFile::open(part)?;
                let prefix = keys::state_dict_prefix(&file)?;
                keys::check_encoder_keys(&file, &enc, &prefix)
                    .map_err(|e| Error::Download(format!("{}: {e}", entry.file)))?;
                drop(file);
                if entry.kind == EntryKind::EncoderWithHead {
                    self.place_head_vocabulary(entry, part, path, vocabularies, report)?;
                }
                let desc = crate::model::load::description_path(path);
                write_bytes(&desc, cfg.description()?.to_json()?.as_bytes())?;
                report.extra.push(desc);
            }
            EntryKind::ProbeArchive => {
                let heads_dir = self.models_dir.join(HEADS_DIR);
                let tasks: Vec<TaskVocabulary> = vocabularies
                    .iter()
                    .filter_map(|(v, p)| {
                        v.task.as_ref().map(|t| TaskVocabulary {
                            task: t.clone(),
                            path: p.clone(),
                        })
                    })
                    .collect();
                let unpacked = unpack_probes(part, &heads_dir, &tasks)?;
                for (head, vocab) in unpacked.heads {
                    report.extra.push(head);
                    report.extra.extend(vocab);
                }
                for (item, why) in unpacked.skipped {
                    report.notes.push(format!("{item}: {why}"));
                }
            }
        }
        std::fs::rename(part, path).map_err(|e| Error::io(path, e))?;
        Ok(())
    }

    /// Loads the head of an encoder+head checkpoint and copies its vocabulary beside it.
    fn place_head_vocabulary(
        &self,
        entry: &CatalogEntry,
        part: &Path,
        path: &Path,
        vocabularies: &[(&CatalogEntry, PathBuf)],
        report: &mut InstallReport,
    ) -> Result<()> {
        let head = Head::load(part).map_err(|e| Error::Download(format!("{}: {e}", entry.file)))?;
        let Some((_, vocab)) = vocabularies.first() else {
            return Ok(());
        };
        let voc = Vocabulary::load(vocab)?;
        if voc.len() != head.classes() {
            report.notes.push(format!(
                "{}: its head has {} classes, {} names {}; kept without class names",
                entry.file,
                head.classes(),
                vocab.display(),
                voc.len()
            ));
            return Ok(());
        }
        let ext = vocab.extension().and_then(|e| e.to_str()).unwrap_or("txt");
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let dest = path.with_file_name(format!("{stem}.vocab.{ext}"));
        let bytes = std::fs::read(vocab).map_err(|e| Error::io(vocab, e))?;
        write_bytes(&dest, &bytes)?;
        report.extra.push(dest);
        Ok(())
    }
}

/// Parses a vocabulary file `file` (named as `as_path`, whose extension gives the format) and
/// checks its class count against the catalog's.
fn check_vocabulary(entry: &CatalogEntry, file: &Path, as_path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let ext = as_path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let parsed = match ext.as_str() {
        "json" => Vocabulary::from_json(&text),
        "csv" => Vocabulary::from_csv(&text),
        _ => Ok(Vocabulary {
            labels: text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        }),
    }
    .map_err(|why| Error::Download(format!("{}: not a class mapping: {why}", entry.file)))?;
    match entry.classes {
        Some(n) if n != parsed.len() => Err(Error::Download(format!(
            "{}: {} classes, the catalog says {n}",
            entry.file,
            parsed.len()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_part_names() {
        let c = Catalog::builtin().unwrap();
        let dir = Path::new("/m");
        let p = entry_path(c.require("matpac").unwrap(), dir);
        assert_eq!(p, Path::new("/m/matpac_10_2048.pt"));
        assert_eq!(part_path(&p), Path::new("/m/matpac_10_2048.pt.part"));
        assert_eq!(
            entry_path(c.require("esc50-labels").unwrap(), dir),
            Path::new("/m/vocab/esc50_mapping.json")
        );
        assert_eq!(
            entry_path(c.require("probes").unwrap(), dir),
            Path::new("/m/heads/Weights_probes_matpac.zip")
        );
    }
}
