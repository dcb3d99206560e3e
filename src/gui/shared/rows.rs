//! The library as the table shows it: every file row read in one query on a worker thread,
//! then filtered and sorted into a list of indices only when the filter, the sorting or the
//! rows change — never per frame — so the table stays smooth at 100,000 rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::library::measure::strip_own_path;
use crate::library::query::StatusCounts;
use crate::library::table::{MediaFacts, TableRow};
use crate::library::{ACTIVE_MODEL_KEY, Library};

use crate::gui::shared::state::SortColumn;

/// One file as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// File id in the index.
    pub id: i64,
    /// Absolute path.
    pub path: String,
    /// File name.
    pub name: String,
    /// Folder relative to its library root.
    pub folder: String,
    /// Duration in seconds, once analysed.
    pub duration_s: Option<f64>,
    /// `pending`, `indexed`, `error` (could not be read) or `too_short` (too short to analyse).
    pub status: String,
    /// Why the file failed (or a note such as "truncated"), without the file's path.
    pub error: Option<String>,
    /// The three best tags, comma separated.
    pub tags: String,
    /// Every tag the file carries, as indices into [`Snapshot::labels`], ascending.
    pub labels: Vec<u32>,
    /// Title, artist, album, format and measures (loudness, true peak, tempo), once analysed.
    pub media: MediaFacts,
    /// Lower-case name, folder, tags, title, artist and album, for the text filter.
    haystack: String,
}

impl Row {
    /// Whether the file could not be analysed: unreadable, or too short (the errors view).
    pub fn not_analysed(&self) -> bool {
        matches!(self.status.as_str(), "error" | "too_short")
    }
}

/// A library root and whether its folder is there.
#[derive(Debug, Clone, PartialEq)]
pub struct Root {
    /// The folder.
    pub path: String,
    /// Whether it exists now.
    pub present: bool,
}

/// Everything read from the index in one go.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The rows, sorted by path.
    pub rows: Arc<Vec<Row>>,
    /// The roots.
    pub roots: Vec<Root>,
    /// Counts.
    pub counts: StatusCounts,
    /// The model the library last scanned with (its setting).
    pub active_model: Option<PathBuf>,
    /// Every tag label, sorted.
    pub labels: Vec<String>,
    /// Files carrying each label of [`Snapshot::labels`].
    pub label_counts: Vec<usize>,
    /// The personal tags (those with examples), sorted.
    pub personal_tags: Vec<String>,
}

impl Snapshot {
    /// The library folders that are on disk now.
    pub fn present_roots(&self) -> Vec<PathBuf> {
        self.roots
            .iter()
            .filter(|r| r.present)
            .map(|r| PathBuf::from(&r.path))
            .collect()
    }

    /// The indices of these label names, ascending; a name the library does not know becomes
    /// `u32::MAX`, which no row carries.
    pub fn label_ids(&self, names: &[String]) -> Vec<u32> {
        let mut ids: Vec<u32> = names
            .iter()
            .map(|n| self.labels.binary_search(n).map_or(u32::MAX, |i| i as u32))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Reads the index at `path` (opening its own connection).
pub fn load(path: &Path) -> crate::Result<Snapshot> {
    let lib = Library::open(path)?;
    let roots: Vec<String> = lib.roots()?.into_iter().map(|(_, p)| p).collect();
    let rows = lib.table_rows()?.into_iter().map(make_row).collect();
    let (labels, label_counts): (Vec<String>, Vec<usize>) = lib.label_counts()?.into_iter().unzip();
    let rows = attach_labels(&lib, rows, &labels)?;
    Ok(Snapshot {
        rows: Arc::new(rows),
        roots: roots
            .into_iter()
            .map(|p| Root {
                present: Path::new(&p).is_dir(),
                path: p,
            })
            .collect(),
        counts: lib.status()?,
        active_model: lib.setting(ACTIVE_MODEL_KEY)?.map(PathBuf::from),
        labels,
        label_counts,
        personal_tags: lib.personal_tags()?.into_iter().map(|t| t.label).collect(),
    })
}

/// Fills each row's label indices from the `tags` table (rows sorted by path, `labels` sorted).
fn attach_labels(lib: &Library, mut rows: Vec<Row>, labels: &[String]) -> crate::Result<Vec<Row>> {
    let by_id: std::collections::HashMap<i64, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    lib.for_each_file_label(|id, label| {
        if let (Some(&i), Ok(l)) = (by_id.get(&id), labels.binary_search(&label)) {
            rows[i].labels.push(l as u32);
        }
    })?;
    for r in &mut rows {
        r.labels.sort_unstable();
    }
    Ok(rows)
}

/// Builds a row; the folder is shown relative to the root, and a reason that starts with the
/// file's own path (as stored by older versions) is shown without it.
pub fn make_row(r: TableRow) -> Row {
    let TableRow {
        id,
        path,
        root,
        duration_s,
        status,
        error,
        top_tags: tags,
        media,
    } = r;
    let root = root.as_str();
    let p = Path::new(&path);
    let name = p
        .file_name()
        .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
    let root_name = Path::new(root)
        .file_name()
        .map_or_else(|| root.to_string(), |n| n.to_string_lossy().into_owned());
    let folder = p
        .parent()
        .and_then(|d| d.strip_prefix(root).ok())
        .map_or_else(
            || root_name.clone(),
            |rel| {
                if rel.as_os_str().is_empty() {
                    root_name.clone()
                } else {
                    format!("{root_name}/{}", rel.display())
                }
            },
        );
    let error = error.map(|e| strip_own_path(&path, &e));
    let words = [&media.title, &media.artist, &media.album];
    let mut haystack = format!("{name}\n{folder}\n{tags}");
    for w in words.into_iter().flatten() {
        haystack.push('\n');
        haystack.push_str(w);
    }
    let haystack = haystack.to_lowercase();
    Row {
        id,
        path,
        name,
        folder,
        duration_s,
        status,
        error,
        tags,
        labels: Vec::new(),
        media,
        haystack,
    }
}

/// The rows to show: the rows they index, and the indices in display order.
#[derive(Debug, Clone, Default)]
pub struct RowView {
    /// The rows this view was built from.
    pub rows: Arc<Vec<Row>>,
    /// Indices into `rows`, in display order.
    pub order: Vec<usize>,
}

impl RowView {
    /// Filters `rows` by `filter` (every word must appear in name, folder or tags; case is
    /// ignored) and `errors_only`, then sorts by `sort`.
    pub fn build(
        all: &Arc<Vec<Row>>,
        filter: &str,
        errors_only: bool,
        sort: (SortColumn, bool),
    ) -> Self {
        Self::build_tagged(all, filter, &[], errors_only, sort)
    }

    /// [`RowView::build`], keeping only rows that carry every label of `tags` (indices into
    /// the snapshot's labels, ascending).
    pub fn build_tagged(
        all: &Arc<Vec<Row>>,
        filter: &str,
        tags: &[u32],
        errors_only: bool,
        sort: (SortColumn, bool),
    ) -> Self {
        let rows = all.as_slice();
        let words: Vec<String> = filter.split_whitespace().map(str::to_lowercase).collect();
        let mut order: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !errors_only || r.not_analysed())
            .filter(|(_, r)| tags.iter().all(|t| r.labels.binary_search(t).is_ok()))
            .filter(|(_, r)| words.iter().all(|w| r.haystack.contains(w.as_str())))
            .map(|(i, _)| i)
            .collect();
        sort_order(rows, &mut order, sort);
        RowView {
            rows: Arc::clone(all),
            order,
        }
    }

    /// Position of the row with file id `id`, if shown.
    pub fn position_of(&self, id: i64) -> Option<usize> {
        self.order.iter().position(|&i| self.rows[i].id == id)
    }

    /// The row shown at `position`.
    pub fn row(&self, position: usize) -> Option<&Row> {
        self.order.get(position).map(|&i| &self.rows[i])
    }
}

/// Sorts `order` by `column`; a row without a value for it (no title, not measured) comes
/// last either way. Rows arrive sorted by path and the sort is stable: ties stay in path order.
fn sort_order(rows: &[Row], order: &mut Vec<usize>, (column, ascending): (SortColumn, bool)) {
    use std::cmp::Ordering;
    // Titles and artists compare without regard to case (and without allocating).
    let text = |a: &str, b: &str| -> Ordering {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
            .then_with(|| a.cmp(b))
    };
    let (mut known, missing): (Vec<usize>, Vec<usize>) =
        order.iter().partition(|&&i| has_value(&rows[i], column));
    let num = |f: fn(&Row) -> Option<f64>| {
        move |a: &usize, b: &usize| -> Ordering {
            let v = |i: usize| f(&rows[i]).unwrap_or(f64::NEG_INFINITY);
            v(*a).total_cmp(&v(*b))
        }
    };
    let txt = |f: fn(&Row) -> Option<&str>| {
        move |a: &usize, b: &usize| -> Ordering {
            text(f(&rows[*a]).unwrap_or(""), f(&rows[*b]).unwrap_or(""))
        }
    };
    match column {
        SortColumn::Name => known.sort_by(|&a, &b| rows[a].name.cmp(&rows[b].name)),
        SortColumn::Folder => known.sort_by(|&a, &b| rows[a].folder.cmp(&rows[b].folder)),
        SortColumn::Tags => known.sort_by(|&a, &b| rows[a].tags.cmp(&rows[b].tags)),
        SortColumn::Status => known.sort_by(|&a, &b| rows[a].status.cmp(&rows[b].status)),
        SortColumn::Duration => known.sort_by(num(|r| r.duration_s)),
        SortColumn::Title => known.sort_by(txt(|r| r.media.title.as_deref())),
        SortColumn::Artist => known.sort_by(txt(|r| r.media.artist.as_deref())),
        SortColumn::Album => known.sort_by(txt(|r| r.media.album.as_deref())),
        SortColumn::SampleRate => known.sort_by(num(|r| r.media.sample_rate.map(f64::from))),
        SortColumn::BitDepth => known.sort_by(num(|r| r.media.bit_depth.map(f64::from))),
        SortColumn::Channels => known.sort_by(num(|r| r.media.channels.map(f64::from))),
        SortColumn::Loudness => known.sort_by(num(|r| r.media.loudness_lufs)),
        SortColumn::TruePeak => known.sort_by(num(|r| r.media.true_peak_dbtp)),
        SortColumn::Tempo => known.sort_by(num(|r| r.media.tempo_bpm)),
    }
    if !ascending {
        known.reverse();
    }
    known.extend(missing);
    *order = known;
}

/// Whether `row` has a value in `column` (name, folder, tags and status always do).
fn has_value(row: &Row, column: SortColumn) -> bool {
    let m = &row.media;
    match column {
        SortColumn::Name | SortColumn::Folder | SortColumn::Tags | SortColumn::Status => true,
        SortColumn::Duration => row.duration_s.is_some(),
        SortColumn::Title => m.title.is_some(),
        SortColumn::Artist => m.artist.is_some(),
        SortColumn::Album => m.album.is_some(),
        SortColumn::SampleRate => m.sample_rate.is_some(),
        SortColumn::BitDepth => m.bit_depth.is_some(),
        SortColumn::Channels => m.channels.is_some(),
        SortColumn::Loudness => m.loudness_lufs.is_some(),
        SortColumn::TruePeak => m.true_peak_dbtp.is_some(),
        SortColumn::Tempo => m.tempo_bpm.is_some(),
    }
}

/// `m:ss.s` for durations.
pub fn format_duration(seconds: f64) -> String {
    let m = (seconds / 60.0).floor();
    format!("{}:{:04.1}", m as u64, seconds - m * 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, path: &str, dur: f64, status: &str, tags: &str) -> Row {
        make_row(TableRow {
            id,
            path: path.into(),
            root: "/lib".into(),
            duration_s: Some(dur),
            status: status.into(),
            error: None,
            top_tags: tags.into(),
            media: MediaFacts::default(),
        })
    }

    #[test]
    fn filter_sort_and_folders() {
        let rows = Arc::new(vec![
            row(1, "/lib/drums/kick.wav", 0.5, "indexed", "kick, drum"),
            row(2, "/lib/drums/snare.wav", 0.3, "indexed", "snare"),
            row(3, "/lib/pads/Warm Pad.flac", 8.0, "error", ""),
            row(4, "/lib/top.wav", 1.0, "indexed", ""),
        ]);
        assert_eq!(rows[0].folder, "lib/drums");
        assert_eq!(rows[3].folder, "lib");
        let v = RowView::build(&rows, "", false, (SortColumn::Duration, false));
        assert_eq!(v.order, vec![2, 3, 0, 1]);
        let v = RowView::build(&rows, "DRUM", false, (SortColumn::Name, true));
        assert_eq!(v.order, vec![0, 1], "folder matches too");
        let v = RowView::build(&rows, "warm pad", false, (SortColumn::Name, true));
        assert_eq!(v.order, vec![2]);
        let v = RowView::build(&rows, "", true, (SortColumn::Name, true));
        assert_eq!(v.order, vec![2]);
        assert_eq!(v.position_of(3), Some(0));
        assert_eq!(v.row(0).map(|r| r.id), Some(3));
        assert_eq!(format_duration(75.3), "1:15.3");
    }

    fn measured(id: i64, path: &str, title: Option<&str>, lufs: Option<f64>) -> Row {
        make_row(TableRow {
            id,
            path: path.into(),
            root: "/lib".into(),
            duration_s: Some(1.0),
            status: "indexed".into(),
            error: None,
            top_tags: String::new(),
            media: MediaFacts {
                title: title.map(str::to_string),
                artist: Some("Night Trains".into()),
                loudness_lufs: lufs,
                ..MediaFacts::default()
            },
        })
    }

    #[test]
    fn new_columns_sort_with_missing_values_last_both_ways() {
        let rows = Arc::new(vec![
            measured(1, "/lib/a.wav", Some("beta"), Some(-9.0)),
            measured(2, "/lib/b.wav", None, None),
            measured(3, "/lib/c.wav", Some("Alpha"), Some(-23.0)),
            measured(4, "/lib/d.wav", Some("gamma"), Some(-14.0)),
        ]);
        let order = |column, ascending| RowView::build(&rows, "", false, (column, ascending)).order;
        assert_eq!(order(SortColumn::Loudness, true), vec![2, 3, 0, 1]);
        assert_eq!(order(SortColumn::Loudness, false), vec![0, 3, 2, 1]);
        assert_eq!(
            order(SortColumn::Title, true),
            vec![2, 0, 3, 1],
            "case is ignored"
        );
        assert_eq!(order(SortColumn::Title, false), vec![3, 0, 2, 1]);
        let v = RowView::build(&rows, "night trains", false, (SortColumn::Name, true));
        assert_eq!(v.order.len(), 4, "the filter finds the artist");
        let v = RowView::build(&rows, "alpha", false, (SortColumn::Name, true));
        assert_eq!(v.order, vec![2], "and the title");
    }

    #[test]
    fn the_errors_view_holds_unreadable_and_too_short_files_with_reasons_without_the_path() {
        let mut short = row(2, "/lib/click.wav", 0.015, "too_short", "");
        short.error = Some("too short to analyse (0.015 s of audio)".into());
        let old = make_row(TableRow {
            id: 3,
            path: "/lib/bad.wav".into(),
            root: "/lib".into(),
            duration_s: None,
            status: "error".into(),
            error: Some("/lib/bad.wav: cannot decode audio: damaged".into()),
            top_tags: String::new(),
            media: MediaFacts::default(),
        });
        assert_eq!(old.error.as_deref(), Some("cannot decode audio: damaged"));
        let rows = Arc::new(vec![row(1, "/lib/ok.wav", 1.0, "indexed", ""), short, old]);
        let v = RowView::build(&rows, "", true, (SortColumn::Name, true));
        assert_eq!(v.order, vec![2, 1]);
    }

    #[test]
    fn tag_filter_keeps_rows_with_every_chosen_label_and_combines_with_text() {
        let mut rows = vec![
            row(1, "/lib/a/kick.wav", 0.5, "indexed", ""),
            row(2, "/lib/a/snare.wav", 0.3, "indexed", ""),
            row(3, "/lib/b/loop.wav", 4.0, "indexed", ""),
        ];
        let snapshot = Snapshot {
            labels: vec!["drum".into(), "loud".into(), "pad".into()],
            label_counts: vec![2, 2, 1],
            ..Snapshot::default()
        };
        rows[0].labels = vec![0, 1];
        rows[1].labels = vec![0];
        rows[2].labels = vec![1, 2];
        let rows = Arc::new(rows);
        let ids = |names: &[&str]| {
            snapshot.label_ids(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(ids(&["pad", "drum"]), vec![0, 2]);
        let v = RowView::build_tagged(
            &rows,
            "",
            &ids(&["missing"]),
            false,
            (SortColumn::Name, true),
        );
        assert!(v.order.is_empty(), "a tag no file carries shows nothing");
        let sort = (SortColumn::Name, true);
        let v = RowView::build_tagged(&rows, "", &ids(&["drum"]), false, sort);
        assert_eq!(v.order, vec![0, 1]);
        let v = RowView::build_tagged(&rows, "", &ids(&["drum", "loud"]), false, sort);
        assert_eq!(v.order, vec![0], "every chosen label must be carried");
        let v = RowView::build_tagged(&rows, "loop", &ids(&["loud"]), false, sort);
        assert_eq!(v.order, vec![2], "the text filter narrows further");
        let v = RowView::build_tagged(&rows, "", &[], false, sort);
        assert_eq!(v.order.len(), 3);
    }
}
