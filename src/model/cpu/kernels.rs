//! The CPU kernels of the HR-S forward, in plain Rust written so that LLVM vectorizes them (to
//! SSE/AVX natively and to simd128 in wasm): independent accumulator lanes instead of one running
//! sum, contiguous inner loops, no branches in the hot loops.
//!
//! `exp` and `erf` are polynomial approximations (relative error ≈ 1e-7) because the libm calls
//! would dominate the forward (hundreds of thousands per page) and do not vectorize.

/// Lanes of the accumulator arrays: 8 f32 = two simd128 vectors or one AVX vector.
const LANES: usize = 8;

/// `a · b` for equal-length slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; LANES];
    let (ac, ar) = a.split_at(a.len() - a.len() % LANES);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(LANES).zip(bc.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// `y += a · x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `y = x · Wt + b` for `rows` rows: `x` is `rows × k`, `wt` is `k × n` (the weight
/// transposed), `y` is `rows × n`.
///
/// Register tiles of `ROWS` rows × `LANES` outputs: per input column, one load of the weight
/// vector serves every row of the tile (an outer-product update, no horizontal sums), and the
/// accumulators fit the 16 vector registers of x86-64 (simd128 in V8).
pub fn linear(x: &[f32], rows: usize, wt: &[f32], b: &[f32], n: usize, y: &mut [f32]) {
    const ROWS: usize = 4;
    let k = wt.len() / n;
    debug_assert_eq!(x.len(), rows * k);
    debug_assert_eq!(y.len(), rows * n);
    let mut r = 0;
    while r + ROWS <= rows {
        linear_tile::<ROWS>(x, r, k, wt, b, n, y);
        r += ROWS;
    }
    while r < rows {
        linear_tile::<1>(x, r, k, wt, b, n, y);
        r += 1;
    }
}

#[inline]
fn linear_tile<const R: usize>(x: &[f32], r0: usize, k: usize, wt: &[f32], b: &[f32], n: usize, y: &mut [f32]) {
    let xs: [&[f32]; R] = std::array::from_fn(|i| &x[(r0 + i) * k..(r0 + i + 1) * k]);
    let mut o = 0;
    while o + LANES <= n {
        let bias: &[f32; LANES] = b[o..o + LANES].try_into().unwrap();
        let mut acc = [*bias; R];
        for c in 0..k {
            let w: &[f32; LANES] = wt[c * n + o..c * n + o + LANES].try_into().unwrap();
            for i in 0..R {
                let xv = xs[i][c];
                for l in 0..LANES {
                    acc[i][l] += xv * w[l];
                }
            }
        }
        for i in 0..R {
            y[(r0 + i) * n + o..(r0 + i) * n + o + LANES].copy_from_slice(&acc[i]);
        }
        o += LANES;
    }
    for o in o..n {
        for i in 0..R {
            y[(r0 + i) * n + o] = (0..k).fold(b[o], |a, c| a + xs[i][c] * wt[c * n + o]);
        }
    }
}

/// LayerNorm of each `d`-wide row of `x` into `y`.
pub fn layer_norm(x: &[f32], d: usize, g: &[f32], b: &[f32], eps: f32, y: &mut [f32]) {
    for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        let mean = xr.iter().sum::<f32>() / d as f32;
        let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for i in 0..d {
            yr[i] = (xr[i] - mean) * inv * g[i] + b[i];
        }
    }
}

/// eˣ for x in f32 range (relative error < 2e-7; underflows to 0 below −87).
///
/// `n`, the nearest integer to x·log₂e, comes from adding 1.5 · 2²³ (which leaves n in the low
/// mantissa bits of the sum) instead of floor and a float-to-int conversion: only adds,
/// multiplies and integer ops, which vectorize to a few simd128 instructions each (V8's
/// saturating `trunc_sat` alone takes several).
#[inline]
pub fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    // Compare-and-select rather than `clamp` (same result, NaN kept): it vectorizes to
    // f32x4.pmin/pmax, where `clamp` was split into scalar lanes.
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    // Cody-Waite reduction: ln 2 split in a part exact in f32 and a small rest, so f = x − n·ln 2
    // keeps its precision for large |x|.
    let f = (x - n * 0.693_145_75) - n * 1.428_606_8e-6; // |f| ≤ ln2 / 2
                                                         // Taylor series of e^f to the 7th power: the first omitted term is < 6e-9.
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0)))))));
    // 2ⁿ: n + 127 into the exponent field (n is the low bits of t, −126 ≤ n ≤ 127).
    let n_int = t.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(n_int.wrapping_add(127) << 23)
}

/// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7).
#[inline]
pub fn erf(x: f32) -> f32 {
    let s = 1f32.copysign(x); // signum without its NaN branch, so it vectorizes (NaN stays NaN below)
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    s * (1.0 - poly * exp(-a * a))
}

/// Exact-erf GELU in place: x · Φ(x).
pub fn gelu(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Softmax of a row in place. Max and sum run in independent lanes, so each loop vectorizes.
pub fn softmax(row: &mut [f32]) {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let (body, tail) = row.split_at(row.len() - row.len() % LANES);
    for chunk in body.chunks_exact(LANES) {
        for l in 0..LANES {
            lanes[l] = if chunk[l] > lanes[l] { chunk[l] } else { lanes[l] };
        }
    }
    let max = lanes.iter().chain(tail).copied().fold(f32::NEG_INFINITY, f32::max);
    for v in row.iter_mut() {
        *v = exp(*v - max);
    }
    let inv = 1.0 / sum(row);
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// Sum of a slice in `LANES` independent partial sums.
#[inline]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (body, tail) = x.split_at(x.len() - x.len() % LANES);
    for chunk in body.chunks_exact(LANES) {
        for l in 0..LANES {
            acc[l] += chunk[l];
        }
    }
    acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
}

/// Multi-head attention of `q` (`tq × d`) over `k`, `v` (`tk × d`) into `out` (`tq × d`).
/// `kt` (`d × tk`) and `scores` (`QUERY_BLOCK × tk`) are scratch. `q` must already carry the
/// 1/√hd scale.
///
/// With 16-wide heads (HR-S), queries go in blocks of [`QUERY_BLOCK`]: each key row and value
/// row loaded serves the whole block (a quarter of the loads; the same sums in the same order).
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    tq: usize,
    tk: usize,
    d: usize,
    heads: usize,
    kt: &mut [f32],
    scores: &mut [f32],
    out: &mut [f32],
) {
    let hd = d / heads;
    // Keys transposed, so that a query's scores are a sum of contiguous rows (vector loop over keys).
    for j in 0..tk {
        for c in 0..d {
            kt[c * tk + j] = k[j * d + c];
        }
    }
    for h in 0..heads {
        let kt_h = &kt[h * hd * tk..(h + 1) * hd * tk];
        let mut i = 0;
        if hd == 16 {
            while i + QUERY_BLOCK <= tq {
                let qs: [&[f32; 16]; QUERY_BLOCK] = std::array::from_fn(|r| {
                    let at = (i + r) * d + h * hd;
                    q[at..at + 16].try_into().unwrap()
                });
                let mut rows = scores[..QUERY_BLOCK * tk].chunks_exact_mut(tk);
                let mut s: [&mut [f32]; QUERY_BLOCK] = std::array::from_fn(|_| rows.next().unwrap());
                block_scores(qs, kt_h, &mut s);
                for row in s.iter_mut() {
                    softmax(row);
                }
                let mixed = block_mix(&s, v, d, h * hd);
                for (r, m) in mixed.iter().enumerate() {
                    let at = (i + r) * d + h * hd;
                    out[at..at + 16].copy_from_slice(m);
                }
                i += QUERY_BLOCK;
            }
        }
        for i in i..tq {
            let qi = &q[i * d + h * hd..i * d + (h + 1) * hd];
            let s = &mut scores[..tk];
            match hd {
                16 => query_scores::<16>(qi.try_into().unwrap(), kt_h, s),
                _ => query_scores_any(qi, kt_h, s),
            }
            softmax(s);
            let oi = &mut out[i * d + h * hd..i * d + (h + 1) * hd];
            match hd {
                16 => mix_values::<16>(s, v, d, h * hd, oi.try_into().unwrap()),
                _ => {
                    oi.fill(0.0);
                    for (j, &p) in s.iter().enumerate() {
                        axpy(p, &v[j * d + h * hd..j * d + (h + 1) * hd], oi);
                    }
                }
            }
        }
    }
}

/// Queries per block in [`attention`] (and rows of its `scores` scratch).
pub const QUERY_BLOCK: usize = 4;

/// [`query_scores`] for a block of queries sharing each load of `kt`.
#[inline]
fn block_scores(q: [&[f32; 16]; QUERY_BLOCK], kt: &[f32], s: &mut [&mut [f32]; QUERY_BLOCK]) {
    let tk = s[0].len();
    let mut j = 0;
    while j + LANES <= tk {
        let mut acc = [[0f32; LANES]; QUERY_BLOCK];
        for c in 0..16 {
            let row: &[f32; LANES] = kt[c * tk + j..c * tk + j + LANES].try_into().unwrap();
            for r in 0..QUERY_BLOCK {
                let qc = q[r][c];
                for l in 0..LANES {
                    acc[r][l] += qc * row[l];
                }
            }
        }
        for r in 0..QUERY_BLOCK {
            s[r][j..j + LANES].copy_from_slice(&acc[r]);
        }
        j += LANES;
    }
    for j in j..tk {
        for r in 0..QUERY_BLOCK {
            s[r][j] = q[r].iter().enumerate().fold(0.0, |a, (c, &qc)| a + qc * kt[c * tk + j]);
        }
    }
}

/// [`mix_values`] for a block of queries sharing each load of a value row.
#[inline]
fn block_mix(p: &[&mut [f32]; QUERY_BLOCK], v: &[f32], d: usize, offset: usize) -> [[f32; 16]; QUERY_BLOCK] {
    let mut acc = [[0f32; 16]; QUERY_BLOCK];
    for j in 0..p[0].len() {
        let row: &[f32; 16] = v[j * d + offset..j * d + offset + 16].try_into().unwrap();
        for r in 0..QUERY_BLOCK {
            let pj = p[r][j];
            for c in 0..16 {
                acc[r][c] += pj * row[c];
            }
        }
    }
    acc
}

/// `s[j] = Σ_c q[c] · kt[c][j]` for one query of one head: `LANES` keys at a time with the sums
/// in registers (the same summation order as a running sum over `c`).
#[inline]
fn query_scores<const HD: usize>(q: &[f32; HD], kt: &[f32], s: &mut [f32]) {
    let tk = s.len();
    let mut j = 0;
    while j + LANES <= tk {
        let mut acc = [0f32; LANES];
        for (c, &qc) in q.iter().enumerate() {
            let row = &kt[c * tk + j..c * tk + j + LANES];
            for l in 0..LANES {
                acc[l] += qc * row[l];
            }
        }
        s[j..j + LANES].copy_from_slice(&acc);
        j += LANES;
    }
    for j in j..tk {
        s[j] = q.iter().enumerate().fold(0.0, |a, (c, &qc)| a + qc * kt[c * tk + j]);
    }
}

fn query_scores_any(q: &[f32], kt: &[f32], s: &mut [f32]) {
    let tk = s.len();
    s.fill(0.0);
    for (c, &qc) in q.iter().enumerate() {
        axpy(qc, &kt[c * tk..(c + 1) * tk], s);
    }
}

/// `out = Σ_j p[j] · v[j][offset..offset + HD]` with the head's output held in registers.
#[inline]
fn mix_values<const HD: usize>(p: &[f32], v: &[f32], d: usize, offset: usize, out: &mut [f32; HD]) {
    let mut acc = [0f32; HD];
    for (j, &pj) in p.iter().enumerate() {
        let row: &[f32; HD] = v[j * d + offset..j * d + offset + HD].try_into().unwrap();
        for c in 0..HD {
            acc[c] += pj * row[c];
        }
    }
    *out = acc;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_are_accurate() {
        for i in -800..=800 {
            let x = i as f32 * 0.1;
            let (a, b) = (exp(x) as f64, (x as f64).exp());
            assert!(((a - b) / b).abs() < 3e-7 || b < 1e-37, "exp({x}) = {a}, want {b}");
        }
        // erf against its series, to 1e-6.
        for i in -40..=40 {
            let x = i as f64 * 0.1;
            let mut term = x;
            let mut sum = x;
            for n in 1..120 {
                term *= -x * x / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            let want = if x.abs() > 3.9 { x.signum() } else { sum * 2.0 / std::f64::consts::PI.sqrt() };
            assert!((erf(x as f32) as f64 - want).abs() < 1e-6, "erf({x})");
        }
    }

    #[test]
    fn attention_matches_the_naive_computation() {
        for (tq, tk, d, heads) in [(5, 19, 64, 4), (9, 33, 64, 4), (3, 7, 24, 3), (2, 1, 64, 4)] {
            let hd = d / heads;
            let q: Vec<f32> = (0..tq * d).map(|i| (i as f32 * 0.13).sin()).collect();
            let k: Vec<f32> = (0..tk * d).map(|i| (i as f32 * 0.07).cos()).collect();
            let v: Vec<f32> = (0..tk * d).map(|i| (i as f32 * 0.29).sin()).collect();
            let (mut kt, mut scores, mut out) = (vec![0.0; d * tk], vec![0.0; QUERY_BLOCK * tk], vec![0.0; tq * d]);
            attention(&q, &k, &v, tq, tk, d, heads, &mut kt, &mut scores, &mut out);
            for h in 0..heads {
                for i in 0..tq {
                    let logits: Vec<f64> = (0..tk)
                        .map(|j| (0..hd).map(|c| (q[i * d + h * hd + c] * k[j * d + h * hd + c]) as f64).sum())
                        .collect();
                    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let total: f64 = logits.iter().map(|x| (x - max).exp()).sum();
                    for c in 0..hd {
                        let want: f64 =
                            (0..tk).map(|j| (logits[j] - max).exp() / total * v[j * d + h * hd + c] as f64).sum();
                        let got = out[i * d + h * hd + c] as f64;
                        assert!((got - want).abs() < 1e-5, "tq {tq} tk {tk} d {d}: {got} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut row: Vec<f32> = (0..21).map(|i| (i as f32 * 0.7).sin() * 30.0).collect();
        let before = row.clone();
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        for i in 0..row.len() {
            for j in 0..row.len() {
                assert_eq!(before[i] < before[j], row[i] < row[j] || (row[i] == row[j] && before[i] < before[j]));
            }
        }
    }

    #[test]
    fn linear_matches_the_naive_product() {
        // Full tiles, leftover rows, and outputs beyond the last whole vector.
        for (rows, k, n) in [(3, 20, 7), (9, 64, 64), (5, 16, 19)] {
            let x: Vec<f32> = (0..rows * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let wt: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let b: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let mut y = vec![0f32; rows * n];
            linear(&x, rows, &wt, &b, n, &mut y);
            for r in 0..rows {
                for o in 0..n {
                    let want: f32 = (0..k).map(|i| x[r * k + i] * wt[i * n + o]).sum::<f32>() + b[o];
                    assert!((y[r * n + o] - want).abs() < 1e-4, "{rows}x{k}x{n} [{r},{o}]");
                }
            }
        }
    }
}
