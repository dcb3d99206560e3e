//! A real window: Xvfb is started, the built `earmark` binary opens on a library scanned by the
//! CLI, and once it reports where it drew its panels the screen is captured with ImageMagick's
//! `import`. The picture must not be blank, and every panel must hold drawn content; the
//! screenshot is kept at `target/tmp/gui-window.png`.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::WavFormat;

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

    let xvfb = desktop::Xvfb::start();
    let mut app = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .env("DISPLAY", &xvfb.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("EARMARK_CONFIG_DIR", home.join("config"))
        .env("EARMARK_DATA_DIR", home.join("data"))
        .env("EARMARK_LIBRARY", &library)
        .env("EARMARK_MODEL", synth::tiny_model())
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
