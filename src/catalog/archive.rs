//! Unpacking the probe-head archive (`Weights_probes_matpac.zip`) into one head file per task.
//!
//! The archive holds `<group>/<task>/<task>.pth` (group `matpac++_general_audio` or
//! `matpac++_music`, spec §1.2), possibly under one more top folder. Each head becomes
//! `<heads>/<group>/<task>.pth`; when a vocabulary's task name is part of the head's path (first
//! match in the catalog's order, as the reference wrapper does) it is copied beside it as
//! `<task>.vocab.<ext>` (see [`super::head_vocabulary`]). Every head is loaded before it is put
//! in place; one that does not load, or whose class count differs from its vocabulary's, is
//! reported and left out. Entry names that would leave the folder are refused.
//!
//! Sizes are bounded ([`ArchiveLimits`]): an entry whose declared size is over the cap is left out
//! unread, and every entry is streamed to disk through a counter that stops at the cap, so a
//! header that lies about the size gains nothing; the whole archive may inflate to at most
//! [`ArchiveLimits::max_total_bytes`].

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::installed::format_size;
use crate::atomic_file::{write_atomic, write_bytes};
use crate::error::{Error, Result};
use crate::tags::{Head, Vocabulary};

/// A vocabulary available to the heads: the task text it matches and its file.
#[derive(Debug, Clone)]
pub struct TaskVocabulary {
    /// Text that a head's path contains (`esc50`).
    pub task: String,
    /// The downloaded class-mapping file.
    pub path: PathBuf,
}

/// What unpacking produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unpacked {
    /// Head files written, with their vocabulary when one matched.
    pub heads: Vec<(PathBuf, Option<PathBuf>)>,
    /// Entries left out, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Head file extensions taken from the archive.
const HEAD_EXTENSIONS: [&str; 3] = ["pth", "pt", "safetensors"];

/// How much an archive may inflate to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Largest head entry, inflated (a linear probe on 3,840 inputs with 1,000 classes is 15 MB).
    pub max_entry_bytes: u64,
    /// Largest sum of all head entries read, inflated.
    pub max_total_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_entry_bytes: 64 << 20,
            max_total_bytes: 1 << 30,
        }
    }
}

/// Unpacks the heads of `zip_path` into `heads_dir` within the default [`ArchiveLimits`].
/// `zip_path` may be a `.part` file.
pub fn unpack_probes(
    zip_path: &Path,
    heads_dir: &Path,
    vocabularies: &[TaskVocabulary],
) -> Result<Unpacked> {
    unpack_probes_within(zip_path, heads_dir, vocabularies, ArchiveLimits::default())
}

/// Unpacks the heads of `zip_path` into `heads_dir`, reading no entry past `limits`.
pub fn unpack_probes_within(
    zip_path: &Path,
    heads_dir: &Path,
    vocabularies: &[TaskVocabulary],
    limits: ArchiveLimits,
) -> Result<Unpacked> {
    let file = std::fs::File::open(zip_path).map_err(|e| Error::io(zip_path, e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| Error::Download(format!("{}: not a zip archive: {e}", zip_path.display())))?;
    std::fs::create_dir_all(heads_dir).map_err(|e| Error::io(heads_dir, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".unpack-")
        .tempdir_in(heads_dir)
        .map_err(|e| Error::io(heads_dir, e))?;
    let mut out = Unpacked::default();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Error::Download(format!("{}: entry {i}: {e}", zip_path.display())))?;
        if entry.is_dir() {
            continue;
        }
        let raw_name = entry
            .name()
            .map_or_else(|_| format!("entry {i}"), |n| n.into_owned());
        let Some(inner) = entry.enclosed_name() else {
            out.skipped
                .push((raw_name, "the name leaves the archive's folder".into()));
            continue;
        };
        let Some((group, task, ext)) = head_place(&inner) else {
            continue;
        };
        let dest = heads_dir.join(&group).join(format!("{task}.{ext}"));
        if out.heads.iter().any(|(p, _)| *p == dest) {
            out.skipped
                .push((raw_name, format!("a second head for {group}/{task}")));
            continue;
        }
        let too_large = || {
            format!(
                "inflates to more than {}, the most a head may have",
                format_size(limits.max_entry_bytes)
            )
        };
        if entry.size() > limits.max_entry_bytes {
            out.skipped.push((raw_name, too_large()));
            continue;
        }
        let staged = staging.path().join(format!("{group}--{task}.{ext}"));
        let copied = stream_to(&mut entry, &staged, limits.max_entry_bytes)
            .map_err(|e| Error::Download(format!("{}: {raw_name}: {e}", zip_path.display())))?;
        total = total.saturating_add(copied);
        if total > limits.max_total_bytes {
            return Err(Error::Download(format!(
                "{}: the archive inflates to more than {}; nothing was installed",
                zip_path.display(),
                format_size(limits.max_total_bytes)
            )));
        }
        if copied > limits.max_entry_bytes {
            let _ = std::fs::remove_file(&staged);
            out.skipped.push((raw_name, too_large()));
            continue;
        }
        let loaded = Head::load(&staged);
        let head = match loaded {
            Ok(h) => h,
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                out.skipped.push((raw_name, format!("not a head: {e}")));
                continue;
            }
        };
        let path_text = inner.to_string_lossy().to_lowercase();
        let vocab = vocabularies
            .iter()
            .find(|v| path_text.contains(&v.task.to_lowercase()));
        let mut vocab_dest = None;
        if let Some(v) = vocab {
            match Vocabulary::load(&v.path) {
                Ok(voc) if voc.len() == head.classes() => {
                    let ext = v.path.extension().and_then(|e| e.to_str()).unwrap_or("txt");
                    let text = std::fs::read(&v.path).map_err(|e| Error::io(&v.path, e))?;
                    let p = heads_dir.join(&group).join(format!("{task}.vocab.{ext}"));
                    write_bytes(&p, &text)?;
                    vocab_dest = Some(p);
                }
                Ok(voc) => out.skipped.push((
                    raw_name.clone(),
                    format!(
                        "{} has {} classes, the head {}: kept without class names",
                        v.path.display(),
                        voc.len(),
                        head.classes()
                    ),
                )),
                Err(e) => out
                    .skipped
                    .push((raw_name.clone(), format!("vocabulary unreadable: {e}"))),
            }
        }
        write_atomic(&dest, |tmp| {
            std::fs::copy(&staged, tmp)
                .map(|_| ())
                .map_err(|e| Error::io(&staged, e))
        })?;
        let _ = std::fs::remove_file(&staged);
        out.heads.push((dest, vocab_dest));
    }
    if out.heads.is_empty() {
        return Err(Error::Download(format!(
            "{}: no loadable head in the archive{}",
            zip_path.display(),
            out.skipped
                .first()
                .map(|(n, why)| format!(" ({n}: {why})"))
                .unwrap_or_default()
        )));
    }
    Ok(out)
}

/// Copies at most `cap + 1` bytes of `entry` into a new file `dest` and returns how many were
/// copied (more than `cap` means the entry is larger than allowed, whatever its header says).
fn stream_to(entry: &mut impl Read, dest: &Path, cap: u64) -> std::io::Result<u64> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(dest)?);
    let copied = std::io::copy(&mut entry.take(cap.saturating_add(1)), &mut file)?;
    std::io::Write::flush(&mut file)?;
    Ok(copied)
}

/// `(group, task, extension)` of a head entry, or `None` for anything else (folders' notes,
/// macOS metadata, other files).
fn head_place(inner: &Path) -> Option<(String, String, String)> {
    let parts: Vec<String> = inner
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.iter().any(|p| p == "__MACOSX" || p.starts_with('.')) {
        return None;
    }
    let file = Path::new(parts.last()?);
    let ext = file.extension()?.to_str()?.to_ascii_lowercase();
    if !HEAD_EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    let task = sanitize(file.file_stem()?.to_str()?);
    let folders = &parts[..parts.len() - 1];
    let group = folders
        .iter()
        .find(|p| p.to_lowercase().starts_with("matpac"))
        .or_else(|| folders.first())
        .map_or_else(|| "probes".to_owned(), |g| sanitize(g));
    Some((group, task, ext))
}

/// Keeps letters, digits and `+ - _ .`; anything else becomes `_`.
fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.trim_start_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_placed_by_group_and_task() {
        let place = |s: &str| head_place(Path::new(s));
        assert_eq!(
            place("Weights_probes_matpac/matpac++_music/mtg_genre/mtg_genre.pth"),
            Some(("matpac++_music".into(), "mtg_genre".into(), "pth".into()))
        );
        assert_eq!(
            place("matpac++_general_audio/esc50.pth"),
            Some((
                "matpac++_general_audio".into(),
                "esc50".into(),
                "pth".into()
            ))
        );
        assert_eq!(
            place("esc50.pth"),
            Some(("probes".into(), "esc50".into(), "pth".into()))
        );
        assert_eq!(place("__MACOSX/matpac++_music/x.pth"), None);
        assert_eq!(place("matpac++_music/README.txt"), None);
    }
}
