//! Colouring the map: each point gets a group — its folder, its best tag, or whether it
//! carries a chosen tag — and the largest groups get distinct colours (the rest share grey),
//! listed in the legend with how many files each holds.

use std::collections::HashMap;

use eframe::egui::Color32;

use super::MapPoint;
use crate::gui::shared::rows::Row;
use crate::gui::shared::state::MapColour;

/// Distinct colours that read on the map's dark and light backgrounds (Tableau 10, less its
/// grey), for the largest groups in order.
pub const PALETTE: [Color32; 9] = [
    Color32::from_rgb(78, 121, 167),
    Color32::from_rgb(242, 142, 43),
    Color32::from_rgb(225, 87, 89),
    Color32::from_rgb(118, 183, 178),
    Color32::from_rgb(89, 161, 79),
    Color32::from_rgb(237, 201, 72),
    Color32::from_rgb(176, 122, 161),
    Color32::from_rgb(255, 157, 167),
    Color32::from_rgb(156, 117, 95),
];

/// One entry of the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// What its files share ("drums/kicks", "kick", "other folders", …).
    pub name: String,
    /// Its colour: an index into [`PALETTE`], or `None` for grey.
    pub colour: Option<usize>,
    /// How many points it holds.
    pub count: usize,
}

/// Every point's group and the legend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Colouring {
    /// The legend, coloured groups first (largest first), the grey group last.
    pub groups: Vec<Group>,
    /// For each point, its group (an index into `groups`).
    pub of_point: Vec<usize>,
}

/// Colours `points` by `mode`, reading folders and tags from `rows` (sorted by path) and tag
/// names from `labels` (the snapshot's, sorted).
pub fn colour(points: &[MapPoint], rows: &[Row], labels: &[String], mode: &MapColour) -> Colouring {
    let row_of = |p: &MapPoint| {
        rows.binary_search_by(|r| r.path.as_str().cmp(&p.path))
            .ok()
            .map(|i| &rows[i])
            .filter(|r| r.id == p.file_id)
    };
    let found: Vec<Option<&Row>> = points.iter().map(row_of).collect();
    match mode {
        MapColour::Folder => {
            let depth = folder_depth(found.iter().flatten().map(|r| r.folder.as_str()));
            let keys = found
                .iter()
                .map(|r| r.map(|r| prefix(&r.folder, depth).to_string()));
            largest_groups(keys.collect(), "other folders")
        }
        MapColour::TopTag => {
            let keys = found.iter().map(|r| {
                r.map(|r| match r.tags.split(", ").next() {
                    Some(t) if !t.is_empty() => t.to_string(),
                    _ => "no tag".to_string(),
                })
            });
            largest_groups(keys.collect(), "other tags")
        }
        MapColour::Tag(tag) => {
            let id = labels.binary_search(tag).ok().map(|i| i as u32);
            let carries = |r: &Option<&Row>| {
                r.zip(id)
                    .is_some_and(|(r, id)| r.labels.binary_search(&id).is_ok())
            };
            let of_point: Vec<usize> = found.iter().map(|r| usize::from(!carries(r))).collect();
            let count = of_point.iter().filter(|&&g| g == 0).count();
            Colouring {
                groups: vec![
                    Group {
                        name: tag.clone(),
                        colour: Some(1),
                        count,
                    },
                    Group {
                        name: format!("without {tag}"),
                        colour: None,
                        count: points.len() - count,
                    },
                ],
                of_point,
            }
        }
    }
}

/// The first `depth` components of a folder shown as "root/a/b".
fn prefix(folder: &str, depth: usize) -> &str {
    match folder.match_indices('/').nth(depth.saturating_sub(1)) {
        Some((at, _)) if depth > 0 => &folder[..at],
        _ => folder,
    }
}

/// The shallowest folder depth at which the files fall into more than one group (the deepest
/// there is when they never do).
fn folder_depth<'a>(folders: impl Iterator<Item = &'a str> + Clone) -> usize {
    let deepest = folders
        .clone()
        .map(|f| f.split('/').count())
        .max()
        .unwrap_or(1);
    (1..=deepest)
        .find(|&d| {
            let mut seen = folders.clone().map(|f| prefix(f, d));
            let first = seen.next();
            seen.any(|f| Some(f) != first)
        })
        .unwrap_or(deepest)
}

/// Groups by key: the [`PALETTE`]`.len()` largest get colours (ties by name), the rest and the
/// points without a key share the grey group `rest`.
fn largest_groups(keys: Vec<Option<String>>, rest: &str) -> Colouring {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for k in keys.iter().flatten() {
        *counts.entry(k.as_str()).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked.truncate(PALETTE.len());
    let mut groups: Vec<Group> = ranked
        .iter()
        .enumerate()
        .map(|(i, (name, count))| Group {
            name: (*name).to_string(),
            colour: Some(i),
            count: *count,
        })
        .collect();
    let index: HashMap<&str, usize> = ranked
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, i))
        .collect();
    let grey = groups.len();
    let of_point: Vec<usize> = keys
        .iter()
        .map(|k| {
            k.as_deref()
                .and_then(|k| index.get(k).copied())
                .unwrap_or(grey)
        })
        .collect();
    let others = of_point.iter().filter(|&&g| g == grey).count();
    if others > 0 {
        groups.push(Group {
            name: rest.to_string(),
            colour: None,
            count: others,
        });
    }
    Colouring { groups, of_point }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::table::TableRow;

    fn row(id: i64, path: &str, tags: &str, labels: Vec<u32>) -> Row {
        let mut r = crate::gui::shared::rows::make_row(TableRow {
            id,
            path: path.into(),
            root: "/m/sounds".into(),
            duration_s: Some(1.0),
            status: "indexed".into(),
            error: None,
            top_tags: tags.into(),
            media: Default::default(),
        });
        r.labels = labels;
        r
    }

    fn point(r: &Row) -> MapPoint {
        MapPoint {
            file_id: r.id,
            pos: [0.5, 0.5],
            path: r.path.clone(),
        }
    }

    #[test]
    fn folders_colour_at_the_first_depth_that_tells_files_apart() {
        let rows = vec![
            row(1, "/m/sounds/chords/a.wav", "piano, music", vec![0, 2]),
            row(2, "/m/sounds/chords/b.wav", "piano", vec![2]),
            row(3, "/m/sounds/noise/c.wav", "noise", vec![1]),
            row(4, "/m/sounds/top.wav", "", vec![]),
        ];
        let mut points: Vec<MapPoint> = rows.iter().map(point).collect();
        points.push(MapPoint {
            file_id: 9,
            pos: [0.1, 0.1],
            path: "/gone.wav".into(),
        });
        let labels: Vec<String> = ["music", "noise", "piano"].map(String::from).to_vec();
        let c = colour(&points, &rows, &labels, &MapColour::Folder);
        let names: Vec<(&str, usize)> = c
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g.count))
            .collect();
        assert_eq!(
            names,
            [
                ("sounds/chords", 2),
                ("sounds", 1),
                ("sounds/noise", 1),
                ("other folders", 1)
            ]
        );
        assert_eq!(c.of_point, [0, 0, 2, 1, 3]);
        assert_eq!(c.groups[3].colour, None, "the rest is grey");

        let c = colour(&points, &rows, &labels, &MapColour::TopTag);
        let names: Vec<&str> = c.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["piano", "no tag", "noise", "other tags"]);

        let c = colour(&points, &rows, &labels, &MapColour::Tag("piano".into()));
        assert_eq!(c.of_point, [0, 0, 1, 1, 1]);
        assert_eq!((c.groups[0].count, c.groups[1].count), (2, 3));
        assert_eq!(c.groups[1].name, "without piano");
    }

    #[test]
    fn only_the_largest_groups_get_colours() {
        let mut rows: Vec<Row> = (0..30)
            .map(|i| {
                row(
                    i,
                    &format!("/m/sounds/f{:02}/x{i:02}.wav", i % 12),
                    "",
                    vec![],
                )
            })
            .collect();
        rows.sort_by(|a, b| a.path.cmp(&b.path));
        let points: Vec<MapPoint> = rows.iter().map(point).collect();
        let c = colour(&points, &rows, &[], &MapColour::Folder);
        assert_eq!(c.groups.len(), PALETTE.len() + 1);
        assert_eq!(c.groups[0].count, 3, "f00–f05 hold three files each");
        let rest = c.groups.last().unwrap();
        assert_eq!((rest.name.as_str(), rest.count), ("other folders", 6));
        assert_eq!(c.groups.iter().map(|g| g.count).sum::<usize>(), 30);
        assert_eq!(prefix("a/b/c", 2), "a/b");
        assert_eq!(prefix("a", 3), "a");
    }
}
