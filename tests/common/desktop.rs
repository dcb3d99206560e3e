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
    /// Starts Xvfb on a free display (1280×800, 24 bits) and returns once it accepts clients.
    ///
    /// The server picks the display itself and names it on `-displayfd` only when it is ready
    /// (a socket file can appear before the server listens), and a client must then connect.
    pub fn start() -> Xvfb {
        let mut last = String::new();
        for _ in 0..3 {
            match Xvfb::try_start() {
                Ok(server) => return server,
                Err(why) => last = why,
            }
        }
        panic!("Xvfb did not start three times: {last}");
    }

    fn try_start() -> Result<Xvfb, String> {
        use std::io::BufRead;
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                // Without it the server resets when its last client (the readiness probe)
                // leaves, and a client connecting during the reset is refused.
                "-noreset",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (packaging/install-deps.sh test installs it)");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(read.map(|_| line));
        });
        let mut server = Xvfb {
            child,
            display: String::new(),
        };
        let number = match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(line)) if line.trim().parse::<u32>().is_ok() => line.trim().to_string(),
            other => return Err(format!("it named no display ({other:?})")),
        };
        server.display = format!(":{number}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if server.accepts_clients() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("it exited ({status})"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("{} took no client in 20 s", server.display))
    }

    /// Whether a client can connect (checked with xdpyinfo or xdotool where installed).
    fn accepts_clients(&self) -> bool {
        let probe = if installed("xdpyinfo") {
            vec!["xdpyinfo"]
        } else if installed("xdotool") {
            vec!["xdotool", "getdisplaygeometry"]
        } else {
            return true;
        };
        Command::new(probe[0])
            .args(&probe[1..])
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Xvfb {
    /// Asks the server to end (so it removes its socket and lock file), then kills it if it
    /// has not ended within 2 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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
