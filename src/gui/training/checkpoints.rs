//! A training run's checkpoints beyond the run itself: exporting one as a model, evaluating it
//! on a labelled folder (k-NN and few-shot scores next to the log-mel baseline), comparing a
//! finished run's model with the active one on that folder, and keeping the evaluations in the
//! run's folder so they are listed again after a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::train::checkpoint::checkpoint_name;
use crate::train::export::{Precision, export_model};

/// The file of a run's folder that keeps its checkpoints' evaluations.
pub const EVALUATIONS_FILE: &str = "evaluations.json";

/// The evaluations kept in run folder `dir` (checkpoint file name → summary); none when the
/// file is missing or unreadable.
pub fn read_evaluations(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read(dir.join(EVALUATIONS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Adds the evaluation `summary` of `checkpoint` to its run's `evaluations.json`, so it is
/// listed again after a restart.
pub fn save_evaluation(checkpoint: &Path, summary: &str) -> crate::Result<()> {
    let (Some(dir), Some(name)) = (checkpoint.parent(), checkpoint.file_name()) else {
        return Ok(());
    };
    let mut kept = read_evaluations(dir);
    kept.insert(name.to_string_lossy().into_owned(), summary.to_string());
    let json =
        serde_json::to_vec_pretty(&kept).map_err(|e| crate::Error::InvalidInput(e.to_string()))?;
    crate::atomic_file::write_bytes(&dir.join(EVALUATIONS_FILE), &json)
}

/// Exports the student of checkpoint `ck` beside it (`model-NNNNNNN.safetensors`); returns the
/// model's path.
pub fn export_checkpoint(ck: &Path) -> crate::Result<PathBuf> {
    let (state, _) = crate::train::checkpoint::load(ck, &candle_core::Device::Cpu)?;
    let name = checkpoint_name(state.step).replace("checkpoint-", "model-");
    let out = ck.with_file_name(name);
    export_model(&state, &out, Precision::F32)?;
    Ok(out)
}

/// Exports checkpoint `ck`, evaluates it on the labelled `folder` and summarises the scores next
/// to the log-mel baseline.
pub fn evaluate_summary(ck: &Path, folder: &Path) -> crate::Result<String> {
    let model_path = export_checkpoint(ck)?;
    let scores = score_model(&model_path, folder)?;
    Ok(format!("{} (log-mel: {})", scores.model, scores.baseline))
}

/// A model's scores on a labelled folder, as one line each: "P@1 0.75, 1-shot 0.50, …".
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The model's line.
    pub model: String,
    /// The log-mel baseline's line.
    pub baseline: String,
    /// The model's k-NN precision at 1 (0–1).
    pub precision_at_1: f64,
}

/// Evaluates the model file `model_path` on the labelled `folder` (subfolder = class): k-NN
/// precision at 1 and few-shot accuracies, beside the log-mel baseline.
pub fn score_model(model_path: &Path, folder: &Path) -> crate::Result<Scores> {
    let encoder = crate::model::Encoder::load(model_path, &candle_core::Device::Cpu)?;
    let files = crate::eval::dataset::from_folders(folder)?;
    let (tx, _rx) = crossbeam_channel::unbounded();
    let ctx = crate::jobs::JobContext {
        events: crate::jobs::EventSink::new(tx),
        control: std::sync::Arc::new(crate::jobs::JobControl::new()),
    };
    let opts = crate::eval::EvalOptions {
        repeats: 5,
        ..Default::default()
    };
    let model = crate::eval::EvalModel {
        name: "checkpoint",
        encoder: &encoder,
        head: None,
    };
    let report = crate::eval::evaluate(&files, Some(model), &opts, &ctx)?;
    let line = |s: &crate::eval::FeatureScores| {
        let shots = s
            .few_shot
            .iter()
            .map(|f| format!("{}-shot {:.2}", f.shots, f.mean))
            .collect::<Vec<_>>()
            .join(", ");
        format!("P@1 {:.2}, {shots}", s.knn_precision_at_1)
    };
    let scored = report.model.as_ref().ok_or_else(|| {
        crate::Error::InvalidInput("the model could not be evaluated on this folder".into())
    })?;
    Ok(Scores {
        model: line(scored),
        baseline: line(&report.baseline),
        precision_at_1: scored.knn_precision_at_1,
    })
}

/// A finished run's model beside the active model, on the same labelled folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The run's model.
    pub trained: Scores,
    /// The active model, with its name (none when no model is active, or it is the same file).
    pub active: Option<(String, Scores)>,
}

/// Evaluates the run's `trained` model and the `active` one (when given) on `folder`.
pub fn compare(
    trained: &Path,
    active: Option<(String, PathBuf)>,
    folder: &Path,
) -> crate::Result<Comparison> {
    let trained_scores = score_model(trained, folder)?;
    let active = match active {
        Some((name, path)) => Some((name, score_model(&path, folder)?)),
        None => None,
    };
    Ok(Comparison {
        trained: trained_scores,
        active,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::shared::training_form::TrainingForm;
    use crate::gui::training::TrainingPanel;

    #[test]
    fn the_last_run_and_its_evaluations_come_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run-1");
        std::fs::create_dir_all(&run).unwrap();
        let ck = run.join("checkpoint-0000004.safetensors");
        std::fs::write(&ck, b"").unwrap();

        save_evaluation(&ck, "P@1 0.75, 1-shot 0.50 (log-mel: P@1 0.70)").unwrap();

        let mut again = TrainingPanel::default();
        again.restore(TrainingForm {
            last_run: Some(run.clone()),
            ..TrainingForm::default()
        });
        assert_eq!(again.run_dir.as_deref(), Some(run.as_path()));
        assert_eq!(again.checkpoints, vec![ck.clone()]);
        assert_eq!(
            again.evaluation(&ck),
            Some("P@1 0.75, 1-shot 0.50 (log-mel: P@1 0.70)")
        );

        // A run folder that is gone is not offered.
        let mut gone = TrainingPanel::default();
        gone.restore(TrainingForm {
            last_run: Some(dir.path().join("deleted")),
            ..TrainingForm::default()
        });
        assert_eq!(gone.run_dir, None);
        assert!(gone.checkpoints.is_empty());
    }
}
