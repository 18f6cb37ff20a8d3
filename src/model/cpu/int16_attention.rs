//! Multi-head attention for 16-wide heads (HR-S) in integers: `out = softmax(q kᵀ) v` per head,
//! with both products on the int16 dot (`i32x4.dot_i16x8_s` / `pmaddwd`, eight multiply-adds
//! per instruction) and the softmax between them on 2^x, fused in one pass over the keys.
//!
//! Queries, keys and values are quantized first: each head's slice of a query or key row with
//! its own scale to [`QK_MAX`] (13.5 bits, so that 16 products fit i32); values per head channel
//! over all keys (a column scale) to [`V_MAX`], packed by key pairs so that one dot multiplies
//! two keys' weights with two keys' values for four channels. Then, per head and block of
//! [`QUERIES`] queries, the keys go by in blocks of [`BLOCK_KEYS`] (the last up to
//! [`MAX_BLOCK_KEYS`]; flash attention's blocking, with the block in registers and L1):
//! 1. **Scores** `u = (q · k) · scale_k` of the block (register tiles of `QUERIES × 8` keys over
//!    8 column pairs) and each row's block maximum. The query's scale (with log₂e folded in)
//!    is applied at the exponent: a maximum commutes with a positive factor.
//! 2. **Weights** relative to the block's maximum, `round(2^((u − max_b) · scale_q) · P_MAX)`:
//!    block floating point, so a block of small weights keeps its relative precision instead of
//!    rounding all alike. The block's own scale against the row's running maximum, `2^((max_b −
//!    max) · scale_q)`; when a block raises the maximum, what was summed so far is rescaled
//!    (online softmax).
//! 3. **Value mix** of the block in i32 per [`MIX_KEYS`] keys (`32 · P_MAX · V_MAX < 2³¹`, so a
//!    sum cannot overflow), each converted exactly, added in f32, and added to the row's sum
//!    times the block's scale, as is the block's integer weight sum. The output is that sum times
//!    the channel's scale over the weights' sum: normalized by exactly what was summed.
//!
//! Why 64 keys per block: the bookkeeping of step 2 (two 2^x per query, the rescaling) runs once
//! per block, a tenth of a rerank at N = 1000 with 32 keys (profiled); at 128 keys a peak shares its block
//! with too many small weights (the test with 4,999 of them fails), at 64 it passes.
//!
//! Error (tested below against float64): the weights are off by at most half a step of 1/8191
//! of their block's largest weight, the values by half a step of 1/8191 of their column's largest
//! magnitude; the outputs stay within ~2e-4 of the float64 attention on the test shapes.
//!
//! A non-finite query slice, key or value gives non-finite outputs (for the ranker's finite
//! check), never a silently finite one.

use super::int16::{ROUND, ROUND_BITS};
use crate::simd::{
    f32_add, f32_div, f32_hmax, f32_madd, f32_max, f32_mul, f32_splat, f32_sub, i16_dot, i16_interleave_halves,
    i16_narrow, i32_add, i32_shl23, i32_splat, i32_sub, i32_to_f32, lanes_f32, lanes_i32, load, load32_splat, load_f32,
    store, store_f32, V,
};

/// Head width this kernel handles; other widths use the f32 kernel.
pub(crate) const HEAD: usize = 16;
/// Column pairs per head.
const PAIRS: usize = HEAD / 2;
/// Keys per score tile: two vectors of four.
const KEYS: usize = 8;
/// Queries per block: each key block loaded serves them all.
const QUERIES: usize = 4;
/// Largest quantized magnitude of a query or key value: a score sums 16 products of two of
/// them, which must stay below 2³¹ (16 · 11584² = 2,147,024,896), so 13.5 bits, not 15.
const QK_MAX: f32 = 11584.0;
/// Largest softmax weight (a block's maximum) and largest quantized value magnitude.
const P_MAX: f32 = 8191.0;
const V_MAX: f32 = 8191.0;
/// Keys per block: the softmax's bookkeeping (block maximum, rescaling) runs once per block.
const BLOCK_KEYS: usize = 64;
/// The last block takes up to one tile more rather than leave a block of 8 keys, which would pay
/// the whole bookkeeping for them (the cross-attention over 64 events + the start token has 72
/// keys: one block, not two).
const MAX_BLOCK_KEYS: usize = BLOCK_KEYS + KEYS;
/// Keys per integer sum of the value mix: 32 · 8191 · 8191 = 2,146,959,392 < 2³¹, so a block's
/// mix is summed in i32 per 32 keys, and those sums are added in f32.
const MIX_KEYS: usize = 32;

/// Buffers of [`attention`], grown to the largest call and reused.
#[derive(Default)]
pub(crate) struct AttentionScratch {
    /// Quantized queries, `tq × d`, and their scales (log₂e folded in), `tq × heads`.
    qq: Vec<i16>,
    qs: Vec<f32>,
    /// Quantized keys as `[head][tile of 8 keys][pair][key][2]` (keys padded to a multiple of
    /// 8; a tile's 8 pairs are 256 contiguous bytes), their scales `[head][key]` (0 for padding
    /// keys), and what each key's score gets added, `[key]`: 0, or −∞ for padding, so that no
    /// maximum and no weight counts them. (Not a NaN scale for maxima to skip: LLVM turns
    /// `f32x4.pmax` into `f32x4.relaxed_max` in the relaxed-SIMD build, which need not skip NaN.)
    kq: Vec<i16>,
    ks: Vec<f32>,
    kbias: Vec<f32>,
    /// Quantized values as `[head][key pair][channel][2]`, and the channel scales, `d`.
    vq: Vec<i16>,
    vs: Vec<f32>,
    /// Per channel: the largest |value|, the finiteness check, the quantization factor.
    vmax: Vec<f32>,
    vbad: Vec<f32>,
    vinv: Vec<f32>,
    rows: BlockRows,
}

/// One query block's scores `u` and integer weights `p` for a key block, a row per query.
#[derive(Default)]
struct BlockRows {
    u: Vec<[f32; MAX_BLOCK_KEYS]>,
    p: Vec<[i16; MAX_BLOCK_KEYS]>,
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
    if tq == 0 {
        return;
    }
    if tk == 0 {
        out[..tq * d].fill(0.0);
        return;
    }
    let tkp = tk.div_ceil(KEYS) * KEYS;
    quantize_queries(q, tq, d, sc);
    quantize_keys(k, tk, tkp, d, sc);
    quantize_values(v, tk, tkp, d, sc);
    let AttentionScratch { qq, qs, kq, ks, kbias, vq, vs, rows, .. } = sc;
    rows.u.resize(QUERIES, [0.0; MAX_BLOCK_KEYS]);
    rows.p.resize(QUERIES, [0; MAX_BLOCK_KEYS]);
    let exp2 = Exp2::new(1.0);
    let weights = Exp2::new(P_MAX);
    for h in 0..heads {
        let keys = Keys {
            kq: &kq[h * PAIRS * tkp * 2..(h + 1) * PAIRS * tkp * 2],
            ks: &ks[h * tkp..(h + 1) * tkp],
            kbias,
            vq: &vq[h * tkp * HEAD..(h + 1) * tkp * HEAD],
            vs: vs[h * HEAD..(h + 1) * HEAD].try_into().unwrap(),
            tkp,
        };
        let keys_finite = keys.ks.iter().all(|s| s.is_finite());
        let mut i = 0;
        while i < tq {
            let r = QUERIES.min(tq - i);
            let block = Block { qq, qs, i, h, d, exp2: &exp2, weights: &weights };
            match r {
                QUERIES => query_block::<QUERIES>(&block, &keys, rows, out),
                3 => query_block::<3>(&block, &keys, rows, out),
                2 => query_block::<2>(&block, &keys, rows, out),
                _ => query_block::<1>(&block, &keys, rows, out),
            }
            if !keys_finite {
                for row in i..i + r {
                    out[row * d + h * HEAD..row * d + (h + 1) * HEAD].fill(f32::NAN);
                }
            }
            i += r;
        }
    }
}

/// Each query row's head slices to int16 (`qq`, `tq × d`) with their scales times log₂e (`qs`).
fn quantize_queries(q: &[f32], tq: usize, d: usize, sc: &mut AttentionScratch) {
    let heads = d / HEAD;
    sc.qq.resize(tq * d, 0);
    sc.qs.resize(tq * heads, 0.0);
    for (slice, (qq, qs)) in q[..tq * d].chunks_exact(HEAD).zip(sc.qq.chunks_exact_mut(HEAD).zip(sc.qs.iter_mut())) {
        let (scale, [a, b]) = quantize_slice(slice.try_into().unwrap());
        // SAFETY: `qq` holds 16 i16, two vectors.
        unsafe {
            store(qq.as_mut_ptr() as *mut u8, a);
            store(qq.as_mut_ptr().add(8) as *mut u8, b);
        }
        // log₂e folded into the query scale: the softmax then runs on 2^x, cheaper than eˣ.
        *qs = scale * std::f32::consts::LOG2_E;
    }
}

/// Keys to `[head][tile][pair][key][2]` int16 with a scale per key and head; padding keys are
/// zero, with a zero scale and a −∞ bias.
fn quantize_keys(k: &[f32], tk: usize, tkp: usize, d: usize, sc: &mut AttentionScratch) {
    let heads = d / HEAD;
    sc.kq.clear();
    sc.kq.resize(heads * PAIRS * tkp * 2, 0);
    sc.ks.clear();
    sc.ks.resize(heads * tkp, 0.0);
    sc.kbias.clear();
    sc.kbias.resize(tkp, f32::NEG_INFINITY);
    sc.kbias[..tk].fill(0.0);
    for j in 0..tk {
        let (tile, lane) = (j / KEYS, j % KEYS);
        for h in 0..heads {
            let (scale, halves) = quantize_slice(k[j * d + h * HEAD..j * d + (h + 1) * HEAD].try_into().unwrap());
            sc.ks[h * tkp + j] = scale;
            // Lane p of the narrowed vectors is column pair p of the slice.
            let pairs = [lanes_i32(halves[0]), lanes_i32(halves[1])];
            let base = (h * (tkp / KEYS) + tile) * PAIRS * KEYS * 2 + lane * 2;
            for p in 0..PAIRS {
                let pair = pairs[p / 4][p % 4];
                let at = base + p * KEYS * 2;
                sc.kq[at] = pair as i16;
                sc.kq[at + 1] = (pair >> 16) as i16;
            }
        }
    }
}

/// Values to `[head][key pair][channel][2]` int16 with one scale per channel (its largest
/// magnitude over the keys / [`V_MAX`]; NaN when a value is not finite).
fn quantize_values(v: &[f32], tk: usize, tkp: usize, d: usize, sc: &mut AttentionScratch) {
    assert!(d % 4 == 0);
    let AttentionScratch { vq, vs, vmax, vbad, vinv, .. } = sc;
    vmax.clear();
    vmax.resize(d, 0.0);
    vbad.clear();
    vbad.resize(d, 0.0);
    let abs_mask = i32_splat(i32::MAX);
    for row in v[..tk * d].chunks_exact(d) {
        for c in (0..d).step_by(4) {
            // SAFETY: c + 4 ≤ d = row.len() = vmax.len() = vbad.len().
            unsafe {
                let x = load_f32(row.as_ptr().add(c));
                let m = f32_max(load_f32(vmax.as_ptr().add(c)), crate::simd::and(x, abs_mask));
                store_f32(vmax.as_mut_ptr().add(c), m);
                store_f32(vbad.as_mut_ptr().add(c), f32_add(load_f32(vbad.as_ptr().add(c)), f32_sub(x, x)));
            }
        }
    }
    vs.resize(d, 0.0);
    vinv.resize(d, 0.0);
    for c in 0..d {
        // x − x summed: 0 when every value is finite, NaN otherwise (which also fails `== 0`).
        let finite = vbad[c] == 0.0;
        vs[c] = if finite { vmax[c] / V_MAX } else { f32::NAN };
        vinv[c] = if finite && vmax[c] > 0.0 { V_MAX / vmax[c] } else { 0.0 };
    }
    vq.clear();
    vq.resize(tkp * d, 0);
    let (round, bits) = (f32_splat(ROUND), i32_splat(ROUND_BITS as i32));
    let rounded = |x: V, inv: V| i32_sub(f32_add(f32_mul(x, inv), round), bits);
    let zeros = vec![0f32; d];
    for pair in 0..tk.div_ceil(2) {
        let a = &v[2 * pair * d..(2 * pair + 1) * d];
        let b = if 2 * pair + 1 < tk { &v[(2 * pair + 1) * d..(2 * pair + 2) * d] } else { &zeros[..] };
        for c in (0..d).step_by(4) {
            let (h, cc) = (c / HEAD, c % HEAD);
            let at = ((h * (tkp / 2) + pair) * HEAD + cc) * 2;
            // SAFETY: c + 4 ≤ d for a, b and vinv; `at + 8 ≤ vq.len()` as pair < tkp / 2.
            unsafe {
                let inv = load_f32(vinv.as_ptr().add(c));
                let (x, y) = (rounded(load_f32(a.as_ptr().add(c)), inv), rounded(load_f32(b.as_ptr().add(c)), inv));
                // |x·inv| ≤ 8191 (NaN columns have inv 0), so narrowing keeps every value.
                store(vq.as_mut_ptr().add(at) as *mut u8, i16_interleave_halves(i16_narrow(x, y)));
            }
        }
    }
}

/// A slice of 16 quantized to `±QK_MAX` (two vectors of eight i16) with its scale:
/// `x ≈ scale · ints`. The scale is NaN for a slice with a non-finite value and 0 for an
/// all-zero slice.
#[inline]
fn quantize_slice(x: &[f32; HEAD]) -> (f32, [V; 2]) {
    let (amax, finite) = super::int16::max_abs(x);
    let zero = i32_splat(0);
    if !finite {
        return (f32::NAN, [zero; 2]);
    }
    if amax == 0.0 {
        return (0.0, [zero; 2]);
    }
    let (inv, round, bits) = (f32_splat(QK_MAX / amax), f32_splat(ROUND), i32_splat(ROUND_BITS as i32));
    // SAFETY: x holds 16 f32: four vectors.
    let q = |c: usize| unsafe { i32_sub(f32_add(f32_mul(load_f32(x.as_ptr().add(4 * c)), inv), round), bits) };
    (amax / QK_MAX, [i16_narrow(q(0), q(1)), i16_narrow(q(2), q(3))])
}

/// One head's quantized keys and values.
struct Keys<'a> {
    kq: &'a [i16],
    ks: &'a [f32],
    kbias: &'a [f32],
    vq: &'a [i16],
    vs: &'a [f32; HEAD],
    tkp: usize,
}

/// Queries `i..i + R` of head `h`, and the exponentials the softmax uses.
struct Block<'a> {
    qq: &'a [i16],
    qs: &'a [f32],
    i: usize,
    h: usize,
    d: usize,
    /// 2^x, for the blocks' scales.
    exp2: &'a Exp2,
    /// 2^x · P_MAX, for the weights.
    weights: &'a Exp2,
}

/// Queries `i..i + R` of head `h`: one pass over the key blocks (scores, weights, mix) into
/// `out`.
#[inline]
fn query_block<const R: usize>(b: &Block<'_>, keys: &Keys<'_>, rows: &mut BlockRows, out: &mut [f32]) {
    let (tkp, heads, d) = (keys.tkp, b.d / HEAD, b.d);
    let qrows: [&[i16]; R] =
        std::array::from_fn(|r| &b.qq[(b.i + r) * d + b.h * HEAD..(b.i + r) * d + (b.h + 1) * HEAD]);
    let qscale: [f32; R] = std::array::from_fn(|r| b.qs[(b.i + r) * heads + b.h]);
    // An all-zero query slice has scale 0: every real key then weighs the same, and the padding
    // keys' −∞ must still give 0 (−∞ · 0 would be NaN).
    let qexp: [f32; R] = qscale.map(|s| if s == 0.0 { f32::MIN_POSITIVE } else { s });
    let lanes = |x: [f32; R]| -> V {
        let mut v = [0f32; 4];
        v[..R].copy_from_slice(&x);
        // SAFETY: four f32.
        unsafe { load_f32(v.as_ptr()) }
    };
    // Per row (lanes), the running maximum of u and the query's exponent scale.
    let mut max = f32_splat(f32::NEG_INFINITY);
    let qexp_v = lanes(qexp);
    let mut total = [[f32_splat(0.0); 4]; R];
    let mut sum = [0f32; R];
    // Only the first n of a row are read, each after it is written: no zeroing per call.
    let u: &mut [[f32; MAX_BLOCK_KEYS]; R] = (&mut rows.u[..R]).try_into().unwrap();
    let p: &mut [[i16; MAX_BLOCK_KEYS]; R] = (&mut rows.p[..R]).try_into().unwrap();
    let mut j0 = 0;
    while j0 < tkp {
        let n = if tkp - j0 <= MAX_BLOCK_KEYS { tkp - j0 } else { BLOCK_KEYS };
        let bmax = scores_block::<R>(&qrows, keys, j0, n, u);
        // Online softmax, every row at once: what was summed so far shrinks by 2^(old − new
        // maximum) (exactly 1 when the maximum stays; ~0 for the first block, whose old maximum
        // is −∞ and whose sums are 0), and this block weighs 2^(its maximum − new maximum).
        let bmax_v = lanes(bmax);
        let new_max = f32_max(max, bmax_v);
        let shrink = lanes_f32(b.exp2.eval(f32_mul(f32_sub(max, new_max), qexp_v)));
        let scale = lanes_f32(b.exp2.eval(f32_mul(f32_sub(bmax_v, new_max), qexp_v)));
        max = new_max;
        let mut ints = [0f32; R];
        for r in 0..R {
            ints[r] = block_weights(&u[r][..n], bmax[r], qexp[r], b.weights, &mut p[r][..n]) as f32;
        }
        let mut r = 0;
        while r < R {
            let rows = if r + 2 <= R { 2 } else { 1 };
            let mixed = if rows == 2 {
                mix_block::<2>(&[&p[r][..n], &p[r + 1][..n]], keys, j0 / 2)
            } else {
                let [one] = mix_block::<1>(&[&p[r][..n]], keys, j0 / 2);
                [one, [f32_splat(0.0); 4]]
            };
            for m in 0..rows {
                let (k, s) = (f32_splat(shrink[r + m]), f32_splat(scale[r + m]));
                for c in 0..4 {
                    total[r + m][c] = f32_madd(mixed[m][c], s, f32_mul(total[r + m][c], k));
                }
                sum[r + m] = sum[r + m] * shrink[r + m] + ints[r + m] * scale[r + m];
            }
            r += rows;
        }
        j0 += n;
    }
    for r in 0..R {
        finish(&total[r], keys.vs, sum[r], qscale[r], &mut out[(b.i + r) * d + b.h * HEAD..][..HEAD]);
    }
}

/// `u = (q · k) · scale_k + bias_k` for `R` queries and the `n` keys from `j0` (a multiple of 8)
/// into `u` (padding keys score −∞); returns each row's maximum over them.
#[inline]
fn scores_block<const R: usize>(
    qrows: &[&[i16]; R],
    keys: &Keys<'_>,
    j0: usize,
    n: usize,
    u: &mut [[f32; MAX_BLOCK_KEYS]; R],
) -> [f32; R] {
    let (kq, ks, kbias) = (keys.kq, keys.ks, keys.kbias);
    assert!(j0 % KEYS == 0 && n % KEYS == 0 && n <= MAX_BLOCK_KEYS && j0 + n <= keys.tkp);
    assert!(kq.len() >= (j0 + n) * HEAD && ks.len() >= j0 + n && kbias.len() >= j0 + n);
    for row in qrows {
        assert!(row.len() >= HEAD);
    }
    let mut mx = [f32_splat(f32::NEG_INFINITY); R];
    for t in 0..n / KEYS {
        let j = j0 + t * KEYS;
        let tile = kq[j * HEAD..].as_ptr();
        let mut acc: [[V; 2]; R] = [[i32_splat(0); 2]; R];
        for pair in 0..PAIRS {
            // SAFETY: the tile of keys j..j + 8 is 8 pairs × 16 i16 from j · 16 (asserted above);
            // each query row holds 16 values.
            unsafe {
                let kp = tile.add(pair * KEYS * 2) as *const u8;
                let (k0, k1) = (load(kp), load(kp.add(16)));
                for r in 0..R {
                    let x = load32_splat(qrows[r].as_ptr().add(2 * pair) as *const u8);
                    acc[r][0] = i32_add(acc[r][0], i16_dot(x, k0));
                    acc[r][1] = i32_add(acc[r][1], i16_dot(x, k1));
                }
            }
        }
        // SAFETY: j + 8 ≤ j0 + n ≤ ks.len(), kbias.len() (asserted above); each u row holds
        // MAX_BLOCK_KEYS ≥ t·8 + 8 values.
        unsafe {
            let (s0, s1) = (load_f32(ks.as_ptr().add(j)), load_f32(ks.as_ptr().add(j + 4)));
            let (b0, b1) = (load_f32(kbias.as_ptr().add(j)), load_f32(kbias.as_ptr().add(j + 4)));
            for r in 0..R {
                let u0 = f32_madd(i32_to_f32(acc[r][0]), s0, b0);
                let u1 = f32_madd(i32_to_f32(acc[r][1]), s1, b1);
                let row = u[r].as_mut_ptr().add(t * KEYS);
                store_f32(row, u0);
                store_f32(row.add(4), u1);
                mx[r] = f32_max(f32_max(mx[r], u0), u1);
            }
        }
    }
    mx.map(f32_hmax)
}

/// One row's weights for a block, relative to the block's maximum: `round(2^((u − bmax) · qs)
/// · P_MAX)` into `p` (0 for −∞, the padding); returns their sum.
#[inline]
fn block_weights(u: &[f32], bmax: f32, qs: f32, weights: &Exp2, p: &mut [i16]) -> i32 {
    let n = u.len();
    assert!(n % KEYS == 0 && p.len() >= n);
    let (m, s) = (f32_splat(bmax), f32_splat(qs));
    let (round, bits) = (weights.round, weights.round_bits);
    let mut sum = i32_splat(0);
    for j in (0..n).step_by(KEYS) {
        // SAFETY: j + 8 ≤ n ≤ u.len(), p.len() (asserted above).
        unsafe {
            let y0 = f32_mul(f32_sub(load_f32(u.as_ptr().add(j)), m), s);
            let y1 = f32_mul(f32_sub(load_f32(u.as_ptr().add(j + 4)), m), s);
            let w0 = i32_sub(f32_add(weights.eval(y0), round), bits);
            let w1 = i32_sub(f32_add(weights.eval(y1), round), bits);
            sum = i32_add(sum, i32_add(w0, w1));
            store(p.as_mut_ptr().add(j) as *mut u8, i16_narrow(w0, w1));
        }
    }
    let l = lanes_i32(sum);
    // Wrapping: a NaN row (caught by `finish`) gives garbage integers, never a panic.
    l[0].wrapping_add(l[1]).wrapping_add(l[2].wrapping_add(l[3]))
}

/// `Σ_j p[r][j] · v[j][c]` over one block's key pairs (from `pair0`), for `R` weight rows and
/// the head's 16 channels: in i32 per [`MIX_KEYS`] keys, each sum converted exactly and added in
/// f32.
#[inline]
fn mix_block<const R: usize>(p: &[&[i16]; R], keys: &Keys<'_>, pair0: usize) -> [[V; 4]; R] {
    let pairs = p[0].len() / 2;
    let vq = keys.vq;
    assert!(pairs <= MAX_BLOCK_KEYS / 2 && vq.len() >= (pair0 + pairs) * HEAD * 2);
    for row in p {
        assert!(row.len() >= pairs * 2);
    }
    let mut mixed = [[f32_splat(0.0); 4]; R];
    for first in (0..pairs).step_by(MIX_KEYS / 2) {
        let mut acc = [[i32_splat(0); 4]; R];
        for pair in first..pairs.min(first + MIX_KEYS / 2) {
            // SAFETY: pair0 + pair < pair0 + pairs: 32 values at (pair0 + pair)·32 are inside
            // `vq`, and the weights at 2·pair, 2·pair + 1 inside each row (asserted above).
            unsafe {
                let vp = vq.as_ptr().add((pair0 + pair) * HEAD * 2) as *const u8;
                let vv = [load(vp), load(vp.add(16)), load(vp.add(32)), load(vp.add(48))];
                for r in 0..R {
                    let w = load32_splat(p[r].as_ptr().add(2 * pair) as *const u8);
                    for m in 0..4 {
                        acc[r][m] = i32_add(acc[r][m], i16_dot(w, vv[m]));
                    }
                }
            }
        }
        for r in 0..R {
            for m in 0..4 {
                mixed[r][m] = f32_add(mixed[r][m], i32_to_f32(acc[r][m]));
            }
        }
    }
    mixed
}

/// One query's head output: the mix times the channel scales, over the weights' sum.
#[inline]
fn finish(mixed: &[V; 4], vs: &[f32; HEAD], sum: f32, qscale: f32, out: &mut [f32]) {
    assert!(out.len() >= HEAD);
    if !qscale.is_finite() {
        out[..HEAD].fill(f32::NAN);
        return;
    }
    let total = f32_splat(sum);
    for (m, &acc) in mixed.iter().enumerate() {
        // SAFETY: 4·m + 4 ≤ 16 ≤ vs.len(), out.len().
        unsafe {
            let o = f32_div(f32_mul(acc, load_f32(vs.as_ptr().add(4 * m))), total);
            store_f32(out.as_mut_ptr().add(4 * m), o);
        }
    }
}

/// `scale · 2^y` for y ≤ 0 on four lanes, its constants as vectors made once per call.
///
/// Why not literals: V8 builds a non-trivial `v128.const` with several instructions at every
/// use and does not hoist it out of a loop. Values read through `black_box` are opaque to LLVM
/// and binaryen, so they stay locals that V8 keeps in registers (or reads as memory operands).
pub(crate) struct Exp2 {
    floor: V,
    round: V,
    round_bits: V,
    c: [V; 5],
}

impl Exp2 {
    /// `scale` multiplies the polynomial's coefficients (P_MAX for the weights: one multiply
    /// fewer per weight).
    // The coefficients are the fit's, not ln 2 and its powers.
    #[allow(clippy::approx_constant, clippy::excessive_precision)]
    #[inline(always)]
    pub(crate) fn new(scale: f32) -> Self {
        let k: [f32; 7] =
            std::hint::black_box([-126.0, ROUND, 1.0, 0.693_124_2, 0.240_240_99, 0.055_906_426, 0.009_582_853]);
        let round_bits = std::hint::black_box(ROUND_BITS as i32);
        let c = |i: usize| f32_splat(k[2 + i] * scale);
        Exp2 {
            floor: f32_splat(k[0]),
            round: f32_splat(k[1]),
            round_bits: i32_splat(round_bits),
            c: [c(0), c(1), c(2), c(3), c(4)],
        }
    }

    /// `scale · 2^y` for y ≤ 0, four lanes (relative error < 3e-6; 2⁻¹²⁶ below −126): y = n + f
    /// with n the nearest integer (from adding 1.5 · 2²³, which leaves n in the low mantissa
    /// bits) and |f| ≤ ½, 2^f by a degree-4 polynomial fitted for relative error on [−½, ½]
    /// (max 2.9e-6 evaluated in f32: a twentieth of the weights' rounding step), and n added
    /// to that value's exponent bits.
    ///
    /// The addition: `t`'s bits are `ROUND_BITS + n`, and shifted left by 23 they are `n << 23`
    /// (ROUND_BITS's low 9 bits are zero), so one shift and one integer add scale by 2ⁿ, a
    /// multiply by 2ⁿ's bits made from n took three. The product is the same float: with
    /// y ≥ −126, n = −126 comes only with f ≥ 0, so the exponent never leaves the normal range,
    /// where a power-of-two scaling is exact.
    #[inline(always)]
    pub(crate) fn eval(&self, y: V) -> V {
        let y = f32_max(y, self.floor);
        let t = f32_add(y, self.round);
        let f = f32_sub(y, f32_sub(t, self.round));
        let c = &self.c;
        let mut p = f32_madd(f, c[4], c[3]);
        p = f32_madd(f, p, c[2]);
        p = f32_madd(f, p, c[1]);
        p = f32_madd(f, p, c[0]);
        i32_add(p, i32_shl23(t))
    }

    /// [`Exp2::eval`] of one value.
    #[cfg(test)]
    fn scalar(&self, y: f32) -> f32 {
        lanes_f32(self.eval(f32_splat(y)))[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp2_is_accurate() {
        let exp2 = Exp2::new(1.0);
        for i in 0..=125_900 {
            let y = -(i as f32) * 0.001;
            let (got, want) = (exp2.scalar(y) as f64, (y as f64).exp2());
            assert!((got / want - 1.0).abs() < 3.5e-6, "2^{y}: {got} vs {want}");
        }
        assert_eq!(exp2.scalar(0.0), 1.0);
        assert!(exp2.scalar(-1e30) > 0.0);
        assert!(exp2.scalar(f32::NAN).is_nan());
        assert!((Exp2::new(P_MAX).scalar(0.0) - P_MAX).abs() < 1e-3);
    }

    fn reference(q: &[f32], k: &[f32], v: &[f32], tq: usize, tk: usize, d: usize) -> Vec<f64> {
        let heads = d / HEAD;
        let mut out = vec![0f64; tq * d];
        for h in 0..heads {
            for i in 0..tq {
                let logits: Vec<f64> = (0..tk)
                    .map(|j| (0..HEAD).map(|c| q[i * d + h * HEAD + c] as f64 * k[j * d + h * HEAD + c] as f64).sum())
                    .collect();
                let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = logits.iter().map(|x| (x - max).exp()).sum();
                for c in 0..HEAD {
                    out[i * d + h * HEAD + c] =
                        (0..tk).map(|j| (logits[j] - max).exp() / total * v[j * d + h * HEAD + c] as f64).sum();
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_float64_attention_and_cannot_overflow() {
        // The largest score and the largest block mix the integers can hold.
        assert!(16.0 * (QK_MAX as f64).powi(2) < i32::MAX as f64);
        assert!(MIX_KEYS as f64 * P_MAX as f64 * V_MAX as f64 <= i32::MAX as f64);
        for (tq, tk) in [(5, 19), (9, 33), (2, 1), (4, 8), (13, 200), (7, 1000), (3, 65), (6, 64)] {
            let d = 64;
            let q: Vec<f32> = (0..tq * d).map(|i| (i as f32 * 0.13).sin() * 0.8).collect();
            let k: Vec<f32> = (0..tk * d).map(|i| (i as f32 * 0.07).cos() * 1.5).collect();
            let v: Vec<f32> = (0..tk * d).map(|i| (i as f32 * 0.29).sin()).collect();
            let mut out = vec![0.0; tq * d];
            attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
            let want = reference(&q, &k, &v, tq, tk, d);
            let worst = out.iter().zip(&want).map(|(&a, &b)| (a as f64 - b).abs()).fold(0.0, f64::max);
            println!("tq {tq} tk {tk}: max abs error {worst:.2e}");
            assert!(worst < 2e-4, "tq {tq} tk {tk}: {worst}");
        }
    }

    #[test]
    fn the_maximum_rising_late_rescales_what_came_before() {
        // Scores that grow along the keys: every block raises the running maximum.
        let (tq, tk, d) = (2, 300, 16);
        let q: Vec<f32> = (0..tq * d).map(|i| if i % d == 0 { 1.0 } else { 0.0 }).collect();
        let k: Vec<f32> = (0..tk * d).map(|i| if i % d == 0 { (i / d) as f32 * 0.02 } else { 0.1 }).collect();
        let v: Vec<f32> = (0..tk * d).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect();
        let mut out = vec![0.0; tq * d];
        attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
        let want = reference(&q, &k, &v, tq, tk, d);
        for (a, b) in out.iter().zip(&want) {
            assert!((*a as f64 - b).abs() < 2e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn a_peaked_row_over_many_small_weights_keeps_their_mass() {
        // One key far above 4,999 equal ones: the small weights (each ~1e-4 of the largest) must
        // still add up to their share of the output, not round away.
        let (tq, tk, d) = (1, 5000, 16);
        let mut k = vec![0f32; tk * d];
        k[0] = 1.0;
        let q: Vec<f32> = (0..d).map(|c| if c == 0 { 9.2 } else { 0.0 }).collect();
        let v: Vec<f32> = (0..tk * d).map(|i| if i / d == 0 { 1.0 } else { -1.0 }).collect();
        let mut out = vec![0.0; d];
        attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
        let want = reference(&q, &k, &v, tq, tk, d);
        for c in 0..d {
            assert!((out[c] as f64 - want[c]).abs() < 2e-3, "{c}: {} vs {}", out[c], want[c]);
        }
    }

    #[test]
    fn a_zero_query_weighs_every_key_alike() {
        let (tq, tk, d) = (1, 13, 16);
        let q = vec![0f32; d];
        let k: Vec<f32> = (0..tk * d).map(|i| (i as f32).sin()).collect();
        let v: Vec<f32> = (0..tk * d).map(|i| (i as f32 * 0.3).cos()).collect();
        let mut out = vec![0.0; d];
        attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
        for c in 0..d {
            let mean = (0..tk).map(|j| v[j * d + c] as f64).sum::<f64>() / tk as f64;
            assert!((out[c] as f64 - mean).abs() < 2e-4, "{c}: {} vs {mean}", out[c]);
        }
    }

    #[test]
    fn non_finite_inputs_stay_non_finite() {
        let (tq, tk, d) = (2, 3, 16);
        let mut q = vec![0.5f32; tq * d];
        q[d + 3] = f32::NAN;
        let k = vec![0.25f32; tk * d];
        let v = vec![1.0f32; tk * d];
        let mut out = vec![0.0; tq * d];
        attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
        assert!(out[..d].iter().all(|x| (x - 1.0).abs() < 1e-6));
        assert!(out[d..].iter().all(|x| !x.is_finite()));

        let mut k = vec![0.25f32; tk * d];
        k[2 * d] = f32::INFINITY;
        let q = vec![0.5f32; tq * d];
        attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
        assert!(out.iter().all(|x| !x.is_finite()));

        let k = vec![0.25f32; tk * d];
        let mut v = vec![1.0f32; tk * d];
        v[d + 5] = f32::NAN;
        attention(&q, &k, &v, tq, tk, d, &mut AttentionScratch::default(), &mut out);
        assert!(out[5].is_nan() && out[d + 5].is_nan());
    }
}
