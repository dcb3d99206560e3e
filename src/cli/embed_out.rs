//! `earmark embed`'s output, written as it is computed: tensor data goes to a temporary file
//! beside the output, one tensor after another, and the safetensors file (header, then the
//! data) is assembled at the end and renamed into place. Memory holds one row at a time,
//! whatever the length of the inputs.
//!
//! Rows of an unpooled tensor may arrive out of their final order (several layers per batch,
//! or the interleaved steps of fast mode); [`RowScratch`] keeps them per layer in arrival
//! order and [`RowScratch::append_to`] writes them out in the final one.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The safetensors file being written.
pub struct TensorFile {
    out: PathBuf,
    data: BufWriter<File>,
    written: u64,
    tensors: Vec<(String, Vec<usize>, u64, u64)>,
    names: HashSet<String>,
}

impl TensorFile {
    /// Starts the output `out` (nothing appears there until [`TensorFile::finish`]).
    pub fn create(out: &Path) -> anyhow::Result<Self> {
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let data = tempfile::tempfile_in(dir)
            .with_context(|| format!("cannot write beside {}", out.display()))?;
        Ok(TensorFile {
            out: out.to_path_buf(),
            data: BufWriter::new(data),
            written: 0,
            tensors: Vec::new(),
            names: HashSet::new(),
        })
    }

    /// The tensor name for input `path`: its path as text (invalid UTF-8 replaced); a name
    /// already taken (the same file given twice) gets ` #2`, ` #3`, ….
    pub fn name_for(&mut self, path: &Path) -> String {
        let base = path.to_string_lossy().into_owned();
        let mut name = base.clone();
        let mut n = 1;
        while self.names.contains(&name) || name == "__metadata__" {
            n += 1;
            name = format!("{base} #{n}");
        }
        self.names.insert(name.clone());
        name
    }

    /// Appends values to the tensor being written.
    pub fn write(&mut self, values: &[f32]) -> anyhow::Result<()> {
        for v in values {
            self.data.write_all(&v.to_le_bytes())?;
        }
        self.written += 4 * values.len() as u64;
        Ok(())
    }

    /// Ends the tensor whose values were written since the last one ended.
    pub fn end_tensor(&mut self, name: String, shape: Vec<usize>) -> anyhow::Result<()> {
        let start = self.tensors.last().map_or(0, |t| t.3);
        let expected = 4 * shape.iter().product::<usize>() as u64;
        anyhow::ensure!(
            self.written - start == expected,
            "`{name}`: {} bytes written for shape {shape:?}",
            self.written - start
        );
        self.tensors.push((name, shape, start, self.written));
        Ok(())
    }

    /// Number of tensors ended so far.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Writes the header and the data to the output, atomically.
    pub fn finish(self, metadata: HashMap<String, String>) -> anyhow::Result<()> {
        let mut header = serde_json::Map::new();
        header.insert("__metadata__".into(), serde_json::to_value(metadata)?);
        for (name, shape, start, end) in &self.tensors {
            header.insert(
                name.clone(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, end]}),
            );
        }
        let mut text = serde_json::Value::Object(header).to_string().into_bytes();
        while !text.len().is_multiple_of(8) {
            text.push(b' ');
        }
        let mut data = self.data.into_inner().map_err(|e| e.into_error())?;
        data.seek(SeekFrom::Start(0))?;
        let partial = self.out.with_extension("safetensors.partial");
        let written = (|| -> anyhow::Result<()> {
            let mut w = BufWriter::new(File::create(&partial)?);
            w.write_all(&(text.len() as u64).to_le_bytes())?;
            w.write_all(&text)?;
            std::io::copy(&mut data.take(self.written), &mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&partial, &self.out)?;
            Ok(())
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        written.with_context(|| format!("cannot write {}", self.out.display()))
    }
}

/// Unpooled rows of one input, per layer slot, in arrival (chunk-major) order.
pub struct RowScratch {
    slots: Vec<BufWriter<File>>,
    dim: usize,
}

impl RowScratch {
    /// Scratch space for `layers` slots of `dim`-wide rows.
    pub fn new(layers: usize, dim: usize) -> anyhow::Result<Self> {
        let slots = (0..layers)
            .map(|_| Ok(BufWriter::new(tempfile::tempfile()?)))
            .collect::<anyhow::Result<_>>()?;
        Ok(RowScratch { slots, dim })
    }

    /// Appends the next row of `slot`.
    pub fn push(&mut self, slot: usize, row: &[f32]) -> anyhow::Result<()> {
        let w = self
            .slots
            .get_mut(slot)
            .context("layer slot out of range")?;
        for v in row {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    /// Writes every slot's `steps` rows to `out`, slot after slot; row `s` of a slot is the
    /// `order(s)`-th row that arrived.
    pub fn append_to(
        self,
        out: &mut TensorFile,
        steps: usize,
        order: impl Fn(usize) -> usize,
    ) -> anyhow::Result<()> {
        let row_bytes = self.dim * 4;
        let mut row = vec![0u8; row_bytes];
        let mut values = vec![0f32; self.dim];
        for slot in self.slots {
            let mut file = slot.into_inner().map_err(|e| e.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            let mut reader = BufReader::new(file);
            let mut at = 0usize;
            for s in 0..steps {
                let want = order(s);
                if want != at {
                    reader.seek(SeekFrom::Start((want * row_bytes) as u64))?;
                }
                reader
                    .read_exact(&mut row)
                    .context("an output row is missing")?;
                at = want + 1;
                for (v, b) in values.iter_mut().zip(row.chunks_exact(4)) {
                    *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
                out.write(&values)?;
            }
        }
        Ok(())
    }
}
