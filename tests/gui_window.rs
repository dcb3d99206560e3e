//! A real window: Xvfb is started, the built `earmark` binary opens on a library scanned by the
//! CLI (`earmark --library FILE --model FILE`), and once it reports where it drew its panels the
//! screen is captured with ImageMagick's `import`. The picture must not be blank, and every panel
//! must hold drawn content; the screenshot is kept at `target/tmp/gui-window.png`.
//!
//! Then a first start on a desktop without the XDG desktop portal (no D-Bus session bus, no
//! zenity): Ctrl+O asks for a folder, the window says in its log that the system's dialog is
//! missing and shows its own picker (`target/tmp/gui-picker.png`), and the folder typed there
//! (with xdotool, as a user would) is scanned and shown.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::WavFormat;

/// The window tests take turns: two Xvfb servers started at once could pick the same display.
static ONE_DISPLAY: Mutex<()> = Mutex::new(());

/// Distinct colours inside a rectangle of an RGB(A) picture.
fn colours(pixels: &[u8], width: usize, channels: usize, rect: [f32; 4]) -> usize {
    let [x0, y0, x1, y1] = rect.map(|v| v.max(0.0) as usize);
    let height = pixels.len() / (width * channels);
    let mut seen = HashSet::new();
    for y in y0..y1.min(height) {
        for x in x0..x1.min(width) {
            let i = (y * width + x) * channels;
            seen.insert([pixels[i], pixels[i + 1], pixels[i + 2]]);
        }
    }
    seen.len()
}

fn read_png(path: &Path) -> (Vec<u8>, usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    (buf, info.width as usize, channels)
}

#[test]
fn the_window_draws_its_panels_under_xvfb() {
    assert!(
        desktop::installed("Xvfb") && desktop::installed("import"),
        "this test needs Xvfb and ImageMagick (packaging/install-deps.sh test installs them)"
    );
    let dir = desktop::fixed_dir("window");
    let root = dir.join("sounds");
    for i in 0..10 {
        let sub = root.join(["pads", "hits"][i % 2]);
        std::fs::create_dir_all(&sub).unwrap();
        let x = synth::sound(i % 5, 40 + i as u64, 1.5, 44_100);
        synth::write_stereo(&sub.join(format!("t{i:02}.wav")), &x, WavFormat::S16);
    }
    let library = dir.join("library.sqlite");
    synth::scan_with_tiny_model(&root, &library);
    let report = dir.join("layout.json");
    let home = dir.join("home");
    let runtime = dir.join("runtime");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }

    let _turn = ONE_DISPLAY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let xvfb = desktop::Xvfb::start();
    let mut app = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .env("DISPLAY", &xvfb.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("EARMARK_CONFIG_DIR", home.join("config"))
        .env("EARMARK_DATA_DIR", home.join("data"))
        .env_remove("EARMARK_LIBRARY")
        .env_remove("EARMARK_MODEL")
        .arg("--library")
        .arg(&library)
        .arg("--model")
        .arg(synth::tiny_model())
        .env("EARMARK_SELECT", synth::canon(&root.join("pads/t04.wav")))
        .env("EARMARK_LAYOUT_REPORT", &report)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drawn = desktop::wait_for(&report, Duration::from_secs(120));
    if !drawn {
        let _ = app.kill();
        let out = app.wait_with_output().unwrap();
        panic!(
            "the window never reported its panels: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gui-window.png");
    let status = Command::new("import")
        .args(["-display", &xvfb.display, "-window", "root"])
        .arg(&shot)
        .status()
        .unwrap();
    let _ = app.kill();
    let _ = app.wait();
    assert!(status.success(), "import failed");

    let (pixels, width, channels) = read_png(&shot);
    let height = pixels.len() / (width * channels);
    let whole = colours(
        &pixels,
        width,
        channels,
        [0.0, 0.0, width as f32, height as f32],
    );
    assert!(whole > 200, "the screen is nearly uniform: {whole} colours");
    let layout: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for panel in ["tabs", "sidebar", "Library", "inspector", "status"] {
        let r = layout[panel]
            .as_array()
            .unwrap_or_else(|| panic!("panel {panel} was not drawn: {layout}"));
        let rect: Vec<f32> = r.iter().map(|v| v.as_f64().unwrap() as f32).collect();
        assert!(
            rect[2] - rect[0] > 50.0 && rect[3] - rect[1] > 15.0,
            "{panel} is tiny: {rect:?}"
        );
        let n = colours(
            &pixels,
            width,
            channels,
            [rect[0], rect[1], rect[2], rect[3]],
        );
        assert!(n >= 8, "panel {panel} holds no drawn content ({n} colours)");
    }
    // The inspector shows the spectrogram: a colour map has many distinct colours.
    let r: Vec<f32> = layout["inspector"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let n = colours(&pixels, width, channels, [r[0], r[1], r[2], r[3]]);
    assert!(n > 150, "no spectrogram in the inspector ({n} colours)");
}

/// `xdotool` with `args` on `display`; whether it succeeded.
fn xdotool(display: &str, args: &[&str]) -> bool {
    Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Collects a child's stderr lines on a thread of its own.
fn follow_stderr(app: &mut std::process::Child) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    let stderr = app.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

#[test]
fn without_a_portal_a_folder_is_added_through_earmarks_own_picker() {
    assert!(
        desktop::installed("Xvfb") && desktop::installed("import") && desktop::installed("xdotool"),
        "this test needs Xvfb, ImageMagick and xdotool (packaging/install-deps.sh test installs them)"
    );
    let dir = desktop::fixed_dir("window-picker");
    let root = dir.join("first sounds");
    std::fs::create_dir_all(&root).unwrap();
    for i in 0..3 {
        let x = synth::sound(i, 7 + i as u64, 1.0, 44_100);
        synth::write_stereo(&root.join(format!("p{i}.wav")), &x, WavFormat::S16);
    }
    let library = dir.join("library.sqlite");
    let report = dir.join("layout.json");
    let (home, runtime, no_programs) = (dir.join("home"), dir.join("runtime"), dir.join("bin"));
    for d in [&home, &runtime, &no_programs] {
        std::fs::create_dir_all(d).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }

    let _turn = ONE_DISPLAY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let xvfb = desktop::Xvfb::start();
    // No session bus (so no portal) and nothing on PATH (so no zenity): no system dialog.
    let spawn = || {
        let mut app = Command::new(env!("CARGO_BIN_EXE_earmark"))
            .arg("--library")
            .arg(&library)
            .arg("--model")
            .arg(synth::tiny_model())
            .env("DISPLAY", &xvfb.display)
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("EARMARK_DIALOGS")
            .env("PATH", &no_programs)
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("EARMARK_CONFIG_DIR", home.join("config"))
            .env("EARMARK_DATA_DIR", home.join("data"))
            .env("EARMARK_SELECT", synth::canon(&root.join("p1.wav")))
            .env("EARMARK_LAYOUT_REPORT", &report)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = follow_stderr(&mut app);
        (app, log)
    };
    let (mut app, mut log) = spawn();
    let fail = |app: &mut std::process::Child, log: &Mutex<String>, what: &str| -> ! {
        let _ = app.kill();
        let _ = app.wait();
        panic!("{what}; the window's log:\n{}", log.lock().unwrap());
    };

    // The window is up: give it the keyboard, then Ctrl+O until the picker is asked for (the
    // first frames may not take keys yet). A window refused by the X server (a test machine's
    // hiccup, not Earmark's behaviour) is started once more.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut restarted = false;
    while !xdotool(
        &xvfb.display,
        &["search", "--limit", "1", "--name", "Earmark"],
    ) {
        if app.try_wait().is_ok_and(|s| s.is_some()) {
            let refused = log
                .lock()
                .unwrap()
                .contains("Failed to open connection to X server");
            if refused && !restarted {
                eprintln!("the X server refused the window once; starting it again");
                std::thread::sleep(Duration::from_millis(500));
                (app, log) = spawn();
                restarted = true;
                continue;
            }
            fail(&mut app, &log, "the window exited before it appeared");
        }
        if Instant::now() > deadline {
            fail(&mut app, &log, "the window did not appear");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let missing = "the system's file dialog is not available";
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log.lock().unwrap().contains(missing) {
        if Instant::now() > deadline {
            fail(&mut app, &log, "Ctrl+O never reached the picker");
        }
        xdotool(
            &xvfb.display,
            &[
                "search",
                "--limit",
                "1",
                "--name",
                "Earmark",
                "windowfocus",
                "--sync",
            ],
        );
        xdotool(&xvfb.display, &["key", "ctrl+o"]);
        std::thread::sleep(Duration::from_millis(1500));
    }
    let said = log.lock().unwrap().clone();
    assert!(
        said.contains("D-Bus session bus") && said.contains("zenity"),
        "the log says why: {said}"
    );
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gui-picker.png");
    let status = Command::new("import")
        .args(["-display", &xvfb.display, "-window", "root"])
        .arg(&shot)
        .status()
        .unwrap();
    assert!(status.success(), "import failed");
    let (pixels, width, channels) = read_png(&shot);
    let height = pixels.len() / (width * channels);
    let n = colours(
        &pixels,
        width,
        channels,
        [0.0, 0.0, width as f32, height as f32],
    );
    assert!(n > 50, "the picker's screen is nearly uniform: {n} colours");

    // Type the folder into the picker's path field (it has the focus) and press Enter.
    let typed = root.to_str().unwrap();
    let keys = xdotool(&xvfb.display, &["key", "ctrl+a"])
        && xdotool(&xvfb.display, &["type", "--delay", "20", typed])
        && xdotool(&xvfb.display, &["key", "Return"]);
    if !keys {
        fail(&mut app, &log, "xdotool could not type");
    }
    // The folder is scanned and its files shown (the selected one in the inspector): the
    // window reports its panels only then.
    if !desktop::wait_for(&report, Duration::from_secs(120)) {
        fail(
            &mut app,
            &log,
            "the folder chosen in the picker was never shown",
        );
    }
    let _ = app.kill();
    let _ = app.wait();
    let layout: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for panel in ["Library", "inspector"] {
        assert!(layout[panel].is_array(), "{panel} was not drawn: {layout}");
    }
}

#[test]
fn help_names_the_window_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    for want in [
        "--library <FILE>",
        "--model <FILE>",
        "EARMARK_LIBRARY",
        "EARMARK_MODEL",
    ] {
        assert!(help.contains(want), "--help lacks {want}:\n{help}");
    }
    assert!(
        help.contains("earmark [--library FILE] [--model FILE]"),
        "{help}"
    );
    // The window's options are not silently ignored before a command.
    let out = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(["--library", "x.sqlite", "status"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "--library before a command is refused"
    );
    let dir = desktop::fixed_dir("window-args");
    let out = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .arg("--model")
        .arg(dir.join("missing.safetensors"))
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("missing.safetensors: no such file"),
        "{err}"
    );
}
