//! A minimal writer of PyTorch zip checkpoints (pickle protocol 2, `_rebuild_tensor_v2`), so the
//! tests can build normal, huge and hostile `.pt` files without Python.
#![allow(clippy::unwrap_used)] // test helper: a panic is a failed assertion

use std::io::Write;
use std::path::Path;

/// A value of the state dict to write.
pub enum Val {
    /// A float32 tensor.
    F32 { shape: Vec<usize>, data: Vec<f32> },
    /// An int64 tensor.
    I64 { shape: Vec<usize>, data: Vec<i64> },
    /// A tensor whose declared shape and storage size are arbitrary (data record as given).
    Raw {
        shape: Vec<usize>,
        stride: Vec<usize>,
        storage_numel: u64,
        bytes: Vec<u8>,
    },
    /// A nested dict.
    Dict(Vec<(String, Val)>),
    /// A plain integer.
    Int(i64),
}

/// Pickle opcode builder.
#[derive(Default)]
pub struct Pickle {
    pub out: Vec<u8>,
    storages: Vec<Vec<u8>>,
}

impl Pickle {
    pub fn global(&mut self, module: &str, name: &str) {
        self.out.push(b'c');
        self.out
            .extend_from_slice(format!("{module}\n{name}\n").as_bytes());
    }
    pub fn string(&mut self, s: &str) {
        self.out.push(b'X');
        self.out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.out.extend_from_slice(s.as_bytes());
    }
    pub fn int(&mut self, v: i64) {
        self.out.push(0x8a);
        self.out.push(8);
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn tuple_of(&mut self, vs: &[u64]) {
        self.out.push(b'(');
        for &v in vs {
            self.int(v as i64);
        }
        self.out.push(b't');
    }
    fn tensor(
        &mut self,
        storage: &str,
        shape: &[usize],
        stride: &[usize],
        numel: u64,
        bytes: Vec<u8>,
    ) {
        let key = self.storages.len().to_string();
        self.storages.push(bytes);
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.out.push(b'(');
        self.out.push(b'(');
        self.string("storage");
        self.global("torch", storage);
        self.string(&key);
        self.string("cpu");
        self.int(numel as i64);
        self.out.extend_from_slice(b"tQ");
        self.int(0);
        self.tuple_of(&shape.iter().map(|&x| x as u64).collect::<Vec<_>>());
        self.tuple_of(&stride.iter().map(|&x| x as u64).collect::<Vec<_>>());
        self.out.push(0x89);
        self.global("collections", "OrderedDict");
        self.out.extend_from_slice(b")Rt");
        self.out.push(b'R');
    }
    fn value(&mut self, v: &Val) {
        match v {
            Val::F32 { shape, data } => {
                let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
                self.tensor(
                    "FloatStorage",
                    shape,
                    &contiguous(shape),
                    data.len() as u64,
                    bytes,
                )
            }
            Val::I64 { shape, data } => {
                let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
                self.tensor(
                    "LongStorage",
                    shape,
                    &contiguous(shape),
                    data.len() as u64,
                    bytes,
                )
            }
            Val::Raw {
                shape,
                stride,
                storage_numel,
                bytes,
            } => self.tensor("FloatStorage", shape, stride, *storage_numel, bytes.clone()),
            Val::Dict(items) => self.dict(items),
            Val::Int(i) => self.int(*i),
        }
    }
    fn dict(&mut self, items: &[(String, Val)]) {
        self.global("collections", "OrderedDict");
        self.out.extend_from_slice(b")R(");
        for (k, v) in items {
            self.string(k);
            self.value(v);
        }
        self.out.push(b'u');
    }
}

fn contiguous(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Writes `items` as a `torch.save`-style zip archive.
pub fn write_pt(path: &Path, items: &[(String, Val)]) {
    let mut p = Pickle::default();
    p.out.extend_from_slice(b"\x80\x02");
    p.dict(items);
    p.out.push(b'.');
    write_archive(path, &p.out, &p.storages);
}

/// Writes a zip archive with the given pickle program and storage records.
pub fn write_archive(path: &Path, program: &[u8], storages: &[Vec<u8>]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    zip.start_file("archive/data.pkl", opts).unwrap();
    zip.write_all(program).unwrap();
    zip.start_file("archive/byteorder", opts).unwrap();
    zip.write_all(b"little").unwrap();
    for (i, s) in storages.iter().enumerate() {
        zip.start_file(format!("archive/data/{i}"), opts).unwrap();
        zip.write_all(s).unwrap();
    }
    zip.start_file("archive/version", opts).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.finish().unwrap();
}
