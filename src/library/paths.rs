//! File paths as the index stores them. A path that is valid UTF-8 is stored as its text; any
//! other (a Unix file name with bytes that are not UTF-8) is stored losslessly as its raw bytes
//! (`files.path_bytes`) beside a readable, unique text form in which each byte that is not
//! UTF-8 reads `\xNN`. Whatever opens a file goes through [`disk_path`], so such files are
//! decoded from their real path.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// A path as stored: its text (always) and its raw bytes when the text is not the path itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPath {
    /// The `files.path` text.
    pub text: String,
    /// The `files.path_bytes` blob: `Some` only when the path is not valid UTF-8.
    pub bytes: Option<Vec<u8>>,
}

/// How `path` is stored.
pub fn stored(path: &Path) -> StoredPath {
    match path.to_str() {
        Some(text) => StoredPath {
            text: text.to_owned(),
            bytes: None,
        },
        None => {
            let bytes = os_bytes(path.as_os_str());
            StoredPath {
                text: escaped(&bytes),
                bytes: Some(bytes),
            }
        }
    }
}

/// The real path of a stored row: its raw bytes when it has them, else its text.
pub fn disk_path(text: &str, bytes: Option<&[u8]>) -> PathBuf {
    match bytes {
        Some(b) => PathBuf::from(from_bytes(b)),
        None => PathBuf::from(text),
    }
}

/// Readable text of bytes that are not all UTF-8: valid runs as they are, other bytes `\xNN`.
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// The bytes of an OS string (its lossy UTF-8 where the platform has no byte form).
pub fn os_bytes(s: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        s.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().into_owned().into_bytes()
    }
}

fn from_bytes(b: &[u8]) -> OsString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        OsStr::from_bytes(b).to_os_string()
    }
    #[cfg(not(unix))]
    {
        OsString::from(String::from_utf8_lossy(b).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_paths_are_stored_as_text() {
        let s = stored(Path::new("/music/été.flac"));
        assert_eq!(s.text, "/music/été.flac");
        assert!(s.bytes.is_none());
        assert_eq!(disk_path(&s.text, None), PathBuf::from("/music/été.flac"));
    }

    #[cfg(unix)]
    #[test]
    fn other_paths_keep_their_bytes_and_read_escaped() {
        use std::os::unix::ffi::OsStrExt;
        let raw = b"/music/caf\xe9 \xff.wav";
        let p = Path::new(OsStr::from_bytes(raw));
        let s = stored(p);
        assert_eq!(s.text, "/music/caf\\xE9 \\xFF.wav");
        assert_eq!(s.bytes.as_deref(), Some(&raw[..]));
        assert_eq!(disk_path(&s.text, s.bytes.as_deref()), p);
    }
}
