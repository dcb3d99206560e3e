//! Rewriting a file in place, through its own inode, where replacing it would change more than
//! its bytes: a file with several hard links (a rename would give only this name the new bytes
//! and split it from the others) or one whose owner Earmark may not give to a new file.
//!
//! Only the bytes that differ are written: from the first byte that differs to the end of the
//! file, or, when the length stays the same, to the last byte that differs. Before the file is
//! touched, the undo journal keeps the original bytes of that region ([`Overwritten`]), synced;
//! since nothing outside the region changes, the original can be rebuilt from the file in
//! whatever state a crash left it, half-written included.

use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::replace::Owner;

/// The original bytes an in-place write covers, kept so that any state of the file rebuilds
/// the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overwritten {
    /// Length of the original file.
    pub original_len: u64,
    /// Where the region starts; the bytes before it are never written.
    pub offset: u64,
    /// Bytes at the end that are never written either (only when the length stays the same).
    pub suffix: u64,
    /// The original bytes of the region, base64.
    pub bytes: String,
}

/// The bytes `now` and `want` have in common at the start, and (when they are as long) at the
/// end after that: the region between is what turning one into the other writes.
fn region(now: &[u8], want: &[u8]) -> (usize, usize) {
    let prefix = now.iter().zip(want).take_while(|(a, b)| a == b).count();
    let suffix = if now.len() == want.len() {
        now[prefix..]
            .iter()
            .rev()
            .zip(want[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count()
    } else {
        0
    };
    (prefix, suffix)
}

impl Overwritten {
    /// What writing `written` over `original` in place overwrites.
    pub fn between(original: &[u8], written: &[u8]) -> Self {
        let (offset, suffix) = region(original, written);
        Overwritten {
            original_len: original.len() as u64,
            offset: offset as u64,
            suffix: suffix as u64,
            bytes: data_encoding::BASE64.encode(&original[offset..original.len() - suffix]),
        }
    }

    /// Bytes of the original kept.
    pub fn kept_bytes(&self) -> u64 {
        self.original_len - self.offset - self.suffix
    }

    /// The original, rebuilt from the file as it is now (written, half-written or half-undone).
    pub fn rebuild(&self, current: &[u8]) -> Result<Vec<u8>, String> {
        let kept = data_encoding::BASE64
            .decode(self.bytes.as_bytes())
            .map_err(|e| format!("the journal's saved bytes are damaged: {e}"))?;
        let offset = usize::try_from(self.offset).map_err(|_| "offset too large")?;
        let suffix = usize::try_from(self.suffix).map_err(|_| "suffix too large")?;
        let fits = current.len() >= offset
            && (suffix == 0 || current.len() as u64 == self.original_len)
            && (offset + kept.len() + suffix) as u64 == self.original_len;
        if !fits {
            return Err("the journal's saved bytes do not fit the file".into());
        }
        let mut out = Vec::with_capacity(offset + kept.len() + suffix);
        out.extend_from_slice(&current[..offset]);
        out.extend_from_slice(&kept);
        out.extend_from_slice(&current[current.len() - suffix..]);
        Ok(out)
    }
}

/// Turns the file at `target`, which holds `now`, into `want` through its own inode: writes the
/// bytes that differ, sets the length, sets the modification time to `mtime` and the owner,
/// group and permissions to `owner` when given (as far as allowed), and syncs. Returns the
/// file's metadata afterwards.
pub fn rewrite(
    target: &Path,
    now: &[u8],
    want: &[u8],
    mtime: Option<SystemTime>,
    owner: Option<Owner>,
) -> Result<Metadata, String> {
    let file: File = OpenOptions::new()
        .write(true)
        .open(target)
        .map_err(|e| format!("cannot open the file for writing: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot read the file: {e}"))?
        .len();
    if len != now.len() as u64 {
        return Err("the file changed while being written; nothing written".into());
    }
    let (prefix, suffix) = region(now, want);
    let end = want.len() - suffix;
    file.write_all_at(&want[prefix..end], prefix as u64)
        .and_then(|()| {
            if want.len() == now.len() {
                Ok(())
            } else {
                file.set_len(want.len() as u64)
            }
        })
        .and_then(|()| match mtime {
            Some(t) => file.set_modified(t),
            None => Ok(()),
        })
        .map_err(|e| format!("cannot write the file in place: {e}"))?;
    if let Some(owner) = owner {
        // The bytes are what matters; an owner only an administrator could give back is left.
        let _ = owner.apply_to(&file);
    }
    file.sync_all()
        .map_err(|e| format!("cannot sync the file: {e}"))?;
    file.metadata()
        .map_err(|e| format!("cannot read the written file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every state a crash can leave between `from` and `to` when the region is written front
    /// to back (and the length set last).
    fn torn_states(from: &[u8], to: &[u8]) -> Vec<Vec<u8>> {
        let (prefix, suffix) = region(from, to);
        let end = to.len() - suffix;
        let mut out = Vec::new();
        for cut in prefix..=end {
            let mut t = from.to_vec();
            if t.len() < cut {
                t.resize(cut, 0);
            }
            t[prefix..cut].copy_from_slice(&to[prefix..cut]);
            out.push(t);
        }
        out.push(to.to_vec());
        out
    }

    #[test]
    fn the_original_is_rebuilt_from_any_half_written_state() {
        let original: Vec<u8> = (0..400u32).map(|i| (i * 31 % 251) as u8).collect();
        let cases: Vec<Vec<u8>> = vec![
            // Same length, a change in the middle.
            [&original[..50], b"TAGTAG".as_slice(), &original[56..]].concat(),
            // Grown at the front.
            [
                &original[..10],
                b"a longer tag block".as_slice(),
                &original[10..],
            ]
            .concat(),
            // Shrunk.
            [&original[..10], &original[40..]].concat(),
            // Unchanged.
            original.clone(),
        ];
        for written in cases {
            let kept = Overwritten::between(&original, &written);
            assert!(kept.kept_bytes() <= original.len() as u64);
            for torn in torn_states(&original, &written) {
                assert_eq!(kept.rebuild(&torn).unwrap(), original);
            }
            // An undo cut short is as recoverable as the write.
            for torn in torn_states(&written, &original) {
                assert_eq!(kept.rebuild(&torn).unwrap(), original);
            }
        }
    }

    #[test]
    fn rewriting_keeps_the_inode_and_every_link_sees_it() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.flac");
        let b = dir.path().join("b.flac");
        std::fs::write(&a, b"0123456789").unwrap();
        std::fs::hard_link(&a, &b).unwrap();
        let ino = std::fs::metadata(&a).unwrap().ino();
        let md = rewrite(&a, b"0123456789", b"01xx23456789", None, None).unwrap();
        assert_eq!((md.ino(), md.nlink(), md.len()), (ino, 2, 12));
        assert_eq!(std::fs::read(&b).unwrap(), b"01xx23456789");
        rewrite(&b, b"01xx23456789", b"0123", None, None).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"0123");
        let err = rewrite(&a, b"0123456789", b"x", None, None).unwrap_err();
        assert!(err.contains("changed"), "{err}");
    }
}
