//! The SQLite file behind the library index: opening it (WAL, foreign keys, busy timeout) and
//! bringing its schema up to date through numbered migrations recorded in `user_version`.
//!
//! Migrations only ever append: each entry of [`MIGRATIONS`] runs once, inside one transaction
//! together with the `user_version` bump, so a crash leaves the file at the previous version.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Schema steps, applied in order; version `n` is the state after `MIGRATIONS[n - 1]`.
const MIGRATIONS: &[&str] = &[
    // 1: roots, files, models, embeddings, tags, settings.
    r"
    CREATE TABLE roots (
        id       INTEGER PRIMARY KEY,
        path     TEXT NOT NULL UNIQUE,
        added_at INTEGER NOT NULL
    );
    CREATE TABLE files (
        id          INTEGER PRIMARY KEY,
        root_id     INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
        path        TEXT NOT NULL UNIQUE,
        size        INTEGER NOT NULL,
        mtime_ns    INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('pending', 'indexed', 'error')),
        error       TEXT,
        duration_s  REAL,
        sample_rate INTEGER,
        channels    INTEGER,
        container   TEXT,
        codec       TEXT,
        title       TEXT,
        artist      TEXT,
        album       TEXT,
        genre       TEXT,
        analysed_at INTEGER
    );
    CREATE INDEX files_root ON files(root_id);
    CREATE INDEX files_fingerprint ON files(fingerprint);
    CREATE TABLE models (
        id          INTEGER PRIMARY KEY,
        identity    TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        config_json TEXT NOT NULL,
        clip_dim    INTEGER NOT NULL,
        segment_dim INTEGER NOT NULL
    );
    CREATE TABLE clip_embeddings (
        file_id  INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        analysed TEXT NOT NULL,
        vector   BLOB NOT NULL,
        PRIMARY KEY (file_id, model_id)
    ) WITHOUT ROWID;
    CREATE TABLE segment_embeddings (
        file_id  INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        count    INTEGER NOT NULL,
        starts   BLOB NOT NULL,
        vectors  BLOB NOT NULL,
        PRIMARY KEY (file_id, model_id)
    ) WITHOUT ROWID;
    CREATE TABLE tags (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        source  TEXT NOT NULL,
        label   TEXT NOT NULL,
        score   REAL NOT NULL,
        PRIMARY KEY (file_id, source, label)
    ) WITHOUT ROWID;
    CREATE INDEX tags_label ON tags(label);
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    ",
    // 2: the stored 2-D map of the library, per model.
    r"
    CREATE TABLE map_points (
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        file_id  INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        x        REAL NOT NULL,
        y        REAL NOT NULL,
        PRIMARY KEY (model_id, file_id)
    ) WITHOUT ROWID;
    ",
    // 3: personal tags — the user's examples (whole files or regions), the embeddings of
    // region examples per model, and the fitted classifier per tag and model.
    r"
    CREATE TABLE tag_examples (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        label    TEXT NOT NULL,
        file_id  INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        start_s  REAL,
        end_s    REAL,
        positive INTEGER NOT NULL CHECK (positive IN (0, 1)),
        source   TEXT NOT NULL CHECK (source IN ('manual', 'review')),
        added_at INTEGER NOT NULL,
        CHECK ((start_s IS NULL) = (end_s IS NULL)),
        CHECK (start_s IS NULL OR end_s > start_s)
    );
    CREATE UNIQUE INDEX tag_examples_key
        ON tag_examples(label, file_id, coalesce(start_s, -1), coalesce(end_s, -1));
    CREATE INDEX tag_examples_file ON tag_examples(file_id);
    CREATE TABLE region_vectors (
        example_id INTEGER NOT NULL REFERENCES tag_examples(id) ON DELETE CASCADE,
        model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        vector     BLOB NOT NULL,
        PRIMARY KEY (example_id, model_id)
    ) WITHOUT ROWID;
    CREATE TABLE personal_heads (
        label        TEXT NOT NULL,
        model_id     INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        weights      BLOB NOT NULL,
        bias         REAL NOT NULL,
        slope        REAL NOT NULL,
        offset       REAL NOT NULL,
        positives    INTEGER NOT NULL,
        negatives    INTEGER NOT NULL,
        examples_key TEXT NOT NULL,
        fitted_at    INTEGER NOT NULL,
        PRIMARY KEY (label, model_id)
    ) WITHOUT ROWID;
    ",
    // 4: per-segment scores of a head's top labels for each file (the tag timeline). One row
    // per file and head, written even when the head found no segments, so it also records that
    // the head has run on the file.
    r"
    CREATE TABLE segment_tags (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        source  TEXT NOT NULL,
        count   INTEGER NOT NULL,
        starts  BLOB NOT NULL,
        labels  TEXT NOT NULL,
        scores  BLOB NOT NULL,
        PRIMARY KEY (file_id, source)
    ) WITHOUT ROWID;
    CREATE INDEX tags_source_label ON tags(source, label);
    ",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Wraps a SQLite error with what was being done.
pub(crate) fn sql(context: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::Library(format!("{context}: {e}"))
}

/// Opens (creating if needed) the index at `path` and migrates it to [`SCHEMA_VERSION`].
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let what = format!("opening the library {}", path.display());
    let mut conn = Connection::open(path).map_err(sql(&what))?;
    configure(&conn).map_err(sql(&what))?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens an index that lives in memory only (tests and benchmarks).
pub fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory().map_err(sql("opening an in-memory library"))?;
    configure(&conn).map_err(sql("configuring an in-memory library"))?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    // WAL: readers never block the writer; `synchronous = NORMAL` keeps every committed
    // transaction across a process kill (only an OS crash may lose the last ones).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql("reading the schema version"))?;
    if version > SCHEMA_VERSION {
        return Err(Error::Library(format!(
            "the library was written by a newer Earmark (schema {version}, this build knows {SCHEMA_VERSION})"
        )));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let to = i + 1;
        let what = format!("migrating the library to schema {to}");
        let tx = conn.transaction().map_err(sql(&what))?;
        tx.execute_batch(step).map_err(sql(&what))?;
        tx.pragma_update(None, "user_version", to as i64)
            .map_err(sql(&what))?;
        tx.commit().map_err(sql(&what))?;
    }
    Ok(())
}

/// Runs `PRAGMA integrity_check` and returns its lines (`["ok"]` for a healthy file).
pub fn integrity_check(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(sql("integrity check"))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql("integrity check"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql("integrity check"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_reopen_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/index.sqlite");
        let conn = open(&path).unwrap();
        let v: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        let conn = open(&path).unwrap();
        assert_eq!(integrity_check(&conn).unwrap(), vec!["ok".to_string()]);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let conn = open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = open(&path).unwrap_err().to_string();
        assert!(err.contains("newer Earmark"), "{err}");
    }
}
