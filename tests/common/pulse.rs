//! A private PulseAudio server for tests that capture audio or stop the server on purpose.
//!
//! The server must not be the user's (or another test's), and cpal finds it through
//! `XDG_RUNTIME_DIR`, which a test cannot change for itself; so the entry test re-runs one
//! ignored test of its own binary in a child process with a fresh runtime directory
//! ([`run_in_private_runtime_dir`]), and the child starts and stops its own server
//! ([`PulseServer`]): a null sink `vsink` whose monitor is the default input.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child process to a private copy of the `earmark` binary.
pub const CHILD_MARKER: &str = "EARMARK_PRIVATE_SOUND_SERVER";

/// Whether this process is the child with a private runtime directory.
pub fn in_private_child() -> bool {
    std::env::var_os(CHILD_MARKER).is_some()
}

/// The child's private copy of the `earmark` binary.
pub fn private_binary() -> PathBuf {
    PathBuf::from(std::env::var_os(CHILD_MARKER).expect("only in the private child"))
}

/// Runs `test` of this binary in a child process with a private `XDG_RUNTIME_DIR`, failing
/// after `limit`, and fails when the sound server's programs are missing.
pub fn run_in_private_runtime_dir(test: &str, limit: Duration) {
    let installed = |p: &str| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    assert!(
        installed("pulseaudio") && installed("paplay"),
        "{test} needs a sound server: install pulseaudio, pulseaudio-utils and \
         libasound2-plugins (`packaging/install-deps.sh test`)"
    );
    let dir = tempfile::Builder::new()
        .prefix("earmark-pulse-")
        .tempdir()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    // The binary is shared with other builds of this target directory: take a copy now.
    let binary = dir.path().join("earmark");
    std::fs::copy(env!("CARGO_BIN_EXE_earmark"), &binary).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("XDG_RUNTIME_DIR", dir.path())
        .env(CHILD_MARKER, binary.as_os_str())
        .env_remove("PULSE_SERVER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_limit(child, limit);
    // Whatever happened, leave no server behind.
    let _ = Command::new("pulseaudio")
        .arg("--kill")
        .env("XDG_RUNTIME_DIR", dir.path())
        .output();
    let (code, stdout, stderr) = out;
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        code == Some(0) && stdout.contains("1 passed"),
        "{test} failed (exit {code:?})"
    );
}

/// Waits for `child` up to `limit` (killing it then); returns its exit code and output.
pub fn wait_with_limit(mut child: Child, limit: Duration) -> (Option<i32>, String, String) {
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, out.join().unwrap(), err.join().unwrap())
}

/// The child's sound server: started as the stack notes show, killed on drop.
pub struct PulseServer;

impl PulseServer {
    /// Starts the server and makes the null sink and its monitor the defaults.
    pub fn start() -> PulseServer {
        let ok = Command::new("pulseaudio")
            .args([
                "--daemonize=yes",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "-n",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=vsink rate=48000 channels=2",
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "pulseaudio did not start");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !pactl(&["info"]) {
            assert!(Instant::now() < deadline, "pulseaudio does not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(pactl(&["set-default-sink", "vsink"]));
        assert!(pactl(&["set-default-source", "vsink.monitor"]));
        PulseServer
    }

    /// Stops the server and waits until it no longer answers.
    pub fn kill(&self) {
        let _ = Command::new("pulseaudio").arg("--kill").status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while pactl(&["info"]) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PulseServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `pactl` with `args`; whether it succeeded.
pub fn pactl(args: &[&str]) -> bool {
    Command::new("pactl")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts playing `file` into the null sink.
pub fn paplay(file: &Path) -> Child {
    Command::new("paplay")
        .args(["-d", "vsink"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}
