//! M3U playlists (extended M3U, UTF-8) of a tag or of a similarity result: one `#EXTINF` line
//! with the duration and a title per entry, then the absolute path.

use std::path::Path;

use crate::error::Result;

/// One playlist entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistEntry {
    /// Absolute path of the file.
    pub path: String,
    /// Duration in seconds, when known.
    pub duration_s: Option<f64>,
    /// The shown title (`artist - title`, else the file name).
    pub title: String,
}

impl PlaylistEntry {
    /// An entry titled from embedded tags when present, else from the file name.
    pub fn new(
        path: &str,
        duration_s: Option<f64>,
        artist: Option<&str>,
        title: Option<&str>,
    ) -> Self {
        let name = || {
            Path::new(path)
                .file_stem()
                .map_or_else(|| path.to_owned(), |s| s.to_string_lossy().into_owned())
        };
        let title = match (artist, title) {
            (Some(a), Some(t)) => format!("{a} - {t}"),
            (None, Some(t)) => t.to_owned(),
            _ => name(),
        };
        PlaylistEntry {
            path: path.to_owned(),
            duration_s,
            title,
        }
    }
}

/// Removes line breaks, which would end an M3U line early.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect()
}

/// The playlist text.
pub fn m3u(entries: &[PlaylistEntry]) -> String {
    let mut out = String::from("#EXTM3U\n");
    for e in entries {
        let secs = e.duration_s.map_or(-1, |d| d.round() as i64);
        out.push_str(&format!(
            "#EXTINF:{secs},{}\n{}\n",
            one_line(&e.title),
            one_line(&e.path)
        ));
    }
    out
}

/// Writes the playlist to `path` (through a temporary file renamed into place).
pub fn write_m3u(path: &Path, entries: &[PlaylistEntry]) -> Result<()> {
    crate::atomic_file::write_bytes(path, m3u(entries).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_m3u_lines() {
        let entries = [
            PlaylistEntry::new("/m/a b.flac", Some(61.6), Some("Ann"), Some("Song")),
            PlaylistEntry::new("/m/x.wav", None, None, None),
            PlaylistEntry::new("/m/y.ogg", Some(2.0), None, Some("two\nlines")),
        ];
        assert_eq!(
            m3u(&entries),
            "#EXTM3U\n#EXTINF:62,Ann - Song\n/m/a b.flac\n#EXTINF:-1,x\n/m/x.wav\n\
             #EXTINF:2,two lines\n/m/y.ogg\n"
        );
    }
}
