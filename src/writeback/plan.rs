//! The plan of a write-back: for each selected library file, each chosen field's value now and
//! the value it would get, with what will happen to it. Planning reads tags and touches
//! nothing, so a plan is also the dry run.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fields::{FieldSpec, LABEL_SEPARATOR, Policy, merge_labels};
use super::formats::{self, FileTags, TagFormat};
use super::{Field, Selection, WritebackOptions};
use crate::error::{Error, Result};
use crate::jobs::{JobControl, Progress, ProgressTracker};
use crate::library::Library;

/// What happens to one field of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The field is empty and gets the labels.
    Write,
    /// The field's value is replaced (`--overwrite`).
    Overwrite,
    /// The labels the field lacks are added to it (`--merge`).
    Merge,
    /// The field has a value and keeps it (the default policy).
    Keep,
    /// The field already holds exactly this.
    Same,
    /// No label of the field's sources reaches its threshold.
    NoLabels,
}

impl Action {
    /// Whether the file must be written for this field.
    pub fn writes(self) -> bool {
        matches!(self, Action::Write | Action::Overwrite | Action::Merge)
    }
}

/// One field of one file: its value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field.
    pub field: Field,
    /// Its value now (`None`: empty).
    pub current: Option<String>,
    /// Its value after the write (the current one unless the action writes).
    pub new: Option<String>,
    /// What happens.
    pub action: Action,
}

/// One file's part of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilePlan {
    /// The library's id of the file.
    pub file_id: i64,
    /// Its path.
    pub path: String,
    /// Its format.
    pub format: TagFormat,
    /// Size when planned.
    pub size: u64,
    /// Modification time (ns) when planned.
    pub mtime_ns: i64,
    /// Every chosen field.
    pub changes: Vec<FieldChange>,
    /// Something worth knowing about the write (an ID3v2.3 tag rewritten as ID3v2.4).
    pub note: Option<String>,
}

impl FilePlan {
    /// Whether anything is to be written into this file.
    pub fn needs_write(&self) -> bool {
        self.changes.iter().any(|c| c.action.writes())
    }
}

/// A whole plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Files with at least one label to write, sorted by path.
    pub files: Vec<FilePlan>,
    /// Selected files with no label above any field's threshold (not read).
    pub without_labels: usize,
    /// Files that cannot be tagged, with the reason.
    pub problems: Vec<(String, String)>,
}

impl Plan {
    /// Files that will be written.
    pub fn to_write(&self) -> usize {
        self.files.iter().filter(|f| f.needs_write()).count()
    }
}

/// Whether `path` is selected.
fn selected(path: &str, selection: &Selection) -> bool {
    match selection {
        Selection::All => true,
        Selection::Paths(paths) => paths.iter().any(|p| Path::new(path).starts_with(p)),
    }
}

/// Size and modification time (ns) of a file.
pub(crate) fn size_and_mtime(md: &std::fs::Metadata) -> (u64, i64) {
    let mtime = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    (md.len(), mtime)
}

/// What one field gets, given its current value and its labels.
pub fn decide(
    field: &Field,
    current: Option<String>,
    labels: &[String],
    policy: Policy,
) -> FieldChange {
    let proposed = labels.join(LABEL_SEPARATOR);
    let (action, new) = match (&current, labels.is_empty()) {
        (_, true) => (Action::NoLabels, current.clone()),
        (None, false) => (Action::Write, Some(proposed)),
        (Some(now), false) if *now == proposed => (Action::Same, current.clone()),
        (Some(now), false) => match policy {
            Policy::Keep => (Action::Keep, current.clone()),
            Policy::Overwrite => (Action::Overwrite, Some(proposed)),
            Policy::Merge => {
                let merged = merge_labels(now, labels);
                if merged == *now {
                    (Action::Same, current.clone())
                } else {
                    (Action::Merge, Some(merged))
                }
            }
        },
    };
    FieldChange {
        field: field.clone(),
        current,
        new,
        action,
    }
}

fn check_fields(fields: &[FieldSpec]) -> Result<()> {
    if fields.is_empty() {
        return Err(Error::InvalidInput("no field to write".into()));
    }
    for (i, f) in fields.iter().enumerate() {
        if fields[..i].iter().any(|g| g.field == f.field) {
            return Err(Error::InvalidInput(format!(
                "field `{}` is named twice",
                f.field
            )));
        }
    }
    Ok(())
}

/// Plans one file whose labels per field are `labels`.
fn plan_file(
    file_id: i64,
    path: &str,
    labels: &[Vec<String>],
    opts: &WritebackOptions,
) -> std::result::Result<FilePlan, String> {
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "the file is missing (gone since the last scan)".to_owned(),
        _ => format!("cannot open: {e}"),
    })?;
    let md = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    let (size, mtime_ns) = size_and_mtime(&md);
    let mut reader = BufReader::new(file);
    let format = formats::detect_file(&mut reader, Path::new(path))?;
    std::io::Seek::rewind(&mut reader).map_err(|e| format!("cannot read: {e}"))?;
    let tags = FileTags::read(&mut reader, format)?;
    let changes = opts
        .fields
        .iter()
        .zip(labels)
        .map(|(spec, labels)| decide(&spec.field, tags.get(&spec.field), labels, opts.policy))
        .collect();
    let note = match tags.id3_version() {
        Some(lofty::id3::v2::Id3v2Version::V3) if !opts.id3v23 => {
            Some("its ID3v2.3 tag is written as ID3v2.4 (--id3v23 keeps 2.3)".to_owned())
        }
        Some(lofty::id3::v2::Id3v2Version::V4) if opts.id3v23 => {
            Some("its ID3v2.4 tag is written as ID3v2.3".to_owned())
        }
        _ => None,
    };
    Ok(FilePlan {
        file_id,
        path: path.to_owned(),
        format,
        size,
        mtime_ns,
        changes,
        note,
    })
}

/// Plans a write-back of the selected library files. `progress` hears of every file; a
/// cancel through `control` ends it with [`Error::Cancelled`].
pub fn plan(
    lib: &Library,
    opts: &WritebackOptions,
    selection: &Selection,
    progress: &mut dyn FnMut(&Progress),
    control: &JobControl,
) -> Result<Plan> {
    check_fields(&opts.fields)?;
    let mut files: Vec<(i64, String)> = lib
        .all_known_files()?
        .into_iter()
        .filter(|f| selected(&f.path, selection))
        .map(|f| (f.id, f.path))
        .collect();
    files.sort_by(|a, b| a.1.cmp(&b.1));
    let mut out = Plan::default();
    let mut tracker = ProgressTracker::new(files.len());
    for (id, path) in files {
        control.checkpoint()?;
        let tags = lib.tags_of_file(id)?;
        let labels: Vec<Vec<String>> = opts.fields.iter().map(|f| f.labels(&tags)).collect();
        let mut failed = false;
        if labels.iter().all(Vec::is_empty) {
            out.without_labels += 1;
        } else {
            match plan_file(id, &path, &labels, opts) {
                Ok(p) => out.files.push(p),
                Err(reason) => {
                    failed = true;
                    out.problems.push((path.clone(), reason));
                }
            }
        }
        tracker.finish_item(failed);
        progress(&tracker.snapshot(Some(path)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn each_policy_decides_as_documented() {
        let g = Field::Genre;
        let new = labels(&["speech", "rain"]);
        let c = decide(&g, None, &new, Policy::Keep);
        assert_eq!(
            (c.action, c.new.as_deref()),
            (Action::Write, Some("speech; rain"))
        );
        let rock = Some("Rock".to_owned());
        let c = decide(&g, rock.clone(), &new, Policy::Keep);
        assert_eq!((c.action, c.new.as_deref()), (Action::Keep, Some("Rock")));
        let c = decide(&g, rock.clone(), &new, Policy::Overwrite);
        assert_eq!(
            (c.action, c.new.as_deref()),
            (Action::Overwrite, Some("speech; rain"))
        );
        let c = decide(&g, rock.clone(), &new, Policy::Merge);
        assert_eq!(
            (c.action, c.new.as_deref()),
            (Action::Merge, Some("Rock; speech; rain"))
        );
        let both = Some("rain; Speech".to_owned());
        assert_eq!(decide(&g, both, &new, Policy::Merge).action, Action::Same);
        let same = Some("speech; rain".to_owned());
        assert_eq!(
            decide(&g, same, &new, Policy::Overwrite).action,
            Action::Same
        );
        let c = decide(&g, rock, &[], Policy::Overwrite);
        assert_eq!(
            (c.action, c.new.as_deref()),
            (Action::NoLabels, Some("Rock"))
        );
        assert!(!Action::Keep.writes() && Action::Merge.writes());
    }

    #[test]
    fn a_field_named_twice_is_refused() {
        let f = FieldSpec::new(Field::Genre, Vec::new(), 0.5, 2);
        assert!(check_fields(&[f.clone(), f]).is_err());
        assert!(check_fields(&[]).is_err());
    }
}
