//! What the Live tab asks for, carried out when the app's handler says so: starting and stopping
//! the session, draining its events once per frame, the Ctrl+L shortcut, "find similar" for what
//! was heard and saving a snippet.

use std::sync::Arc;
use std::time::Duration;

use eframe::egui;

use crate::gui::live_view::report::LiveReport;
use crate::gui::live_view::work::{self, HeardQuery, StartRequest};
use crate::gui::live_view::{EVENTS_PER_FRAME, LivePanel, PersonalTags, Running};
use crate::gui::shared::command::Command;
use crate::gui::shared::search::SimilarResults;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::live::DeviceState;
use crate::live::scores::ScoreSmoother;
use crate::search::ClipIndex;

impl LivePanel {
    /// Starts listening with the active model, or stops.
    pub fn toggle(&mut self, cx: &ViewCtx, ctx: &egui::Context) {
        if self.active() {
            self.stop(cx);
        } else {
            self.start(cx, ctx);
        }
    }

    /// Starts listening (the model loads on a worker).
    pub fn start(&mut self, cx: &ViewCtx, ctx: &egui::Context) {
        if self.active() {
            return;
        }
        let Some(model) = cx.model.active.clone() else {
            self.error = Some(format!("Cannot listen: {}", cx.model_line()));
            return;
        };
        let req = StartRequest {
            model,
            compute: cx.settings.device.clone(),
            input: cx.settings.input_device.clone(),
            head: cx.head_in_force().head(),
            library: cx.library_path.clone(),
        };
        self.error = None;
        self.device = Some(DeviceState::Connecting);
        self.clear_readings();
        self.starting = Some(Task::on(
            &cx.service,
            "earmark-live-start",
            ctx,
            move || work::start(req),
        ));
    }

    /// Stops listening; the session's threads are joined off the UI thread (dropping the
    /// session stops it).
    pub fn stop(&mut self, cx: &ViewCtx) {
        self.starting = None;
        if let Some(running) = self.running.take() {
            cx.service.release(running);
        }
        self.device = None;
    }

    /// Restarts a running session (after the input device changed).
    pub fn restart(&mut self, cx: &ViewCtx, ctx: &egui::Context) {
        if self.running.is_some() {
            self.stop(cx);
            self.start(cx, ctx);
        }
    }

    /// Takes finished work and the session's events; called once per frame whatever tab shows.
    /// Ctrl+L (start or stop listening from any tab) comes back as a command, and so do the
    /// session's notes and the folder of a saved snippet (to be scanned).
    pub fn poll(&mut self, cx: &ViewCtx, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::L)) {
            commands.push(Command::ToggleListening);
        }
        if let Some(lists) = poll_slot(&mut self.devices_task) {
            self.devices = Some(lists);
        }
        if let Some(result) = poll_slot(&mut self.starting) {
            match result {
                Ok(started) => {
                    commands.extend(started.notes.into_iter().map(Command::Notify));
                    let (hop_s, tau_s) = started.hop_and_smoothing_s;
                    let input = cx
                        .settings
                        .input_device
                        .clone()
                        .unwrap_or_else(|| "the default input".into());
                    let report = match LiveReport::start(&cx.service, &input) {
                        Ok(report) => Some(report),
                        Err(e) => {
                            commands.push(Command::Notify(format!(
                                "Listening is not followed in the job list: {e}"
                            )));
                            None
                        }
                    };
                    self.running = Some(Running {
                        session: started.session,
                        report,
                        engine: started.engine,
                        model: started.model,
                        personal: PersonalTags {
                            classifiers: started.personal,
                            smoother: ScoreSmoother::new(hop_s, tau_s),
                        },
                    });
                }
                Err(e) => {
                    self.device = None;
                    self.error = Some(format!("Cannot listen: {e}"));
                }
            }
        }
        if let Some(result) = poll_slot(&mut self.save_task) {
            match result {
                Ok(path) => {
                    if let Some(folder) = path.parent() {
                        commands.push(Command::AddRoots(vec![folder.to_path_buf()]));
                    }
                    self.saved = Some(Ok(path));
                }
                Err(e) => self.saved = Some(Err(e.to_string())),
            }
        }
        let mut events = Vec::new();
        if let Some(running) = &self.running {
            while events.len() < EVENTS_PER_FRAME {
                match running.session.events().try_recv() {
                    Ok(e) => events.push(e),
                    Err(_) => break,
                }
            }
        }
        for e in events {
            self.take_event(e);
        }
        let cancelled = self.running.as_ref().and_then(|r| r.report.as_ref());
        if cancelled.is_some_and(|r| r.cancelled()) {
            self.stop(cx);
        }
        if self.active() {
            ctx.request_repaint_after(Duration::from_millis(30));
        }
        commands
    }

    /// "Find similar in my library" for the last [`LivePanel::seconds`] heard: the search to
    /// show in the Similar tab, or why there is nothing to search for. `index` is the clip
    /// index kept from an earlier query.
    pub fn find_similar(
        &self,
        cx: &ViewCtx,
        index: Option<(i64, Arc<ClipIndex>)>,
        ctx: &egui::Context,
    ) -> Result<Task<crate::Result<SimilarResults>>, String> {
        let Some(running) = &self.running else {
            return Err("Start listening first: find similar uses what was heard.".into());
        };
        let samples = running.session.last_seconds(self.seconds);
        if samples.len() < crate::audio::MODEL_SAMPLE_RATE as usize / 2 {
            return Err("Not enough heard yet: listen for a moment, then search.".into());
        }
        let query = HeardQuery {
            library: cx.library_path.clone(),
            model: running.model.clone(),
            engine: Arc::clone(&running.engine),
            samples,
            index,
        };
        Ok(Task::on(
            &cx.service,
            "earmark-similar-heard",
            ctx,
            move || work::find_similar_heard(query),
        ))
    }

    /// Saves the last [`LivePanel::seconds`] heard as a WAV into the chosen library folder;
    /// [`LivePanel::poll`] asks for the folder to be scanned once the file is written.
    pub fn save_snippet(&mut self, cx: &ViewCtx, ctx: &egui::Context) {
        let Some(running) = &self.running else {
            return;
        };
        let Some(folder) = self.snippet_folder.clone() else {
            self.saved = Some(Err("Choose a library folder for snippets first.".into()));
            return;
        };
        let samples = running.session.last_seconds(self.seconds);
        self.saved = None;
        self.save_task = Some(Task::on(
            &cx.service,
            "earmark-live-snippet",
            ctx,
            move || work::save_heard(&samples, &folder),
        ));
    }
}
