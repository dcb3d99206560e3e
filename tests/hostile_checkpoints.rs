//! Hostile checkpoints and archives of a few KB (issue 15, items 3 and 4): each is rejected with a
//! clear error in bounded time, by the library and by `earmark models inspect`; tensor data cannot
//! be blown up by a stride-0 view or a deflated record; and a probe archive entry is never read
//! past its cap, whatever its header claims. `measure_hostile_inputs`
//! (ignored by default) prints the time and peak memory of each.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/hostile.rs"]
mod hostile;
#[allow(dead_code)] // each test file uses part of the writer
#[path = "common/pt_writer.rs"]
mod pt_writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use earmark::catalog::archive::{ArchiveLimits, unpack_probes_within};
use earmark::model::WeightFile;
use hostile::*;

/// Generous bound that proves "does not hang" (the real figures are milliseconds).
const HANG: Duration = Duration::from_secs(20);

/// Runs `f` on a thread and fails the test if it has not finished within [`HANG`].
fn within_bound<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what}: still running after {HANG:?}"))
}

fn open_error(path: PathBuf) -> String {
    let what = path.display().to_string();
    within_bound(&what, move || match WeightFile::open(&path) {
        Ok(f) => panic!("{} opened with {:?}", path.display(), f.tensor_names()),
        Err(e) => e.to_string(),
    })
}

#[test]
fn shared_dicts_are_not_unfolded_forever() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.pt");
    write_deflated_pt(&path, &shared_dicts(62));
    assert!(std::fs::metadata(&path).unwrap().len() < 4096);
    let err = open_error(path);
    assert!(err.contains("values built or visited"), "{err}");
}

#[test]
fn a_rememoised_list_is_not_copied_quadratically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.pt");
    write_deflated_pt(&path, &rememoised_list(1_000_000));
    assert!(std::fs::metadata(&path).unwrap().len() < 64 << 10);
    let err = open_error(path);
    assert!(err.contains("values built or visited"), "{err}");
}

#[test]
fn a_long_key_repeated_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.pt");
    write_deflated_pt(&path, &long_repeated_key(8 << 20, 5000));
    let err = open_error(path);
    assert!(err.contains("longer than 4096 bytes"), "{err}");
    // Keys just under the cap, repeated: the byte budget ends it.
    let path = dir.path().join("keys.pt");
    write_deflated_pt(&path, &long_repeated_key(4000, 200_000));
    let err = open_error(path);
    assert!(err.contains("bytes of strings and keys"), "{err}");
}

#[test]
fn a_dup_flood_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup.pt");
    write_deflated_pt(&path, &dup_flood(60_000_000));
    assert!(std::fs::metadata(&path).unwrap().len() < 256 << 10);
    let err = open_error(path);
    assert!(err.contains("values built or visited"), "{err}");
}

#[test]
fn a_state_dict_with_shared_tensors_still_loads() {
    // Many keys naming one memoised tensor (tied weights): sharing itself is fine.
    use pt_writer::Val;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.pt");
    let items: Vec<(String, Val)> = (0..300)
        .map(|i| {
            let v = Val::F32 {
                shape: vec![2, 2],
                data: vec![i as f32; 4],
            };
            (format!("layer{i}.weight"), v)
        })
        .collect();
    pt_writer::write_pt(&path, &items);
    let mut f = WeightFile::open(&path).unwrap();
    assert_eq!(f.tensor_names().len(), 300);
    assert_eq!(f.read_f32("layer7.weight").unwrap().1, vec![7.0; 4]);
}

#[test]
fn a_stride_zero_view_cannot_blow_a_tiny_storage_up() {
    use pt_writer::Val;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("view.pt");
    let view = Val::Raw {
        shape: vec![1 << 28],
        stride: vec![0],
        storage_numel: 1,
        bytes: vec![0; 4],
    };
    pt_writer::write_pt(&path, &[("w".into(), view)]);
    let mut f = WeightFile::open(&path).unwrap();
    let err = within_bound("view", move || f.read_f32("w").unwrap_err().to_string());
    assert!(
        err.contains("a view of 1073741824 bytes over 4 bytes"),
        "{err}"
    );
}

#[test]
fn a_compressed_storage_record_cannot_inflate_without_bound() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let stored = dir.path().join("stored.pt");
    let n = 20 << 20; // 80 MiB of zeros
    let zeros = pt_writer::Val::F32 {
        shape: vec![n],
        data: vec![0.0; n],
    };
    pt_writer::write_pt(&stored, &[("w".into(), zeros)]);
    // The same archive with every record deflated.
    let path = dir.path().join("deflated.pt");
    let mut src = zip::ZipArchive::new(std::fs::File::open(&stored).unwrap()).unwrap();
    let mut dst = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..src.len() {
        let mut e = src.by_index(i).unwrap();
        let name = e.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        dst.start_file(name, opts).unwrap();
        dst.write_all(&bytes).unwrap();
    }
    dst.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let mut f = WeightFile::open(&path).unwrap();
    let err = f.read_f32("w").unwrap_err().to_string();
    assert!(err.contains("inflates from"), "{err}");
    // Stored as torch.save stores it, the same tensor reads.
    let mut f = WeightFile::open(&stored).unwrap();
    assert_eq!(f.read_f32("w").unwrap().1.len(), n);
}

#[test]
fn models_inspect_rejects_each_hostile_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    for (name, program) in hostile_programs() {
        let path = dir.path().join(format!("{name}.pt"));
        write_deflated_pt(&path, &program);
        let (ok, out, err) = within_bound(name, {
            let path = path.clone();
            let data = dir.path().join("data");
            move || inspect(&path, &data)
        });
        assert!(!ok, "{name}: inspect succeeded:\n{out}");
        assert!(err.contains("pickle:"), "{name}: {err}");
    }
}

fn inspect(path: &Path, data: &Path) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(["models", "inspect"])
        .arg(path)
        .env("EARMARK_DATA_DIR", data)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const HEAD_ENTRY: &str = "matpac++_music/esc50/esc50.pth";

fn small_limits() -> ArchiveLimits {
    ArchiveLimits {
        max_entry_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
    }
}

#[test]
fn an_archive_entry_declared_too_large_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("bomb.zip");
    write_zero_bomb(&zip, HEAD_ENTRY, 64 << 20);
    let heads = dir.path().join("heads");
    let err = unpack_probes_within(&zip, &heads, &[], small_limits())
        .unwrap_err()
        .to_string();
    assert!(err.contains("inflates to more than 1.0 MB"), "{err}");
    assert_no_large_files(&heads, 1 << 20);
}

#[test]
fn an_archive_entry_that_lies_about_its_size_is_cut_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("liar.zip");
    write_zero_bomb(&zip, HEAD_ENTRY, 64 << 20);
    lie_about_sizes(&zip, 1000);
    let heads = dir.path().join("heads");
    let err = unpack_probes_within(&zip, &heads, &[], small_limits())
        .unwrap_err()
        .to_string();
    // Either the counter stops at the cap, or the zip reader itself refuses to read past the
    // claimed size (a checksum error): never the whole entry.
    assert!(
        err.contains("inflates to more than") || err.contains("esc50"),
        "{err}"
    );
    assert_no_large_files(&heads, 2 << 20);
}

#[test]
fn an_archive_inflating_past_the_total_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("many.zip");
    {
        use std::io::Write;
        let file = std::fs::File::create(&zip).unwrap();
        let mut w = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default();
        for i in 0..8 {
            w.start_file(format!("matpac++_music/t{i}/t{i}.pth"), opts)
                .unwrap();
            w.write_all(&vec![0u8; 900 << 10]).unwrap();
        }
        w.finish().unwrap();
    }
    let heads = dir.path().join("heads");
    let err = unpack_probes_within(&zip, &heads, &[], small_limits())
        .unwrap_err()
        .to_string();
    assert!(err.contains("inflates to more than 4.2 MB"), "{err}");
}

/// Fails if any file under `dir` is larger than `max` bytes.
fn assert_no_large_files(dir: &Path, max: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            assert_no_large_files(&p, max);
        } else {
            let len = p.metadata().unwrap().len();
            assert!(len <= max, "{} has {len} bytes", p.display());
        }
    }
}

/// Prints the time and peak memory of `earmark models inspect` on each hostile checkpoint
/// (through `/usr/bin/time`), and of unpacking a 3 GiB zip bomb with the default limits.
/// Run with `cargo test --release --test hostile_checkpoints -- --ignored --nocapture`.
#[test]
#[ignore = "measurement: prints figures, takes about a minute"]
fn measure_hostile_inputs() {
    let dir = tempfile::tempdir().unwrap();
    for (name, program) in hostile_programs() {
        let path = dir.path().join(format!("{name}.pt"));
        write_deflated_pt(&path, &program);
        let size = std::fs::metadata(&path).unwrap().len();
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%e s, peak RSS %M KB"])
            .arg(env!("CARGO_BIN_EXE_earmark"))
            .args(["models", "inspect"])
            .arg(&path)
            .env("EARMARK_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut lines = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("Command exited"));
        let figures = lines.next_back().unwrap_or_default().to_owned();
        let error: String = lines
            .next_back()
            .unwrap_or_default()
            .chars()
            .take(160)
            .collect();
        println!(
            "{name:<16} {size:>7} B file: {figures} (exit {:?}) {error}",
            out.status.code()
        );
    }
    let zip = dir.path().join("bomb.zip");
    write_zero_bomb(&zip, HEAD_ENTRY, 3 << 30);
    let size = std::fs::metadata(&zip).unwrap().len();
    let before = peak_rss_kb();
    let start = Instant::now();
    let result = unpack_probes_within(&zip, &dir.path().join("heads"), &[], Default::default());
    println!(
        "3 GiB zip bomb    {size:>7} B file: {:.2} s, peak RSS {} KB before, {} KB after: {:?}",
        start.elapsed().as_secs_f64(),
        before,
        peak_rss_kb(),
        result.map(|u| u.heads.len())
    );
    lie_about_sizes(&zip, 1000);
    let start = Instant::now();
    let result = unpack_probes_within(&zip, &dir.path().join("heads"), &[], Default::default());
    println!(
        "lying zip bomb    {size:>7} B file: {:.2} s, peak RSS {} KB: {:?}",
        start.elapsed().as_secs_f64(),
        peak_rss_kb(),
        result.map(|u| u.heads.len())
    );
}

/// This process's peak resident set (VmHWM), in KB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
