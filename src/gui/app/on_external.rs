//! What changes outside the window's own commands: the library index written by another
//! process (`earmark scan` in a terminal, a second window) and the messages whose time is up.
//!
//! A watcher thread asks the index every [`WATCH_INTERVAL`] whether another connection committed
//! ([`ChangeWatch`]) and wakes the window only when one did, so an idle window draws nothing.
//! The window then reads its rows again as it does after its own scans.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use crate::jobs::{run_caught, spawn_named};
use crate::library::change_watch::ChangeWatch;

use crate::gui::app::EarmarkApp;

/// How often the watcher asks the index.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(400);

/// The window's watch on its index (started on the first frame).
#[derive(Debug, Default)]
pub(crate) struct Outside {
    watch: Option<ExternalWatch>,
    /// The watcher could not start (the user was told).
    failed: bool,
}

/// The watcher thread of one index; it stops when this is dropped (with the window).
#[derive(Debug)]
struct ExternalWatch {
    changed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl ExternalWatch {
    /// Starts watching the index at `path`; `ctx` is woken on each change.
    fn start(path: &std::path::Path, ctx: &egui::Context) -> crate::Result<Self> {
        let changed = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, halt, ctx) = (Arc::clone(&changed), Arc::clone(&stop), ctx.clone());
        let path = path.to_path_buf();
        spawn_named("earmark-watch", move || {
            let _ = run_caught(move || {
                let mut watch = ChangeWatch::new(&path);
                while !halt.load(Ordering::Relaxed) {
                    std::thread::sleep(WATCH_INTERVAL);
                    if watch.changed() {
                        flag.store(true, Ordering::Release);
                        ctx.request_repaint();
                    }
                }
            });
        })?;
        Ok(ExternalWatch { changed, stop })
    }

    /// Whether the index changed since the last call.
    fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::AcqRel)
    }
}

impl Drop for ExternalWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Once per frame: drops the messages whose time is up (and wakes the window when the next one
/// is due), starts the index watcher on the first frame, and reads the library again when
/// another process changed it.
pub(crate) fn poll(app: &mut EarmarkApp, ctx: &egui::Context) {
    if let Some(next) = app.shared.notices.expire(Instant::now()) {
        ctx.request_repaint_after(next);
    }
    let outside = &mut app.outside;
    if outside.watch.is_none() && !outside.failed {
        match ExternalWatch::start(&app.shared.library_path, ctx) {
            Ok(watch) => outside.watch = Some(watch),
            Err(e) => {
                outside.failed = true;
                eprintln!("earmark: {e}");
                app.shared.notices.error(format!(
                    "Changes made to the library by other programs will not show until restart: {e}"
                ));
            }
        }
    }
    let changed = outside
        .watch
        .as_ref()
        .is_some_and(ExternalWatch::take_changed);
    if !changed {
        return;
    }
    // The window's own writing jobs refresh the table as they go and when they end.
    let own_writes = app
        .shared
        .jobs
        .entries
        .iter()
        .chain(&app.shared.jobs.unlisted)
        .any(|j| j.kind.writes_library() && !j.state.finished());
    if own_writes {
        return;
    }
    app.table.library_changed();
    app.similar.forget_index();
    app.map.invalidate();
}
