//! The start-up program of Earmark's AppImage (type 2: this ELF program with a SquashFS image
//! appended). It needs no FUSE: on first start it unpacks the image once into a cache folder
//! named after the image (`$XDG_CACHE_HOME/earmark-appimage/KEY`, written under a temporary name
//! and renamed when complete), later starts reuse it, and it then runs the image's `AppRun` with
//! the AppImage variables set (`APPIMAGE`, `APPDIR`, `ARGV0`, `OWD`).
//!
//! Options of its own, as other AppImages have: `--appimage-extract [PATH]` (into
//! `./squashfs-root`), `--appimage-offset`, `--appimage-cache-dir`, `--appimage-version`,
//! `--appimage-help`. Every other argument goes to the application.

mod elf;
mod extract;

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsString;
use std::fs::{self, File};
use std::hash::Hasher;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The name of the marker file written last into a complete cache folder.
const COMPLETE: &str = ".complete";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("Earmark AppImage: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let image = std::env::current_exe()
        .map_err(|e| format!("cannot find the AppImage file itself: {e}"))?;
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = if args.is_empty() {
        OsString::from("earmark")
    } else {
        args.remove(0)
    };
    let offset = {
        let mut f =
            File::open(&image).map_err(|e| format!("cannot open {}: {e}", image.display()))?;
        elf::elf_size(&mut f).map_err(|e| e.to_string())?
    };

    match args.first().and_then(|a| a.to_str()) {
        Some("--appimage-help") => {
            println!(
                "Earmark AppImage\n\
                 \x20 --appimage-extract [PATH]  unpack the image (or the entries under PATH) into ./squashfs-root\n\
                 \x20 --appimage-offset          print where the image starts in this file\n\
                 \x20 --appimage-cache-dir       print the folder the application runs from\n\
                 \x20 --appimage-version         print this start-up program's version\n\
                 Any other arguments are passed to earmark."
            );
            return Ok(ExitCode::SUCCESS);
        }
        Some("--appimage-version") => {
            println!("earmark-appimage-runtime {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        Some("--appimage-offset") => {
            println!("{offset}");
            return Ok(ExitCode::SUCCESS);
        }
        Some("--appimage-cache-dir") => {
            println!("{}", cache_folder(&image, offset)?.display());
            return Ok(ExitCode::SUCCESS);
        }
        Some("--appimage-extract") => {
            let only = args.get(1).map(|a| a.to_string_lossy().into_owned());
            let dest = PathBuf::from("squashfs-root");
            let done = extract::extract(&image, offset, &dest, only.as_deref(), |p| {
                println!("{}", p.display())
            })
            .map_err(|e| e.to_string())?;
            eprintln!(
                "{} files, {} folders, {} links unpacked into {}",
                done.files,
                done.dirs,
                done.links,
                dest.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Some("--appimage-extract-and-run") => {
            // What this runtime always does; accepted for compatibility.
            args.remove(0);
        }
        _ => {}
    }

    let mut appdir = unpacked(&image, offset)?;
    if !appdir.join("AppRun").is_file() {
        // Something removed files from the cache folder: unpack it again.
        let _ = fs::remove_dir_all(&appdir);
        appdir = unpacked(&image, offset)?;
    }
    let owd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let error = Command::new(appdir.join("AppRun"))
        .args(&args)
        .env("APPIMAGE", &image)
        .env("APPDIR", &appdir)
        .env("ARGV0", &argv0)
        .env("OWD", owd)
        .exec();
    Err(format!(
        "cannot start {}: {error}",
        appdir.join("AppRun").display()
    ))
}

/// A key that changes with every image: the file's length, the SquashFS superblock (its
/// creation time and table positions) and the image's last 64 KiB (its inode and folder tables).
fn image_key(image: &Path, offset: u64) -> Result<u64, String> {
    let read = |e: std::io::Error| format!("cannot read {}: {e}", image.display());
    let mut f = File::open(image).map_err(read)?;
    let len = f.metadata().map_err(read)?.len();
    let mut superblock = [0u8; 96];
    f.seek(SeekFrom::Start(offset)).map_err(read)?;
    f.read_exact(&mut superblock)
        .map_err(|_| format!("{} holds no image after the program", image.display()))?;
    let tail_start = len.saturating_sub(64 * 1024).max(offset);
    let mut tail = Vec::new();
    f.seek(SeekFrom::Start(tail_start)).map_err(read)?;
    f.read_to_end(&mut tail).map_err(read)?;
    let mut h = DefaultHasher::new();
    h.write_u64(len);
    h.write(&superblock);
    h.write(&tail);
    Ok(h.finish())
}

/// The folders the image may be unpacked under, in order of preference.
fn cache_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        roots.push(PathBuf::from(dir));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        roots.push(PathBuf::from(home).join(".cache"));
    }
    roots.push(std::env::temp_dir());
    roots
        .into_iter()
        .map(|r| r.join("earmark-appimage"))
        .collect()
}

/// Where this image runs from: the first cache root that exists or can be made.
fn cache_folder(image: &Path, offset: u64) -> Result<PathBuf, String> {
    let key = format!("{:016x}", image_key(image, offset)?);
    for root in cache_roots() {
        if fs::create_dir_all(&root).is_ok() {
            return Ok(root.join(key));
        }
    }
    Err("no writable folder to unpack the application into (tried $XDG_CACHE_HOME, ~/.cache and the temporary folder)".into())
}

/// The unpacked application, unpacking it first when this image was never run here.
fn unpacked(image: &Path, offset: u64) -> Result<PathBuf, String> {
    let folder = cache_folder(image, offset)?;
    if folder.join(COMPLETE).exists() {
        return Ok(folder);
    }
    let root = folder.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = root.join(format!("{name}.partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    eprintln!(
        "Earmark AppImage: unpacking into {} (first start of this version)",
        folder.display()
    );
    let result = extract::extract(image, offset, &partial, None, |_| {})
        .map_err(|e| e.to_string())
        .and_then(|_| {
            fs::write(partial.join(COMPLETE), b"")
                .map_err(|e| format!("cannot write into {}: {e}", partial.display()))
        });
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&partial);
        return Err(e);
    }
    if fs::rename(&partial, &folder).is_err() {
        // Another start finished first (or a broken folder is in the way): use a complete one.
        let _ = fs::remove_dir_all(&partial);
        if !folder.join(COMPLETE).exists() {
            return Err(format!("cannot set up {}", folder.display()));
        }
    }
    remove_other_versions(&root, &name);
    Ok(folder)
}

/// Frees the space of other images' complete folders (older versions), and of partial folders
/// whose process is gone.
fn remove_other_versions(root: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == keep {
            continue;
        }
        let stale = match name.split_once(".partial-") {
            Some((_, pid)) => !Path::new("/proc").join(pid).exists(),
            None => entry.path().join(COMPLETE).exists(),
        };
        if stale {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
