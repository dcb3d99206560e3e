//! Labelled audio for an evaluation: a folder whose subfolders name the classes, or a CSV file
//! of `path,label` rows (a header row `path,label` is optional; relative paths are relative to
//! the CSV file's folder).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::library::walk::{WalkOptions, audio_files};

/// One labelled file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledFile {
    /// The audio file.
    pub path: PathBuf,
    /// Its class.
    pub label: String,
}

/// Audio files under each subfolder of `dir` (recursively), labelled with the subfolder's name.
/// Files directly in `dir` and hidden folders are ignored.
pub fn from_folders(dir: &Path) -> Result<Vec<LabelledFile>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut classes = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !name.starts_with('.') {
            classes.push((name, entry.path()));
        }
    }
    classes.sort();
    let mut out = Vec::new();
    for (label, sub) in classes {
        let (mut files, _) = audio_files(&sub, WalkOptions::default());
        files.sort_by(|a, b| a.path.cmp(&b.path));
        out.extend(files.into_iter().map(|f| LabelledFile {
            path: f.os_path,
            label: label.clone(),
        }));
    }
    if out.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{}: no audio files in subfolders (each subfolder's name is a class)",
            dir.display()
        )));
    }
    Ok(out)
}

/// The rows of a `path,label` CSV file.
pub fn from_csv(csv_path: &Path) -> Result<Vec<LabelledFile>> {
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(csv_path)
        .map_err(|e| Error::InvalidInput(format!("{}: {e}", csv_path.display())))?;
    let mut out = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| Error::InvalidInput(format!("{}: {e}", csv_path.display())))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if line == 0 && record.get(0) == Some("path") && record.get(1) == Some("label") {
            continue;
        }
        let (Some(path), Some(label), 2) = (record.get(0), record.get(1), record.len()) else {
            return Err(Error::InvalidInput(format!(
                "{} line {}: expected `path,label`",
                csv_path.display(),
                line + 1
            )));
        };
        if path.is_empty() || label.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{} line {}: empty path or label",
                csv_path.display(),
                line + 1
            )));
        }
        out.push(LabelledFile {
            path: base.join(path),
            label: label.to_owned(),
        });
    }
    if out.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{}: no `path,label` rows",
            csv_path.display()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_header_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.csv");
        std::fs::write(&p, "path,label\na.wav,dog\n/abs/b.flac, cat\n\n").unwrap();
        let rows = from_csv(&p).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].path, dir.path().join("a.wav"));
        assert_eq!(
            (rows[1].path.as_path(), rows[1].label.as_str()),
            (Path::new("/abs/b.flac"), "cat")
        );
        std::fs::write(&p, "a.wav,dog,extra\n").unwrap();
        assert!(from_csv(&p).unwrap_err().to_string().contains("line 1"));
    }

    #[cfg(unix)]
    #[test]
    fn folder_files_with_non_utf8_names_keep_their_real_path() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dog")).unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.wav");
        let file = dir.path().join("dog").join(name);
        std::fs::write(&file, b"RIFF").unwrap();
        let rows = from_folders(dir.path()).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].path.is_file(), "{}", rows[0].path.display());
        assert_eq!(rows[0].path.file_name(), Some(name));
    }
}
