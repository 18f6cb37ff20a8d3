//! Multi-head attention for 16-wide heads (HR-S) with the scores `q · k` in int16: each head's
//! slice of a query row and of a key row is quantized with its own scale, and the 16-term dot
//! products run through the int16 primitive (`int16::simd`), eight multiply-adds per
//! instruction. Per block of queries the softmax is fused: one pass for the max, one for
//! `exp(s − max)` and its sum, the values mixed with those unnormalized weights in f32 and
//! divided by the sum once per output, instead of a pass normalizing every weight.
//!
//! The values stay f32: their mix is a sum of up to N products per output, whose int16 form would
//! overflow i32 or need a flush every few keys.

use super::int16::simd::{madd_pair, store, zero, Acc};
use super::int16::{max_abs, ROUND};

/// Head width this kernel handles; other widths use the f32 kernel.
pub(crate) const HEAD: usize = 16;
/// Column pairs per head.
const PAIRS: usize = HEAD / 2;
/// Keys per score tile: two vectors of four.
const KEYS: usize = 8;
/// Queries per block: each key and value row loaded serves the block.
const QUERIES: usize = 4;
/// Largest quantized magnitude of a query or key value: a score sums 16 products of two of
/// them, which must stay below 2³¹ (16 · 11584² = 2,147,024,896), so 13.5 bits, not 15.
const Q_MAX: f32 = 11584.0;

/// Buffers of [`attention`], grown to the largest call and reused.
#[derive(Default)]
pub(crate) struct AttentionScratch {
    /// Quantized queries, `tq × d`, and their scales, `tq × heads`.
    qq: Vec<i16>,
    qs: Vec<f32>,
    /// Quantized keys as `[head][pair][key][2]` (keys padded to a multiple of 8), and their
    /// scales `[head][key]`.
    kq: Vec<i16>,
    ks: Vec<f32>,
    /// Scores of one query block, `QUERIES × padded keys`.
    scores: Vec<f32>,
}

/// `out = softmax(q kᵀ) v` per head, for `q` (`tq × d`, already carrying 1/√16), `k` and `v`
/// (`tk × d`), `d = 16 · heads`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    tq: usize,
    tk: usize,
    d: usize,
    sc: &mut AttentionScratch,
    out: &mut [f32],
) {
    let heads = d / HEAD;
    assert!(d == heads * HEAD && q.len() >= tq * d && k.len() >= tk * d && v.len() >= tk * d && out.len() >= tq * d);
    let tkp = tk.div_ceil(KEYS) * KEYS;
    let AttentionScratch { qq, qs, kq, ks, scores } = sc;
    qq.resize(tq * d, 0);
    qs.resize(tq * heads, 0.0);
    for i in 0..tq {
        for h in 0..heads {
            let at = i * d + h * HEAD;
            // log₂e folded into the query scale: the softmax then runs on 2^x, cheaper than eˣ.
            qs[i * heads + h] = quantize(&q[at..at + HEAD], |c, x| qq[at + c] = x) * std::f32::consts::LOG2_E;
        }
    }
    kq.clear();
    kq.resize(heads * PAIRS * tkp * 2, 0);
    ks.clear();
    ks.resize(heads * tkp, 0.0);
    for j in 0..tk {
        for h in 0..heads {
            let at = j * d + h * HEAD;
            ks[h * tkp + j] = quantize(&k[at..at + HEAD], |c, x| kq[((h * PAIRS + c / 2) * tkp + j) * 2 + c % 2] = x);
        }
    }
    scores.resize(QUERIES * tkp, 0.0);
    let keys = Keys { kq, ks, tkp, tk };
    for h in 0..heads {
        let mut i = 0;
        while i + QUERIES <= tq {
            query_block::<QUERIES>(qq, qs, &keys, v, i, h, d, scores, out);
            i += QUERIES;
        }
        while i < tq {
            query_block::<1>(qq, qs, &keys, v, i, h, d, scores, out);
            i += 1;
        }
    }
}

/// One head's slice quantized to int16 through `put(column, value)`; returns its scale (NaN for
/// a slice with a non-finite value, so the output stays non-finite).
#[inline]
fn quantize(x: &[f32], mut put: impl FnMut(usize, i16)) -> f32 {
    let (amax, finite) = max_abs(x);
    if !finite {
        return f32::NAN;
    }
    if amax == 0.0 {
        (0..x.len()).for_each(|c| put(c, 0));
        return 0.0;
    }
    let inv = Q_MAX / amax;
    for (c, &v) in x.iter().enumerate() {
        put(c, ((v * inv + ROUND) - ROUND) as i32 as i16);
    }
    amax / Q_MAX
}

struct Keys<'a> {
    kq: &'a [i16],
    ks: &'a [f32],
    tkp: usize,
    tk: usize,
}

/// Queries `i..i + R` of head `h`: scores, fused softmax, value mix, into `out`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn query_block<const R: usize>(
    qq: &[i16],
    qs: &[f32],
    keys: &Keys<'_>,
    v: &[f32],
    i: usize,
    h: usize,
    d: usize,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let (tkp, tk, heads) = (keys.tkp, keys.tk, d / HEAD);
    let kq = &keys.kq[h * PAIRS * tkp * 2..(h + 1) * PAIRS * tkp * 2];
    let ks = &keys.ks[h * tkp..(h + 1) * tkp];
    let qrows: [&[i16]; R] = std::array::from_fn(|r| &qq[(i + r) * d + h * HEAD..(i + r) * d + (h + 1) * HEAD]);
    let qscale: [f32; R] = std::array::from_fn(|r| qs[(i + r) * heads + h]);
    let mut rows = scores[..R * tkp].chunks_exact_mut(tkp);
    let s: [&mut [f32]; R] = std::array::from_fn(|_| rows.next().unwrap());
    assert!(kq.len() >= PAIRS * tkp * 2);
    for j0 in (0..tkp).step_by(KEYS) {
        let mut acc: [[Acc; 2]; R] = [[zero(); 2]; R];
        for p in 0..PAIRS {
            // SAFETY: j0 + 8 ≤ tkp, so the 16 values at (p·tkp + j0)·2 are inside `kq` (asserted
            // above); each query row holds 16 values.
            unsafe {
                let kp = kq.as_ptr().add((p * tkp + j0) * 2);
                for r in 0..R {
                    let xp = qrows[r].as_ptr().add(2 * p);
                    acc[r][0] = madd_pair(acc[r][0], xp, kp);
                    acc[r][1] = madd_pair(acc[r][1], xp, kp.add(8));
                }
            }
        }
        let kscale: &[f32; KEYS] = ks[j0..j0 + KEYS].try_into().unwrap();
        for r in 0..R {
            let (a, b) = (store(acc[r][0]), store(acc[r][1]));
            let lanes = [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]];
            let row: &mut [f32; KEYS] = (&mut s[r][j0..j0 + KEYS]).try_into().unwrap();
            for l in 0..KEYS {
                row[l] = lanes[l] as f32 * (qscale[r] * kscale[l]);
            }
        }
    }
    let sums: [f32; R] = std::array::from_fn(|r| exp_in_place(&mut s[r][..tk]));
    let mut mixed = [[0f32; HEAD]; R];
    for j in 0..tk {
        let vrow: &[f32; HEAD] = v[j * d + h * HEAD..j * d + (h + 1) * HEAD].try_into().unwrap();
        for r in 0..R {
            let pj = s[r][j];
            for c in 0..HEAD {
                mixed[r][c] += pj * vrow[c];
            }
        }
    }
    for r in 0..R {
        let o = &mut out[(i + r) * d + h * HEAD..(i + r) * d + (h + 1) * HEAD];
        for c in 0..HEAD {
            o[c] = mixed[r][c] / sums[r];
        }
    }
}

/// `row[j] = 2^(row[j] − max row)` in place; returns the sum (in 8 lanes, one order on every
/// target).
#[inline]
fn exp_in_place(row: &mut [f32]) -> f32 {
    const LANES: usize = 8;
    let mut m = [f32::NEG_INFINITY; LANES];
    let (body, tail) = row.split_at(row.len() - row.len() % LANES);
    for chunk in body.chunks_exact(LANES) {
        for l in 0..LANES {
            m[l] = if chunk[l] > m[l] { chunk[l] } else { m[l] };
        }
    }
    let max = m.iter().chain(tail).copied().fold(f32::NEG_INFINITY, f32::max);
    let mut acc = [0f32; LANES];
    let (body, tail) = row.split_at_mut(row.len() - row.len() % LANES);
    for chunk in body.chunks_exact_mut(LANES) {
        for l in 0..LANES {
            chunk[l] = exp2_nonpositive(chunk[l] - max);
            acc[l] += chunk[l];
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for v in tail {
        *v = exp2_nonpositive(*v - max);
        sum += *v;
    }
    sum
}

/// 2^y for y ≤ 0 (relative error < 2e-7; 2⁻¹²⁶ below −126): y = n + f with n the nearest
/// integer (from adding 1.5 · 2²³, which leaves n in the low mantissa bits) and |f| ≤ ½, 2^f
/// by a degree-5 polynomial fitted for relative error on [−½, ½] (max 1.9e-7 evaluated in f32).
/// No range reduction by ln 2 and two degrees fewer than `kernels::exp`.
#[inline]
// The coefficients are the fit's, not ln 2 and its powers.
#[allow(clippy::approx_constant, clippy::excessive_precision)]
fn exp2_nonpositive(y: f32) -> f32 {
    let y = if y < -126.0 { -126.0 } else { y };
    let t = y + ROUND;
    let f = y - (t - ROUND);
    let p =
        1.0 + f * (0.693_147_0 + f * (0.240_222_42 + f * (0.055_507_336 + f * (0.009_671_513 + f * 0.001_326_472_7))));
    p * f32::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23)
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp2_is_accurate() {
        for i in 0..=125_900 {
            let y = -(i as f32) * 0.001;
            let (got, want) = (super::exp2_nonpositive(y) as f64, (y as f64).exp2());
            assert!((got / want - 1.0).abs() < 2.5e-7, "2^{y}: {got} vs {want}");
        }
        assert_eq!(super::exp2_nonpositive(0.0), 1.0);
        assert!(super::exp2_nonpositive(-1e30) > 0.0);
        assert!(super::exp2_nonpositive(f32::NAN).is_nan());
    }

    use super::*;

    #[test]
    fn matches_the_float64_attention_and_cannot_overflow() {
        // The largest score the integers can hold: every product at the quantized maximum.
        assert!(16.0 * (Q_MAX as f64).powi(2) < i32::MAX as f64);
        for (tq, tk) in [(5, 19), (9, 33), (2, 1), (4, 8), (13, 200)] {
            let (d, heads) = (64, 4);
            let q: Vec<f32> = (0..tq * d).map(|i| (i as f32 * 0.13).sin() * 0.8).collect();
            let k: Vec<f32> = (0..tk * d).map(|i| (i as f32 * 0.07).cos() * 1.5).collect();
            let v: Vec<f32> = (0..tk * d).map(|i| (i as f32 * 0.29).sin()).collect();
            let mut out = vec![0.0; tq * d];
            attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
            let mut worst = 0f64;
            for h in 0..heads {
                for i in 0..tq {
                    let logits: Vec<f64> = (0..tk)
                        .map(|j| {
                            (0..HEAD).map(|c| q[i * d + h * HEAD + c] as f64 * k[j * d + h * HEAD + c] as f64).sum()
                        })
                        .collect();
                    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let total: f64 = logits.iter().map(|x| (x - max).exp()).sum();
                    for c in 0..HEAD {
                        let want: f64 =
                            (0..tk).map(|j| (logits[j] - max).exp() / total * v[j * d + h * HEAD + c] as f64).sum();
                        worst = worst.max((out[i * d + h * HEAD + c] as f64 - want).abs());
                    }
                }
            }
            println!("tq {tq} tk {tk}: max abs error {worst:.2e}");
            assert!(worst < 1e-4, "tq {tq} tk {tk}: {worst}");
        }
    }

    #[test]
    fn a_non_finite_query_stays_non_finite() {
        let (tq, tk, d) = (2, 3, 16);
        let mut q = vec![0.5f32; tq * d];
        q[d + 3] = f32::NAN;
        let k = vec![0.25f32; tk * d];
        let v = vec![1.0f32; tk * d];
        let mut out = vec![0.0; tq * d];
        attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
        assert!(out[..d].iter().all(|x| (x - 1.0).abs() < 1e-6));
        assert!(out[d..].iter().all(|x| !x.is_finite()));
    }
}
