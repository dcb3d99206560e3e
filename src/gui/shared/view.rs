//! The state every feature reads and only the app's command handler changes ([`Shared`]), and the
//! read-only view of it that features draw from ([`ViewCtx`]).

use std::ops::Deref;
use std::path::PathBuf;

use crate::audio::playback::Player;
use crate::config::Settings;
use crate::gui::shared::active_model::ActiveModel;
use crate::gui::shared::frame_stats::FrameStats;
use crate::gui::shared::job_list::JobList;
use crate::gui::shared::notices::Notices;
use crate::gui::shared::options::AppOptions;
use crate::gui::shared::rows::{RowView, Snapshot};
use crate::gui::shared::state::UiState;
use crate::gui::shared::tasks::Task;
use crate::jobs::Service;
use crate::library::tagging::{HeadChoice, source_name};
use crate::model::bundled::{HeadInForce, head_in_force};

/// The active model: what is wanted, and what is known about it.
#[derive(Debug, Default)]
pub struct ModelSlot {
    /// The weight file in use (or being read).
    pub path: Option<PathBuf>,
    /// Reading its configuration and identity.
    pub task: Option<Task<crate::Result<ActiveModel>>>,
    /// Read.
    pub active: Option<ActiveModel>,
    /// Why it cannot be used.
    pub error: Option<String>,
}

/// The audio output, opened on first use.
#[derive(Debug, Default)]
pub enum PlayerSlot {
    /// Not opened yet.
    #[default]
    Closed,
    /// Open.
    Open(Player),
    /// Could not be opened; why.
    Failed(String),
}

/// What the whole window shares: persisted state and settings, the library as last read, the
/// selection, the active model, the audio output, the jobs of this session and the messages for
/// the user.
pub struct Shared {
    /// Persisted UI state.
    pub state: UiState,
    /// Persisted settings (device, model, head).
    pub settings: Settings,
    /// How the window was started.
    pub opts: AppOptions,
    /// The index file in use.
    pub library_path: PathBuf,
    /// Why the index cannot be read.
    pub library_error: Option<String>,
    /// The background service: every job and task of the window runs there.
    pub service: Service,
    /// Jobs of this session.
    pub jobs: JobList,
    /// The rows and facts last read from the index.
    pub snapshot: Snapshot,
    /// The rows shown, in order.
    pub view: RowView,
    /// The table's text filter.
    pub filter: String,
    /// Whether the index has been read at least once.
    pub rows_loaded: bool,
    /// The active model.
    pub model: ModelSlot,
    /// The bundled model, when one is installed.
    pub bundled: Option<PathBuf>,
    /// The selected file: (id, path).
    pub selected: Option<(i64, String)>,
    /// Audio output.
    pub player: PlayerSlot,
    /// The file loaded into the player.
    pub player_file: Option<i64>,
    /// Play the selected file as soon as it is loaded.
    pub play_when_loaded: bool,
    /// Frame times.
    pub frames: FrameStats,
    /// Messages for the user, newest last (a message goes by itself after a few seconds; an
    /// error stays until dismissed).
    pub notices: Notices,
}

impl Shared {
    /// The model file the window should use.
    pub fn wanted_model(&self) -> Option<PathBuf> {
        self.opts
            .model
            .clone()
            .or_else(|| self.settings.model.clone())
            .or_else(|| self.snapshot.active_model.clone())
            .or_else(|| self.bundled.clone())
    }

    /// The tag head in force for the window's model: the one chosen in Models, else the
    /// bundled model's starter head when the bundled model is in use (see
    /// [`crate::model::bundled::head_in_force`]).
    pub fn head_in_force(&self) -> HeadInForce {
        head_in_force(&self.settings, self.wanted_model().as_deref())
    }

    /// The heads that tag the library: the head in force, with its limits and the device it
    /// runs on.
    pub fn head_choices(&self) -> Vec<HeadChoice> {
        let settings = &self.settings;
        let device = settings.device.parse().unwrap_or_default();
        self.head_in_force()
            .head()
            .into_iter()
            .map(|(path, labels)| HeadChoice {
                limits: settings.limits_for(&source_name(&path)),
                path,
                labels,
                device,
            })
            .collect()
    }

    /// A line about the model for people.
    pub fn model_line(&self) -> String {
        match (&self.model.active, &self.model.error, &self.model.path) {
            (Some(m), _, _) => format!("Model: {}", m.name()),
            (None, Some(e), _) => e.clone(),
            (None, None, Some(_)) => "Reading the model…".into(),
            (None, None, None) => "No model: import one or train one (Models tab)".into(),
        }
    }
}

/// A feature's read-only view of the shared state while it draws or polls.
#[derive(Clone, Copy)]
pub struct ViewCtx<'a> {
    shared: &'a Shared,
}

impl<'a> ViewCtx<'a> {
    /// A view of `shared`.
    pub fn new(shared: &'a Shared) -> Self {
        ViewCtx { shared }
    }
}

impl Deref for ViewCtx<'_> {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        self.shared
    }
}
