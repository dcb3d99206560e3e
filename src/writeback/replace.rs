//! Replacing a file whole or not at all: its new bytes are staged in a temporary file in the
//! same folder (same permissions, optionally a given modification time), synced, and renamed
//! over it, so a crash leaves either the old file or the new one, never a mix.

use std::fs::{Metadata, Permissions};
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use tempfile::NamedTempFile;

use super::plan::size_and_mtime;

/// New bytes waiting beside the file they replace.
pub struct Staged {
    tmp: NamedTempFile,
    /// Size and modification time (ns) the file will have.
    pub size_and_mtime: (u64, i64),
}

/// Writes `bytes` to a temporary file beside `target` with `permissions` (and `mtime` when
/// given) and syncs it.
pub fn stage(
    target: &Path,
    bytes: &[u8],
    permissions: Permissions,
    mtime: Option<SystemTime>,
) -> Result<Staged, String> {
    let dir = folder(target);
    let mut tmp = tempfile::Builder::new()
        .prefix(".earmark-tags-")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().set_permissions(permissions))
        .and_then(|()| match mtime {
            Some(t) => tmp.as_file().set_modified(t),
            None => Ok(()),
        })
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write the temporary file: {e}"))?;
    let md: Metadata = tmp
        .as_file()
        .metadata()
        .map_err(|e| format!("cannot read the temporary file: {e}"))?;
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

fn folder(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn staged_bytes_replace_the_file_with_its_permissions_and_time() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.flac");
        std::fs::write(&path, b"old").unwrap();
        let perms = Permissions::from_mode(0o640);
        let when = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let staged = stage(&path, b"new bytes", perms, Some(when)).unwrap();
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
