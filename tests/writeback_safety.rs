//! Write-back keeps what a file is besides its bytes (FLAC, MP3 and WAV alike): its owner,
//! group and permissions (also through undo), and its hard links (a hard-linked file is rewritten in place, so every name
//! sees the new tags, and an in-place write cut short is still undone to the original bytes).
//! Temporary copies a killed run left beside the files are removed by the next run.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{WavFormat, ffmpeg};
use earmark::jobs::JobControl;
use earmark::library::Library;
use earmark::writeback::apply::ApplyReport;
use earmark::writeback::formats::{FileTags, detect};
use earmark::writeback::{self, Field, FieldSpec, Policy, Selection, WritebackOptions};
use synth::{scan_with_tiny_model, sound, write_stereo};

const GENRE: &str = "speech; rain";
/// An owner and group nobody on the test machine is (tests run as root, who may give files away).
const OTHER: u32 = 12_345;

struct Fixture {
    dir: tempfile::TempDir,
    music: PathBuf,
    lib: PathBuf,
    journals: PathBuf,
}

impl Fixture {
    fn file(&self, name: &str) -> PathBuf {
        self.music.join(name).canonicalize().unwrap()
    }
}

/// A FLAC, an MP3 and a WAV file, scanned and given the tags `speech` and `rain`.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let master = dir.path().join("master.wav");
    write_stereo(&master, &sound(2, 7, 1.0, 44_100), WavFormat::S16);
    ffmpeg(&master, &music.join("a.flac"), &["-c:a", "flac"]);
    ffmpeg(
        &master,
        &music.join("b.mp3"),
        &["-c:a", "libmp3lame", "-b:a", "128k"],
    );
    // A WAV as sample tools write it (no tag chunk yet): its tag goes into chunks of its own.
    std::fs::copy(&master, music.join("c.wav")).unwrap();
    let lib = dir.path().join("index.sqlite");
    scan_with_tiny_model(&music, &lib);
    let mut library = Library::open(&lib).unwrap();
    for f in library.all_known_files().unwrap() {
        let tags = vec![("speech".to_owned(), 0.9), ("rain".to_owned(), 0.7)];
        library.set_tags(f.id, "test", &tags).unwrap();
    }
    Fixture {
        journals: dir.path().join("journals"),
        lib,
        music,
        dir,
    }
}

fn options() -> WritebackOptions {
    WritebackOptions {
        fields: vec![FieldSpec::new(Field::Genre, vec!["test".into()], 0.5, 2)],
        policy: Policy::Keep,
        ..WritebackOptions::default()
    }
}

/// Plans and writes the genre of `files`.
fn write(fx: &Fixture, files: &[&Path]) -> ApplyReport {
    let mut lib = Library::open(&fx.lib).unwrap();
    let control = JobControl::new();
    let sel = Selection::Paths(files.iter().map(|p| p.to_path_buf()).collect());
    let opts = options();
    let plan = writeback::plan::plan(&lib, &opts, &sel, &mut |_| {}, &control).unwrap();
    assert_eq!(plan.to_write(), files.len(), "{plan:?}");
    let report =
        writeback::apply::apply(&mut lib, &plan, &opts, &fx.journals, &mut |_| {}, &control)
            .unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    report
}

fn undo(fx: &Fixture, journal: &Path) -> writeback::undo::UndoReport {
    let mut lib = Library::open(&fx.lib).unwrap();
    writeback::undo::undo(Some(&mut lib), journal, &mut |_| {}, &JobControl::new()).unwrap()
}

fn genre(p: &Path) -> Option<String> {
    let format = detect(&mut std::fs::File::open(p).unwrap()).unwrap();
    FileTags::read(&mut std::fs::File::open(p).unwrap(), format)
        .unwrap()
        .get(&Field::Genre)
}

/// (uid, gid, permission bits) of `p`.
fn owner(p: &Path) -> (u32, u32, u32) {
    let md = std::fs::metadata(p).unwrap();
    (md.uid(), md.gid(), md.mode() & 0o7777)
}

/// Gives `p` to `uid:gid`; false when this process may not (not run as root).
fn give(p: &Path, uid: u32, gid: u32) -> bool {
    match std::os::unix::fs::chown(p, Some(uid), Some(gid)) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            println!("skipped: giving files away needs root ({e})");
            false
        }
        Err(e) => panic!("chown: {e}"),
    }
}

#[test]
fn owner_group_and_permissions_survive_write_back_and_undo() {
    let fx = fixture();
    let flac = fx.file("a.flac");
    let mp3 = fx.file("b.mp3");
    for f in [&flac, &mp3] {
        if !give(f, OTHER, OTHER) {
            return;
        }
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let originals = [std::fs::read(&flac).unwrap(), std::fs::read(&mp3).unwrap()];
    let report = write(&fx, &[&flac, &mp3]);
    assert_eq!(report.written.len(), 2);
    for f in [&flac, &mp3] {
        assert_eq!(genre(f).as_deref(), Some(GENRE), "{}", f.display());
        assert_eq!(
            owner(f),
            (OTHER, OTHER, 0o640),
            "{} after writing",
            f.display()
        );
    }
    // Something else gives one file away meanwhile: undo gives it back as it was.
    assert!(give(&mp3, 0, 0));
    std::fs::set_permissions(&mp3, std::fs::Permissions::from_mode(0o600)).unwrap();
    let undone = undo(&fx, &report.journal.unwrap());
    assert_eq!(undone.restored.len(), 2, "{undone:?}");
    for (f, bytes) in [&flac, &mp3].into_iter().zip(&originals) {
        assert_eq!(
            &std::fs::read(f).unwrap(),
            bytes,
            "{} not restored",
            f.display()
        );
        assert_eq!(
            owner(f),
            (OTHER, OTHER, 0o640),
            "{} after undo",
            f.display()
        );
    }
}

#[test]
fn hard_linked_files_are_written_in_place_and_keep_their_links() {
    let fx = fixture();
    let elsewhere = fx.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let flac = fx.file("a.flac");
    let mp3 = fx.file("b.mp3");
    let wav = fx.file("c.wav");
    let mut links = Vec::new();
    for f in [&flac, &mp3, &wav] {
        let link = elsewhere.join(f.file_name().unwrap());
        std::fs::hard_link(f, &link).unwrap();
        links.push(link);
    }
    let inodes: Vec<u64> = [&flac, &mp3, &wav]
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().ino())
        .collect();
    let originals = [&flac, &mp3, &wav].map(|f| std::fs::read(f).unwrap());
    let report = write(&fx, &[&flac, &mp3, &wav]);
    assert_eq!(report.written.len(), 3);
    for ((f, link), ino) in [&flac, &mp3, &wav].into_iter().zip(&links).zip(&inodes) {
        let md = std::fs::metadata(f).unwrap();
        assert_eq!(
            (md.ino(), md.nlink()),
            (*ino, 2),
            "{} lost its link",
            f.display()
        );
        assert_eq!(std::fs::metadata(link).unwrap().ino(), *ino);
        assert_eq!(genre(f).as_deref(), Some(GENRE));
        assert_eq!(
            genre(link).as_deref(),
            Some(GENRE),
            "the other name sees it"
        );
    }
    let journal = report.journal.unwrap();
    let entries = writeback::journal::read(&journal).unwrap();
    assert!(
        entries.iter().all(|e| e.overwritten.is_some()),
        "{entries:?}"
    );
    // The library knows the files as written: a rescan finds nothing to analyse again.
    let mut lib = Library::open(&fx.lib).unwrap();
    for f in [&flac, &mp3, &wav] {
        let row = lib
            .all_known_files()
            .unwrap()
            .into_iter()
            .find(|k| Path::new(&k.path) == f.as_path())
            .unwrap();
        let md = std::fs::metadata(f).unwrap();
        let mtime_ns = md.mtime() * 1_000_000_000 + md.mtime_nsec();
        assert_eq!((row.size, row.mtime_ns), (md.len(), mtime_ns));
    }
    let undone =
        writeback::undo::undo(Some(&mut lib), &journal, &mut |_| {}, &JobControl::new()).unwrap();
    assert_eq!(undone.restored.len(), 3, "{undone:?}");
    for ((f, link), (ino, bytes)) in [&flac, &mp3, &wav]
        .into_iter()
        .zip(&links)
        .zip(inodes.iter().zip(&originals))
    {
        assert_eq!(&std::fs::read(link).unwrap(), bytes, "{}", link.display());
        let md = std::fs::metadata(f).unwrap();
        assert_eq!((md.ino(), md.nlink()), (*ino, 2));
    }
}

#[test]
fn an_in_place_write_cut_short_is_undone_to_the_original() {
    let fx = fixture();
    for name in ["b.mp3", "c.wav"] {
        let file = fx.file(name);
        std::fs::hard_link(&file, fx.dir.path().join(format!("link-{name}"))).unwrap();
        let original = std::fs::read(&file).unwrap();
        let report = write(&fx, &[&file]);
        let written = std::fs::read(&file).unwrap();
        assert_ne!(written, original);
        // A kill in the middle of the in-place write: the first half of what differs is new.
        let first = original
            .iter()
            .zip(&written)
            .take_while(|(a, b)| a == b)
            .count();
        let cut = first + (written.len() - first) / 2;
        let mut torn = original.clone();
        torn.resize(torn.len().max(cut), 0);
        torn[first..cut].copy_from_slice(&written[first..cut]);
        std::fs::write(&file, &torn).unwrap();
        let undone = undo(&fx, &report.journal.unwrap());
        assert_eq!(undone.restored.len(), 1, "{name}: {undone:?}");
        assert_eq!(std::fs::read(&file).unwrap(), original, "{name}");
        assert_eq!(std::fs::metadata(&file).unwrap().nlink(), 2, "{name}");
    }
}

#[test]
fn temporaries_left_by_a_killed_run_are_removed_by_the_next() {
    let fx = fixture();
    let flac = fx.file("a.flac");
    // What a run killed mid-write leaves: a full-size copy beside the file.
    let leftover = fx.music.join(".earmark-tags-Xk3q9z");
    std::fs::copy(&flac, &leftover).unwrap();
    let unrelated = fx.music.join(".earmark-notes");
    std::fs::write(&unrelated, b"keep me").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let report = write(&fx, &[&flac]);
    assert!(!leftover.exists(), "the leftover copy is still there");
    assert_eq!(report.removed_temporaries.len(), 1, "{report:?}");
    assert!(report.removed_temporaries[0].ends_with(".earmark-tags-Xk3q9z"));
    assert!(
        unrelated.exists(),
        "only write-back temporaries are removed"
    );
    // The next undo cleans up after a killed run too.
    std::fs::write(&leftover, b"partial").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let undone = undo(&fx, &report.journal.unwrap());
    assert_eq!(undone.restored.len(), 1);
    assert!(!leftover.exists());
    assert_eq!(undone.removed_temporaries.len(), 1);
    // A temporary newer than the run (another run's, being written) is left alone; the
    // function a scan can call removes the stale ones of a folder.
    std::fs::write(&leftover, b"being written").unwrap();
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
    assert!(writeback::replace::remove_stale_temporaries(&fx.music, long_ago).is_empty());
    assert!(leftover.exists());
    let later = SystemTime::now() + Duration::from_secs(1);
    let removed = writeback::replace::remove_stale_temporaries(&fx.music, later);
    assert_eq!(removed, vec![leftover.clone()]);
    let names: Vec<String> = std::fs::read_dir(&fx.music)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".earmark-tags-")),
        "{names:?}"
    );
}
