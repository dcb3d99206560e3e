//! What the window remembers between runs: one serde struct saved through eframe's storage
//! (theme, library location, analysis budget, last selection, panel layout; the audio devices
//! are settings, in `settings.toml`).
//! Live handles — textures, tasks, the audio stream — are kept outside it, in the app.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::gui::shared::training_form::TrainingForm;
use crate::library::analyse::Budget;

/// Key of the state in eframe's storage.
pub const STORAGE_KEY: &str = "earmark.ui";

/// The panels of the main area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Panel {
    /// The file table (with the errors view).
    Library,
    /// Results of "Find similar".
    Similar,
    /// The 2-D map of the library.
    Map,
    /// Running, queued and finished jobs.
    Jobs,
    /// Installed models, the active one and its device.
    Models,
    /// Tagging from the microphone (its own module).
    Live,
    /// Training a model on the library (its own module).
    Training,
    /// Personal tags: the review list of a tag.
    Tags,
}

impl Panel {
    /// The panels this window shows as tabs, in order.
    pub const TABS: [Panel; 8] = [
        Panel::Library,
        Panel::Similar,
        Panel::Map,
        Panel::Tags,
        Panel::Jobs,
        Panel::Models,
        Panel::Training,
        Panel::Live,
    ];

    /// The tab's label.
    pub fn label(self) -> &'static str {
        match self {
            Panel::Library => "Library",
            Panel::Similar => "Similar",
            Panel::Map => "Map",
            Panel::Jobs => "Jobs",
            Panel::Models => "Models",
            Panel::Live => "Live",
            Panel::Training => "Training",
            Panel::Tags => "Tags",
        }
    }
}

/// Light, dark, or as the system says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    /// Follow the system.
    System,
    /// Dark.
    Dark,
    /// Light.
    Light,
}

/// How much of each file a scan encodes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum BudgetChoice {
    /// Whole files on a GPU; on the CPU five 6 s windows of files longer than 30 s.
    Auto,
    /// Every file whole.
    Full,
    /// `count` windows of files longer than `full_up_to_s`.
    Windows {
        /// Windows per long file.
        count: usize,
        /// Files up to this length are encoded whole.
        full_up_to_s: f64,
    },
}

impl BudgetChoice {
    /// The budget for an encoder on a GPU (`on_gpu`) or the CPU.
    pub fn resolve(self, on_gpu: bool) -> Budget {
        match self {
            BudgetChoice::Auto if on_gpu => Budget::Full,
            BudgetChoice::Auto => Budget::CPU_DEFAULT,
            BudgetChoice::Full => Budget::Full,
            BudgetChoice::Windows {
                count,
                full_up_to_s,
            } => Budget::Windows {
                count,
                full_up_to_s,
            },
        }
    }
}

/// Columns of the library table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortColumn {
    /// File name.
    Name,
    /// Folder.
    Folder,
    /// Duration.
    Duration,
    /// Top tags.
    Tags,
    /// Status.
    Status,
    /// Embedded title.
    Title,
    /// Embedded artist.
    Artist,
    /// Embedded album.
    Album,
    /// Sample rate.
    SampleRate,
    /// Bit depth.
    BitDepth,
    /// Channel count.
    Channels,
    /// Integrated loudness (EBU R128).
    Loudness,
    /// True peak.
    TruePeak,
    /// Tempo.
    Tempo,
}

/// How the map colours its points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapColour {
    /// By the folder each file lies in.
    Folder,
    /// By each file's best tag.
    TopTag,
    /// Files carrying this tag stand out.
    Tag(String),
}

/// The persisted UI state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiState {
    /// Colour theme.
    pub theme: ThemeChoice,
    /// The library index file (`None`: the default in the data directory).
    pub library: Option<PathBuf>,
    /// Analysis budget of scans.
    pub budget: BudgetChoice,
    /// The path of the file selected last.
    pub last_selection: Option<String>,
    /// The tab shown in the main area.
    pub panel: Panel,
    /// Whether the library side bar is open.
    pub show_sidebar: bool,
    /// Whether the inspector is open under the main area.
    pub show_inspector: bool,
    /// Table sorting: column and ascending.
    pub sort: (SortColumn, bool),
    /// Show only files that could not be read (the errors view).
    pub errors_only: bool,
    /// How the map colours its points.
    pub map_colour: MapColour,
    /// The table shows only files carrying every one of these tags.
    pub tag_filter: Vec<String>,
    /// The personal tag under review.
    pub review_tag: Option<String>,
    /// The Training tab's form and last run.
    pub training: TrainingForm,
    /// Library table columns the user hid.
    #[serde(default = "default_hidden_columns")]
    pub hidden_columns: Vec<SortColumn>,
}

/// The library table's columns hidden at first (the Columns menu shows them).
pub fn default_hidden_columns() -> Vec<SortColumn> {
    vec![
        SortColumn::Album,
        SortColumn::Channels,
        SortColumn::TruePeak,
    ]
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            theme: ThemeChoice::Dark,
            library: None,
            budget: BudgetChoice::Auto,
            last_selection: None,
            panel: Panel::Library,
            show_sidebar: true,
            show_inspector: true,
            sort: (SortColumn::Name, true),
            errors_only: false,
            map_colour: MapColour::Folder,
            tag_filter: Vec::new(),
            review_tag: None,
            training: TrainingForm::default(),
            hidden_columns: default_hidden_columns(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_tolerates_missing_fields() {
        let s = UiState {
            panel: Panel::Map,
            budget: BudgetChoice::Windows {
                count: 3,
                full_up_to_s: 12.0,
            },
            last_selection: Some("/a/b.wav".into()),
            ..UiState::default()
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<UiState>(&text).unwrap(), s);
        let partial: UiState = serde_json::from_str(r#"{"panel":"Jobs"}"#).unwrap();
        assert_eq!(partial.panel, Panel::Jobs);
        assert_eq!(partial.theme, UiState::default().theme);
        assert_eq!(BudgetChoice::Auto.resolve(true), Budget::Full);
        assert_eq!(BudgetChoice::Auto.resolve(false), Budget::CPU_DEFAULT);
    }
}
