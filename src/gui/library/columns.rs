//! The library table's columns: their order, headers with what each means, widths, the text
//! of each cell, and which ones the user may hide (the Columns menu).

use crate::gui::shared::rows::{Row, format_duration};
use crate::gui::shared::state::SortColumn;

/// Every column, in the order the table shows them.
pub const ALL: [SortColumn; 14] = [
    SortColumn::Name,
    SortColumn::Folder,
    SortColumn::Duration,
    SortColumn::Title,
    SortColumn::Artist,
    SortColumn::Album,
    SortColumn::SampleRate,
    SortColumn::BitDepth,
    SortColumn::Channels,
    SortColumn::Loudness,
    SortColumn::TruePeak,
    SortColumn::Tempo,
    SortColumn::Tags,
    SortColumn::Status,
];

/// Whether the user may hide `column` (the name and the status always show).
pub fn can_hide(column: SortColumn) -> bool {
    !matches!(column, SortColumn::Name | SortColumn::Status)
}

/// The columns shown, in order, given the hidden ones.
pub fn shown(hidden: &[SortColumn]) -> Vec<SortColumn> {
    ALL.into_iter()
        .filter(|c| !can_hide(*c) || !hidden.contains(c))
        .collect()
}

/// The header's text, and what the column means (its tooltip and its name in the menu).
pub fn header(column: SortColumn) -> (&'static str, &'static str) {
    match column {
        SortColumn::Name => ("Name", "File name"),
        SortColumn::Folder => ("Folder", "Folder, from the library folder down"),
        SortColumn::Duration => ("Duration", "Length (minutes:seconds)"),
        SortColumn::Title => ("Title", "Title from the file's tags"),
        SortColumn::Artist => ("Artist", "Artist from the file's tags"),
        SortColumn::Album => ("Album", "Album from the file's tags"),
        SortColumn::SampleRate => ("kHz", "Sample rate in kHz"),
        SortColumn::BitDepth => ("Bits", "Bit depth (none for lossy formats such as MP3)"),
        SortColumn::Channels => ("Ch", "Channels"),
        SortColumn::Loudness => (
            "LUFS",
            "Integrated loudness (EBU R128), LUFS: -14 is loud streaming music, -23 broadcast",
        ),
        SortColumn::TruePeak => (
            "Peak",
            "True peak (EBU R128), dBTP: above -1 may clip once converted",
        ),
        SortColumn::Tempo => ("BPM", "Tempo in beats per minute (music of 30 s or more)"),
        SortColumn::Tags => ("Top tags", "The three strongest tags"),
        SortColumn::Status => ("Status", "Analysed, waiting, too short or unreadable"),
    }
}

/// The column's starting width in points.
pub fn width(column: SortColumn) -> f32 {
    match column {
        SortColumn::Name => 200.0,
        SortColumn::Folder | SortColumn::Tags => 150.0,
        SortColumn::Title | SortColumn::Artist | SortColumn::Album => 120.0,
        SortColumn::Duration => 64.0,
        SortColumn::SampleRate | SortColumn::BitDepth | SortColumn::Channels => 44.0,
        SortColumn::Loudness | SortColumn::TruePeak | SortColumn::Tempo => 52.0,
        SortColumn::Status => 90.0,
    }
}

/// Whether the column holds numbers (drawn right-aligned).
pub fn numeric(column: SortColumn) -> bool {
    matches!(
        column,
        SortColumn::Duration
            | SortColumn::SampleRate
            | SortColumn::BitDepth
            | SortColumn::Channels
            | SortColumn::Loudness
            | SortColumn::TruePeak
            | SortColumn::Tempo
    )
}

/// The text of `row`'s cell in `column` (the status column is drawn on its own).
pub fn text(row: &Row, column: SortColumn) -> String {
    let m = &row.media;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match column {
        SortColumn::Name => row.name.clone(),
        SortColumn::Folder => row.folder.clone(),
        SortColumn::Duration => row.duration_s.map(format_duration).unwrap_or_default(),
        SortColumn::Title => opt(&m.title),
        SortColumn::Artist => opt(&m.artist),
        SortColumn::Album => opt(&m.album),
        SortColumn::SampleRate => m.sample_rate.map(khz).unwrap_or_default(),
        SortColumn::BitDepth => m.bit_depth.map(|b| b.to_string()).unwrap_or_default(),
        SortColumn::Channels => m.channels.map(channels).unwrap_or_default(),
        SortColumn::Loudness => m.loudness_lufs.map(decibels).unwrap_or_default(),
        SortColumn::TruePeak => m.true_peak_dbtp.map(decibels).unwrap_or_default(),
        SortColumn::Tempo => m.tempo_bpm.map(|t| format!("{t:.1}")).unwrap_or_default(),
        SortColumn::Tags => row.tags.clone(),
        SortColumn::Status => status(row),
    }
}

/// The status as people read it.
pub fn status(row: &Row) -> String {
    match row.status.as_str() {
        "indexed" => "analysed".into(),
        "pending" => "waiting".into(),
        "too_short" => match row.duration_s {
            Some(d) => format!("too short ({d:.3} s)"),
            None => "too short".into(),
        },
        "error" => "unreadable".into(),
        other => other.into(),
    }
}

/// `44100` → `44.1`, `48000` → `48`.
pub fn khz(rate: u32) -> String {
    format!("{}", f64::from(rate) / 1000.0)
}

/// `1` → `mono`, `2` → `stereo`, else the count.
pub fn channels(n: u32) -> String {
    match n {
        1 => "mono".into(),
        2 => "stereo".into(),
        n => n.to_string(),
    }
}

/// One decimal, with a true minus sign.
fn decibels(v: f64) -> String {
    format!("{v:.1}").replace('-', "\u{2212}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::shared::rows::make_row;
    use crate::library::table::{MediaFacts, TableRow};

    fn row(status: &str, duration_s: Option<f64>, media: MediaFacts) -> Row {
        make_row(TableRow {
            id: 1,
            path: "/lib/a/kick.wav".into(),
            root: "/lib".into(),
            duration_s,
            status: status.into(),
            error: None,
            top_tags: String::new(),
            media,
        })
    }

    #[test]
    fn cells_read_as_people_expect() {
        let r = row(
            "indexed",
            Some(1.5),
            MediaFacts {
                sample_rate: Some(44_100),
                bit_depth: Some(24),
                channels: Some(2),
                loudness_lufs: Some(-14.26),
                true_peak_dbtp: Some(-0.04),
                tempo_bpm: Some(127.96),
                ..MediaFacts::default()
            },
        );
        assert_eq!(text(&r, SortColumn::SampleRate), "44.1");
        assert_eq!(text(&r, SortColumn::BitDepth), "24");
        assert_eq!(text(&r, SortColumn::Channels), "stereo");
        assert_eq!(text(&r, SortColumn::Loudness), "\u{2212}14.3");
        assert_eq!(text(&r, SortColumn::TruePeak), "\u{2212}0.0");
        assert_eq!(text(&r, SortColumn::Tempo), "128.0");
        assert_eq!(text(&r, SortColumn::Title), "");
        assert_eq!(text(&r, SortColumn::Status), "analysed");
        assert_eq!(khz(48_000), "48");
        assert_eq!(khz(22_050), "22.05");
        let short = row("too_short", Some(0.015), MediaFacts::default());
        assert_eq!(status(&short), "too short (0.015 s)");
        assert_eq!(
            status(&row("error", None, MediaFacts::default())),
            "unreadable"
        );
    }

    #[test]
    fn name_and_status_cannot_be_hidden() {
        let all_hidden: Vec<SortColumn> = ALL.to_vec();
        assert_eq!(
            shown(&all_hidden),
            vec![SortColumn::Name, SortColumn::Status]
        );
        let default = shown(&crate::gui::shared::state::default_hidden_columns());
        assert!(default.contains(&SortColumn::Loudness) && default.contains(&SortColumn::Tempo));
        assert!(!default.contains(&SortColumn::Album));
    }
}
