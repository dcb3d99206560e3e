//! `earmark bench gui`: the window's frame times while it scans generated files. The app
//! measures each frame itself (UI build time, and eframe's CPU time of the whole frame); the
//! window closes when the scan and the last table refresh are done, and the figures are printed.
//! Without a display, an Xvfb server is started when one is installed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use earmark::config::Settings;
use earmark::gui::{AppOptions, BenchRun};

use super::bench_library::generate;

/// Arguments of `earmark bench gui`.
#[derive(clap::Args, Debug)]
pub struct GuiBenchArgs {
    /// Encoder weights the scan uses.
    #[arg(long)]
    model: PathBuf,
    /// Files scanned while frames are measured.
    #[arg(long, default_value_t = 1000)]
    files: usize,
    /// Seconds of sound per generated file.
    #[arg(long, default_value_t = 1.0)]
    secs: f64,
    /// Where the files are generated (default: a temporary folder).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Where the encoder runs.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Extra rows put in the index before the scan (files waiting for analysis under a
    /// folder that is not scanned), to measure the table at library scale.
    #[arg(long, default_value_t = 0)]
    extra_rows: usize,
}

/// Labels the extra rows carry (three each), so the tag filter has work at library scale.
const EXTRA_LABELS: usize = 60;

/// Adds `n` pending rows under a root of their own, each with three tags, in one transaction.
fn add_rows(library: &std::path::Path, n: usize) -> anyhow::Result<()> {
    let mut lib = earmark::library::Library::open(library)?;
    let root = library.with_file_name("elsewhere");
    let root_id = lib.ensure_root(&root.to_string_lossy())?;
    lib.in_one_transaction(|lib| {
        for i in 0..n {
            let path = root.join(format!("{:03}/row{i:06}.wav", i / 1000));
            let id = lib.insert_pending(
                root_id,
                &path.to_string_lossy(),
                1000,
                0,
                &format!("{i:032x}"),
            )?;
            for k in [i, i * 7 + 1, i * 13 + 2] {
                lib.add_tag(id, "bench", &format!("label{:02}", k % EXTRA_LABELS), 0.5)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Keeps an Xvfb server alive for the run.
struct Xvfb(std::process::Child);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

/// Starts Xvfb and runs this same command again on it.
fn rerun_on_xvfb() -> anyhow::Result<ExitCode> {
    let display = format!(":{}", 60 + std::process::id() % 30);
    let child = std::process::Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .spawn()
        .context("no display and no Xvfb to start one (install xvfb)")?;
    let _server = Xvfb(child);
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{}", &display[1..]));
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eprintln!("no display: running on Xvfb {display}");
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env("DISPLAY", &display)
        .status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the benchmark.
pub fn run(args: &GuiBenchArgs) -> anyhow::Result<ExitCode> {
    if !args.model.is_file() {
        bail!("{}: model file not found", args.model.display());
    }
    if !has_display() {
        return rerun_on_xvfb();
    }
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let sounds = dir.join("sounds");
    eprintln!("generating {} files of {} s…", args.files, args.secs);
    generate(&sounds, args.files, args.secs)?;
    let library = dir.join("bench-library.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", library.display()));
    }
    if args.extra_rows > 0 {
        add_rows(&library, args.extra_rows)?;
    }
    let result = Arc::new(Mutex::new(None));
    let opts = AppOptions {
        library: Some(library.clone()),
        model: Some(args.model.clone()),
        settings: Settings {
            device: args.device.clone(),
            ..Settings::default()
        },
        bench: Some(BenchRun {
            roots: vec![sounds],
            result: Arc::clone(&result),
        }),
        probe_gpu: false,
        persistence_path: Some(dir.join("window-state")),
        ..AppOptions::default()
    };
    earmark::gui::run_with(opts)?;
    let Some(f) = result.lock().ok().and_then(|r| *r) else {
        bail!("the window closed before the scan ended");
    };
    println!(
        "GUI while scanning {} files: scan {:.1} s, {} rows in the table",
        args.files, f.scan_s, f.rows
    );
    println!(
        "  UI build     p50 {:.2} ms  p95 {:.2} ms  max {:.1} ms  ({} frames)",
        f.ui.p50_ms, f.ui.p95_ms, f.ui.max_ms, f.ui.count
    );
    println!(
        "  frame CPU    p50 {:.2} ms  p95 {:.2} ms  max {:.1} ms  (eframe: UI, tessellation, painting)",
        f.cpu.p50_ms, f.cpu.p95_ms, f.cpu.max_ms
    );
    println!(
        "  interval     p50 {:.2} ms  p95 {:.2} ms  max {:.1} ms  (frame start to frame start: \
         rendering and presenting included)",
        f.interval.p50_ms, f.interval.p95_ms, f.interval.max_ms
    );
    let verdict = if f.cpu.p95_ms < 16.0 { "met" } else { "missed" };
    println!("  goal: frame CPU p95 < 16 ms — {verdict}");
    tag_filter_figures(&library)?;
    Ok(ExitCode::SUCCESS)
}

/// Times reading the table (rows with their tags) and building filtered views of it, as the
/// window does on a worker thread when a filter changes (best of 5).
fn tag_filter_figures(library: &std::path::Path) -> anyhow::Result<()> {
    use earmark::gui::shared::rows::{RowView, load};
    use earmark::gui::shared::state::SortColumn;
    let best = |f: &mut dyn FnMut()| -> f64 {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    };
    let started = Instant::now();
    let snapshot = load(library)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let rows = Arc::clone(&snapshot.rows);
    println!(
        "Table of {} rows, {} labels: read with tags {load_ms:.0} ms",
        rows.len(),
        snapshot.labels.len()
    );
    let sort = (SortColumn::Name, true);
    let cases: [(&str, &[&str], &str); 4] = [
        ("no filter", &[], ""),
        ("1 tag", &["label07"], ""),
        ("2 tags", &["label07", "label50"], ""),
        ("1 tag + text", &["label07"], "row00"),
    ];
    for (name, tags, text) in cases {
        let names: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        let ids = snapshot.label_ids(&names);
        let mut shown = 0;
        let ms = best(&mut || {
            shown = RowView::build_tagged(&rows, text, &ids, false, sort)
                .order
                .len();
        });
        println!("  view, {name:<13} {ms:7.1} ms  ({shown} rows shown)");
    }
    Ok(())
}
