//! The library never loses what the user made (issue 15, items 1, 2, 7, 8, 10, 11): a root
//! whose files all vanished is offline, not emptied; a file gone from disk is a tombstone whose
//! examples re-attach when its content reappears — at another path, under another root; names
//! that are not UTF-8 are indexed; problems are printed when output is not a terminal;
//! concurrent first opens agree; a file that is not an Earmark library is refused untouched and
//! a library that cannot be written still reads.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::WavFormat;
use earmark::library::examples::ExampleSource;
use earmark::library::walk::WalkOptions;
use earmark::library::{Access, Library};
use synth::{canon, sound, tiny_model, write_stereo};

/// Writes `n` short distinct WAVs under `root`; returns their paths.
fn write_files(root: &Path, n: usize, seed: u64) -> Vec<PathBuf> {
    std::fs::create_dir_all(root).unwrap();
    (0..n)
        .map(|i| {
            let p = root.join(format!("s{i}.wav"));
            write_stereo(
                &p,
                &sound(i % 5, seed + i as u64, 0.6, 44_100),
                WavFormat::S16,
            );
            p
        })
        .collect()
}

fn reconcile(lib: &mut Library, root: &Path) -> earmark::library::walk::Reconciled {
    lib.reconcile_root(root, WalkOptions::default()).unwrap().1
}

fn id_of(lib: &Library, path: &Path) -> i64 {
    lib.file_by_path(&canon(path)).unwrap().unwrap().0
}

fn run(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[test]
fn an_emptied_root_is_offline_and_keeps_every_example() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("drive");
    let files = write_files(&root, 3, 10);
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    assert_eq!(reconcile(&mut lib, &root).new.len(), 3);
    let id = id_of(&lib, &files[0]);
    lib.add_example("warm", id, None, true, ExampleSource::Manual)
        .unwrap();
    lib.add_example(
        "warm",
        id_of(&lib, &files[1]),
        None,
        false,
        ExampleSource::Review,
    )
    .unwrap();

    // The drive is not mounted: its folder is there but empty.
    let away = dir.path().join("away");
    std::fs::rename(&root, &away).unwrap();
    std::fs::create_dir(&root).unwrap();
    let r = reconcile(&mut lib, &root);
    assert!(r.offline.is_some(), "{r:?}");
    assert!(r.removed.is_empty() && r.new.is_empty(), "{r:?}");
    assert_eq!(lib.status().unwrap().files, 3, "nothing removed");
    assert_eq!(lib.status().unwrap().offline_roots, 1);
    assert!(lib.root_states().unwrap()[0].offline_since.is_some());
    assert_eq!(lib.examples(None).unwrap().len(), 2);

    // The folder itself is gone: offline too, not an error.
    std::fs::remove_dir(&root).unwrap();
    let r = reconcile(&mut lib, &root);
    assert!(r.offline.is_some(), "{r:?}");
    assert_eq!(lib.examples(None).unwrap().len(), 2);

    // The drive comes back: everything is as it was.
    std::fs::rename(&away, &root).unwrap();
    let r = reconcile(&mut lib, &root);
    assert!(r.offline.is_none(), "{r:?}");
    assert_eq!(r.unchanged, 3, "{r:?}");
    assert_eq!(lib.status().unwrap().offline_roots, 0);
    let ex = lib.examples(Some("warm")).unwrap();
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].file_id, id);
    assert_eq!(ex[0].path, canon(&files[0]));
}

#[test]
fn a_deleted_file_is_a_tombstone_whose_example_reattaches_at_another_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let files = write_files(&root, 3, 20);
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    reconcile(&mut lib, &root);
    let id = id_of(&lib, &files[0]);
    lib.add_example("warm", id, None, true, ExampleSource::Manual)
        .unwrap();
    let before = canon(&files[0]);

    let kept = dir.path().join("kept.wav");
    std::fs::rename(&files[0], &kept).unwrap();
    let r = reconcile(&mut lib, &root);
    assert_eq!(r.removed, vec![before.clone()]);
    let s = lib.status().unwrap();
    assert_eq!((s.files, s.missing), (2, 1), "a tombstone, not a live file");
    assert!(lib.file_by_path(&before).unwrap().is_none());
    assert!(lib.export_rows().unwrap().iter().all(|r| r.path != before));
    let ex = lib.examples(None).unwrap();
    assert_eq!(ex.len(), 1, "the example is kept");
    assert!(ex[0].missing);

    // Back, at another path: the tombstone is revived there, the example with it.
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let back = root.join("sub/renamed.wav");
    std::fs::rename(&kept, &back).unwrap();
    let r = reconcile(&mut lib, &root);
    assert_eq!(r.moved, vec![(before, canon(&back))], "{r:?}");
    assert!(r.new.is_empty());
    assert_eq!(id_of(&lib, &back), id);
    let ex = lib.examples(None).unwrap();
    assert_eq!((ex[0].file_id, ex[0].path.clone()), (id, canon(&back)));
    assert!(!ex[0].missing);
    assert_eq!(lib.status().unwrap().missing, 0);

    // Gone again and back at its first path: restored.
    std::fs::rename(&back, &kept).unwrap();
    reconcile(&mut lib, &root);
    std::fs::rename(&kept, &back).unwrap();
    let r = reconcile(&mut lib, &root);
    assert_eq!(r.restored, vec![canon(&back)], "{r:?}");
    assert_eq!(lib.examples_of_file(id).unwrap().len(), 1);
}

#[test]
fn a_file_that_cannot_be_read_now_is_not_taken_for_gone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let files = write_files(&root, 2, 25);
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    reconcile(&mut lib, &root);
    let stored = canon(&files[0]);
    let id = id_of(&lib, &files[0]);
    // Its path now leads to a drive that is not mounted (a dangling link).
    std::fs::remove_file(&files[0]).unwrap();
    std::os::unix::fs::symlink(dir.path().join("unmounted/s0.wav"), &files[0]).unwrap();
    let r = reconcile(&mut lib, &root);
    assert!(r.removed.is_empty(), "{r:?}");
    assert_eq!(r.walk_problems.len(), 1, "{r:?}");
    assert_eq!(lib.file_by_path(&stored).unwrap().unwrap().0, id);
    assert_eq!(lib.status().unwrap().files, 2);
}

#[test]
fn tombstones_are_purged_after_the_grace_period_unless_they_hold_examples() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let files = write_files(&root, 3, 30);
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    reconcile(&mut lib, &root);
    let with_example = id_of(&lib, &files[0]);
    lib.add_example("warm", with_example, None, true, ExampleSource::Manual)
        .unwrap();
    std::fs::remove_file(&files[0]).unwrap();
    std::fs::remove_file(&files[1]).unwrap();
    assert_eq!(reconcile(&mut lib, &root).removed.len(), 2);
    // Within the grace period nothing goes.
    assert_eq!(lib.purge_tombstones(0).unwrap(), 0);
    assert_eq!(lib.status().unwrap().missing, 2);
    // Past it, only the tombstone without examples goes.
    assert_eq!(lib.purge_tombstones(i64::MAX).unwrap(), 1);
    assert_eq!(lib.status().unwrap().missing, 1);
    assert_eq!(lib.examples(None).unwrap().len(), 1);
}

#[test]
fn a_file_moved_to_another_root_keeps_its_examples_in_either_scan_order() {
    for a_first in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let files = write_files(&a, 2, 40);
        write_files(&b, 1, 90);
        let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
        reconcile(&mut lib, &a);
        reconcile(&mut lib, &b);
        let id = id_of(&lib, &files[0]);
        lib.add_example("warm", id, None, true, ExampleSource::Manual)
            .unwrap();
        let from = canon(&files[0]);
        let to = b.join("moved.wav");
        std::fs::rename(&files[0], &to).unwrap();
        if a_first {
            assert_eq!(reconcile(&mut lib, &a).removed, vec![from.clone()]);
        }
        let r = reconcile(&mut lib, &b);
        assert_eq!(r.moved, vec![(from.clone(), canon(&to))], "{r:?}");
        assert!(r.new.is_empty(), "{r:?}");
        let r = reconcile(&mut lib, &a);
        assert!(r.removed.is_empty() && r.offline.is_none(), "{r:?}");
        assert_eq!(id_of(&lib, &to), id, "same row, a_first = {a_first}");
        assert_eq!(lib.examples_of_file(id).unwrap()[0].path, canon(&to));
        assert_eq!(lib.status().unwrap().files, 3);
    }
}

#[test]
fn a_copy_in_another_root_is_new_and_the_original_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let files = write_files(&a, 2, 50);
    write_files(&b, 1, 95);
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    reconcile(&mut lib, &a);
    reconcile(&mut lib, &b);
    let copy = b.join("copy.wav");
    std::fs::copy(&files[0], &copy).unwrap();
    let r = reconcile(&mut lib, &b);
    assert_eq!(r.new, vec![canon(&copy)]);
    assert!(r.moved.is_empty());
    assert!(lib.file_by_path(&canon(&files[0])).unwrap().is_some());
}

fn scan_cmd(lib: &Path, root: &Path, json: bool) -> Output {
    let model = tiny_model();
    let mut args = vec![
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--library"),
        lib.as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
    ];
    if json {
        args.push(OsStr::new("--json"));
    }
    run(&args)
}

#[test]
fn the_cli_keeps_tag_examples_across_an_unmounted_drive() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("drive");
    let files = write_files(&root, 3, 60);
    let lib = dir.path().join("lib.sqlite");
    assert!(scan_cmd(&lib, &root, false).status.success());
    let lib_s = lib.as_os_str();
    let add = run(&[
        OsStr::new("tag"),
        OsStr::new("add"),
        OsStr::new("warm"),
        files[0].as_os_str(),
        OsStr::new("--library"),
        lib_s,
        OsStr::new("--model"),
        tiny_model().as_os_str(),
    ]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    let list = || {
        let o = run(&[
            OsStr::new("tag"),
            OsStr::new("list"),
            OsStr::new("--json"),
            OsStr::new("--library"),
            lib_s,
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array().unwrap().len()
    };
    assert_eq!(list(), 1);
    let away = dir.path().join("away");
    std::fs::rename(&root, &away).unwrap();
    std::fs::create_dir(&root).unwrap();
    let o = scan_cmd(&lib, &root, false);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("offline"), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("offline"), "{}", text(&o.stderr));
    let status = run(&[OsStr::new("status"), OsStr::new("--library"), lib_s]);
    assert!(
        text(&status.stdout).contains("(offline"),
        "{}",
        text(&status.stdout)
    );
    assert_eq!(list(), 1);
    std::fs::remove_dir(&root).unwrap();
    std::fs::rename(&away, &root).unwrap();
    assert!(scan_cmd(&lib, &root, false).status.success());
    assert_eq!(list(), 1, "the example survived");
    let status = run(&[OsStr::new("status"), OsStr::new("--library"), lib_s]);
    assert!(!text(&status.stdout).contains("(offline"));
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_are_indexed_and_analysed() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    write_files(&root, 1, 70);
    let odd = root.join(OsStr::from_bytes(b"caf\xe9 \xff.wav"));
    write_stereo(&odd, &sound(2, 7, 0.6, 44_100), WavFormat::S16);
    let lib = dir.path().join("lib.sqlite");
    let o = scan_cmd(&lib, &root, true);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["analysed"].as_array().unwrap().len(), 2, "{report}");
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    let lib = Library::open(&lib).unwrap();
    let s = lib.status().unwrap();
    assert_eq!((s.files, s.indexed), (2, 2));
    let shown = format!("{}/caf\\xE9 \\xFF.wav", canon(&root));
    assert!(lib.export_rows().unwrap().iter().any(|r| r.path == shown));
    let (id, _) = lib.file_by_path(&shown).unwrap().unwrap();
    let real = lib.disk_path(id).unwrap().unwrap();
    assert_eq!(real, odd.canonicalize().unwrap(), "opened by its real name");
    // A rescan sees it unchanged (not new again, not missing).
    let o = scan_cmd(lib.path().unwrap(), &root, true);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["roots"][0]["unchanged"], 2, "{report}");
}

#[test]
fn scan_output_off_a_terminal_names_every_failure_and_walk_problem() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    write_files(&root, 2, 80);
    let broken: Vec<PathBuf> = (0..3)
        .map(|i| {
            let p = root.join(format!("broken{i}.wav"));
            std::fs::write(&p, format!("not audio {i}")).unwrap();
            p
        })
        .collect();
    std::os::unix::fs::symlink(&root, root.join("loop")).unwrap();
    let o = scan_cmd(&dir.path().join("lib.sqlite"), &root, false);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    for b in &broken {
        let line = format!("error: {}: ", canon(b));
        assert_eq!(err.matches(&line).count(), 1, "{line} in:\n{err}");
    }
    assert!(
        err.lines()
            .any(|l| l.starts_with("walk problem:") && l.contains("loop")),
        "{err}"
    );
    let out = text(&o.stdout);
    assert!(out.contains("2 analysed, 3 failed"), "{out}");
    assert!(out.contains("1 walk problems"), "{out}");
}

#[test]
fn concurrent_first_opens_of_a_new_library_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..12 {
        let path = dir.path().join(format!("r{round}/lib.sqlite"));
        let barrier = std::sync::Barrier::new(8);
        let results: Vec<Result<(), String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        let lib = Library::open(&path).map_err(|e| e.to_string())?;
                        lib.ensure_root("/r").map_err(|e| e.to_string())?;
                        lib.status().map(|_| ()).map_err(|e| e.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in results {
            r.unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        let lib = Library::open(&path).unwrap();
        assert_eq!(lib.roots().unwrap().len(), 1);
        assert_eq!(lib.integrity_check().unwrap(), vec!["ok".to_string()]);
    }
}

#[test]
fn concurrent_processes_opening_a_new_library_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..4 {
        let path = dir.path().join(format!("p{round}.sqlite"));
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_earmark"))
                    .args([
                        OsStr::new("status"),
                        OsStr::new("--library"),
                        path.as_os_str(),
                    ])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "round {round}: {}", text(&o.stderr));
        }
    }
}

/// `earmark status --library path` must fail, name the problem and leave the bytes alone.
fn assert_refused(path: &Path, want: &str) {
    let before = std::fs::read(path).unwrap();
    let o = run(&[
        OsStr::new("status"),
        OsStr::new("--library"),
        path.as_os_str(),
    ]);
    assert!(!o.status.success(), "{} was accepted", path.display());
    let err = text(&o.stderr);
    assert!(
        err.contains("not an Earmark library") && err.contains(want),
        "{err}"
    );
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "{} was modified",
        path.display()
    );
    // Opening through the library API is refused the same way.
    assert!(Library::open(path).is_err());
    assert_eq!(std::fs::read(path).unwrap(), before);
}

#[test]
fn files_that_are_not_earmark_libraries_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("other.sqlite");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('keep me');")
            .unwrap();
    }
    assert_refused(&foreign, "without Earmark's tables");
    let stamped = dir.path().join("stamped.sqlite");
    {
        let c = rusqlite::Connection::open(&stamped).unwrap();
        c.execute_batch("PRAGMA application_id = 1234; CREATE TABLE roots(x); CREATE TABLE files(y); PRAGMA user_version = 3;")
            .unwrap();
    }
    assert_refused(&stamped, "another program");
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "shopping list\n").unwrap();
    assert_refused(&text_file, "not a SQLite database");
    let empty = dir.path().join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    assert_refused(&empty, "empty");
}

#[test]
fn a_read_only_library_is_read_and_refuses_writes_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    write_files(&root, 2, 85);
    let path = dir.path().join("lib.sqlite");
    {
        let mut lib = Library::open(&path).unwrap();
        reconcile(&mut lib, &root);
    }
    // Forced read-only: reads work, a write says the library is read-only, nothing changes.
    let before = std::fs::read(&path).unwrap();
    let lib = Library::open_read_only(&path).unwrap();
    assert_eq!(lib.access(), Access::ReadOnly);
    assert_eq!(lib.status().unwrap().files, 2);
    let e = lib.set_setting("k", "v").unwrap_err().to_string();
    assert!(e.contains("read-only"), "{e}");
    assert!(lib.require_writable().is_err());
    drop(lib);
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // A file without write permission (seen from its mode bits, so also when run as root).
    let set_mode = |p: &Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    for (target, mode) in [(path.clone(), 0o444), (dir.path().to_path_buf(), 0o555)] {
        set_mode(&target, mode);
        let o = run(&[
            OsStr::new("status"),
            OsStr::new("--library"),
            path.as_os_str(),
        ]);
        let out = text(&o.stdout);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            out.contains("(read-only)") && out.contains("files:     2"),
            "{out}"
        );
        let o = scan_cmd(&path, &root, false);
        assert!(
            !o.status.success(),
            "a scan of a read-only library succeeded"
        );
        assert!(text(&o.stderr).contains("read-only"), "{}", text(&o.stderr));
        set_mode(&target, if mode == 0o444 { 0o644 } else { 0o755 });
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
