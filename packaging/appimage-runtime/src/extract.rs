//! Unpacking the SquashFS image that follows the program: regular files with their permission
//! bits, directories and symbolic links, never outside the destination folder.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};

use backhand::{FilesystemReader, InnerNode};

/// Why unpacking failed.
#[derive(Debug)]
pub enum ExtractError {
    /// The image could not be opened or read as SquashFS.
    Image(String),
    /// Writing a file or folder failed.
    Write(PathBuf, io::Error),
    /// The image names a path that would land outside the destination.
    UnsafePath(PathBuf),
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::Image(why) => write!(f, "the bundled image is unreadable: {why}"),
            ExtractError::Write(path, e) => write!(f, "cannot write {}: {e}", path.display()),
            ExtractError::UnsafePath(p) => {
                write!(f, "the image names an unsafe path {}", p.display())
            }
        }
    }
}

impl std::error::Error for ExtractError {}

/// What an unpacking wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Regular files written.
    pub files: usize,
    /// Folders created.
    pub dirs: usize,
    /// Symbolic links created.
    pub links: usize,
    /// Device nodes, pipes and sockets, which are never created.
    pub skipped: usize,
}

/// The path of an image entry (`/usr/bin/x`) below `dest`, or `None` for the root itself.
fn target_of(dest: &Path, entry: &Path) -> Result<Option<PathBuf>, ExtractError> {
    let mut relative = PathBuf::new();
    for part in entry.components() {
        match part {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => relative.push(name),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(ExtractError::UnsafePath(entry.to_path_buf()));
            }
        }
    }
    Ok((!relative.as_os_str().is_empty()).then(|| dest.join(relative)))
}

/// Unpacks the SquashFS image found at byte `offset` of `image` into `dest` (created if
/// missing). Only entries whose path inside the image starts with `only` are written, when
/// given; `on_entry` sees each written path.
pub fn extract(
    image: &Path,
    offset: u64,
    dest: &Path,
    only: Option<&str>,
    mut on_entry: impl FnMut(&Path),
) -> Result<Extracted, ExtractError> {
    let file = File::open(image).map_err(|e| ExtractError::Image(e.to_string()))?;
    let fs = FilesystemReader::from_reader_with_offset(BufReader::new(file), offset)
        .map_err(|e| ExtractError::Image(e.to_string()))?;
    let write_err = |p: &Path| {
        let p = p.to_path_buf();
        move |e| ExtractError::Write(p, e)
    };
    fs::create_dir_all(dest).map_err(write_err(dest))?;
    let mut done = Extracted::default();
    // Folder permissions are set last, so a read-only folder can still be filled.
    let mut dir_modes = Vec::new();
    for node in fs.files() {
        if let Some(prefix) = only {
            let inside = node.fullpath.to_string_lossy();
            if !inside
                .trim_start_matches('/')
                .starts_with(prefix.trim_start_matches('/'))
            {
                continue;
            }
        }
        let Some(target) = target_of(dest, &node.fullpath)? else {
            continue;
        };
        let mode = u32::from(node.header.permissions) & 0o7777;
        match &node.inner {
            InnerNode::Dir(_) => {
                fs::create_dir_all(&target).map_err(write_err(&target))?;
                dir_modes.push((target.clone(), mode));
                done.dirs += 1;
            }
            InnerNode::File(entry) => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(write_err(parent))?;
                }
                let _ = fs::remove_file(&target);
                let mut out = BufWriter::new(File::create(&target).map_err(write_err(&target))?);
                let mut reader = fs
                    .file(entry)
                    .reader_checked()
                    .map_err(|e| ExtractError::Image(e.to_string()))?;
                io::copy(&mut reader, &mut out).map_err(write_err(&target))?;
                out.into_inner()
                    .map_err(|e| ExtractError::Write(target.clone(), e.into_error()))?;
                fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                    .map_err(write_err(&target))?;
                done.files += 1;
            }
            InnerNode::Symlink(link) => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(write_err(parent))?;
                }
                let _ = fs::remove_file(&target);
                symlink(&link.link, &target).map_err(write_err(&target))?;
                done.links += 1;
            }
            _ => {
                done.skipped += 1;
                continue;
            }
        }
        on_entry(&target);
    }
    for (dir, mode) in dir_modes.into_iter().rev() {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(write_err(&dir))?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use backhand::compression::Compressor;
    use backhand::{FilesystemCompressor, FilesystemWriter, NodeHeader};
    use std::io::{Cursor, Write};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn scratch(name: &str) -> io::Result<PathBuf> {
        let dir =
            std::env::temp_dir().join(format!("earmark-runtime-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// A program followed by a SquashFS image holding an executable script, a data file, a
    /// symbolic link and nested folders: the layout of an AppImage.
    fn fake_appimage(path: &Path) -> Result<u64, Box<dyn std::error::Error>> {
        let mut image = FilesystemWriter::default();
        image.set_compressor(FilesystemCompressor::new(Compressor::Zstd, None)?);
        let dir = NodeHeader::new(0o755, 0, 0, 0);
        image.push_dir_all("usr/bin", dir)?;
        image.push_file(
            Cursor::new(b"#!/bin/sh\necho hello\n".to_vec()),
            "AppRun",
            NodeHeader::new(0o755, 0, 0, 0),
        )?;
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        image.push_file(
            Cursor::new(data),
            "usr/bin/data.bin",
            NodeHeader::new(0o644, 0, 0, 0),
        )?;
        image.push_symlink(
            "usr/bin/data.bin",
            "link.bin",
            NodeHeader::new(0o777, 0, 0, 0),
        )?;
        let mut squashfs = Cursor::new(Vec::new());
        image.write(&mut squashfs)?;
        let program = fs::read(std::env::current_exe()?)?;
        let mut out = File::create(path)?;
        out.write_all(&program)?;
        out.write_all(squashfs.get_ref())?;
        Ok(program.len() as u64)
    }

    #[test]
    fn unpacks_files_modes_folders_and_links() -> TestResult {
        let dir = scratch("unpack")?;
        let appimage = dir.join("App.AppImage");
        let offset = fake_appimage(&appimage)?;
        assert_eq!(crate::elf::elf_size(&mut File::open(&appimage)?)?, offset);

        let dest = dir.join("out");
        let mut seen = Vec::new();
        let done = extract(&appimage, offset, &dest, None, |p| {
            seen.push(p.to_path_buf())
        })?;
        assert_eq!((done.files, done.links, done.skipped), (2, 1, 0));
        assert!(done.dirs >= 2, "{done:?}");
        assert_eq!(seen.len(), done.files + done.links + done.dirs);

        assert_eq!(fs::read(dest.join("AppRun"))?, b"#!/bin/sh\necho hello\n");
        let mode = fs::metadata(dest.join("AppRun"))?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        let data = fs::read(dest.join("usr/bin/data.bin"))?;
        assert_eq!(data.len(), 300_000);
        assert!(
            data.iter()
                .enumerate()
                .all(|(i, &b)| b == (i as u32 * 7 % 251) as u8)
        );
        assert_eq!(
            fs::metadata(dest.join("usr/bin/data.bin"))?
                .permissions()
                .mode()
                & 0o777,
            0o644
        );
        assert_eq!(
            fs::read_link(dest.join("link.bin"))?,
            PathBuf::from("usr/bin/data.bin")
        );
        let out = std::process::Command::new(dest.join("AppRun")).output()?;
        assert_eq!(out.stdout, b"hello\n");

        // Only a part, as `--appimage-extract usr/` does.
        let part = dir.join("part");
        let done = extract(&appimage, offset, &part, Some("usr/"), |_| {})?;
        assert_eq!(done.files, 1);
        assert!(part.join("usr/bin/data.bin").exists() && !part.join("AppRun").exists());
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_wrong_offset_or_a_missing_image_is_an_error() -> TestResult {
        let dir = scratch("bad")?;
        let appimage = dir.join("App.AppImage");
        let offset = fake_appimage(&appimage)?;
        let dest = dir.join("out");
        assert!(matches!(
            extract(&appimage, offset + 4, &dest, None, |_| {}),
            Err(ExtractError::Image(_))
        ));
        let program = std::env::current_exe()?;
        assert!(matches!(
            extract(&program, 0, &dest, None, |_| {}),
            Err(ExtractError::Image(_))
        ));
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn paths_cannot_climb_out_of_the_destination() {
        let dest = Path::new("/tmp/dest");
        assert_eq!(
            target_of(dest, Path::new("/usr/bin/earmark"))
                .ok()
                .flatten(),
            Some(PathBuf::from("/tmp/dest/usr/bin/earmark"))
        );
        assert_eq!(target_of(dest, Path::new("/")).ok().flatten(), None);
        assert!(matches!(
            target_of(dest, Path::new("/usr/../../etc/passwd")),
            Err(ExtractError::UnsafePath(_))
        ));
    }
}
