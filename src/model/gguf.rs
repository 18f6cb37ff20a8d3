//! GGUF, the container of homerank model files: a reader that trusts nothing and a writer.
//!
//! Layout (little-endian): magic `GGUF`, version (2 or 3), tensor count (u64), metadata count
//! (u64), metadata entries (key string, value type u32, value), tensor infos (name, n_dims u32,
//! dims u64 × n innermost first, type u32, offset u64), padding to `general.alignment` (32), then
//! the tensor data. Strings are a u64 length and UTF-8 bytes. Only what HR-S uses is read: scalar
//! and string values (arrays are skipped), and f32 / Q8_0 tensors.
//!
//! Every length and offset is checked against the bytes before use: a truncated, bit-flipped or
//! hostile file gives an [`Error::InvalidModel`], never a panic or a huge allocation.

use std::collections::HashMap;

use crate::error::{Error, Result};

const MAGIC: u32 = 0x4655_4747; // "GGUF"
const ALIGNMENT: usize = 32;
const MAX_TENSORS: u64 = 4_096;
const MAX_METADATA: u64 = 4_096;
const MAX_DIMS: u32 = 4;
const MAX_STRING: u64 = 1 << 20;

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    /// Blocks of 32 values: an f16 scale and 32 int8 (34 bytes).
    Q8_0,
}

impl TensorType {
    fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(TensorType::F32),
            8 => Some(TensorType::Q8_0),
            _ => None,
        }
    }

    fn to_u32(self) -> u32 {
        match self {
            TensorType::F32 => 0,
            TensorType::Q8_0 => 8,
        }
    }

    /// Bytes needed for `elements` values, or `None` when Q8_0 does not divide them or the size
    /// does not fit a `usize` (on wasm32, 4 GiB: `[15790321, 256]` in Q8_0 is 4294967312 bytes,
    /// which unchecked arithmetic wraps to 16).
    pub fn bytes_for(self, elements: usize) -> Option<usize> {
        usize::try_from(self.bytes_for_u64(u64::try_from(elements).ok()?)?).ok()
    }

    /// [`TensorType::bytes_for`] in u64, the same on every target; `None` on overflow.
    pub fn bytes_for_u64(self, elements: u64) -> Option<u64> {
        match self {
            TensorType::F32 => elements.checked_mul(4),
            TensorType::Q8_0 => (elements % 32 == 0).then_some(elements / 32)?.checked_mul(34),
        }
    }
}

/// A metadata value (the kinds HR-S writes; others are read as `Other`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U32(u32),
    I32(i32),
    U64(u64),
    F32(f32),
    F64(f64),
    Bool(bool),
    Str(String),
    /// A type HR-S does not use (arrays, 8/16-bit integers).
    Other,
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U32(v) => Some(v as u64),
            Value::U64(v) => Some(v),
            Value::I32(v) if v >= 0 => Some(v as u64),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// One tensor of a parsed file: shape outermost first (`[out, in]` for matmul weights).
#[derive(Debug, Clone)]
pub struct TensorRef<'a> {
    pub dtype: TensorType,
    pub shape: Vec<usize>,
    pub data: &'a [u8],
}

/// A parsed GGUF file borrowing its bytes.
#[derive(Debug)]
pub struct Gguf<'a> {
    pub metadata: HashMap<String, Value>,
    pub tensors: HashMap<String, TensorRef<'a>>,
    /// Where the tensor data section starts.
    pub data_offset: usize,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidModel(msg.into())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            bad(format!("truncated: {what} needs {n} bytes at offset {}, the file has {}", self.pos, self.bytes.len()))
        })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        if len > MAX_STRING {
            return Err(bad(format!("{what}: a string of {len} bytes")));
        }
        let len = usize::try_from(len).map_err(|_| bad(format!("{what}: a string of {len} bytes")))?;
        let raw = self.take(len, what)?;
        Ok(String::from_utf8_lossy(raw).trim_end_matches('\0').to_owned())
    }

    fn value(&mut self, kind: u32, key: &str, depth: u32) -> Result<Value> {
        let size_of = |k: u32| -> Option<usize> {
            match k {
                0 | 1 | 7 => Some(1),
                2 | 3 => Some(2),
                4..=6 => Some(4),
                10..=12 => Some(8),
                _ => None,
            }
        };
        Ok(match kind {
            4 => Value::U32(self.u32(key)?),
            5 => Value::I32(self.u32(key)? as i32),
            6 => Value::F32(f32::from_bits(self.u32(key)?)),
            7 => Value::Bool(self.take(1, key)?[0] != 0),
            8 => Value::Str(self.string(key)?),
            10 => Value::U64(self.u64(key)?),
            12 => Value::F64(f64::from_bits(self.u64(key)?)),
            0..=3 | 11 => {
                self.take(size_of(kind).expect("a fixed-size kind"), key)?;
                Value::Other
            }
            9 => {
                if depth > 2 {
                    return Err(bad(format!("metadata '{key}': arrays nested too deep")));
                }
                let elem = self.u32(key)?;
                let count = self.u64(key)?;
                match size_of(elem) {
                    Some(sz) => {
                        let total = count
                            .checked_mul(sz as u64)
                            .filter(|&t| t <= self.bytes.len() as u64)
                            .and_then(|t| usize::try_from(t).ok());
                        let total =
                            total.ok_or_else(|| bad(format!("metadata '{key}': an array of {count} elements")))?;
                        self.take(total, key)?;
                    }
                    None => {
                        if count > self.bytes.len() as u64 {
                            return Err(bad(format!("metadata '{key}': an array of {count} elements")));
                        }
                        for _ in 0..count {
                            self.value(elem, key, depth + 1)?;
                        }
                    }
                }
                Value::Other
            }
            other => return Err(bad(format!("metadata '{key}': unknown value type {other}"))),
        })
    }
}

/// Parses a GGUF file.
pub fn parse(bytes: &[u8]) -> Result<Gguf<'_>> {
    let mut r = Reader { bytes, pos: 0 };
    if r.u32("the magic number").map_err(|_| bad("not a GGUF file (too short)"))? != MAGIC {
        return Err(bad("not a GGUF file (wrong magic number)"));
    }
    let version = r.u32("the version")?;
    if !(2..=3).contains(&version) {
        return Err(bad(format!("GGUF version {version} is not supported (2 or 3)")));
    }
    let n_tensors = r.u64("the tensor count")?;
    let n_meta = r.u64("the metadata count")?;
    if n_tensors > MAX_TENSORS || n_meta > MAX_METADATA {
        return Err(bad(format!("{n_tensors} tensors and {n_meta} metadata entries is more than a model file holds")));
    }
    let mut metadata = HashMap::new();
    for _ in 0..n_meta {
        let key = r.string("a metadata key")?;
        let kind = r.u32(&key)?;
        let value = r.value(kind, &key, 0)?;
        metadata.insert(key, value);
    }
    let mut infos = Vec::with_capacity(n_tensors as usize);
    for _ in 0..n_tensors {
        let name = r.string("a tensor name")?;
        let n_dims = r.u32(&name)?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(bad(format!("tensor '{name}' has {n_dims} dimensions")));
        }
        let mut shape = Vec::with_capacity(n_dims as usize);
        let max_dim = (bytes.len() as u64).saturating_mul(8);
        for _ in 0..n_dims {
            let d = r.u64(&name)?;
            // A dimension must fit a usize (on wasm32 a u64 would otherwise be truncated).
            match usize::try_from(d) {
                Ok(d) if d != 0 && d as u64 <= max_dim => shape.push(d),
                _ => return Err(bad(format!("tensor '{name}' has a dimension of {d}"))),
            }
        }
        shape.reverse();
        let kind = r.u32(&name)?;
        let dtype = TensorType::from_u32(kind)
            .ok_or_else(|| bad(format!("tensor '{name}' has type {kind}; homerank reads f32 (0) and Q8_0 (8)")))?;
        let offset = r.u64(&name)?;
        infos.push((name, dtype, shape, offset));
    }
    let alignment = metadata.get("general.alignment").and_then(Value::as_u64).unwrap_or(ALIGNMENT as u64);
    if !(1..=4096).contains(&alignment) {
        return Err(bad(format!("general.alignment {alignment} is out of range")));
    }
    // Every size below is computed in u64 with checked arithmetic and compared with the file's
    // length before it becomes a usize: the same answer on wasm32 (32-bit usize) as natively.
    let data_offset = (r.pos as u64)
        .div_ceil(alignment)
        .checked_mul(alignment)
        .and_then(|o| usize::try_from(o).ok())
        .ok_or_else(|| bad("the tensor data offset overflows"))?;
    let mut tensors = HashMap::with_capacity(infos.len());
    for (name, dtype, shape, offset) in infos {
        let elements = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        let size = elements.and_then(|e| dtype.bytes_for_u64(e)).ok_or_else(|| {
            bad(format!("tensor '{name}' of shape {shape:?} does not fit its type {dtype:?} (not whole blocks, or a size that overflows)"))
        })?;
        let start = (data_offset as u64).checked_add(offset).filter(|&s| s <= bytes.len() as u64);
        let end = start.and_then(|s| s.checked_add(size)).filter(|&e| e <= bytes.len() as u64);
        let (Some(start), Some(end)) = (start, end) else {
            return Err(bad(format!(
                "truncated: tensor '{name}' of shape {shape:?} needs {size} bytes at offset {offset} of the data, the file has {}",
                bytes.len()
            )));
        };
        // Both are at most bytes.len(), so they fit a usize.
        let data = &bytes[start as usize..end as usize];
        if tensors.insert(name.clone(), TensorRef { dtype, shape, data }).is_some() {
            return Err(bad(format!("tensor '{name}' appears twice")));
        }
    }
    Ok(Gguf { metadata, tensors, data_offset })
}

/// A tensor to write.
pub struct TensorOut<'a> {
    pub name: &'a str,
    pub dtype: TensorType,
    /// Outermost first.
    pub shape: &'a [usize],
    pub data: &'a [u8],
}

/// Writes a GGUF (version 3) file; returns the bytes and where the data section starts.
pub fn write(metadata: &[(&str, Value)], tensors: &[TensorOut<'_>]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let put_str = |out: &mut Vec<u8>, s: &str| {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    };
    out.extend(MAGIC.to_le_bytes());
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        put_str(&mut out, key);
        match value {
            Value::U32(v) => out.extend(4u32.to_le_bytes().into_iter().chain(v.to_le_bytes())),
            Value::I32(v) => out.extend(5u32.to_le_bytes().into_iter().chain(v.to_le_bytes())),
            Value::F32(v) => out.extend(6u32.to_le_bytes().into_iter().chain(v.to_le_bytes())),
            Value::Bool(v) => out.extend(7u32.to_le_bytes().into_iter().chain([*v as u8])),
            Value::Str(s) => {
                out.extend(8u32.to_le_bytes());
                put_str(&mut out, s);
            }
            Value::U64(v) => out.extend(10u32.to_le_bytes().into_iter().chain(v.to_le_bytes())),
            Value::F64(v) => out.extend(12u32.to_le_bytes().into_iter().chain(v.to_le_bytes())),
            Value::Other => unreachable!("only known values are written"),
        }
    }
    let mut offset = 0usize;
    for t in tensors {
        put_str(&mut out, t.name);
        out.extend((t.shape.len() as u32).to_le_bytes());
        for &d in t.shape.iter().rev() {
            out.extend((d as u64).to_le_bytes());
        }
        out.extend(t.dtype.to_u32().to_le_bytes());
        out.extend((offset as u64).to_le_bytes());
        offset += t.data.len().div_ceil(ALIGNMENT) * ALIGNMENT;
    }
    let data_offset = out.len().div_ceil(ALIGNMENT) * ALIGNMENT;
    out.resize(data_offset, 0);
    for t in tensors {
        out.extend(t.data);
        out.resize(out.len().div_ceil(ALIGNMENT) * ALIGNMENT, 0);
    }
    (out, data_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let f32s: Vec<u8> = [1.0f32, -2.0, 3.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let (bytes, data_offset) = write(
            &[("a", Value::U32(7)), ("b", Value::Str("hé".into())), ("c", Value::F64(0.25))],
            &[TensorOut { name: "t", dtype: TensorType::F32, shape: &[3], data: &f32s }],
        );
        let g = parse(&bytes).unwrap();
        assert_eq!(g.data_offset, data_offset);
        assert_eq!(g.metadata["a"], Value::U32(7));
        assert_eq!(g.metadata["b"].as_str(), Some("hé"));
        assert_eq!(g.metadata["c"].as_f64(), Some(0.25));
        assert_eq!(g.tensors["t"].shape, vec![3]);
        assert_eq!(g.tensors["t"].data, f32s.as_slice());
        for cut in 0..bytes.len() - 1 {
            // Every truncation is refused cleanly (the last tensor's padding aside).
            if let Ok(g) = parse(&bytes[..cut]) {
                assert!(cut >= data_offset + 12, "cut {cut} parsed: {g:?}");
            }
        }
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert!(parse(&wrong).unwrap_err().to_string().contains("wrong magic"));
    }
}
