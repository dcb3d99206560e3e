//! Keeping system libraries' chatter off the terminal. Some libraries Earmark loads print to the
//! process's stderr on their own: ALSA's plugins and the JACK client while audio devices are
//! listed ("ALSA lib pcm_oss.c: Cannot open device /dev/dsp", "jack server is not running"),
//! Mesa's Vulkan device-selection layer while GPUs are enumerated without a Wayland session
//! ("XDG_RUNTIME_DIR is invalid or not set in the environment"). None of it is about Earmark's
//! work, and every real failure also comes back as an error value.
//!
//! [`filtered`] runs a piece of work with stderr (file descriptor 2) sent to a temporary file,
//! then puts stderr back and writes out every line that is not known noise: the other lines
//! (another thread's, a real driver error) arrive late, never lost. One filter runs at a time.

use std::sync::Mutex;

/// Lines ALSA and the JACK client print while devices are listed.
pub fn audio_noise(line: &str) -> bool {
    line.starts_with("ALSA lib ")
        || line.starts_with("Cannot connect to server socket")
        || line.starts_with("Cannot connect to server request channel")
        || line.starts_with("jack server is not running or cannot be started")
        || line.starts_with("JackShmReadWritePtr::")
}

/// What Wayland's client library prints when a Vulkan layer looks for a compositor on a system
/// without a Wayland session.
pub fn gpu_noise(line: &str) -> bool {
    line.contains("XDG_RUNTIME_DIR is invalid or not set in the environment")
}

/// One filter at a time: stderr is one per process.
static FILTERING: Mutex<()> = Mutex::new(());

/// Runs `work` with stderr filtered by `noise` (see the module's documentation). Where stderr
/// cannot be redirected, `work` simply runs; so does work started while another filter runs
/// (its stderr already goes through that one).
pub fn filtered<T>(noise: fn(&str) -> bool, work: impl FnOnce() -> T) -> T {
    let _one = match FILTERING.try_lock() {
        Ok(guard) => guard,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return work(),
    };
    imp::filtered(noise, work)
}

#[cfg(unix)]
mod imp {
    use std::io::{Read, Seek, Write};

    pub(super) fn filtered<T>(noise: fn(&str) -> bool, work: impl FnOnce() -> T) -> T {
        let Some((mut file, saved)) = redirect() else {
            return work();
        };
        let out = work();
        let _ = std::io::stderr().flush();
        // Put stderr back first: nothing more goes to the file.
        let restored = nix::unistd::dup2_stderr(&saved).is_ok();
        let mut text = Vec::new();
        let read = file.rewind().is_ok() && file.read_to_end(&mut text).is_ok();
        if restored && read {
            let text = String::from_utf8_lossy(&text);
            let kept: String = text
                .lines()
                .filter(|l| !l.trim().is_empty() && !noise(l))
                .map(|l| format!("{l}\n"))
                .collect();
            if !kept.is_empty() {
                let _ = std::io::stderr().write_all(kept.as_bytes());
            }
        }
        out
    }

    /// A temporary file now standing in for stderr, and the real stderr to put back.
    fn redirect() -> Option<(std::fs::File, std::os::fd::OwnedFd)> {
        let file = tempfile::tempfile().ok()?;
        let _ = std::io::stderr().flush();
        let saved = nix::unistd::dup(std::io::stderr()).ok()?;
        nix::unistd::dup2_stderr(&file).ok()?;
        Some((file, saved))
    }
}

#[cfg(not(unix))]
mod imp {
    pub(super) fn filtered<T>(_noise: fn(&str) -> bool, work: impl FnOnce() -> T) -> T {
        work()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_chatter_is_recognised_and_other_lines_are_not() {
        assert!(audio_noise(
            "ALSA lib pcm_oss.c:397:(_snd_pcm_oss_open) Cannot open device /dev/dsp"
        ));
        assert!(audio_noise(
            "jack server is not running or cannot be started"
        ));
        assert!(audio_noise(
            "JackShmReadWritePtr::~JackShmReadWritePtr - Init not done for -1, skipping unlock"
        ));
        assert!(!audio_noise("earmark: no input device named `usb`"));
        assert!(gpu_noise(
            "error: XDG_RUNTIME_DIR is invalid or not set in the environment."
        ));
        assert!(!gpu_noise("wgpu: no GPU adapter"));
    }

    #[test]
    fn the_work_runs_and_gives_its_value() {
        // What the filter writes back is checked end to end by the command-line tests (a
        // test harness captures stderr its own way).
        assert_eq!(filtered(gpu_noise, || 6 * 7), 42);
        assert_eq!(filtered(audio_noise, || "again"), "again");
    }
}
