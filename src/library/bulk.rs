//! Many small writes in one transaction, for tools that fill an index quickly (the window
//! benchmark's synthetic rows): one commit instead of one per write.

use rusqlite::params;

use super::Library;
use super::db::sql;
use crate::error::Result;

impl Library {
    /// Runs `writes` inside one transaction: committed when it returns `Ok`, rolled back (and
    /// its error returned) otherwise.
    pub fn in_one_transaction<T>(
        &mut self,
        writes: impl FnOnce(&Library) -> Result<T>,
    ) -> Result<T> {
        let what = "writing in one transaction";
        self.conn.execute_batch("BEGIN").map_err(sql(what))?;
        match writes(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(sql(what))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Gives `file_id` the tag `label` from `source` with `score`, unless it already has that
    /// label from that source (the stored score then stays).
    pub fn add_tag(&self, file_id: i64, source: &str, label: &str, score: f32) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO tags(file_id, source, label, score) VALUES (?1, ?2, ?3, ?4)",
                params![file_id, source, label, f64::from(score)],
            )
            .map_err(sql("storing a tag"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn one_transaction_commits_everything_or_nothing() {
        let mut lib = Library::in_memory().unwrap();
        let root = lib.ensure_root("/lib").unwrap();
        let id = lib
            .in_one_transaction(|lib| {
                let id = lib.insert_pending(root, "/lib/a.wav", 1, 0, "fa")?;
                lib.add_tag(id, "bench", "drum", 0.5)?;
                lib.add_tag(id, "bench", "drum", 0.9)?;
                Ok(id)
            })
            .unwrap();
        let tags = lib.strongest_tags(id, "none", 10).unwrap();
        assert_eq!(
            tags,
            vec![("drum".to_string(), 0.5)],
            "the first score stays"
        );

        let failed = lib.in_one_transaction(|lib| {
            lib.insert_pending(root, "/lib/b.wav", 1, 0, "fb")?;
            Err::<(), _>(Error::Library("stop".into()))
        });
        assert!(failed.is_err());
        assert_eq!(
            lib.table_rows().unwrap().len(),
            1,
            "the failed batch left nothing"
        );
        lib.insert_pending(root, "/lib/c.wav", 1, 0, "fc").unwrap();
        assert_eq!(
            lib.table_rows().unwrap().len(),
            2,
            "writes work after a rollback"
        );
    }
}
