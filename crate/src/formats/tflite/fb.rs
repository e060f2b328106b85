//! A bounds-checked flatbuffer reader: every access returns `Result`, so a
//! truncated or hostile file gives an error naming the field, never a panic.

use crate::error::{Error, Result};

fn err<T>(msg: String) -> Result<T> {
    Err(Error::InvalidModel(msg))
}

/// A scalar that can be read little-endian from the buffer.
pub trait Scalar: Copy {
    const SIZE: usize;
    fn read(b: &[u8]) -> Self;
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn read(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(&b[..Self::SIZE]);
                <$t>::from_le_bytes(a)
            }
        }
    )*};
}
scalar!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

impl Scalar for bool {
    const SIZE: usize = 1;
    fn read(b: &[u8]) -> Self {
        b[0] != 0
    }
}

/// Read a scalar at `pos`, checking bounds.
pub fn read_at<T: Scalar>(buf: &[u8], pos: usize, what: &str) -> Result<T> {
    match pos.checked_add(T::SIZE) {
        Some(end) if end <= buf.len() => Ok(T::read(&buf[pos..end])),
        _ => err(format!("{what}: offset {pos} is outside the file ({} bytes)", buf.len())),
    }
}

/// A table inside a flatbuffer.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vt: usize,
    vt_len: usize,
}

/// A vector of scalars or offsets: start of its first element and count.
#[derive(Clone, Copy)]
pub struct Vector<'a> {
    buf: &'a [u8],
    start: usize,
    len: usize,
}

impl<'a> Table<'a> {
    /// The root table of a buffer.
    pub fn root(buf: &'a [u8]) -> Result<Self> {
        let off: u32 = read_at(buf, 0, "root offset")?;
        Self::at(buf, off as usize, "root table")
    }

    /// A table starting at `pos`.
    pub fn at(buf: &'a [u8], pos: usize, what: &str) -> Result<Self> {
        let soff: i32 = read_at(buf, pos, what)?;
        let vt = pos as i64 - soff as i64;
        if vt < 0 || vt as usize >= buf.len() {
            return err(format!("{what}: vtable offset out of range"));
        }
        let vt = vt as usize;
        let vt_len: u16 = read_at(buf, vt, what)?;
        let obj_len: u16 = read_at(buf, vt + 2, what)?;
        let vt_len = vt_len as usize;
        if vt_len < 4 || !vt_len.is_multiple_of(2) || vt + vt_len > buf.len() {
            return err(format!("{what}: malformed vtable"));
        }
        if pos + obj_len as usize > buf.len() {
            return err(format!("{what}: table extends past the end of the file"));
        }
        Ok(Table { buf, pos, vt, vt_len })
    }

    /// Absolute position of field `id`, if present.
    fn field(&self, id: u16) -> Option<usize> {
        let slot = 4 + 2 * id as usize;
        if slot + 2 > self.vt_len {
            return None;
        }
        let off = u16::from_le_bytes([self.buf[self.vt + slot], self.buf[self.vt + slot + 1]]);
        if off == 0 {
            None
        } else {
            Some(self.pos + off as usize)
        }
    }


    pub fn scalar<T: Scalar>(&self, id: u16, default: T, what: &str) -> Result<T> {
        match self.field(id) {
            None => Ok(default),
            Some(p) => read_at(self.buf, p, what),
        }
    }

    /// Follow an offset field to its target position.
    fn target(&self, id: u16, what: &str) -> Result<Option<usize>> {
        let Some(p) = self.field(id) else { return Ok(None) };
        let off: u32 = read_at(self.buf, p, what)?;
        match p.checked_add(off as usize) {
            Some(t) if t < self.buf.len() => Ok(Some(t)),
            _ => err(format!("{what}: offset points outside the file")),
        }
    }

    pub fn table(&self, id: u16, what: &str) -> Result<Option<Table<'a>>> {
        match self.target(id, what)? {
            None => Ok(None),
            Some(t) => Table::at(self.buf, t, what).map(Some),
        }
    }

    /// A vector whose elements are `elem` bytes wide.
    pub fn vector(&self, id: u16, elem: usize, what: &str) -> Result<Option<Vector<'a>>> {
        let Some(t) = self.target(id, what)? else { return Ok(None) };
        let len: u32 = read_at(self.buf, t, what)?;
        let start = t + 4;
        let bytes = (len as usize).checked_mul(elem);
        match bytes.and_then(|b| b.checked_add(start)) {
            Some(end) if end <= self.buf.len() => Ok(Some(Vector { buf: self.buf, start, len: len as usize })),
            _ => err(format!("{what}: vector of {len} elements runs past the end of the file")),
        }
    }

    pub fn string(&self, id: u16, what: &str) -> Result<Option<String>> {
        match self.vector(id, 1, what)? {
            None => Ok(None),
            Some(v) => Ok(Some(String::from_utf8_lossy(v.bytes()).into_owned())),
        }
    }

    pub fn bytes(&self, id: u16, what: &str) -> Result<Option<&'a [u8]>> {
        Ok(self.vector(id, 1, what)?.map(|v| v.bytes()))
    }

    pub fn scalars<T: Scalar>(&self, id: u16, what: &str) -> Result<Option<Vec<T>>> {
        match self.vector(id, T::SIZE, what)? {
            None => Ok(None),
            Some(v) => Ok(Some((0..v.len).map(|i| T::read(&v.buf[v.start + i * T::SIZE..])).collect())),
        }
    }

    /// A vector of tables.
    pub fn tables(&self, id: u16, what: &str) -> Result<Vec<Table<'a>>> {
        let Some(v) = self.vector(id, 4, what)? else { return Ok(Vec::new()) };
        let mut out = Vec::with_capacity(v.len);
        for i in 0..v.len {
            let p = v.start + i * 4;
            let off: u32 = read_at(self.buf, p, what)?;
            let t = p.checked_add(off as usize).filter(|&t| t < self.buf.len());
            let Some(t) = t else { return err(format!("{what}[{i}]: offset points outside the file")) };
            out.push(Table::at(self.buf, t, &format!("{what}[{i}]"))?);
        }
        Ok(out)
    }
}

impl<'a> Vector<'a> {
    pub fn bytes(&self) -> &'a [u8] {
        &self.buf[self.start..self.start + self.len]
    }
}
