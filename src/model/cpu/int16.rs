//! Linear layers over Q8_0 weights with int16 activations: `y = x · Wᵀ + b` where each row of
//! `x` is quantized on the fly to int16 (symmetric, one scale per row) and multiplied with the
//! file's int8 weights in integers, eight multiply-adds per instruction (`i32x4.dot_i16x8_s` in
//! wasm simd128, `pmaddwd` on x86-64), against four per two instructions in f32.
//!
//! Why int16 and not int8 activations: int8 rows cost ~1e-2 in the scores; int16 keeps the error
//! of the activations at ~1.5e-5 of each row's largest value, below the Q8_0 weights' own, and
//! `dot_i16x8` is baseline simd128 (the int8 dot is relaxed SIMD only). The weights are the
//! file's int8 values exactly (held as i16 for the dot), with their per-block scales applied to
//! each block's integer sum, so the only new error is the activations' rounding.
//!
//! Integer sums are exact, so every target (simd128, SSE2, scalar) computes the same i32 per
//! block; the float steps after them run in one order everywhere, so the results are
//! bit-identical on every target (the layout lab's page-equals-CLI guarantee relies on it).
//!
//! Bounds: |x| ≤ 32767 and |w| ≤ 127, so a block of 32 products sums to < 2^27 and never
//! overflows i32.

use crate::model::quant::{split_q8_0, BLOCK};
use crate::simd::{
    and, f32_add, f32_madd, f32_mul, f32_splat, i16_narrow, i32_max, i32_splat, i32_sub, i32_to_f32, lanes_i32,
    load_f32, store, store_f32,
};

/// Outputs per register tile: two groups of four i32 lanes.
const GROUP: usize = 4;
const TILE_OUT: usize = 2 * GROUP;
/// Largest int16 magnitude used (symmetric, so −32768 never occurs).
pub(crate) const Q_MAX: f32 = 32767.0;
/// Rows per register tile.
const TILE_ROWS: usize = 4;
/// Adding and subtracting 1.5 · 2²³ rounds an f32 of magnitude < 2²² to the nearest integer,
/// ties to even, with plain IEEE adds: the same on every target and vectorizable everywhere.
pub(crate) const ROUND: f32 = 12_582_912.0;
/// `ROUND`'s bits: `(x + ROUND).to_bits() − ROUND_BITS` is that nearest integer (for |x| < 2²²),
/// without a float-to-int conversion.
pub(crate) const ROUND_BITS: u32 = 0x4B40_0000;

/// A linear layer's Q8_0 weights packed for the int16 kernel.
pub(crate) struct Int16Linear {
    /// `[out / 4][in / 2][4][2]`: for a group of four outputs and a pair of input columns, the
    /// eight weights one `dot_i16x8` multiplies with a splatted pair of activations.
    packed: Vec<i16>,
    /// `[in / 32][out]`: the Q8_0 block scales, by block then output.
    scales: Vec<f32>,
    b: Vec<f32>,
    k: usize,
    out: usize,
}

impl Int16Linear {
    /// From a Q8_0 weight `out × k` (row-major, as the file holds it) and its bias, or `None`
    /// when the shape does not fit the kernel (`k` a multiple of 32, `out` of 8).
    pub(crate) fn from_q8_0(bytes: &[u8], k: usize, b: Vec<f32>) -> Option<Self> {
        let out = b.len();
        if k == 0 || k % BLOCK != 0 || out % TILE_OUT != 0 || bytes.len() != out * k / BLOCK * 34 {
            return None;
        }
        let (block_scales, q) = split_q8_0(bytes);
        let blocks = k / BLOCK;
        let mut scales = vec![0f32; blocks * out];
        for o in 0..out {
            for blk in 0..blocks {
                scales[blk * out + o] = block_scales[o * blocks + blk];
            }
        }
        let mut packed = vec![0i16; out * k];
        for o in 0..out {
            let (g, j) = (o / GROUP, o % GROUP);
            for c in 0..k {
                packed[(g * (k / 2) + c / 2) * 2 * GROUP + 2 * j + c % 2] = q[o * k + c] as i16;
            }
        }
        Some(Int16Linear { packed, scales, b, k, out })
    }

    /// `y = x · Wᵀ + b` for `rows` rows of `x` (`rows × k`); `xq` and `xs` are scratch.
    #[cfg(test)]
    pub(crate) fn forward(&self, x: &[f32], rows: usize, xq: &mut Vec<i16>, xs: &mut Vec<f32>, y: &mut Vec<f32>) {
        debug_assert_eq!(x.len(), rows * self.k);
        quantize_rows(x, self.k, xq, xs);
        self.forward_quantized(xq, xs, rows, y);
    }

    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// [`Int16Linear::forward`] on rows already quantized by [`quantize_rows`].
    pub(crate) fn forward_quantized(&self, xq: &[i16], xs: &[f32], rows: usize, y: &mut Vec<f32>) {
        let out = self.out;
        debug_assert_eq!(xq.len(), rows * self.k);
        y.resize(rows * out, 0.0);
        let mut r = 0;
        while r + TILE_ROWS <= rows {
            self.tile::<TILE_ROWS>(xq, xs, r, y);
            r += TILE_ROWS;
        }
        while r < rows {
            self.tile::<1>(xq, xs, r, y);
            r += 1;
        }
    }

    #[inline]
    fn tile<const R: usize>(&self, xq: &[i16], xs: &[f32], r0: usize, y: &mut [f32]) {
        let (k, out) = (self.k, self.out);
        let pairs = k / 2;
        let xrows: [&[i16]; R] = std::array::from_fn(|i| &xq[(r0 + i) * k..(r0 + i + 1) * k]);
        assert!(self.scales.len() >= k / BLOCK * out && self.b.len() >= out && y.len() >= (r0 + R) * out);
        for o in (0..out).step_by(TILE_OUT) {
            let g = o / GROUP;
            let w0 = &self.packed[g * pairs * 2 * GROUP..(g + 1) * pairs * 2 * GROUP];
            let w1 = &self.packed[(g + 1) * pairs * 2 * GROUP..(g + 2) * pairs * 2 * GROUP];
            let mut acc = [[f32_splat(0.0); 2]; R];
            for blk in 0..k / BLOCK {
                let sums = dot::block::<R>(&xrows, w0, w1, blk * BLOCK / 2);
                // SAFETY: o + 8 ≤ out, so both loads are inside the block's `out` scales
                // (asserted above).
                let (s0, s1) = unsafe {
                    let at = self.scales.as_ptr().add(blk * out + o);
                    (load_f32(at), load_f32(at.add(4)))
                };
                for i in 0..R {
                    acc[i][0] = f32_madd(i32_to_f32(sums[i][0]), s0, acc[i][0]);
                    acc[i][1] = f32_madd(i32_to_f32(sums[i][1]), s1, acc[i][1]);
                }
            }
            // SAFETY: o + 8 ≤ out (bias) and row r0 + i < r0 + R holds `out` values (asserted).
            unsafe {
                let (b0, b1) = (load_f32(self.b.as_ptr().add(o)), load_f32(self.b.as_ptr().add(o + 4)));
                for i in 0..R {
                    let scale = f32_splat(xs[r0 + i]);
                    let row = y.as_mut_ptr().add((r0 + i) * out + o);
                    store_f32(row, f32_madd(acc[i][0], scale, b0));
                    store_f32(row.add(4), f32_madd(acc[i][1], scale, b1));
                }
            }
        }
    }
}

/// Quantizes each `k`-wide row of `x` to int16 with its own scale (`x ≈ scale · q`). A row with
/// a NaN or an infinity gets a NaN scale, so the layer's output stays non-finite and the
/// ranker's finite check still sees it.
pub(crate) fn quantize_rows(x: &[f32], k: usize, xq: &mut Vec<i16>, xs: &mut Vec<f32>) {
    xq.resize(x.len(), 0);
    xs.clear();
    for (row, q) in x.chunks_exact(k).zip(xq.chunks_exact_mut(k)) {
        let (amax, finite) = max_abs(row);
        if !finite {
            q.fill(0);
            xs.push(f32::NAN);
        } else if amax == 0.0 {
            q.fill(0);
            xs.push(0.0);
        } else {
            // |v · inv| ≤ 32767, so the narrowing to i16 never saturates.
            quantize_row(row, Q_MAX / amax, q);
            xs.push(amax / Q_MAX);
        }
    }
}

/// `q = round(row · inv)` (ties to even), eight values per step.
#[inline]
fn quantize_row(row: &[f32], inv: f32, q: &mut [i16]) {
    let (body, tail) = row.split_at(row.len() - row.len() % 8);
    // Through black_box: constants would be rebuilt by V8 at every use inside the loop.
    let (round, bits) = std::hint::black_box((ROUND, ROUND_BITS as i32));
    let (inv_v, round, bits) = (f32_splat(inv), f32_splat(round), i32_splat(bits));
    for (c, chunk) in body.chunks_exact(8).enumerate() {
        // SAFETY: `chunk` holds 8 f32 and q[8c..8c + 8] is inside `q` (same length as `row`).
        unsafe {
            let a = i32_sub(f32_add(f32_mul(load_f32(chunk.as_ptr()), inv_v), round), bits);
            let b = i32_sub(f32_add(f32_mul(load_f32(chunk.as_ptr().add(4)), inv_v), round), bits);
            assert!(8 * c + 8 <= q.len());
            store(q.as_mut_ptr().add(8 * c) as *mut u8, i16_narrow(a, b));
        }
    }
    for (qi, &v) in q[body.len()..].iter_mut().zip(tail) {
        *qi = (v * inv + ROUND).to_bits().wrapping_sub(ROUND_BITS) as i32 as i16;
    }
}

/// The largest |v| of a row, and whether every value is finite. On the bits: with the sign
/// cleared, the order of non-negative floats is the order of their bit patterns as integers, and
/// every non-finite value (±∞, NaN) lies at or above +∞'s — one integer maximum gives both, two
/// instructions per four values. (The maximum is not a number when the row is not finite.)
#[inline]
pub(crate) fn max_abs(row: &[f32]) -> (f32, bool) {
    const INFINITY_BITS: i32 = 0x7F80_0000;
    let (body, tail) = row.split_at(row.len() - row.len() % 4);
    // Through black_box: a constant would be rebuilt by V8 at every use inside the loop.
    let abs_mask = i32_splat(std::hint::black_box(i32::MAX));
    let mut m = i32_splat(0);
    for chunk in body.chunks_exact(4) {
        // SAFETY: `chunk` holds four f32.
        m = i32_max(m, and(unsafe { load_f32(chunk.as_ptr()) }, abs_mask));
    }
    let l = lanes_i32(m);
    let mut bits = l[0].max(l[1]).max(l[2].max(l[3]));
    for &v in tail {
        bits = bits.max((v.to_bits() & 0x7FFF_FFFF) as i32);
    }
    (f32::from_bits(bits as u32), bits < INFINITY_BITS)
}

/// The integer block sums: for rows `x`, the 8 outputs of the weight groups `w0`, `w1` (two
/// vectors of four i32), over the 16 column pairs of one Q8_0 block starting at pair `p0`.
mod dot {
    use crate::simd::{i16_dot, i32_add, i32_splat, load, load32_splat, V};

    /// Pairs of input columns per Q8_0 block.
    const PAIRS: usize = super::BLOCK / 2;

    #[inline]
    pub fn block<const R: usize>(x: &[&[i16]; R], w0: &[i16], w1: &[i16], p0: usize) -> [[V; 2]; R] {
        assert!(w0.len() >= (p0 + PAIRS) * 8 && w1.len() >= (p0 + PAIRS) * 8);
        for row in x {
            assert!(row.len() >= 2 * (p0 + PAIRS));
        }
        let mut acc = [[i32_splat(0); 2]; R];
        for p in p0..p0 + PAIRS {
            // SAFETY: the asserts above bound every read.
            unsafe {
                let (a, b) = (load(w0.as_ptr().add(p * 8) as *const u8), load(w1.as_ptr().add(p * 8) as *const u8));
                for i in 0..R {
                    let xp = load32_splat(x[i].as_ptr().add(2 * p) as *const u8);
                    acc[i][0] = i32_add(acc[i][0], i16_dot(xp, a));
                    acc[i][1] = i32_add(acc[i][1], i16_dot(xp, b));
                }
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant::{dequantize_q8_0, quantize_q8_0};

    fn layer(k: usize, out: usize) -> (Int16Linear, Vec<f32>) {
        let w: Vec<f32> = (0..out * k).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3).collect();
        let b: Vec<f32> = (0..out).map(|i| i as f32 * 0.01).collect();
        let bytes = quantize_q8_0(&w);
        (Int16Linear::from_q8_0(&bytes, k, b).unwrap(), dequantize_q8_0(&bytes))
    }

    #[test]
    fn matches_the_f32_product_of_the_dequantized_weights() {
        for (rows, k, out) in [(1, 32, 8), (7, 64, 64), (9, 256, 64), (4, 64, 256)] {
            let (lin, w) = layer(k, out);
            let x: Vec<f32> = (0..rows * k).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
            let (mut xq, mut xs, mut y) = (Vec::new(), Vec::new(), Vec::new());
            lin.forward(&x, rows, &mut xq, &mut xs, &mut y);
            for r in 0..rows {
                let amax = x[r * k..(r + 1) * k].iter().fold(0f32, |m, v| m.max(v.abs()));
                let wsum: f32 = (0..out).map(|o| (0..k).map(|c| w[o * k + c].abs()).sum::<f32>()).fold(0.0, f32::max);
                for o in 0..out {
                    let want: f64 =
                        (0..k).map(|c| x[r * k + c] as f64 * w[o * k + c] as f64).sum::<f64>() + lin.b[o] as f64;
                    // Each activation is off by at most half a step (amax / 32767 / 2).
                    let bound = (amax / Q_MAX * 0.5 * wsum) as f64 + 1e-5;
                    let got = y[r * out + o] as f64;
                    assert!((got - want).abs() <= bound, "{rows}x{k}x{out} [{r},{o}]: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn zero_and_non_finite_rows() {
        let (lin, _) = layer(32, 8);
        let mut x = vec![0f32; 3 * 32];
        x[32 + 5] = f32::NAN;
        x[64 + 1] = f32::INFINITY;
        let (mut xq, mut xs, mut y) = (Vec::new(), Vec::new(), Vec::new());
        lin.forward(&x, 3, &mut xq, &mut xs, &mut y);
        assert_eq!(&y[..8], &lin.b[..]);
        assert!(y[8..].iter().all(|v| v.is_nan()));
    }

    #[test]
    fn max_abs_is_the_largest_magnitude_and_flags_non_finite_rows() {
        let rows: [&[f32]; 6] = [
            &[0.5, -3.25, 1e-40, -0.0, 2.0, 7.0, -7.5],
            &[-0.0, 0.0, 0.0, 0.0],
            &[1.0, 2.0, 3.0, 4.0, 5.0, f32::NAN],
            &[f32::NEG_INFINITY, 1.0, 2.0, 3.0],
            &[1.0, 2.0, 3.0, f32::INFINITY, 4.0, 5.0, 6.0, 7.0],
            &[f32::MAX, -f32::MAX, 1.0, 1.0],
        ];
        for row in rows {
            let (amax, finite) = max_abs(row);
            assert_eq!(finite, row.iter().all(|v| v.is_finite()), "{row:?}");
            if finite {
                assert_eq!(amax.to_bits(), row.iter().fold(0f32, |m, v| m.max(v.abs())).to_bits(), "{row:?}");
            }
        }
    }

    #[test]
    fn rounds_half_to_even_and_saturates_nothing() {
        // Largest value 32767, so the step is exactly 1.
        let x = [32767.0f32, -32767.0, 0.5, 1.5, 2.5, -3.5, 7.25];
        let (mut q, mut s) = (Vec::new(), Vec::new());
        quantize_rows(&x, 7, &mut q, &mut s);
        assert_eq!(q, vec![32767, -32767, 0, 2, 2, -4, 7]);
        assert_eq!(s, vec![1.0]);
    }

    #[test]
    fn refuses_shapes_the_kernel_cannot_tile() {
        let bytes = quantize_q8_0(&vec![0.5; 4 * 32]);
        assert!(Int16Linear::from_q8_0(&bytes, 32, vec![0.0; 4]).is_none());
        assert!(Int16Linear::from_q8_0(&bytes, 64, vec![0.0; 2]).is_none());
    }
}
