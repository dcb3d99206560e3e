//! The options of the Training tab's next run (a preset, or a model to continue pretraining;
//! updates, batch size, learning rate, mask ratio, MATPAC++ heads, device, data folders, the
//! labelled evaluation folder), as plain data. The window remembers it between sessions in
//! [`crate::gui::shared::state::UiState`], with the folder of the last run, so "Resume last run"
//! still works after a restart; the Training tab draws it.

use std::path::PathBuf;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::train::export::state_from_model;
use crate::train::{TrainConfig, TrainPreset, TrainState};

/// The options of the next run, as the form shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingForm {
    /// Preset name (`tiny`, `small`, `base`), used when no model is continued.
    pub preset: String,
    /// A model whose encoder the run starts from (continued pretraining); its sizes replace
    /// the preset's. `None`: the active model, or random weights with `from_scratch`.
    pub init: Option<PathBuf>,
    /// Start from the preset's random weights (only when asked: by default a run continues a
    /// model, which takes far fewer updates to be useful).
    pub from_scratch: bool,
    /// Updates of the run.
    pub steps: u64,
    /// Crops per update.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Masked share of the patches.
    pub mask_ratio: f64,
    /// MATPAC++ multiple-choice prediction heads.
    pub mcl: bool,
    /// Data folders.
    pub roots: Vec<PathBuf>,
    /// Device name (`cpu`, `cuda`, `metal`).
    pub device: String,
    /// Labelled folder (subfolder = class) the checkpoints are evaluated on.
    pub eval_folder: Option<PathBuf>,
    /// The folder of the last run started or resumed.
    pub last_run: Option<PathBuf>,
}

impl Default for TrainingForm {
    fn default() -> Self {
        TrainingForm {
            preset: "tiny".into(),
            init: None,
            from_scratch: false,
            steps: 2000,
            batch: 16,
            lr: 5e-4,
            mask_ratio: 0.7,
            mcl: false,
            roots: Vec::new(),
            device: "cpu".into(),
            eval_folder: None,
            last_run: None,
        }
    }
}

impl TrainingForm {
    /// The run's configuration for the model sizes `preset`.
    pub fn config(&self, preset: TrainPreset) -> TrainConfig {
        let mut cfg = TrainConfig::new(preset.with_mcl(self.mcl), self.steps, self.batch, self.lr);
        cfg.mask_ratio = self.mask_ratio;
        cfg.roots = self.roots.clone();
        cfg
    }

    /// The model a new run continues: the chosen one, else the `active` one unless the form
    /// asks for random weights; `None` for random weights (or no model to continue).
    pub fn start_model(&self, active: Option<&std::path::Path>) -> Option<PathBuf> {
        match &self.init {
            Some(m) => Some(m.clone()),
            None if self.from_scratch => None,
            None => active.map(std::path::Path::to_path_buf),
        }
    }

    /// The state a new run starts from: the continued model's encoder, or random weights of the
    /// preset.
    pub fn initial_state(&self, device: &Device) -> crate::Result<TrainState> {
        match &self.init {
            Some(model) => state_from_model(model, device, |p| self.config(p)),
            None => TrainState::new(self.config(TrainPreset::named(&self.preset)?), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_round_trips_and_tolerates_missing_fields() {
        let form = TrainingForm {
            preset: "small".into(),
            init: Some("/m/model.safetensors".into()),
            roots: vec!["/a".into(), "/b".into()],
            last_run: Some("/runs/run-1".into()),
            ..TrainingForm::default()
        };
        let text = serde_json::to_string(&form).unwrap();
        assert_eq!(serde_json::from_str::<TrainingForm>(&text).unwrap(), form);
        let partial: TrainingForm = serde_json::from_str(r#"{"steps":7}"#).unwrap();
        assert_eq!(partial.steps, 7);
        assert_eq!(partial.preset, "tiny");
        assert!(!partial.from_scratch, "an older form continues a model");
    }

    #[test]
    fn a_run_continues_the_active_model_unless_asked_otherwise() {
        let active = std::path::Path::new("/m/active.safetensors");
        let chosen = PathBuf::from("/m/chosen.safetensors");
        let form = TrainingForm::default();
        assert_eq!(form.start_model(Some(active)), Some(active.to_path_buf()));
        assert_eq!(form.start_model(None), None);
        let scratch = TrainingForm {
            from_scratch: true,
            ..TrainingForm::default()
        };
        assert_eq!(scratch.start_model(Some(active)), None);
        let picked = TrainingForm {
            init: Some(chosen.clone()),
            ..scratch
        };
        assert_eq!(picked.start_model(Some(active)), Some(chosen));
    }

    #[test]
    fn the_config_carries_the_form() {
        let form = TrainingForm {
            steps: 12,
            batch: 3,
            lr: 1e-4,
            mask_ratio: 0.6,
            mcl: true,
            ..TrainingForm::default()
        };
        let cfg = form.config(TrainPreset::tiny());
        assert_eq!((cfg.batch_size, cfg.mask_ratio), (3, 0.6));
        assert_eq!(cfg.preset.decoder.prediction_heads, 5);
        assert!(
            form.initial_state(&Device::Cpu).is_ok(),
            "a tiny random start"
        );
        let missing = TrainingForm {
            init: Some("/no/such/model.safetensors".into()),
            ..form
        };
        assert!(missing.initial_state(&Device::Cpu).is_err());
    }
}
