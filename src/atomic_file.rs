//! Files written whole or not at all: the content goes to a temporary file beside the target,
//! is synced, and is renamed over it, so a crash or kill mid-write leaves the previous file.
//! A file replaced keeps its owner, group and permissions ([`Owner`]); a new one is `0644`.

use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Who owns a file and its permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
}

impl Owner {
    /// The owner, group and permissions of `md`.
    pub fn of(md: &Metadata) -> Self {
        Owner {
            uid: md.uid(),
            gid: md.gid(),
            mode: md.mode() & 0o7777,
        }
    }

    /// Gives the open file `file` this owner and these permissions (the owner first: changing
    /// it clears set-id bits). Changes only what differs.
    pub fn apply_to(&self, file: &std::fs::File) -> std::io::Result<()> {
        let now = Owner::of(&file.metadata()?);
        if (now.uid, now.gid) != (self.uid, self.gid) {
            std::os::unix::fs::fchown(file, Some(self.uid), Some(self.gid))?;
        }
        if now.mode != self.mode || (now.uid, now.gid) != (self.uid, self.gid) {
            file.set_permissions(std::fs::Permissions::from_mode(self.mode))?;
        }
        Ok(())
    }
}

/// Runs `write` on a temporary file beside `path`, syncs it and renames it over `path`.
pub fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    write(tmp.path())?;
    // Temporary files are private; a replaced file keeps its owner, group and permissions (as
    // far as this process may give them), a new one is an ordinary user file.
    let keep = match std::fs::metadata(path) {
        Ok(md) if md.is_file() => Owner::of(&md),
        _ => Owner {
            mode: 0o644,
            ..Owner::of(
                &tmp.as_file()
                    .metadata()
                    .map_err(|e| Error::io(tmp.path(), e))?,
            )
        },
    };
    if let Ok(written) = std::fs::File::open(tmp.path())
        && keep.apply_to(&written).is_err()
    {
        // Not allowed to give it the owner: the permissions at least.
        let _ = written.set_permissions(std::fs::Permissions::from_mode(keep.mode));
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_keeps_its_permissions_and_a_new_one_is_0644() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        write_bytes(&path, b"a = 1").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&path), 0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_bytes(&path, b"a = 2").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a = 2");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
