//! Elementwise kernels: NumPy-style broadcasting of a binary function over
//! two row-major arrays, and the shape arithmetic it needs.
//!
//! `binary` has fast paths (same shape, scalar operand) and otherwise
//! collapses the broadcast into a few dims so the inner loop runs over a
//! contiguous row (which covers last-dim / per-channel broadcasts);
//! `binary_naive` is its scalar twin, the reference in tests.

/// NumPy broadcast of two shapes (aligned at the trailing dim); `None` when
/// some pair of dims differs and neither is 1.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = Vec::with_capacity(r);
    for i in 0..r {
        let da = dim_aligned(a, r, i);
        let db = dim_aligned(b, r, i);
        out.push(if da == db {
            da
        } else if da == 1 {
            db
        } else if db == 1 {
            da
        } else {
            return None;
        });
    }
    Some(out)
}

/// Dim `i` of `shape` right-aligned to rank `r` (1 for missing leading dims).
#[inline]
fn dim_aligned(shape: &[usize], r: usize, i: usize) -> usize {
    let pad = r - shape.len();
    if i < pad {
        1
    } else {
        shape[i - pad]
    }
}

fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Why a broadcast call was refused (the caller validates first; this keeps
/// the kernel free of panics when it is misused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch;

/// `out[i] = f(a[ia], b[ib])` over the broadcast of `a_shape` and
/// `b_shape`; `out` must hold exactly the broadcast's element count.
pub fn binary<T: Copy, U: Copy, F: Fn(T, T) -> U>(
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    out: &mut [U],
    f: F,
) -> Result<(), ShapeMismatch> {
    let o_shape = broadcast_shape(a_shape, b_shape).ok_or(ShapeMismatch)?;
    let n = numel(&o_shape).ok_or(ShapeMismatch)?;
    if numel(a_shape) != Some(a.len()) || numel(b_shape) != Some(b.len()) || out.len() != n {
        return Err(ShapeMismatch);
    }
    if n == 0 {
        return Ok(());
    }
    // Same element layout (also covers shapes equal up to leading 1s).
    if a.len() == n && b.len() == n {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = f(x, y);
        }
        return Ok(());
    }
    if b.len() == 1 && a.len() == n {
        let y = b[0];
        for (o, &x) in out.iter_mut().zip(a) {
            *o = f(x, y);
        }
        return Ok(());
    }
    if a.len() == 1 && b.len() == n {
        let x = a[0];
        for (o, &y) in out.iter_mut().zip(b) {
            *o = f(x, y);
        }
        return Ok(());
    }

    // General case: drop unit output dims, merge neighbours that broadcast
    // the same way, then loop rows of the innermost merged dim.
    let r = o_shape.len();
    // (size, a varies along it, b varies along it)
    let mut dims: Vec<(usize, bool, bool)> = Vec::with_capacity(r);
    for (i, &size) in o_shape.iter().enumerate() {
        if size == 1 {
            continue;
        }
        let av = dim_aligned(a_shape, r, i) != 1;
        let bv = dim_aligned(b_shape, r, i) != 1;
        match dims.last_mut() {
            Some(last) if last.1 == av && last.2 == bv => last.0 *= size,
            _ => dims.push((size, av, bv)),
        }
    }
    if dims.is_empty() {
        out[0] = f(a[0], b[0]);
        return Ok(());
    }
    let k = dims.len();
    let mut sa = vec![0usize; k];
    let mut sb = vec![0usize; k];
    let (mut acc_a, mut acc_b) = (1usize, 1usize);
    for i in (0..k).rev() {
        if dims[i].1 {
            sa[i] = acc_a;
            acc_a *= dims[i].0;
        }
        if dims[i].2 {
            sb[i] = acc_b;
            acc_b *= dims[i].0;
        }
    }
    let (inner, a_inner, b_inner) = dims[k - 1];
    let mut idx = vec![0usize; k - 1];
    let (mut off_a, mut off_b) = (0usize, 0usize);
    for row in out.chunks_exact_mut(inner) {
        match (a_inner, b_inner) {
            (true, true) => {
                for ((o, &x), &y) in row.iter_mut().zip(&a[off_a..off_a + inner]).zip(&b[off_b..off_b + inner]) {
                    *o = f(x, y);
                }
            }
            (true, false) => {
                let y = b[off_b];
                for (o, &x) in row.iter_mut().zip(&a[off_a..off_a + inner]) {
                    *o = f(x, y);
                }
            }
            (false, true) => {
                let x = a[off_a];
                for (o, &y) in row.iter_mut().zip(&b[off_b..off_b + inner]) {
                    *o = f(x, y);
                }
            }
            (false, false) => {
                // Not produced by the merge above (a non-unit output dim
                // varies in a or b); kept total for safety.
                let v = f(a[off_a], b[off_b]);
                row.iter_mut().for_each(|o| *o = v);
            }
        }
        // Advance the odometer over the outer merged dims.
        for d in (0..k - 1).rev() {
            idx[d] += 1;
            off_a += sa[d];
            off_b += sb[d];
            if idx[d] < dims[d].0 {
                break;
            }
            off_a -= sa[d] * dims[d].0;
            off_b -= sb[d] * dims[d].0;
            idx[d] = 0;
        }
    }
    Ok(())
}

/// Scalar twin of [`binary`]: one multi-index per output element.
pub fn binary_naive<T: Copy, U: Copy, F: Fn(T, T) -> U>(
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    f: F,
) -> Option<(Vec<usize>, Vec<U>)> {
    let o_shape = broadcast_shape(a_shape, b_shape)?;
    let n = numel(&o_shape)?;
    let r = o_shape.len();
    let mut out = Vec::with_capacity(n);
    let mut index = vec![0usize; r];
    for _ in 0..n {
        let flat = |shape: &[usize]| {
            let pad = r - shape.len();
            let mut off = 0usize;
            for (j, &d) in shape.iter().enumerate() {
                let i = if d == 1 { 0 } else { index[j + pad] };
                off = off * d + i;
            }
            off
        };
        out.push(f(*a.get(flat(a_shape))?, *b.get(flat(b_shape))?));
        for d in (0..r).rev() {
            index[d] += 1;
            if index[d] < o_shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Some((o_shape, out))
}

/// Merged view of a reduction: `(size, reduced)` dims with unit dims dropped
/// and neighbours of the same kind merged.
fn merge_reduce_dims(shape: &[usize], reduced: &[bool]) -> Vec<(usize, bool)> {
    let mut dims: Vec<(usize, bool)> = Vec::with_capacity(shape.len());
    for (&size, &red) in shape.iter().zip(reduced) {
        if size == 1 {
            continue;
        }
        match dims.last_mut() {
            Some(last) if last.1 == red => last.0 *= size,
            _ => dims.push((size, red)),
        }
    }
    dims
}

/// Fold every element of `x` (row-major, `shape`) into `out`, the array of
/// the non-reduced dims (`reduced[d]` marks reduced dims; `out` holds the
/// product of the kept dims and starts at the reducer's initial value).
/// Each output accumulates its inputs in row-major input order.
pub fn reduce<T: Copy, F: Fn(T, T) -> T>(
    x: &[T],
    shape: &[usize],
    reduced: &[bool],
    out: &mut [T],
    f: F,
) -> Result<(), ShapeMismatch> {
    if shape.len() != reduced.len() || numel(shape) != Some(x.len()) {
        return Err(ShapeMismatch);
    }
    let kept: usize = shape.iter().zip(reduced).filter(|(_, &r)| !r).map(|(&d, _)| d).product();
    if out.len() != kept {
        return Err(ShapeMismatch);
    }
    if x.is_empty() {
        return Ok(());
    }
    let dims = merge_reduce_dims(shape, reduced);
    if dims.is_empty() {
        out[0] = f(out[0], x[0]);
        return Ok(());
    }
    let k = dims.len();
    // Output strides of the merged dims (0 along reduced ones).
    let mut so = vec![0usize; k];
    let mut acc = 1usize;
    for i in (0..k).rev() {
        if !dims[i].1 {
            so[i] = acc;
            acc *= dims[i].0;
        }
    }
    let (inner, inner_reduced) = dims[k - 1];
    let mut idx = vec![0usize; k - 1];
    let mut off = 0usize;
    for row in x.chunks_exact(inner) {
        if inner_reduced {
            let mut a = out[off];
            for &v in row {
                a = f(a, v);
            }
            out[off] = a;
        } else {
            for (o, &v) in out[off..off + inner].iter_mut().zip(row) {
                *o = f(*o, v);
            }
        }
        for d in (0..k - 1).rev() {
            idx[d] += 1;
            off += so[d];
            if idx[d] < dims[d].0 {
                break;
            }
            off -= so[d] * dims[d].0;
            idx[d] = 0;
        }
    }
    Ok(())
}

/// Scalar twin of [`reduce`].
pub fn reduce_naive<T: Copy, F: Fn(T, T) -> T>(x: &[T], shape: &[usize], reduced: &[bool], init: T, f: F) -> Vec<T> {
    let kept: usize = shape.iter().zip(reduced).filter(|(_, &r)| !r).map(|(&d, _)| d).product();
    let mut out = vec![init; kept];
    let mut index = vec![0usize; shape.len()];
    for &v in x {
        let mut o = 0usize;
        for (j, &d) in shape.iter().enumerate() {
            if !reduced[j] {
                o = o * d + index[j];
            }
        }
        out[o] = f(out[o], v);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(n: usize, k: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32) * k - 3.0).collect()
    }

    #[test]
    fn broadcast_shapes() {
        assert_eq!(broadcast_shape(&[2, 3], &[3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shape(&[2, 1, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shape(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast_shape(&[0, 1], &[1, 7]), Some(vec![0, 7]));
        assert_eq!(broadcast_shape(&[2, 3], &[4]), None);
    }

    #[test]
    fn binary_matches_naive() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[2, 3, 4], &[2, 3, 4]),
            (&[2, 3, 4], &[]),
            (&[1], &[2, 3, 4]),
            (&[2, 3, 4], &[4]),
            (&[2, 3, 4], &[3, 1]),
            (&[2, 1, 4], &[1, 3, 1]),
            (&[1, 3, 1, 5], &[2, 1, 4, 1]),
            (&[4, 1], &[1, 5]),
            (&[2, 1, 3], &[2, 5, 3]),
            (&[1, 1, 6], &[6]),
            (&[6], &[1, 1, 6]),
            (&[3, 0, 2], &[1, 2]),
        ];
        for (sa, sb) in cases {
            let a = seq(sa.iter().product(), 0.5);
            let b = seq(sb.iter().product(), 0.25);
            let f = |x: f32, y: f32| x * 3.0 - y;
            let (shape, want) = binary_naive(&a, sa, &b, sb, f).unwrap();
            let mut got = vec![0.0; want.len()];
            binary(&a, sa, &b, sb, &mut got, f).unwrap();
            assert_eq!(got, want, "{sa:?} {sb:?} -> {shape:?}");
        }
    }

    #[test]
    fn binary_rejects_misuse() {
        let mut out = vec![0.0f32; 6];
        assert!(binary(&[1.0f32; 6], &[2, 3], &[1.0; 2], &[2], &mut out, |x, y| x + y).is_err());
        assert!(binary(&[1.0f32; 5], &[2, 3], &[1.0; 3], &[3], &mut out, |x, y| x + y).is_err());
        assert!(binary(&[1.0f32; 6], &[2, 3], &[1.0; 3], &[3], &mut out[..5], |x, y| x + y).is_err());
    }

    #[test]
    fn reduce_matches_naive() {
        let cases: &[(&[usize], &[bool])] = &[
            (&[2, 3, 4], &[false, true, false]),
            (&[2, 3, 4], &[true, false, true]),
            (&[2, 3, 4], &[true, true, true]),
            (&[2, 3, 4], &[false, false, false]),
            (&[2, 1, 4, 5], &[false, true, true, false]),
            (&[5], &[true]),
            (&[3, 0], &[false, true]),
        ];
        for (shape, red) in cases {
            let x = seq(shape.iter().product(), 1.5);
            let want = reduce_naive(&x, shape, red, 0.0, |a, v| a + v);
            let mut got = vec![0.0; want.len()];
            reduce(&x, shape, red, &mut got, |a, v| a + v).unwrap();
            assert_eq!(got, want, "{shape:?} {red:?}");
        }
    }
}
