//! Crash safety: `earmark scan` is SIGKILLed at five moments; after each the index passes
//! `PRAGMA integrity_check`, and the resumed scans end with the same index as a clean scan:
//! the same files and statuses, embeddings equal within 1e-6, and no duplicate rows.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::WavFormat;
use earmark::library::Library;
use synth::{Rng, sound, tiny_model, write_stereo};

fn scan_cmd(lib: &Path, root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_earmark"));
    c.arg("scan")
        .arg(root)
        .arg("--library")
        .arg(lib)
        .arg("--model")
        .arg(tiny_model())
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn indexed_count(lib: &Path) -> usize {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(lib, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row(
        "SELECT count(*) FROM files WHERE status != 'pending'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |n| n as usize)
}

type Snapshot = BTreeMap<String, (String, Option<Vec<f32>>, Option<Vec<f32>>)>;

/// path → (status, clip vector, segment vectors), after checking there are no duplicates.
fn snapshot(lib_path: &Path) -> Snapshot {
    let lib = Library::open(lib_path).unwrap();
    assert_eq!(lib.integrity_check().unwrap(), vec!["ok".to_string()]);
    let conn =
        rusqlite::Connection::open_with_flags(lib_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let one = |q: &str| conn.query_row(q, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(
        one("SELECT count(*) FROM files"),
        one("SELECT count(DISTINCT path) FROM files")
    );
    assert_eq!(one("SELECT count(*) FROM models"), 1);
    assert_eq!(
        one("SELECT count(*) FROM clip_embeddings"),
        one("SELECT count(*) FROM files WHERE status = 'indexed'")
    );
    assert_eq!(
        one("SELECT count(*) FROM segment_embeddings"),
        one("SELECT count(*) FROM files WHERE status = 'indexed'")
    );
    let (model, _) = lib.latest_model().unwrap().unwrap();
    let mut out = BTreeMap::new();
    for row in lib.export_rows().unwrap() {
        let (id, _) = lib.file_by_path(&row.path).unwrap().unwrap();
        let clip = lib.clip_vector(id, model).unwrap();
        let seg = lib.segments(id, model).unwrap().map(|s| s.vectors);
        out.insert(row.path, (row.status, clip, seg));
    }
    out
}

fn assert_same(a: &Snapshot, b: &Snapshot) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, (sa, ca, ga)) in a {
        let (sb, cb, gb) = &b[path];
        assert_eq!(sa, sb, "{path}: status");
        for (what, x, y) in [("clip", ca, cb), ("segments", ga, gb)] {
            match (x, y) {
                (Some(x), Some(y)) => {
                    assert_eq!(x.len(), y.len(), "{path}: {what} length");
                    let worst = x
                        .iter()
                        .zip(y)
                        .map(|(p, q)| (p - q).abs())
                        .fold(0.0, f32::max);
                    assert!(worst <= 1e-6, "{path}: {what} differs by {worst:e}");
                }
                (None, None) => {}
                _ => panic!("{path}: {what} present in only one index"),
            }
        }
    }
}

#[test]
fn killed_scans_resume_to_the_same_index_as_a_clean_scan() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib");
    for i in 0..48 {
        let sub = root.join(format!("d{}", i % 4));
        std::fs::create_dir_all(&sub).unwrap();
        let secs = 1.0 + (i % 6) as f64 * 1.5;
        write_stereo(
            &sub.join(format!("f{i:02}.wav")),
            &sound(i, i as u64, secs, 44_100),
            WavFormat::S16,
        );
    }
    std::fs::write(root.join("d0/broken.wav"), b"RIFF nonsense").unwrap();

    let killed = dir.path().join("killed.sqlite");
    let mut rng = Rng(2024);
    let mut interrupted = 0;
    for _ in 0..5 {
        let before = indexed_count(&killed);
        let target = before + 1 + (rng.next() * 7.0) as usize;
        let mut child = scan_cmd(&killed, &root).spawn().unwrap();
        // Kill once `target` files are committed (or at once if the scan ends first), plus a
        // random delay of up to 80 ms, so the moments fall anywhere in a file's analysis.
        let mut exited = false;
        while indexed_count(&killed) < target {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis((rng.next() * 80.0) as u64));
        if !exited && child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let lib = Library::open(&killed).unwrap();
        assert_eq!(lib.integrity_check().unwrap(), vec!["ok".to_string()]);
    }
    assert!(
        interrupted >= 3,
        "only {interrupted} of 5 kills hit a running scan"
    );
    assert!(
        scan_cmd(&killed, &root).status().unwrap().success(),
        "resumed scan"
    );

    let clean = dir.path().join("clean.sqlite");
    assert!(
        scan_cmd(&clean, &root).status().unwrap().success(),
        "clean scan"
    );
    let (a, b) = (snapshot(&killed), snapshot(&clean));
    assert_eq!(a.len(), 49);
    assert_eq!(a.values().filter(|v| v.0 == "error").count(), 1);
    assert_same(&a, &b);
}
