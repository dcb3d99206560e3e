//! The stored 2-D map of the library, one layout per model: `(file id, x, y)` points that the
//! map job replaces as a whole and the window and `earmark map` read back.

use rusqlite::params;

use super::Library;
use super::db::sql;
use crate::error::Result;

impl Library {
    /// Replaces the stored map of `model_id` with `points[i]` for file `ids[i]`, in one
    /// transaction (a failed write leaves the previous map).
    pub fn store_map(&mut self, model_id: i64, ids: &[i64], points: &[[f32; 2]]) -> Result<()> {
        let what = "storing the map";
        let tx = self.conn.transaction().map_err(sql(what))?;
        tx.execute("DELETE FROM map_points WHERE model_id = ?1", [model_id])
            .map_err(sql(what))?;
        for (id, p) in ids.iter().zip(points) {
            tx.execute(
                "INSERT INTO map_points(model_id, file_id, x, y) VALUES (?1, ?2, ?3, ?4)",
                params![model_id, id, f64::from(p[0]), f64::from(p[1])],
            )
            .map_err(sql(what))?;
        }
        tx.commit().map_err(sql(what))
    }

    /// The stored map of `model_id` as `(file id, x, y)`, by file id.
    pub fn map_points(&self, model_id: i64) -> Result<Vec<(i64, f32, f32)>> {
        let what = "reading the map";
        let mut stmt = self
            .conn
            .prepare("SELECT file_id, x, y FROM map_points WHERE model_id = ?1 ORDER BY file_id")
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([model_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, f64>(1)? as f32,
                    r.get::<_, f64>(2)? as f32,
                ))
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }
}

#[cfg(test)]
mod tests {
    use crate::library::Library;
    use crate::library::model_id::ModelIdentity;
    use crate::model::EncoderConfig;

    #[test]
    fn a_stored_map_replaces_the_previous_one_of_its_model_only() {
        let mut lib = Library::in_memory().unwrap();
        let root = lib.ensure_root("/lib").unwrap();
        let a = lib.insert_pending(root, "/lib/a.wav", 1, 0, "fa").unwrap();
        let b = lib.insert_pending(root, "/lib/b.wav", 1, 0, "fb").unwrap();
        let cfg = EncoderConfig::vit_base();
        let m1 = lib
            .ensure_model(&ModelIdentity::new("w1", "one", &cfg).unwrap())
            .unwrap();
        let m2 = lib
            .ensure_model(&ModelIdentity::new("w2", "two", &cfg).unwrap())
            .unwrap();
        lib.store_map(m1, &[b, a], &[[1.0, 2.0], [3.5, -4.0]])
            .unwrap();
        lib.store_map(m2, &[a], &[[9.0, 9.0]]).unwrap();
        assert_eq!(
            lib.map_points(m1).unwrap(),
            vec![(a, 3.5, -4.0), (b, 1.0, 2.0)],
            "by file id"
        );
        lib.store_map(m1, &[b], &[[0.5, 0.25]]).unwrap();
        assert_eq!(lib.map_points(m1).unwrap(), vec![(b, 0.5, 0.25)]);
        assert_eq!(lib.map_points(m2).unwrap(), vec![(a, 9.0, 9.0)]);
    }
}
