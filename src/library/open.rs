//! Opening the library file safely: a new library appears whole or not at all (built aside and
//! linked into place, so concurrent first opens agree), an existing file is checked to be an
//! Earmark library before anything is written to it (another program's SQLite file, an empty or
//! a non-SQLite file is refused untouched), and a library that cannot be written opens
//! read-only for reading.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::db::{self, EARMARK_APP_ID, sql};
use crate::error::{Error, Result};

/// How long a connection waits for another's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// How a library was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads and writes.
    ReadWrite,
    /// Reads only: the file or its folder cannot be written (or read-only was asked for).
    ReadOnly,
}

/// Opens the library at `path`: creates it when missing, refuses a file that is not an Earmark
/// library, migrates a writable one and opens an unwritable one read-only.
pub fn open(path: &Path) -> Result<(Connection, Access)> {
    open_with(path, false)
}

/// Opens the existing library at `path` for reading only (nothing is written, not even the
/// journal mode).
pub fn open_read_only(path: &Path) -> Result<(Connection, Access)> {
    open_with(path, true)
}

/// An index in memory only (tests and benchmarks).
pub fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory().map_err(sql("opening an in-memory library"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql("configuring an in-memory library"))?;
    db::migrate(&mut conn)?;
    Ok(conn)
}

fn open_with(path: &Path, read_only: bool) -> Result<(Connection, Access)> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !read_only => create(path)?,
        Err(e) => return Err(Error::io(path, e)),
        Ok(md) if md.is_dir() => {
            return Err(refused(path, "it is a folder, not a library file"));
        }
        Ok(_) => {}
    }
    check_header(path)?;
    let access = if read_only || !writable(path) {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let what = format!("opening the library {}", path.display());
    let mut conn = match access {
        Access::ReadWrite => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
        Access::ReadOnly => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
    }
    .map_err(sql(&what))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(&what))?;
    if access == Access::ReadOnly && identify(&conn, path).is_err() {
        // A WAL library in a folder that cannot be written has no shared-memory file to read
        // through; nobody can be writing it, so it can be read as an immutable file.
        conn = open_immutable(path).map_err(sql(&what))?;
    }
    identify(&conn, path)?;
    match access {
        Access::ReadWrite => {
            configure(&conn).map_err(sql(&what))?;
            db::migrate(&mut conn)?;
        }
        Access::ReadOnly => {
            conn.pragma_update(None, "foreign_keys", "ON")
                .map_err(sql(&what))?;
            db::check_current(&conn)?;
        }
    }
    Ok((conn, access))
}

fn open_immutable(path: &Path) -> rusqlite::Result<Connection> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for &b in super::paths::os_bytes(abs.as_os_str()).iter() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

fn refused(path: &Path, why: &str) -> Error {
    Error::Library(format!(
        "{} is not an Earmark library: {why}; it was left untouched (pass another --library path)",
        path.display()
    ))
}

/// Refuses an empty file and a file that is not SQLite, before SQLite sees it.
fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if head.is_empty() {
        return Err(refused(
            path,
            "the file is empty (Earmark creates its library itself; remove the empty file to \
             start a new library there)",
        ));
    }
    if head.as_slice() != SQLITE_MAGIC {
        return Err(refused(path, "it is not a SQLite database"));
    }
    Ok(())
}

/// Accepts a file stamped with Earmark's application id, or an Earmark library from before the
/// stamp (schema version set, `roots` and `files` tables present, no other id).
fn identify(conn: &Connection, path: &Path) -> Result<()> {
    let what = format!("reading {}", path.display());
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(sql(&what))?;
    if app_id == EARMARK_APP_ID {
        return Ok(());
    }
    if app_id != 0 {
        return Err(refused(
            path,
            &format!("it is another program's SQLite database (application id {app_id:#x})"),
        ));
    }
    let version = db::schema_version(conn)?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('roots', 'files')",
            [],
            |r| r.get(0),
        )
        .map_err(sql(&what))?;
    if version > 0 && tables == 2 {
        Ok(())
    } else {
        Err(refused(
            path,
            "it is a SQLite database without Earmark's tables (another program's file)",
        ))
    }
}

/// Whether the file and its folder can be written (WAL needs its side files in the folder).
fn writable(path: &Path) -> bool {
    let file_ok = std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly());
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir_ok = std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly());
    file_ok && dir_ok
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // WAL: readers never block the writer; `synchronous = NORMAL` keeps every committed
    // transaction across a process kill (only an OS crash may lose the last ones). A library
    // is created in WAL mode, so this is a read; an older file switches once.
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Builds a complete new library beside `path` and links it into place. When another process
/// got there first its library is kept and this one discarded, so every opener sees either no
/// file or a whole library.
fn create(path: &Path) -> Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map_or_else(|| "library".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}.new-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&tmp); // a leftover of a crashed process with this pid
    let result = build(&tmp).and_then(|()| link_into_place(&tmp, path));
    for side in ["", "-wal", "-shm", "-journal"] {
        let mut p = tmp.clone().into_os_string();
        p.push(side);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    result
}

fn build(tmp: &Path) -> Result<()> {
    let what = format!("creating the library {}", tmp.display());
    let mut conn = Connection::open(tmp).map_err(sql(&what))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(&what))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql(&what))?;
    db::migrate(&mut conn)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql(&what))?;
    conn.close().map_err(|(_, e)| sql(&what)(e))
}

fn link_into_place(tmp: &Path, path: &Path) -> Result<()> {
    match std::fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // A file system without hard links: a rename that only a lost race can spoil.
        Err(_) if !path.exists() => std::fs::rename(tmp, path).map_err(|e| Error::io(path, e)),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_library_is_stamped_and_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/index.sqlite");
        let (conn, access) = open(&path).unwrap();
        assert_eq!(access, Access::ReadWrite);
        let id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(id, EARMARK_APP_ID);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".new-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_library_from_before_the_stamp_is_accepted_and_stamped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let mut conn = Connection::open(&path).unwrap();
            db::migrate_to(&mut conn, 4).unwrap();
            conn.execute("INSERT INTO roots(path, added_at) VALUES ('/r', 0)", [])
                .unwrap();
            let id: i32 = conn
                .pragma_query_value(None, "application_id", |r| r.get(0))
                .unwrap();
            assert_eq!(id, 0);
        }
        let (conn, _) = open(&path).unwrap();
        let id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(id, EARMARK_APP_ID);
        assert_eq!(db::schema_version(&conn).unwrap(), db::SCHEMA_VERSION);
        let roots: i64 = conn
            .query_row("SELECT count(*) FROM roots", [], |r| r.get(0))
            .unwrap();
        assert_eq!(roots, 1);
    }

    #[test]
    fn concurrent_opens_of_an_old_library_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..6 {
            let path = dir.path().join(format!("old{round}.sqlite"));
            {
                let mut conn = Connection::open(&path).unwrap();
                conn.pragma_update(None, "journal_mode", "WAL").unwrap();
                db::migrate_to(&mut conn, 4).unwrap();
            }
            let barrier = std::sync::Barrier::new(6);
            std::thread::scope(|s| {
                for _ in 0..6 {
                    s.spawn(|| {
                        barrier.wait();
                        let (conn, _) = open(&path).unwrap();
                        assert_eq!(db::schema_version(&conn).unwrap(), db::SCHEMA_VERSION);
                    });
                }
            });
        }
    }

    #[test]
    fn an_immutable_read_finds_a_library_whose_name_needs_escaping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my lib?#%é.sqlite");
        drop(open(&path).unwrap());
        let conn = open_immutable(&path).unwrap();
        identify(&conn, &path).unwrap();
        db::check_current(&conn).unwrap();
    }

    #[test]
    fn read_only_open_of_a_missing_file_fails_without_creating_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.sqlite");
        assert!(open_read_only(&path).is_err());
        assert!(!path.exists());
    }
}
