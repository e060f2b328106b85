//! Runtime tensor values and a pool that reuses freed storage.

use crate::error::{Error, Result};
use crate::ir::DType;

#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    I16(Vec<i16>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
    /// float16 bit patterns
    F16(Vec<u16>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::I16(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::U8(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::F16(v) => v.len(),
        }
    }
    /// Bytes of the elements.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::I16(_) => DType::I16,
            Data::I8(_) => DType::I8,
            Data::U8(_) => DType::U8,
            Data::Bool(_) => DType::Bool,
            Data::F16(_) => DType::F16,
        }
    }
}

/// A tensor value: a dense row-major array.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub shape: Vec<usize>,
    pub data: Data,
}

/// Checked product of dims.
pub fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

impl Value {
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Value> {
        match numel(&shape) {
            Some(n) if n == data.len() => Ok(Value { shape, data }),
            _ => Err(Error::BadInput(format!(
                "shape {shape:?} does not match {} elements of data",
                data.len()
            ))),
        }
    }
    pub fn f32(shape: Vec<usize>, v: Vec<f32>) -> Result<Value> {
        Value::new(shape, Data::F32(v))
    }
    pub fn i32(shape: Vec<usize>, v: Vec<i32>) -> Result<Value> {
        Value::new(shape, Data::I32(v))
    }
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// Bytes of the elements.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }
    /// Integer contents (for shape/axis/index tensors) widened to i64.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        Some(match &self.data {
            Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I64(v) => v.clone(),
            Data::I16(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as i64).collect(),
            Data::F32(_) | Data::F16(_) => return None,
        })
    }

    /// Item `b` of the leading (batch) dimension, as a batch of 1.
    pub fn batch_item(&self, b: usize) -> Result<Value> {
        let batch = self.shape.first().copied().unwrap_or(0);
        if b >= batch {
            return Err(Error::BadInput(format!("batch item {b} of a value with shape {:?}", self.shape)));
        }
        let per = self.len() / batch;
        let mut shape = self.shape.clone();
        shape[0] = 1;
        let r = b * per..(b + 1) * per;
        let data = match &self.data {
            Data::F32(x) => Data::F32(x[r].to_vec()),
            Data::I32(x) => Data::I32(x[r].to_vec()),
            Data::I64(x) => Data::I64(x[r].to_vec()),
            Data::I16(x) => Data::I16(x[r].to_vec()),
            Data::I8(x) => Data::I8(x[r].to_vec()),
            Data::U8(x) => Data::U8(x[r].to_vec()),
            Data::Bool(x) => Data::Bool(x[r].to_vec()),
            Data::F16(x) => Data::F16(x[r].to_vec()),
        };
        Value::new(shape, data)
    }

    /// Split the leading dimension into batch-1 values (calibration sets).
    pub fn split_batch(&self) -> Result<Vec<Value>> {
        (0..self.shape.first().copied().unwrap_or(0)).map(|b| self.batch_item(b)).collect()
    }

    /// Decode a constant tensor's raw little-endian bytes.
    pub fn from_bytes(dtype: DType, shape: Vec<usize>, bytes: &[u8]) -> Result<Value> {
        let n = numel(&shape).ok_or_else(|| Error::InvalidModel(format!("shape {shape:?} overflows")))?;
        let need = dtype.storage_bytes(n);
        if dtype.size() == 0 || bytes.len() != need {
            return Err(Error::InvalidModel(format!(
                "constant {dtype} tensor of shape {shape:?} needs {need} bytes, buffer has {}",
                bytes.len()
            )));
        }
        fn chunks<const N: usize, T>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
            b.chunks_exact(N).map(|c| f(c.try_into().unwrap())).collect()
        }
        let data = match dtype {
            DType::F32 => Data::F32(chunks(bytes, f32::from_le_bytes)),
            DType::I32 => Data::I32(chunks(bytes, i32::from_le_bytes)),
            DType::I64 => Data::I64(chunks(bytes, i64::from_le_bytes)),
            DType::I16 => Data::I16(chunks(bytes, i16::from_le_bytes)),
            DType::F16 => Data::F16(chunks(bytes, u16::from_le_bytes)),
            DType::I8 => Data::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::U8 => Data::U8(bytes.to_vec()),
            DType::Bool => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
            d => return Err(Error::Unsupported(format!("constant tensors of type {d}"))),
        };
        Value::new(shape, data)
    }
}

/// Freed f32 storage kept for reuse by later nodes (the arena of the float
/// path: peak memory stays near the largest set of live activations).
#[derive(Default)]
pub struct Pool {
    free: Vec<Vec<f32>>,
    free_i8: Vec<Vec<i8>>,
    pub peak_bytes: usize,
    live_bytes: usize,
}

impl Pool {
    /// A zeroed buffer of `n` floats; reuses the smallest free buffer that fits.
    pub fn take_f32(&mut self, n: usize) -> Vec<f32> {
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= n)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        let mut v = match best {
            Some(i) => self.free.swap_remove(i),
            None => Vec::with_capacity(n),
        };
        v.clear();
        v.resize(n, 0.0);
        self.live_bytes += v.capacity() * 4;
        self.peak_bytes = self.peak_bytes.max(self.live_bytes);
        v
    }
    /// A buffer of `n` int8 values for a kernel that overwrites every one
    /// of them: a reused buffer keeps its old contents (no zeroing pass);
    /// reuses the smallest free buffer that fits.
    pub fn take_i8_overwritten(&mut self, n: usize) -> Vec<i8> {
        let best = self
            .free_i8
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= n)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                let mut v = self.free_i8.swap_remove(i);
                v.truncate(n);
                v.resize(n, 0);
                v
            }
            None => vec![0; n],
        }
    }
    /// Return a value's storage to the pool.
    pub fn give(&mut self, v: Value) {
        match v.data {
            Data::F32(buf) => {
                self.live_bytes = self.live_bytes.saturating_sub(buf.capacity() * 4);
                if self.free.len() < 64 {
                    self.free.push(buf);
                }
            }
            Data::I8(buf) if self.free_i8.len() < 64 => self.free_i8.push(buf),
            _ => {}
        }
    }
}
