//! The library index: one SQLite file that remembers roots, files, their analysis by each model
//! (clip and segment embeddings), tags, errors and settings.
//!
//! - [`db`]: the schema and its versioned migrations;
//! - [`open`]: opening the file safely — atomic creation, refusing files that are not Earmark
//!   libraries, read-only access to a library that cannot be written;
//! - [`store`]: the rows and the writes a scan makes (one small transaction each);
//! - [`paths`]: file paths as stored, including names that are not UTF-8;
//! - [`query`]: read-only views — status counts, errors, export rows, search inputs;
//! - [`table`]: what the window's table and inspector read — rows, file labels, best tags;
//! - [`segment_scan`]: every file's segment embeddings in one pass (search by region);
//! - [`map_points`]: the stored 2-D map per model;
//! - [`rewrites`]: write-back bookkeeping — a rewritten file's new size, time and fingerprint;
//! - [`bulk`]: many writes in one transaction;
//! - [`walk`]: finding audio files under the roots and planning what a scan must do;
//! - [`reconcile`]: recording what a walk found — moves across roots, tombstones of files gone
//!   from disk (revived when their content reappears), offline roots;
//! - [`model_id`]: naming a model by its weights and configuration;
//! - [`examples`]: personal tags — the user's examples, fitted classifiers, predictions;
//! - [`playlist`]: M3U playlists of a tag or of a search result;
//! - [`tagging`] and [`head_tags`]: the official heads on the library — clip tags and the
//!   per-segment timeline;
//! - [`analyse`]: decoding one file, the analysis budget, clip and segment vectors;
//! - [`measure`]: what the scan measures in the same decode — loudness, tempo — and reads
//!   with lofty — title, artist, album, bit depth;
//! - [`scan`]: the scan job (reconcile, then a decode → encode → commit pipeline).
//!
//! Only one job writes at a time (the job queue runs jobs one after another); readers open
//! their own connection and never block it (WAL).

pub mod analyse;
pub mod bulk;
pub mod change_watch;
pub mod db;
pub mod encoding;
pub mod examples;
pub mod head_tags;
pub mod map_points;
pub mod measure;
pub mod model_id;
pub mod open;
pub mod paths;
pub mod playlist;
pub mod query;
pub mod reconcile;
pub mod region;
pub mod rewrites;
pub mod scan;
pub mod segment_scan;
pub mod store;
pub mod summary;
pub mod table;
pub mod tagging;
pub mod vectors;
pub mod walk;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};
use db::sql;

pub use open::Access;
pub use store::{FileMeta, FileStatus, KnownFile};
pub use vectors::Segments;

/// File name of the index inside the data directory.
pub const INDEX_FILE: &str = "library.sqlite";

/// Settings key of the active model's weight file.
pub const ACTIVE_MODEL_KEY: &str = "active_model";

/// An open library index.
pub struct Library {
    conn: Connection,
    path: Option<PathBuf>,
    access: Access,
}

impl Library {
    /// Opens (creating and migrating as needed) the index at `path`. A file that is not an
    /// Earmark library is refused untouched; a library that cannot be written opens read-only
    /// (see [`Library::access`]).
    pub fn open(path: &Path) -> Result<Self> {
        let (conn, access) = open::open(path)?;
        Ok(Library {
            conn,
            path: Some(path.to_path_buf()),
            access,
        })
    }

    /// Opens the existing index at `path` for reading only.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let (conn, access) = open::open_read_only(path)?;
        Ok(Library {
            conn,
            path: Some(path.to_path_buf()),
            access,
        })
    }

    /// An index in memory only, for tests and benchmarks.
    pub fn in_memory() -> Result<Self> {
        Ok(Library {
            conn: open::open_in_memory()?,
            path: None,
            access: Access::ReadWrite,
        })
    }

    /// Whether this index can be written.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Fails with a clear message when this index was opened read-only.
    pub fn require_writable(&self) -> Result<()> {
        match self.access {
            Access::ReadWrite => Ok(()),
            Access::ReadOnly => Err(Error::Library(format!(
                "{} is read-only (its file or folder cannot be written); this command changes \
                 the library",
                self.path
                    .as_deref()
                    .map_or_else(|| "the library".into(), |p| p.display().to_string())
            ))),
        }
    }

    /// Where the index lives by default: `$XDG_DATA_HOME/earmark/library.sqlite` on Linux (the
    /// platform's data directory elsewhere).
    pub fn default_path() -> Result<PathBuf> {
        let dirs =
            directories::ProjectDirs::from("org", "Earmark", "earmark").ok_or_else(|| {
                Error::Library(
                    "no home directory to keep the library in; pass --library PATH".into(),
                )
            })?;
        Ok(dirs.data_dir().join(INDEX_FILE))
    }

    /// The file behind this index (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A setting's value.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql("reading a setting"))
    }

    /// Sets a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(sql("writing a setting"))?;
        Ok(())
    }

    /// `PRAGMA integrity_check` of the file (`["ok"]` when healthy).
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        db::integrity_check(&self.conn)
    }
}
