//! Class vocabularies in the official mapping formats (spec §6), plus plain label lists.
//!
//! | format | recognised by | class order |
//! | --- | --- | --- |
//! | AudioSet CSV `index,mid,display_name` | that header | rows sorted by MID (byte order), as the AudioSet head expects |
//! | FSD50K CSV `index,label,mid` (no header) | a CSV without that header | the index column |
//! | JSON object index → label (ESC-50) | all keys are integers | the keys |
//! | JSON object label → index (OpenMIC, MTG) | all values are integers | the values |
//! | text, one label per line | any other extension | line order |
//!
//! Indices must cover `0..n` exactly once; anything else is an error naming the file.

use std::path::Path;

use crate::error::{Error, Result};

/// Official probe tasks known to the reference wrapper: (path substring, classes, mapping file),
/// in the order the wrapper tries them.
pub const OFFICIAL_TASKS: [(&str, usize, &str); 7] = [
    ("openmic", 20, "openmic_mapping.json"),
    ("mtg_genre", 87, "mtg_genre_mapping.json"),
    ("mtg_instrument", 40, "mtg_instrument_mapping.json"),
    ("mtg_mood", 56, "mtg_mood_mapping.json"),
    ("mtg_top50", 50, "mtg_top50_mapping.json"),
    ("fsd50k", 200, "fsd50k_mapping.csv"),
    ("esc50", 50, "esc50_mapping.json"),
];

/// The mapping file name the official wrapper would use for a probe at `probe_path`.
pub fn official_mapping_for(probe_path: &Path) -> Option<&'static str> {
    let s = probe_path.to_string_lossy();
    OFFICIAL_TASKS
        .iter()
        .find(|(key, _, _)| s.contains(key))
        .map(|(_, _, file)| *file)
}

/// Class names in head output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    /// `labels[i]` names output `i`.
    pub labels: Vec<String>,
}

fn err(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {why}", path.display()))
}

impl Vocabulary {
    /// Names `class_0 … class_{n-1}`, for heads without a vocabulary.
    pub fn numbered(n: usize) -> Self {
        Vocabulary {
            labels: (0..n).map(|i| format!("class_{i}")).collect(),
        }
    }

    /// The vocabulary of the head at `head` with `classes` outputs: the file `labels` when
    /// given, else numbered names; an error when the counts differ.
    pub fn for_head(head: &Path, labels: Option<&Path>, classes: usize) -> Result<Self> {
        let vocab = match labels {
            Some(p) => Vocabulary::load(p)?,
            None => Vocabulary::numbered(classes),
        };
        if vocab.len() != classes {
            return Err(err(
                head,
                format!(
                    "the vocabulary has {} labels, the head {classes} classes",
                    vocab.len()
                ),
            ));
        }
        Ok(vocab)
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no classes.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Reads a vocabulary file in any of the supported formats.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "json" => Self::from_json(&text).map_err(|e| err(path, e)),
            "csv" => Self::from_csv(&text).map_err(|e| err(path, e)),
            _ => {
                let labels: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect();
                if labels.is_empty() {
                    return Err(err(path, "no labels"));
                }
                Ok(Vocabulary { labels })
            }
        }
    }

    /// Parses a JSON mapping (index → label or label → index).
    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let obj = value.as_object().ok_or("expected a JSON object")?;
        let mut pairs = Vec::with_capacity(obj.len());
        if obj.keys().all(|k| k.parse::<usize>().is_ok()) && !obj.is_empty() {
            for (k, v) in obj {
                let label = v
                    .as_str()
                    .ok_or(format!("value of `{k}` is not a string"))?;
                pairs.push((
                    k.parse::<usize>().map_err(|e| e.to_string())?,
                    label.to_owned(),
                ));
            }
        } else {
            for (k, v) in obj {
                let i = v
                    .as_u64()
                    .ok_or(format!("index of `{k}` is not a non-negative integer"))?;
                pairs.push((usize::try_from(i).map_err(|e| e.to_string())?, k.clone()));
            }
        }
        from_pairs(pairs)
    }

    /// Parses an AudioSet (`index,mid,display_name`, sorted by MID) or FSD50K CSV.
    pub fn from_csv(text: &str) -> std::result::Result<Self, String> {
        let mut rows = text.lines().filter(|l| !l.trim().is_empty()).map(split_csv);
        let first = rows.next().ok_or("empty CSV")?;
        let header: Vec<String> = first
            .iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        if header == ["index", "mid", "display_name"] {
            let mut entries = Vec::new();
            for (n, row) in rows.enumerate() {
                let [_, mid, name] = row.as_slice() else {
                    return Err(format!(
                        "row {} has {} fields, expected 3",
                        n + 2,
                        row.len()
                    ));
                };
                entries.push((mid.clone(), name.clone()));
            }
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            return Ok(Vocabulary {
                labels: entries.into_iter().map(|(_, n)| n).collect(),
            });
        }
        let mut pairs = Vec::new();
        for (n, row) in std::iter::once(first).chain(rows).enumerate() {
            if row.len() < 2 {
                return Err(format!(
                    "row {} has {} fields, expected index,label[,…]",
                    n + 1,
                    row.len()
                ));
            }
            let i = row[0]
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("row {}: bad index", n + 1))?;
            pairs.push((i, row[1].clone()));
        }
        from_pairs(pairs)
    }
}

fn from_pairs(mut pairs: Vec<(usize, String)>) -> std::result::Result<Vocabulary, String> {
    pairs.sort_by_key(|p| p.0);
    for (want, (got, label)) in pairs.iter().enumerate() {
        if *got != want {
            return Err(format!(
                "indices must be 0..{} exactly once; `{label}` has {got}",
                pairs.len()
            ));
        }
    }
    Ok(Vocabulary {
        labels: pairs.into_iter().map(|p| p.1).collect(),
    })
}

/// Splits one CSV line; fields may be double-quoted with `""` as an escaped quote.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audioset_csv_is_sorted_by_mid_and_quotes_work() {
        let csv = "index,mid,display_name\n0,/m/09x0r,\"Speech\"\n1,/m/05zppz,\"Male speech, man speaking\"\n2,/g/122z_qxw,\"Firecracker\"\n";
        let v = Vocabulary::from_csv(csv).unwrap();
        assert_eq!(
            v.labels,
            ["Firecracker", "Male speech, man speaking", "Speech"]
        );
    }

    #[test]
    fn json_both_directions_and_gaps_fail() {
        let a = Vocabulary::from_json(r#"{"1": "rooster", "0": "dog"}"#).unwrap();
        assert_eq!(a.labels, ["dog", "rooster"]);
        let b = Vocabulary::from_json(r#"{"banjo": 1, "accordion": 0}"#).unwrap();
        assert_eq!(b.labels, ["accordion", "banjo"]);
        assert!(Vocabulary::from_json(r#"{"a": 0, "b": 2}"#).is_err());
    }

    #[test]
    fn fsd50k_csv_and_official_lookup() {
        let v = Vocabulary::from_csv("1,Accordion,/m/0mkg\n0,Accelerating,/m/07q2z82\n").unwrap();
        assert_eq!(v.labels, ["Accelerating", "Accordion"]);
        assert_eq!(
            official_mapping_for(Path::new("x/esc50/esc50.pth")),
            Some("esc50_mapping.json")
        );
    }
}
