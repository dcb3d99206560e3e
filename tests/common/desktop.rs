//! The real desktop services GUI tests need: a PulseAudio server with a null sink (so audio
//! output exists without a sound card) and an Xvfb X server.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether `program` is on PATH.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Makes sure (once per test process) a PulseAudio server answers in `$XDG_RUNTIME_DIR`: one
/// already running there, else a new daemon whose default output is a null sink (it exits by
/// itself 20 s after its last client leaves). Returns whether a server answers.
pub fn pulseaudio_null_sink() -> bool {
    static STARTED: OnceLock<bool> = OnceLock::new();
    *STARTED.get_or_init(|| {
        if !installed("pulseaudio") {
            return false;
        }
        let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
        let runtime = match runtime.filter(|d| d.is_dir()) {
            Some(d) => d,
            None => return false,
        };
        let reachable = || {
            Command::new("pactl")
                .arg("info")
                .env("XDG_RUNTIME_DIR", &runtime)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if reachable() {
            return true;
        }
        let ok = Command::new("pulseaudio")
            .args([
                "--daemonize=yes",
                "--exit-idle-time=20",
                "-n",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=vsink rate=48000 channels=2",
            ])
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let socket = runtime.join("pulse/native");
        let deadline = Instant::now() + Duration::from_secs(10);
        while ok && !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        ok && socket.exists() && reachable()
    })
}

/// An Xvfb server, stopped when dropped.
pub struct Xvfb {
    child: Child,
    /// Its display, like `:93`.
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb on a free display (1280×800, 24 bits).
    pub fn start() -> Xvfb {
        for n in 90..130 {
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
            if socket.exists() || lock.exists() {
                continue;
            }
            let display = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb must be installed (packaging/install-deps.sh test installs it)");
            let mut server = Xvfb { child, display };
            if wait_for(&socket, Duration::from_secs(10)) {
                return server;
            }
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
        panic!("no free X display between :90 and :129");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `path` exists; false on timeout.
pub fn wait_for(path: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A fresh, empty folder at a fixed path (so snapshots that show paths do not change).
pub fn fixed_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("earmark-gui-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
