//! What the Live tab asks for, carried out: starting and stopping the session, draining its
//! events once per frame, the Ctrl+L shortcut, "find similar" for what was heard and saving
//! a snippet.

use std::sync::Arc;
use std::time::Duration;

use eframe::egui;

use super::work::{self, HeardQuery, StartRequest};
use super::{EVENTS_PER_FRAME, PersonalTags, Running};
use crate::gui::app::EarmarkApp;
use crate::gui::command::Command;
use crate::gui::state::Panel;
use crate::gui::tasks::{Task, poll_slot};
use crate::live::DeviceState;
use crate::live::scores::ScoreSmoother;

/// Starts listening with the active model, or stops.
pub fn toggle(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.live.active() {
        stop(app);
    } else {
        start(app, ctx);
    }
}

/// Starts listening (the model loads on a worker).
pub fn start(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.live.active() {
        return;
    }
    let Some(model) = app.model.active.clone() else {
        app.live.error = Some(format!("Cannot listen: {}", app.model_line()));
        return;
    };
    let req = StartRequest {
        model,
        compute: app.settings.device.clone(),
        input: app.settings.input_device.clone(),
        head: app
            .settings
            .head
            .clone()
            .map(|h| (h, app.settings.head_labels.clone())),
        library: app.library_path.clone(),
    };
    app.live.error = None;
    app.live.device = Some(DeviceState::Connecting);
    app.live.clear_readings();
    app.live.starting = Some(Task::spawn("earmark-live-start", ctx, move || {
        work::start(req)
    }));
}

/// Stops listening; the session's threads are joined on a worker.
pub fn stop(app: &mut EarmarkApp) {
    app.live.starting = None;
    if let Some(running) = app.live.running.take() {
        let _ = crate::jobs::spawn_named("earmark-live-stop", move || running.session.stop());
    }
    app.live.device = None;
}

/// Restarts a running session (after the input device changed).
pub fn restart(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.live.running.is_some() {
        stop(app);
        start(app, ctx);
    }
}

/// Takes finished work and the session's events; called once per frame whatever tab shows.
pub fn poll(app: &mut EarmarkApp, ctx: &egui::Context) {
    shortcut(app, ctx);
    if let Some(lists) = poll_slot(&mut app.live.devices_task) {
        app.live.devices = Some(lists);
    }
    if let Some(result) = poll_slot(&mut app.live.starting) {
        match result {
            Ok(started) => {
                app.notices.extend(started.notes);
                app.live.running = Some(Running {
                    session: started.session,
                    engine: started.engine,
                    model: started.model,
                    personal: PersonalTags {
                        classifiers: started.personal,
                        smoother: {
                            let (hop_s, tau_s) = started.hop_and_smoothing_s;
                            ScoreSmoother::new(hop_s, tau_s)
                        },
                    },
                });
            }
            Err(e) => {
                app.live.device = None;
                app.live.error = Some(format!("Cannot listen: {e}"));
            }
        }
    }
    if let Some(result) = poll_slot(&mut app.live.save_task) {
        match result {
            Ok(path) => {
                if let Some(folder) = path.parent() {
                    app.push(Command::AddRoots(vec![folder.to_path_buf()]));
                }
                app.live.saved = Some(Ok(path));
            }
            Err(e) => app.live.saved = Some(Err(e.to_string())),
        }
    }
    let mut events = Vec::new();
    if let Some(running) = &app.live.running {
        while events.len() < EVENTS_PER_FRAME {
            match running.session.events().try_recv() {
                Ok(e) => events.push(e),
                Err(_) => break,
            }
        }
    }
    for e in events {
        app.live.take_event(e);
    }
    if app.live.active() {
        ctx.request_repaint_after(Duration::from_millis(30));
    }
}

/// Ctrl+L starts or stops listening from any tab.
fn shortcut(app: &mut EarmarkApp, ctx: &egui::Context) {
    if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::L)) {
        toggle(app, ctx);
    }
}

/// "Find similar in my library" for the last [`LiveState::seconds`] heard; the results show in
/// the Similar tab.
pub fn find_similar(app: &mut EarmarkApp, ctx: &egui::Context) {
    let Some(running) = &app.live.running else {
        app.notices
            .push("Start listening first: find similar uses what was heard.".into());
        return;
    };
    let samples = running.session.last_seconds(app.live.seconds);
    if samples.len() < crate::audio::MODEL_SAMPLE_RATE as usize / 2 {
        app.notices
            .push("Not enough heard yet: listen for a moment, then search.".into());
        return;
    }
    let query = HeardQuery {
        library: app.library_path.clone(),
        model: running.model.clone(),
        engine: Arc::clone(&running.engine),
        samples,
        index: app.similar.index.clone(),
    };
    app.similar.error = None;
    app.similar.task = Some(Task::spawn("earmark-similar-heard", ctx, move || {
        work::find_similar_heard(query)
    }));
    app.state.panel = Panel::Similar;
}

/// Saves the last [`LiveState::seconds`] heard as a WAV into the chosen library folder; the
/// folder is scanned once the file is written.
pub fn save_snippet(app: &mut EarmarkApp, ctx: &egui::Context) {
    let Some(running) = &app.live.running else {
        return;
    };
    let Some(folder) = app.live.snippet_folder.clone() else {
        app.live.saved = Some(Err("Choose a library folder for snippets first.".into()));
        return;
    };
    let samples = running.session.last_seconds(app.live.seconds);
    app.live.saved = None;
    app.live.save_task = Some(Task::spawn("earmark-live-snippet", ctx, move || {
        work::save_heard(&samples, &folder)
    }));
}
