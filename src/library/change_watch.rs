//! Noticing changes to a library index made by other connections — another process such as
//! `earmark scan` run in a terminal, or another thread — without reading any rows: SQLite's
//! `PRAGMA data_version` changes whenever another connection commits to the file (in WAL mode it
//! is read from the shared memory index, so asking is cheap).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

/// Watches one index file. [`ChangeWatch::changed`] says whether the file was committed to
/// since the last call; a file that does not exist yet is looked for again at each call.
#[derive(Debug)]
pub struct ChangeWatch {
    path: PathBuf,
    conn: Option<Connection>,
    version: Option<i64>,
}

impl ChangeWatch {
    /// A watch on the index at `path` (it need not exist yet).
    pub fn new(path: &Path) -> Self {
        let mut watch = ChangeWatch {
            path: path.to_path_buf(),
            conn: None,
            version: None,
        };
        // The state now is the baseline: only later commits count as changes.
        let _ = watch.changed();
        watch
    }

    /// The file watched.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether another connection committed to the index since the last call (or the index
    /// appeared). A file that cannot be read counts as unchanged: the window's own reads say why.
    pub fn changed(&mut self) -> bool {
        if self.conn.is_none() {
            if !self.path.is_file() {
                return false;
            }
            self.conn = Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .ok();
        }
        let Some(conn) = &self.conn else {
            return false;
        };
        match conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)) {
            Ok(v) => {
                // The first reading counts as a change: the index appeared (or was replaced)
                // since the last look. The constructor's own first reading is the baseline.
                self.version.replace(v).is_none_or(|before| before != v)
            }
            Err(_) => {
                // Replaced or removed underneath: open it again next time.
                self.conn = None;
                self.version = None;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, sql: &str) {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch(sql).unwrap();
    }

    #[test]
    fn commits_of_another_connection_are_noticed_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.sqlite");
        let mut watch = ChangeWatch::new(&path);
        assert!(!watch.changed(), "no file, no change");
        write(&path, "CREATE TABLE t (x INTEGER);");
        assert!(watch.changed(), "the index appeared");
        assert!(!watch.changed(), "nothing new since");
        write(&path, "INSERT INTO t VALUES (1);");
        assert!(watch.changed(), "a commit elsewhere");
        assert!(!watch.changed());
        // Reading does not count as a change.
        let reader = Connection::open(&path).unwrap();
        let n: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert!(!watch.changed());
    }

    #[test]
    fn an_existing_index_is_the_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.sqlite");
        write(&path, "CREATE TABLE t (x INTEGER);");
        let mut watch = ChangeWatch::new(&path);
        assert!(!watch.changed(), "what was there at the start is no change");
        write(&path, "INSERT INTO t VALUES (1);");
        assert!(watch.changed());
    }
}
