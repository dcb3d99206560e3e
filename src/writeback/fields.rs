//! The tag fields write-back fills, where each one's labels come from, and the rule for fields
//! that already hold a value.
//!
//! A field's value is one text: the chosen labels, best score first, joined by `"; "`. The same
//! text goes into every format, so any reader shows the same thing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Labels below this score are not written unless a field says otherwise.
pub const DEFAULT_THRESHOLD: f32 = 0.5;
/// Most labels per field unless a field says otherwise.
pub const DEFAULT_TOP: usize = 3;
/// What separates labels inside one field value.
pub const LABEL_SEPARATOR: &str = "; ";
/// The field write-back fills unless told otherwise, in the window and on the command line
/// alike: a field of Earmark's own (ID3v2 `TXXX:EARMARK_TAGS`, Vorbis `EARMARK_TAGS`, MP4
/// `----:com.apple.iTunes:EARMARK_TAGS`). It suits samples and music: a kick sample does not get
/// genre=kick, a song's genre, mood and comment stay the user's, and writing it again (or
/// undoing it) never touches a field anyone else fills.
pub const DEFAULT_FIELD: &str = "EARMARK_TAGS";
/// Longest custom field name.
const MAX_NAME_LEN: usize = 64;

/// A field of the file's tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Field {
    /// The genre: ID3v2 `TCON`, Vorbis `GENRE`, MP4 `©gen`.
    Genre,
    /// The mood: ID3v2.4 `TMOO` (ID3v2.3 `TXXX:MOOD`), Vorbis `MOOD`, MP4 freeform `MOOD`.
    Mood,
    /// A field of the user's naming: ID3v2 `TXXX:NAME`, Vorbis `NAME`, MP4 freeform
    /// `----:com.apple.iTunes:NAME`.
    Custom(String),
}

impl Field {
    /// Parses a field name: `genre`, `mood` (any case) or a custom name of letters, digits, `_`,
    /// `-` and `.`.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("genre") {
            return Ok(Field::Genre);
        }
        if name.eq_ignore_ascii_case("mood") {
            return Ok(Field::Mood);
        }
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return Err(Error::InvalidInput(format!(
                "`{name}` is not a usable tag field name: use genre, mood, or up to \
                 {MAX_NAME_LEN} letters, digits, `_`, `-` or `.`"
            )));
        }
        Ok(Field::Custom(name.to_owned()))
    }

    /// The name people use for it.
    pub fn name(&self) -> &str {
        match self {
            Field::Genre => "genre",
            Field::Mood => "mood",
            Field::Custom(name) => name,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Field> for String {
    fn from(f: Field) -> Self {
        f.name().to_owned()
    }
}

impl TryFrom<String> for Field {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Field::parse(&s)
    }
}

/// What happens to a field that already holds a non-empty value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Leave it as it is (the default: nothing the user wrote is lost).
    #[default]
    Keep,
    /// Add the labels it lacks after the ones it has.
    Merge,
    /// Replace it.
    Overwrite,
}

/// One field to fill: from which tag sources, with which threshold and how many labels.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// The field.
    pub field: Field,
    /// Tag sources (`personal`, a head's name); empty means every source.
    pub sources: Vec<String>,
    /// Lowest score a label needs.
    pub threshold: f32,
    /// Most labels written.
    pub top: usize,
}

impl FieldSpec {
    /// A field fed by `sources` (empty: all) with a threshold and a top-N.
    pub fn new(field: Field, sources: Vec<String>, threshold: f32, top: usize) -> Self {
        FieldSpec {
            field,
            sources,
            threshold,
            top,
        }
    }

    /// The default: [`DEFAULT_FIELD`] from every source, [`DEFAULT_THRESHOLD`], [`DEFAULT_TOP`].
    pub fn default_field() -> Self {
        FieldSpec::new(
            Field::Custom(DEFAULT_FIELD.to_owned()),
            Vec::new(),
            DEFAULT_THRESHOLD,
            DEFAULT_TOP,
        )
    }

    /// Parses `FIELD=SOURCES[:THRESHOLD[:TOP]]`, where SOURCES is a comma-separated list of tag
    /// sources or `*` for all; a bare `FIELD` takes every source. Missing numbers take the
    /// given defaults.
    pub fn parse(spec: &str, threshold: f32, top: usize) -> Result<Self> {
        let bad = |why: &str| {
            Error::InvalidInput(format!(
                "field `{spec}`: {why} (expected FIELD=SOURCES[:THRESHOLD[:TOP]], e.g. \
                 genre=personal:0.6:2)"
            ))
        };
        let (name, rest) = spec.split_once('=').unwrap_or((spec, "*"));
        let field = Field::parse(name)?;
        let mut parts = rest.split(':');
        let sources_text = parts.next().unwrap_or("*").trim();
        let sources = if sources_text.is_empty() || sources_text == "*" {
            Vec::new()
        } else {
            sources_text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let threshold = match parts.next() {
            Some(t) => t
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|t| (0.0..=1.0).contains(t))
                .ok_or_else(|| bad("the threshold must be a number from 0 to 1"))?,
            None => threshold,
        };
        let top = match parts.next() {
            Some(n) => n
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad("top must be a whole number above 0"))?,
            None => top,
        };
        if parts.next().is_some() {
            return Err(bad("too many `:` parts"));
        }
        Ok(FieldSpec::new(field, sources, threshold, top))
    }

    /// The labels this field takes from a file's `(source, label, score)` tags: the sources it
    /// reads, scores at or above the threshold, each label once with its best score, best
    /// first (ties by label), at most `top`.
    pub fn labels(&self, tags: &[(String, String, f64)]) -> Vec<String> {
        let mut best: Vec<(String, f64)> = Vec::new();
        for (source, label, score) in tags {
            if !self.sources.is_empty() && !self.sources.iter().any(|s| s == source) {
                continue;
            }
            if *score < f64::from(self.threshold) || label.trim().is_empty() {
                continue;
            }
            match best.iter_mut().find(|(l, _)| l == label) {
                Some((_, s)) => *s = s.max(*score),
                None => best.push((label.clone(), *score)),
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        best.into_iter().take(self.top).map(|(l, _)| l).collect()
    }
}

impl FromStr for FieldSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        FieldSpec::parse(s, DEFAULT_THRESHOLD, DEFAULT_TOP)
    }
}

/// Splits a field value into its labels (on `;`, trimmed, empty parts dropped).
pub fn split_labels(value: &str) -> Vec<&str> {
    value
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// `current` followed by the labels of `new` it lacks (compared without regard to case).
pub fn merge_labels(current: &str, new: &[String]) -> String {
    let mut labels: Vec<String> = split_labels(current)
        .into_iter()
        .map(str::to_owned)
        .collect();
    for label in new {
        if !labels.iter().any(|l| l.eq_ignore_ascii_case(label)) {
            labels.push(label.clone());
        }
    }
    labels.join(LABEL_SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Vec<(String, String, f64)> {
        [
            ("personal", "speech", 0.91),
            ("esc50", "dog", 0.72),
            ("personal", "rain", 0.55),
            ("esc50", "speech", 0.95),
            ("personal", "wind", 0.2),
            ("esc50", "birds", 0.72),
        ]
        .iter()
        .map(|(s, l, p)| ((*s).to_owned(), (*l).to_owned(), *p))
        .collect()
    }

    #[test]
    fn field_names_parse_and_bad_ones_are_refused() {
        assert_eq!(Field::parse("GENRE").unwrap(), Field::Genre);
        assert_eq!(Field::parse("Mood").unwrap(), Field::Mood);
        assert_eq!(
            Field::parse("EARMARK_TAGS").unwrap(),
            Field::Custom("EARMARK_TAGS".into())
        );
        for bad in ["", "a=b", "two words", "ünïcode", &"x".repeat(65)] {
            assert!(Field::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn specs_parse_sources_threshold_and_top() {
        let s = FieldSpec::parse("genre=personal,esc50:0.6:2", 0.5, 3).unwrap();
        assert_eq!(s.field, Field::Genre);
        assert_eq!(s.sources, ["personal", "esc50"]);
        assert_eq!((s.threshold, s.top), (0.6, 2));
        let s = FieldSpec::parse("EARMARK_TAGS", 0.4, 5).unwrap();
        assert!(s.sources.is_empty());
        assert_eq!((s.threshold, s.top), (0.4, 5));
        let s = FieldSpec::parse("mood=*:0.3", 0.5, 3).unwrap();
        assert!(s.sources.is_empty());
        assert_eq!((s.threshold, s.top), (0.3, 3));
        for bad in ["genre=a:2", "genre=a:0.5:0", "genre=a:0.5:1:9", "g e=a"] {
            assert!(FieldSpec::parse(bad, 0.5, 3).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn labels_follow_sources_threshold_top_and_order() {
        let all = FieldSpec::new(Field::Genre, Vec::new(), 0.5, 10);
        // "speech" once with its best score; ties (0.72) by label.
        assert_eq!(all.labels(&tags()), ["speech", "birds", "dog", "rain"]);
        let personal = FieldSpec::new(Field::Genre, vec!["personal".into()], 0.5, 10);
        assert_eq!(personal.labels(&tags()), ["speech", "rain"]);
        let top1 = FieldSpec::new(Field::Genre, vec!["esc50".into()], 0.8, 1);
        assert_eq!(top1.labels(&tags()), ["speech"]);
        let none = FieldSpec::new(Field::Genre, vec!["other".into()], 0.0, 3);
        assert!(none.labels(&tags()).is_empty());
    }

    #[test]
    fn merging_keeps_existing_labels_first_and_adds_the_missing() {
        let new = vec!["Speech".to_owned(), "rain".to_owned()];
        assert_eq!(merge_labels("Rock; speech", &new), "Rock; speech; rain");
        assert_eq!(merge_labels("", &new), "Speech; rain");
        assert_eq!(split_labels(" a ;; b;"), ["a", "b"]);
    }
}
