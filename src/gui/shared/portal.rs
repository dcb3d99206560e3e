//! Whether the system can show a file dialog: on Linux and the BSDs rfd asks the XDG desktop
//! portal over D-Bus and falls back to zenity; where neither exists (a bare window manager, Xvfb)
//! its dialogs return at once with nothing, so the window must know beforehand and use its own
//! picker. macOS and Windows always have their dialogs.

use std::ffi::OsStr;

/// The environment variable that makes the window use its own picker even where the system's
/// dialog exists (`EARMARK_DIALOGS=earmark`).
pub const DIALOGS_VAR: &str = "EARMARK_DIALOGS";

/// The portal's bus name.
pub const PORTAL_NAME: &str = "org.freedesktop.portal.Desktop";

/// `Ok` when the system's file dialog can show, else why not (for the user and the log).
pub fn system_dialog_available() -> Result<(), String> {
    if std::env::var_os(DIALOGS_VAR).as_deref() == Some(OsStr::new("earmark")) {
        return Err(format!(
            "{DIALOGS_VAR}=earmark asks for Earmark's own picker"
        ));
    }
    platform_dialog_available()
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_dialog_available() -> Result<(), String> {
    let portal = match portal_on_session_bus() {
        Ok(()) => return Ok(()),
        Err(why) => why,
    };
    if on_path("zenity") {
        return Ok(());
    }
    Err(format!("{portal}, and zenity is not installed"))
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn platform_dialog_available() -> Result<(), String> {
    Ok(())
}

/// Whether `program` is on PATH.
#[cfg(all(unix, not(target_os = "macos")))]
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Whether the desktop portal runs on the session bus or can be started by it.
#[cfg(target_os = "linux")]
fn portal_on_session_bus() -> Result<(), String> {
    pollster::block_on(async {
        let conn = zbus::Connection::session()
            .await
            .map_err(|_| "there is no D-Bus session bus".to_owned())?;
        let bus = zbus::fdo::DBusProxy::new(&conn)
            .await
            .map_err(|e| format!("the D-Bus session bus does not answer ({e})"))?;
        let name = zbus::names::BusName::try_from(PORTAL_NAME).map_err(|e| e.to_string())?;
        if bus.name_has_owner(name).await.unwrap_or(false) {
            return Ok(());
        }
        let startable = bus
            .list_activatable_names()
            .await
            .is_ok_and(|names| names.iter().any(|n| n.as_str() == PORTAL_NAME));
        if startable {
            Ok(())
        } else {
            Err("the XDG desktop portal is not running (nothing owns \
                 org.freedesktop.portal.Desktop on the session bus)"
                .to_owned())
        }
    })
}

#[cfg(all(unix, not(target_os = "macos"), not(target_os = "linux")))]
fn portal_on_session_bus() -> Result<(), String> {
    Err("the XDG desktop portal is not looked for on this system".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn no_session_bus_means_no_portal() {
        // A child process whose environment has no bus: the probe must say so, not hang.
        if std::env::var_os("EARMARK_PORTAL_PROBE_CHILD").is_some() {
            let why = portal_on_session_bus().unwrap_err();
            assert!(why.contains("D-Bus session bus"), "{why}");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "gui::shared::portal::tests::no_session_bus_means_no_portal",
                "--exact",
                "--nocapture",
            ])
            .env("EARMARK_PORTAL_PROBE_CHILD", "1")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("XDG_RUNTIME_DIR", dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
