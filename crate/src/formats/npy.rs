//! NumPy `.npy` arrays <-> engine values (little-endian, C order).

use crate::engine::{Data, Value};
use crate::error::{Error, Result};

fn bad<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::BadInput(format!("npy: {}", msg.into())))
}

/// Parse a `.npy` file.
pub fn read(buf: &[u8]) -> Result<Value> {
    if buf.len() < 10 || &buf[..6] != b"\x93NUMPY" {
        return bad("not a .npy file (missing \\x93NUMPY magic)");
    }
    let major = buf[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([buf[8], buf[9]]) as usize, 10usize),
        2 | 3 if buf.len() >= 12 => (u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize, 12),
        _ => return bad(format!("unsupported .npy version {major}")),
    };
    let Some(header) = buf.get(start..start.saturating_add(hlen)) else { return bad("truncated header") };
    let header = String::from_utf8_lossy(header);
    let field = |key: &str| -> Option<String> {
        let i = header.find(&format!("'{key}'"))?;
        let rest = &header[i + key.len() + 2..];
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        Some(rest.to_string())
    };
    let descr = field("descr").and_then(|s| s.split('\'').nth(1).map(str::to_string));
    let Some(descr) = descr else { return bad("header has no descr") };
    let fortran = field("fortran_order").is_some_and(|s| s.starts_with("True"));
    if fortran {
        return bad("Fortran-order arrays are not supported; save with C order");
    }
    let Some(shape_s) = field("shape") else { return bad("header has no shape") };
    let inner = shape_s.trim_start_matches('(');
    let inner = &inner[..inner.find(')').unwrap_or(inner.len())];
    let mut shape = Vec::new();
    for p in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p.parse::<usize>() {
            Ok(d) => shape.push(d),
            Err(_) => return bad(format!("bad shape {shape_s}")),
        }
    }
    let body = &buf[start + hlen..];
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let Some(n) = n else { return bad("shape overflows") };
    let le = |w: usize| -> Result<&[u8]> {
        match n.checked_mul(w) {
            Some(b) if b <= body.len() => Ok(&body[..b]),
            _ => bad(format!("data is truncated: {n} elements of {descr} need {} bytes, have {}", n.saturating_mul(w), body.len())),
        }
    };
    if descr.starts_with('>') && !descr.ends_with("1") {
        return bad(format!("big-endian dtype {descr} is not supported"));
    }
    let code = descr.trim_start_matches(['<', '|', '=']);
    let data = match code {
        "f4" => Data::F32(le(4)?.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()),
        "f8" => Data::F32(le(8)?.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect()),
        "f2" => Data::F16(le(2)?.chunks_exact(2).map(|c| u16::from_le_bytes(c.try_into().unwrap())).collect()),
        "i4" => Data::I32(le(4)?.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()),
        "i8" => Data::I64(le(8)?.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
        "i2" => Data::I16(le(2)?.chunks_exact(2).map(|c| i16::from_le_bytes(c.try_into().unwrap())).collect()),
        "i1" => Data::I8(le(1)?.iter().map(|&b| b as i8).collect()),
        "u1" => Data::U8(le(1)?.to_vec()),
        "b1" => Data::Bool(le(1)?.iter().map(|&b| b != 0).collect()),
        other => return bad(format!("unsupported dtype {other}")),
    };
    Value::new(shape, data)
}

/// Serialize a value as a version 1 `.npy`.
pub fn write(v: &Value) -> Vec<u8> {
    let (descr, bytes): (&str, Vec<u8>) = match &v.data {
        Data::F32(x) => ("<f4", x.iter().flat_map(|f| f.to_le_bytes()).collect()),
        Data::F16(x) => ("<f2", x.iter().flat_map(|f| f.to_le_bytes()).collect()),
        Data::I32(x) => ("<i4", x.iter().flat_map(|f| f.to_le_bytes()).collect()),
        Data::I64(x) => ("<i8", x.iter().flat_map(|f| f.to_le_bytes()).collect()),
        Data::I16(x) => ("<i2", x.iter().flat_map(|f| f.to_le_bytes()).collect()),
        Data::I8(x) => ("|i1", x.iter().map(|&b| b as u8).collect()),
        Data::U8(x) => ("|u1", x.clone()),
        Data::Bool(x) => ("|b1", x.iter().map(|&b| b as u8).collect()),
    };
    let shape = match v.shape.len() {
        1 => format!("({},)", v.shape[0]),
        _ => format!("({})", v.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let v = Value::f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5]).unwrap();
        assert_eq!(read(&write(&v)).unwrap(), v);
        let v = Value::new(vec![4], Data::I8(vec![-1, 0, 1, 127])).unwrap();
        assert_eq!(read(&write(&v)).unwrap(), v);
        let mut b = write(&v);
        b.truncate(b.len() - 1);
        assert!(read(&b).unwrap_err().to_string().contains("truncated"));
        assert!(read(b"hello world").is_err());
    }
}
