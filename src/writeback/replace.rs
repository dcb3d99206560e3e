//! Replacing a file whole or not at all: its new bytes are staged in a temporary file in the
//! same folder (the original's owner, group and permissions, optionally a given modification
//! time), synced, and renamed over it, so a crash leaves either the old file or the new one,
//! never a mix.
//!
//! The temporaries are named `.earmark-tags-*`. One left behind by a killed run is removed by
//! the next write-back or undo touching its folder ([`remove_stale_temporaries`]).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tempfile::NamedTempFile;

use super::plan::size_and_mtime;
pub use crate::atomic_file::Owner;

/// How the names of staged temporaries start.
pub const TEMP_PREFIX: &str = ".earmark-tags-";

/// New bytes waiting beside the file they replace.
pub struct Staged {
    tmp: NamedTempFile,
    /// Size and modification time (ns) the file will have.
    pub size_and_mtime: (u64, i64),
}

/// Why new bytes could not be staged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageError {
    /// The temporary file may not be given the original's owner or group (only its owner or
    /// an administrator may): the file is to be rewritten in place instead, keeping both.
    OwnerNotKept(String),
    /// Anything else, said for people.
    Failed(String),
}

impl From<StageError> for String {
    fn from(e: StageError) -> Self {
        match e {
            StageError::OwnerNotKept(e) => format!("cannot keep the file's owner: {e}"),
            StageError::Failed(e) => e,
        }
    }
}

/// Writes `bytes` to a temporary file beside `target` with `owner`'s owner, group and
/// permissions (and `mtime` when given) and syncs it.
pub fn stage(
    target: &Path,
    bytes: &[u8],
    owner: Owner,
    mtime: Option<SystemTime>,
) -> Result<Staged, StageError> {
    let dir = folder(target);
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| {
            StageError::Failed(format!(
                "cannot create a temporary file in {}: {e}",
                dir.display()
            ))
        })?;
    owner.apply_to(tmp.as_file()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            StageError::OwnerNotKept(e.to_string())
        } else {
            StageError::Failed(format!("cannot set the temporary file's owner: {e}"))
        }
    })?;
    tmp.write_all(bytes)
        .and_then(|()| match mtime {
            Some(t) => tmp.as_file().set_modified(t),
            None => Ok(()),
        })
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| StageError::Failed(format!("cannot write the temporary file: {e}")))?;
    let md: Metadata = tmp
        .as_file()
        .metadata()
        .map_err(|e| StageError::Failed(format!("cannot read the temporary file: {e}")))?;
    Ok(Staged {
        tmp,
        size_and_mtime: size_and_mtime(&md),
    })
}

/// Renames the staged bytes over `target` and syncs the folder.
pub fn commit(staged: Staged, target: &Path) -> Result<(), String> {
    staged
        .tmp
        .persist(target)
        .map_err(|e| format!("cannot replace the file: {}", e.error))?;
    if let Ok(d) = std::fs::File::open(folder(target)) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Whether `name` is that of a temporary staged by write-back or undo.
pub fn is_temporary_name(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes())
}

/// Removes the write-back temporaries in `folder` last changed before `before` (a run killed
/// mid-write leaves one, as large as the file it was to replace); returns those removed.
///
/// Their status-change time is what counts: a temporary staged by an undo carries the original's
/// old modification time, but its status changed when it was written. Pass the time the running
/// job started, so that a temporary another run is writing now is left alone.
pub fn remove_stale_temporaries(folder: &Path, before: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let before_ns = before
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        if !is_temporary_name(&entry.file_name()) {
            continue;
        }
        let Ok(md) = entry.path().symlink_metadata() else {
            continue;
        };
        let changed_ns = i128::from(md.ctime()) * 1_000_000_000 + i128::from(md.ctime_nsec());
        if md.is_file() && changed_ns < before_ns && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

/// Removes stale temporaries once per folder over one write-back or undo run.
#[derive(Debug)]
pub struct Sweeper {
    started: SystemTime,
    seen: HashSet<PathBuf>,
}

impl Default for Sweeper {
    fn default() -> Self {
        Self::new()
    }
}

impl Sweeper {
    /// A sweeper for a run starting now.
    pub fn new() -> Self {
        Sweeper {
            started: SystemTime::now(),
            seen: HashSet::new(),
        }
    }

    /// The first time the folder of `path` (of the file it links to) comes up, removes its
    /// temporaries older than the run; returns those removed.
    pub fn folder_of(&mut self, path: &Path) -> Vec<String> {
        let Ok(target) = std::fs::canonicalize(path) else {
            return Vec::new();
        };
        let dir = folder(&target).to_path_buf();
        if !self.seen.insert(dir.clone()) {
            return Vec::new();
        }
        remove_stale_temporaries(&dir, self.started)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect()
    }
}

/// The folder `target` is in.
pub fn folder(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn staged_bytes_replace_the_file_with_its_permissions_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.flac");
        std::fs::write(&path, b"old").unwrap();
        let mut owner = Owner::of(&std::fs::metadata(&path).unwrap());
        owner.mode = 0o640;
        let when = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let staged = stage(&path, b"new bytes", owner, Some(when)).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"old",
            "nothing replaced before commit"
        );
        assert_eq!(staged.size_and_mtime, (9, 1_000_000_000_000_000_000));
        commit(staged, &path).unwrap();
        let md = std::fs::metadata(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new bytes");
        assert_eq!(md.permissions().mode() & 0o777, 0o640);
        assert_eq!(md.modified().unwrap(), when);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }
}
