//! How well a tag head names the classes of an evaluation set whose class names are labels of
//! the head: top-1 accuracy among the set's labels, and each label's precision and recall.
//!
//! A file counts as right when, of the head's outputs for the labels present in the set, its
//! own label scores highest (the question "which of these is it?", as the drum-kind and
//! instrument-family sets ask). Classes whose names the head does not know are left out and
//! listed.

use serde::Serialize;

/// One label's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    /// The label.
    pub label: String,
    /// Files of this label.
    pub files: usize,
    /// Of the files named this label, the share that carry it.
    pub precision: f64,
    /// Of the files of this label, the share named so.
    pub recall: f64,
}

/// A head's figures on an evaluation set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadScores {
    /// Files scored (those of classes the head knows).
    pub files: usize,
    /// Share of files whose own label scored highest among the set's labels.
    pub top1_accuracy: f64,
    /// Per label, in the set's order.
    pub labels: Vec<LabelScore>,
    /// Class names of the set that are not labels of the head.
    pub unknown_classes: Vec<String>,
}

/// Scores `probabilities` (one row of head outputs per file) against `classes` (the class of
/// each file, an index into `class_names`); `vocabulary` names the head's outputs.
pub fn score_head(
    probabilities: &[Vec<f32>],
    classes: &[usize],
    class_names: &[&str],
    vocabulary: &[String],
) -> HeadScores {
    let output_of: Vec<Option<usize>> = class_names
        .iter()
        .map(|name| vocabulary.iter().position(|v| v == name))
        .collect();
    let known: Vec<usize> = (0..class_names.len())
        .filter(|&c| output_of[c].is_some())
        .collect();
    let mut named = vec![0usize; class_names.len()];
    let mut right_by_class = vec![0usize; class_names.len()];
    let mut files_by_class = vec![0usize; class_names.len()];
    let mut right = 0usize;
    let mut files = 0usize;
    for (row, &class) in probabilities.iter().zip(classes) {
        if output_of[class].is_none() {
            continue;
        }
        let best = known
            .iter()
            .copied()
            .max_by(|&a, &b| {
                let (pa, pb) = (
                    output_of[a].map_or(f32::MIN, |o| row[o]),
                    output_of[b].map_or(f32::MIN, |o| row[o]),
                );
                pa.total_cmp(&pb).then(b.cmp(&a))
            })
            .unwrap_or(class);
        files += 1;
        files_by_class[class] += 1;
        named[best] += 1;
        if best == class {
            right += 1;
            right_by_class[class] += 1;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    HeadScores {
        files,
        top1_accuracy: ratio(right, files),
        labels: known
            .iter()
            .map(|&c| LabelScore {
                label: class_names[c].to_string(),
                files: files_by_class[c],
                precision: ratio(right_by_class[c], named[c]),
                recall: ratio(right_by_class[c], files_by_class[c]),
            })
            .collect(),
        unknown_classes: (0..class_names.len())
            .filter(|&c| output_of[c].is_none())
            .map(|c| class_names[c].to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top1_is_taken_among_the_sets_labels_and_unknown_classes_are_listed() {
        let vocabulary: Vec<String> = ["kick", "snare", "piano", "speech"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // Columns: kick, snare, piano, speech. The set knows kick and snare, and `gong`.
        let rows = vec![
            vec![0.9, 0.1, 0.99, 0.0], // kick: right (piano is not in the set)
            vec![0.6, 0.4, 0.0, 0.0],  // kick: right
            vec![0.7, 0.2, 0.0, 0.0],  // snare: named kick
            vec![0.1, 0.8, 0.0, 0.0],  // snare: right
            vec![0.5, 0.5, 0.5, 0.5],  // gong: not scored
        ];
        let classes = [0, 0, 1, 1, 2];
        let s = score_head(&rows, &classes, &["kick", "snare", "gong"], &vocabulary);
        assert_eq!(s.files, 4);
        assert!((s.top1_accuracy - 0.75).abs() < 1e-12);
        assert_eq!(s.unknown_classes, vec!["gong".to_string()]);
        let kick = &s.labels[0];
        assert_eq!((kick.files, kick.recall), (2, 1.0));
        assert!((kick.precision - 2.0 / 3.0).abs() < 1e-12);
        let snare = &s.labels[1];
        assert_eq!((snare.precision, snare.recall), (1.0, 0.5));
    }
}
