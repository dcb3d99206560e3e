//! The schema of the library index: numbered migrations recorded in `user_version`, the
//! identity stamp (`application_id`) that tells an Earmark library from another program's SQLite
//! file, and the error wrapper every query uses. Opening the file safely lives in
//! [`super::open`].
//!
//! Migrations only ever append: each entry of [`MIGRATIONS`] runs once, inside one write
//! transaction (`BEGIN IMMEDIATE`) together with the `user_version` bump, so a crash leaves the
//! file at the previous version and two processes opening the same file never run a step twice.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// `PRAGMA application_id` of an Earmark library ("ERMK").
pub const EARMARK_APP_ID: i32 = 0x4552_4D4B;

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
    // 5: nothing the user made is lost when files go away. A root whose files all disappeared
    // is offline (`offline_since`, ms) rather than emptied; a file gone from disk is a tombstone
    // (`removed_at`, ms) that keeps its analysis and examples and is revived when the same
    // content (fingerprint) reappears under any root; a path that is not UTF-8 keeps its raw
    // bytes in `path_bytes` (`path` then holds a readable form with `\xNN` escapes). The
    // `application_id` stamp marks the file as Earmark's.
    r"
    ALTER TABLE roots ADD COLUMN offline_since INTEGER;
    ALTER TABLE files ADD COLUMN removed_at INTEGER;
    ALTER TABLE files ADD COLUMN path_bytes BLOB;
    CREATE INDEX files_removed ON files(removed_at) WHERE removed_at IS NOT NULL;
    PRAGMA application_id = 1163021643;
    ",
    // 6: what a user of samples and music expects to see per file: the bit depth (sample rate,
    // channels, title, artist and album have their columns since 1), the loudness (EBU R128
    // integrated, LUFS, and true peak, dBTP), the tempo of music (BPM) and when these measures
    // were taken (`measured_at`, ms; NULL: not yet, so a rescan measures files indexed before).
    // `error_kind` tells a file too short to analyse (`too_short`) from one that could not be
    // read (NULL).
    r"
    ALTER TABLE files ADD COLUMN bit_depth INTEGER;
    ALTER TABLE files ADD COLUMN loudness_lufs REAL;
    ALTER TABLE files ADD COLUMN true_peak_dbtp REAL;
    ALTER TABLE files ADD COLUMN tempo_bpm REAL;
    ALTER TABLE files ADD COLUMN measured_at INTEGER;
    ALTER TABLE files ADD COLUMN error_kind TEXT;
    UPDATE files SET error_kind = 'too_short'
        WHERE status = 'error' AND error LIKE '%too short to analyse%';
    ",
    // 7: what the tag heads score a clip shorter than 1.2 s from: the clip vector of the clip
    // heard with silence after it (see `library::analyse`); NULL for longer files, whose tag
    // heads take the clip vector itself, and for files analysed before this step.
    r"
    ALTER TABLE clip_embeddings ADD COLUMN tag_vector BLOB;
    ",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Wraps a SQLite error with what was being done; a write refused because the file was opened
/// read-only says so plainly.
pub(crate) fn sql(context: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
            Error::Library(format!(
                "{context}: the library is read-only (its file or folder cannot be written); \
                 only reading commands work on it"
            ))
        } else {
            Error::Library(format!("{context}: {e}"))
        }
    }
}

/// The schema version stored in the file.
pub(crate) fn schema_version(conn: &Connection) -> Result<u32> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql("reading the schema version"))
}

fn newer(version: u32) -> Error {
    Error::Library(format!(
        "the library was written by a newer Earmark (schema {version}, this build knows {SCHEMA_VERSION})"
    ))
}

/// Refuses a file whose schema this build cannot read as it is: newer, or (when it cannot be
/// migrated, as for a read-only file) older.
pub(crate) fn check_current(conn: &Connection) -> Result<()> {
    match schema_version(conn)? {
        v if v > SCHEMA_VERSION => Err(newer(v)),
        v if v < SCHEMA_VERSION => Err(Error::Library(format!(
            "the library needs an update (schema {v} to {SCHEMA_VERSION}) but is read-only; \
             open it once where it can be written"
        ))),
        _ => Ok(()),
    }
}

/// Brings the schema to [`SCHEMA_VERSION`]. Each step takes the write lock first (waiting out
/// the busy timeout) and re-reads the version inside it, so concurrent openers apply each step
/// exactly once.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// [`migrate`], stopping at schema `target` (tests build older libraries with it).
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<()> {
    let version = schema_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(newer(version));
    }
    for to in version + 1..=target.min(SCHEMA_VERSION) {
        let what = format!("migrating the library to schema {to}");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&what))?;
        let now = schema_version(&tx)?;
        if now > SCHEMA_VERSION {
            return Err(newer(now));
        }
        if now >= to {
            continue; // another process got there first
        }
        tx.execute_batch(MIGRATIONS[to as usize - 1])
            .map_err(sql(&what))?;
        tx.pragma_update(None, "user_version", i64::from(to))
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

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs `stmt` (selecting `id, path, path_bytes`, its first parameter the root's id, then
/// `extra`) for each of `root_ids`: `(id, stored path, real path)`, sorted by stored path.
pub(super) fn files_of_roots(
    stmt: &mut rusqlite::Statement<'_>,
    root_ids: &[i64],
    extra: &[&dyn rusqlite::ToSql],
    what: &str,
) -> Result<Vec<(i64, String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    for root in root_ids {
        let mut params: Vec<&dyn rusqlite::ToSql> = vec![root];
        params.extend_from_slice(extra);
        let rows = stmt
            .query_map(params.as_slice(), |r| {
                let path: String = r.get(1)?;
                let bytes: Option<Vec<u8>> = r.get(2)?;
                let real = super::paths::disk_path(&path, bytes.as_deref());
                Ok((r.get(0)?, path, real))
            })
            .map_err(sql(what))?;
        for row in rows {
            out.push(row.map_err(sql(what))?);
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::open::open;

    #[test]
    fn migrations_apply_once_and_reopen_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/index.sqlite");
        let (conn, _) = open(&path).unwrap();
        let v: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        let (conn, _) = open(&path).unwrap();
        assert_eq!(integrity_check(&conn).unwrap(), vec!["ok".to_string()]);
    }

    #[test]
    fn schema_6_tells_too_short_files_recorded_before_from_unreadable_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO roots(id, path, added_at) VALUES (1, '/lib', 0);
             INSERT INTO files(root_id, path, size, mtime_ns, fingerprint, status, error)
             VALUES (1, '/lib/a.wav', 1, 0, 'a', 'error',
                     '/lib/a.wav: too short to analyse (0.002 s of audio)'),
                    (1, '/lib/b.wav', 1, 0, 'b', 'error', '/lib/b.wav: cannot decode audio: x');",
        )
        .unwrap();
        drop(conn);
        let lib = crate::library::Library::open(&path).unwrap();
        let s = lib.status().unwrap();
        assert_eq!((s.errors, s.too_short), (1, 1));
        let rows = lib.table_rows().unwrap();
        assert_eq!(rows[0].status, "too_short");
        assert_eq!(rows[0].media, Default::default(), "nothing measured yet");
        assert_eq!(rows[1].status, "error");
        assert_eq!(lib.errors().unwrap()[1].1, "cannot decode audio: x");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let (conn, _) = open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = open(&path).unwrap_err().to_string();
        assert!(err.contains("newer Earmark"), "{err}");
    }
}
