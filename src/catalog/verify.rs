//! Checking a downloaded file before it is put in place: its size (the catalog's, else the
//! length the server announced) and its SHA-256 (when the catalog gives one).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The SHA-256 of a file as 64 lower-case hex digits.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Checks `path` against an expected size and SHA-256; `what` names the file in errors.
pub fn check(path: &Path, what: &str, size: Option<u64>, sha256: Option<&str>) -> Result<()> {
    let actual = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if let Some(want) = size
        && actual != want
    {
        return Err(Error::Download(format!(
            "{what}: received {actual} bytes, expected {want}; the file is not used"
        )));
    }
    if let Some(want) = sha256 {
        let got = sha256_file(path)?;
        if !got.eq_ignore_ascii_case(want) {
            return Err(Error::Download(format!(
                "{what}: SHA-256 {got} differs from the expected {want}; the file is not used"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        // FIPS 180-2, appendix B.1.
        let want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_file(&p).unwrap(), want);
        check(&p, "abc", Some(3), Some(want)).unwrap();
        assert!(
            check(&p, "abc", Some(4), None)
                .unwrap_err()
                .to_string()
                .contains("3 bytes")
        );
        let bad = want.replace("ba78", "0000");
        assert!(
            check(&p, "abc", None, Some(&bad))
                .unwrap_err()
                .to_string()
                .contains("SHA-256")
        );
    }
}
