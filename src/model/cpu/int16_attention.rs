//! Multi-head attention for 16-wide heads (HR-S) in integers: `out = softmax(q kᵀ) v` per head,
//! with both products on the int16 dot (`i32x4.dot_i16x8_s` / `pmaddwd`, eight multiply-adds
//! per instruction) and the softmax between them vectorized on 2^x.
//!
//! Per head and block of [`QUERIES`] queries:
//! 1. **Scores.** Each head's slice of a query row and of a key row is quantized with its own
//!    scale to [`QK_MAX`] (13.5 bits, so that 16 products fit i32). A register tile of
//!    `QUERIES × 8` keys sums 8 column pairs; the epilogue scales by the key's scale and keeps a
//!    running maximum, in vectors. The query's scale (with log₂e folded in) is applied in step 2,
//!    as a maximum commutes with a positive factor.
//! 2. **Softmax weights.** `p = 2^((u − max u) · scale_q)` in vectors (a degree-5 polynomial and
//!    the exponent bits), rounded to integers `0..=P_MAX`, and their exact integer sum.
//! 3. **Value mix.** Values are quantized per head channel over all keys (a column scale, to
//!    [`V_MAX`]) and packed by key pairs, so one dot multiplies two keys' weights with two keys'
//!    values for four channels. The i32 sums are flushed to f32 every [`FLUSH_PAIRS`] pairs:
//!    `32 · P_MAX · V_MAX < 2³¹`, so they cannot overflow for any page size. The output is the
//!    flushed sum times the channel's scale, divided by the weights' integer sum — the weights
//!    are normalized by exactly what was summed.
//!
//! Error (tested below against float64): the weights are off by at most half a step of
//! 1/8191 of the largest weight, the values by half a step of 1/8191 of their column's largest
//! magnitude; the outputs stay within ~1e-4 of the float64 attention on the test shapes.
//!
//! A non-finite query slice, key or value gives non-finite outputs (for the ranker's finite
//! check), never a silently finite one.

use super::int16::{ROUND, ROUND_BITS};
use crate::simd::{
    f32_add, f32_div, f32_hmax, f32_max, f32_mul, f32_splat, f32_sub, i16_dot, i16_narrow, i32_add, i32_shl23,
    i32_splat, i32_sub, i32_to_f32, lanes_f32, lanes_i32, load, load32_splat, load_f32, store, store_f32, V,
};

/// Head width this kernel handles; other widths use the f32 kernel.
pub(crate) const HEAD: usize = 16;
/// Column pairs per head.
const PAIRS: usize = HEAD / 2;
/// Keys per score tile: two vectors of four.
const KEYS: usize = 8;
/// Queries per block: each key row loaded serves the block.
const QUERIES: usize = 4;
/// Largest quantized magnitude of a query or key value: a score sums 16 products of two of
/// them, which must stay below 2³¹ (16 · 11584² = 2,147,024,896), so 13.5 bits, not 15.
const QK_MAX: f32 = 11584.0;
/// Largest softmax weight (the maximum's, 1.0) and largest quantized value magnitude.
const P_MAX: f32 = 8191.0;
const V_MAX: f32 = 8191.0;
/// Key pairs summed in i32 between flushes to f32: 2 · 16 · 8191 · 8191 = 2,146,959,392 < 2³¹.
const FLUSH_PAIRS: usize = 16;
/// Keys per block of softmax weights sharing one scale: one flush.
const BLOCK_KEYS: usize = 2 * FLUSH_PAIRS;

/// Buffers of [`attention`], grown to the largest call and reused.
#[derive(Default)]
pub(crate) struct AttentionScratch {
    /// Quantized queries, `tq × d`, and their scales (log₂e folded in), `tq × heads`.
    qq: Vec<i16>,
    qs: Vec<f32>,
    /// Quantized keys as `[head][pair][key][2]` (keys padded to a multiple of 8), and their
    /// scales `[head][key]` (NaN for padding keys, which the running maximum skips).
    kq: Vec<i16>,
    ks: Vec<f32>,
    /// Quantized values as `[head][key pair][channel][2]`, and the channel scales, `d`.
    vq: Vec<i16>,
    vs: Vec<f32>,
    vinv: Vec<f32>,
    /// Scores of one query block, `QUERIES × padded keys`.
    scores: Vec<f32>,
    /// Softmax weights of one query block as integers, `QUERIES × padded keys`, and their
    /// scale per block of keys, `QUERIES × blocks`.
    p: Vec<i16>,
    bscale: Vec<f32>,
    /// Each block's largest score, `QUERIES × blocks`.
    bmax: Vec<f32>,
}

/// The per-block buffers of [`query_block`].
struct BlockBufs<'a> {
    scores: &'a mut Vec<f32>,
    p: &'a mut Vec<i16>,
    bscale: &'a mut Vec<f32>,
    bmax: &'a mut Vec<f32>,
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
    let AttentionScratch { qq, qs, kq, ks, vq, vs, scores, p, bscale, bmax, .. } = sc;
    scores.resize(QUERIES * tkp, 0.0);
    p.resize(QUERIES * tkp, 0);
    bscale.resize(QUERIES * tkp.div_ceil(BLOCK_KEYS), 0.0);
    bmax.resize(QUERIES * tkp.div_ceil(BLOCK_KEYS), 0.0);
    let mut bufs = BlockBufs { scores, p, bscale, bmax };
    for h in 0..heads {
        let keys = Keys {
            kq: &kq[h * PAIRS * tkp * 2..(h + 1) * PAIRS * tkp * 2],
            ks: &ks[h * tkp..(h + 1) * tkp],
            vq: &vq[h * tkp * HEAD..(h + 1) * tkp * HEAD],
            vs: vs[h * HEAD..(h + 1) * HEAD].try_into().unwrap(),
            tk,
            tkp,
        };
        let keys_finite = keys.ks[..tk].iter().all(|s| s.is_finite());
        let mut i = 0;
        while i < tq {
            let r = QUERIES.min(tq - i);
            let block = Block { qq, qs, i, h, d };
            match r {
                QUERIES => query_block::<QUERIES>(&block, &keys, &mut bufs, out),
                3 => query_block::<3>(&block, &keys, &mut bufs, out),
                2 => query_block::<2>(&block, &keys, &mut bufs, out),
                _ => query_block::<1>(&block, &keys, &mut bufs, out),
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
        let mut ints = [0i16; HEAD];
        // log₂e folded into the query scale: the softmax then runs on 2^x, cheaper than eˣ.
        *qs = quantize_slice(slice.try_into().unwrap(), QK_MAX, &mut ints) * std::f32::consts::LOG2_E;
        qq.copy_from_slice(&ints);
    }
}

/// Keys to `[head][pair][key][2]` int16 with a scale per key and head; padding keys are zero
/// with a NaN scale.
fn quantize_keys(k: &[f32], tk: usize, tkp: usize, d: usize, sc: &mut AttentionScratch) {
    let heads = d / HEAD;
    sc.kq.clear();
    sc.kq.resize(heads * PAIRS * tkp * 2, 0);
    sc.ks.clear();
    sc.ks.resize(heads * tkp, f32::NAN);
    for j in 0..tk {
        for h in 0..heads {
            let mut ints = [0i16; HEAD];
            sc.ks[h * tkp + j] =
                quantize_slice(k[j * d + h * HEAD..j * d + (h + 1) * HEAD].try_into().unwrap(), QK_MAX, &mut ints);
            for p in 0..PAIRS {
                let at = ((h * PAIRS + p) * tkp + j) * 2;
                sc.kq[at] = ints[2 * p];
                sc.kq[at + 1] = ints[2 * p + 1];
            }
        }
    }
}

/// Values to `[head][key pair][channel][2]` int16 with one scale per channel (its largest
/// magnitude over the keys / [`V_MAX`]; NaN when a value is not finite).
fn quantize_values(v: &[f32], tk: usize, tkp: usize, d: usize, sc: &mut AttentionScratch) {
    sc.vs.resize(d, 0.0);
    let inv = &mut sc.vinv;
    inv.resize(d, 0.0);
    for c in 0..d {
        let (mut amax, mut bad) = (0f32, 0f32);
        for j in 0..tk {
            let x = v[j * d + c];
            let a = x.abs();
            amax = if amax < a { a } else { amax };
            #[allow(clippy::eq_op)] // x − x: 0 for finite x, NaN otherwise
            {
                bad += x - x;
            }
        }
        // NaN (a non-finite value) also fails `bad == 0.0`.
        let finite = bad == 0.0;
        sc.vs[c] = if finite { amax / V_MAX } else { f32::NAN };
        inv[c] = if finite && amax > 0.0 { V_MAX / amax } else { 0.0 };
    }
    sc.vq.clear();
    sc.vq.resize(tkp * d, 0);
    for c in 0..d {
        let (h, cc, inv) = (c / HEAD, c % HEAD, inv[c]);
        for j in 0..tk {
            let x = v[j * d + c] * inv;
            // |x| ≤ 8191 (+ rounding), so the integer fits i16; NaN rows were caught above.
            let n = (x + ROUND).to_bits().wrapping_sub(ROUND_BITS) as i32;
            sc.vq[((h * (tkp / 2) + j / 2) * HEAD + cc) * 2 + j % 2] = n.clamp(-(V_MAX as i32), V_MAX as i32) as i16;
        }
    }
}

/// A slice of 16 quantized to `±max` with its scale: `x ≈ scale · ints`. Returns NaN for a slice
/// with a non-finite value and 0 for an all-zero slice.
#[inline]
fn quantize_slice(x: &[f32; HEAD], max: f32, ints: &mut [i16; HEAD]) -> f32 {
    let (amax, finite) = super::int16::max_abs(x);
    if !finite {
        return f32::NAN;
    }
    if amax == 0.0 {
        return 0.0;
    }
    let inv = max / amax;
    for (q, &v) in ints.iter_mut().zip(x) {
        *q = ((v * inv + ROUND).to_bits().wrapping_sub(ROUND_BITS) as i32) as i16;
    }
    amax / max
}

/// One head's quantized keys and values.
struct Keys<'a> {
    kq: &'a [i16],
    ks: &'a [f32],
    vq: &'a [i16],
    vs: &'a [f32; HEAD],
    tk: usize,
    tkp: usize,
}

/// Queries `i..i + R` of head `h`.
struct Block<'a> {
    qq: &'a [i16],
    qs: &'a [f32],
    i: usize,
    h: usize,
    d: usize,
}

/// Queries `i..i + R` of head `h`: scores, softmax weights, value mix, into `out`.
#[inline]
fn query_block<const R: usize>(b: &Block<'_>, keys: &Keys<'_>, bufs: &mut BlockBufs<'_>, out: &mut [f32]) {
    let BlockBufs { scores, p, bscale, bmax } = bufs;
    let (tkp, heads, d) = (keys.tkp, b.d / HEAD, b.d);
    let qrows: [&[i16]; R] =
        std::array::from_fn(|r| &b.qq[(b.i + r) * d + b.h * HEAD..(b.i + r) * d + (b.h + 1) * HEAD]);
    let qscale: [f32; R] = std::array::from_fn(|r| b.qs[(b.i + r) * heads + b.h]);
    let blocks = tkp.div_ceil(BLOCK_KEYS);
    scores_tile::<R>(&qrows, keys, scores, bmax);
    let mut sums = [0f32; R];
    for r in 0..R {
        let (u, w) = (&scores[r * tkp..(r + 1) * tkp], &mut p[r * tkp..(r + 1) * tkp]);
        let (bm, bs) = (&bmax[r * blocks..(r + 1) * blocks], &mut bscale[r * blocks..(r + 1) * blocks]);
        sums[r] = softmax_weights(u, bm, qscale[r], w, bs);
    }
    let mut r = 0;
    while r < R {
        let pair = r + 2 <= R;
        let rows = |m: usize| (&p[(r + m) * tkp..(r + m + 1) * tkp], &bscale[(r + m) * blocks..(r + m + 1) * blocks]);
        let out_row = |m: usize| (b.i + r + m) * d + b.h * HEAD;
        if pair {
            let ((p0, s0), (p1, s1)) = (rows(0), rows(1));
            let mixed = mix::<2>(&[p0, p1], &[s0, s1], keys);
            for (m, mixed) in mixed.iter().enumerate() {
                finish(mixed, keys.vs, sums[r + m], qscale[r + m], &mut out[out_row(m)..][..HEAD]);
            }
            r += 2;
        } else {
            let (p0, s0) = rows(0);
            let mixed = mix::<1>(&[p0], &[s0], keys);
            finish(&mixed[0], keys.vs, sums[r], qscale[r], &mut out[out_row(0)..][..HEAD]);
            r += 1;
        }
    }
}

/// `u = (q · k) · scale_k` for `R` queries and every key into `scores` (rows of `tkp`; padding
/// keys −∞), and per row the maximum of each block of [`BLOCK_KEYS`] keys into `bmax` (rows of
/// `tkp / BLOCK_KEYS` rounded up). Padding keys have a NaN scale, which [`f32_max`] skips.
#[inline]
fn scores_tile<const R: usize>(qrows: &[&[i16]; R], keys: &Keys<'_>, scores: &mut [f32], bmax: &mut [f32]) {
    let (tk, tkp) = (keys.tk, keys.tkp);
    let blocks = tkp.div_ceil(BLOCK_KEYS);
    let (kq, ks) = (keys.kq, keys.ks);
    assert!(kq.len() >= PAIRS * tkp * 2 && ks.len() >= tkp && scores.len() >= R * tkp && bmax.len() >= R * blocks);
    for row in qrows {
        assert!(row.len() >= HEAD);
    }
    for b in 0..blocks {
        let mut mx = [f32_splat(f32::NEG_INFINITY); R];
        for j0 in (b * BLOCK_KEYS..((b + 1) * BLOCK_KEYS).min(tkp)).step_by(KEYS) {
            let mut acc: [[V; 2]; R] = [[i32_splat(0); 2]; R];
            for pair in 0..PAIRS {
                // SAFETY: j0 + 8 ≤ tkp, so the 16 values at (pair·tkp + j0)·2 are inside `kq`
                // (asserted above); each query row holds 16 values.
                unsafe {
                    let kp = kq.as_ptr().add((pair * tkp + j0) * 2) as *const u8;
                    let (k0, k1) = (load(kp), load(kp.add(16)));
                    for r in 0..R {
                        let x = load32_splat(qrows[r].as_ptr().add(2 * pair) as *const u8);
                        acc[r][0] = i32_add(acc[r][0], i16_dot(x, k0));
                        acc[r][1] = i32_add(acc[r][1], i16_dot(x, k1));
                    }
                }
            }
            // SAFETY: j0 + 8 ≤ tkp ≤ ks.len(), and each score row holds tkp values (asserted).
            unsafe {
                let (s0, s1) = (load_f32(ks.as_ptr().add(j0)), load_f32(ks.as_ptr().add(j0 + 4)));
                for r in 0..R {
                    let u0 = f32_mul(i32_to_f32(acc[r][0]), s0);
                    let u1 = f32_mul(i32_to_f32(acc[r][1]), s1);
                    let row = scores.as_mut_ptr().add(r * tkp + j0);
                    store_f32(row, u0);
                    store_f32(row.add(4), u1);
                    mx[r] = f32_max(f32_max(mx[r], u0), u1);
                }
            }
        }
        for r in 0..R {
            bmax[r * blocks + b] = f32_hmax(mx[r]);
        }
    }
    for r in 0..R {
        scores[r * tkp + tk..(r + 1) * tkp].fill(f32::NEG_INFINITY);
    }
}

/// One row's softmax weights for the real keys (0 for padding) as integers into `p`, in blocks
/// of [`BLOCK_KEYS`] keys, each relative to its own largest weight: `round(2^((u − bmax) · qs)
/// · P_MAX)`, and the block's scale `2^((bmax − max) · qs) / P_MAX` into `bscale`. Block
/// floating point: a block of small weights keeps its relative precision instead of rounding
/// all alike. Returns the weights' sum (`Σ_block scale · Σ integers`).
#[inline]
fn softmax_weights(u: &[f32], bmax: &[f32], qscale: f32, p: &mut [i16], bscale: &mut [f32]) -> f32 {
    let tkp = u.len();
    let blocks = tkp.div_ceil(BLOCK_KEYS);
    assert!(p.len() >= tkp && tkp % KEYS == 0 && bmax.len() >= blocks && bscale.len() >= blocks);
    let max = bmax[..blocks].iter().fold(f32::NEG_INFINITY, |m, &b| if m < b { b } else { m });
    // An all-zero query slice has scale 0: every real key then weighs 1, and the padding keys'
    // −∞ must still give 0 (−∞ · 0 would be NaN).
    let qscale = if qscale == 0.0 { f32::MIN_POSITIVE } else { qscale };
    let exp2 = Exp2::new();
    let [pmax, round] = std::hint::black_box([P_MAX, ROUND]).map(f32_splat);
    let round_bits = i32_splat(std::hint::black_box(ROUND_BITS as i32));
    let s = f32_splat(qscale);
    let mut total = 0f32;
    for b in 0..blocks {
        let m = f32_splat(bmax[b]);
        let mut sum = i32_splat(0);
        for j in (b * BLOCK_KEYS..((b + 1) * BLOCK_KEYS).min(tkp)).step_by(KEYS) {
            // SAFETY: j + 8 ≤ tkp ≤ u.len(), p.len() (asserted above).
            unsafe {
                let y0 = f32_mul(f32_sub(load_f32(u.as_ptr().add(j)), m), s);
                let y1 = f32_mul(f32_sub(load_f32(u.as_ptr().add(j + 4)), m), s);
                let w0 = i32_sub(f32_add(f32_mul(exp2.eval(y0), pmax), round), round_bits);
                let w1 = i32_sub(f32_add(f32_mul(exp2.eval(y1), pmax), round), round_bits);
                sum = i32_add(sum, i32_add(w0, w1));
                store(p.as_mut_ptr().add(j) as *mut u8, i16_narrow(w0, w1));
            }
        }
        let l = lanes_i32(sum);
        let scale = lanes_f32(exp2.eval(f32_splat((bmax[b] - max) * qscale)))[0] / P_MAX;
        bscale[b] = scale;
        // Wrapping: a NaN row (caught by `finish`) gives garbage integers, never a panic.
        total += l[0].wrapping_add(l[1]).wrapping_add(l[2].wrapping_add(l[3])) as f32 * scale;
    }
    total
}

/// `Σ_j p[r][j] · v[j][c]` for `R` weight rows and the head's 16 channels, in f32: each block of
/// [`FLUSH_PAIRS`] key pairs summed in i32, converted exactly and times the block's scale.
#[inline]
fn mix<const R: usize>(p: &[&[i16]; R], bscale: &[&[f32]; R], keys: &Keys<'_>) -> [[V; 4]; R] {
    let pairs = keys.tkp / 2;
    let vq = keys.vq;
    assert!(vq.len() >= pairs * HEAD * 2);
    for r in 0..R {
        assert!(p[r].len() >= pairs * 2 && bscale[r].len() >= pairs.div_ceil(FLUSH_PAIRS));
    }
    let mut total = [[f32_splat(0.0); 4]; R];
    for (b, p0) in (0..pairs).step_by(FLUSH_PAIRS).enumerate() {
        let end = (p0 + FLUSH_PAIRS).min(pairs);
        let mut acc = [[i32_splat(0); 4]; R];
        for pair in p0..end {
            // SAFETY: pair < pairs: 32 values at pair·32 are inside `vq` and the weights at
            // 2·pair, 2·pair + 1 inside each row (asserted above).
            unsafe {
                let vp = vq.as_ptr().add(pair * HEAD * 2) as *const u8;
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
            let scale = f32_splat(bscale[r][b]);
            for m in 0..4 {
                total[r][m] = f32_add(total[r][m], f32_mul(i32_to_f32(acc[r][m]), scale));
            }
        }
    }
    total
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

/// The constants of [`Exp2::eval`] as vectors, made once per call of a kernel.
///
/// Why not literals: V8 builds a non-trivial `v128.const` with several instructions at every
/// use and does not hoist it out of a loop, which made the constants cost more than the
/// arithmetic. Values read through `black_box` are opaque to LLVM and binaryen, so they stay
/// locals that V8 keeps in registers (or reads as memory operands).
pub(crate) struct Exp2 {
    floor: V,
    round: V,
    c: [V; 5],
    bias: V,
}

impl Exp2 {
    // The coefficients are the fit's, not ln 2 and its powers.
    #[allow(clippy::approx_constant, clippy::excessive_precision)]
    #[inline(always)]
    pub(crate) fn new() -> Self {
        let k: [f32; 7] =
            std::hint::black_box([-126.0, ROUND, 1.0, 0.693_124_2, 0.240_240_99, 0.055_906_426, 0.009_582_853]);
        let bias = std::hint::black_box(ROUND_BITS as i32 - 127);
        Exp2 {
            floor: f32_splat(k[0]),
            round: f32_splat(k[1]),
            c: [f32_splat(k[2]), f32_splat(k[3]), f32_splat(k[4]), f32_splat(k[5]), f32_splat(k[6])],
            bias: i32_splat(bias),
        }
    }

    /// 2^y for y ≤ 0, four lanes (relative error < 3e-6; 2⁻¹²⁶ below −126): y = n + f with n
    /// the nearest integer (from adding 1.5 · 2²³, which leaves n in the low mantissa bits) and
    /// |f| ≤ ½, 2^f by a degree-4 polynomial fitted for relative error on [−½, ½] (max 2.9e-6
    /// evaluated in f32: a twentieth of the weights' rounding step), 2ⁿ put into the exponent
    /// bits.
    #[inline(always)]
    pub(crate) fn eval(&self, y: V) -> V {
        let y = f32_max(y, self.floor);
        let t = f32_add(y, self.round);
        let f = f32_sub(y, f32_sub(t, self.round));
        let c = &self.c;
        let mut p = f32_add(c[3], f32_mul(f, c[4]));
        p = f32_add(c[2], f32_mul(f, p));
        p = f32_add(c[1], f32_mul(f, p));
        p = f32_add(c[0], f32_mul(f, p));
        f32_mul(p, i32_shl23(i32_sub(t, self.bias)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp2_is_accurate() {
        let exp2 = Exp2::new();
        let at = |y: f32| lanes_f32(exp2.eval(f32_splat(y)))[0];
        for i in 0..=125_900 {
            let y = -(i as f32) * 0.001;
            let (got, want) = (at(y) as f64, (y as f64).exp2());
            assert!((got / want - 1.0).abs() < 3.5e-6, "2^{y}: {got} vs {want}");
        }
        assert_eq!(at(0.0), 1.0);
        assert!(at(-1e30) > 0.0);
        assert!(at(f32::NAN).is_nan());
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
        // The largest score and the largest flushed mix the integers can hold.
        assert!(16.0 * (QK_MAX as f64).powi(2) < i32::MAX as f64);
        assert!(2.0 * FLUSH_PAIRS as f64 * P_MAX as f64 * V_MAX as f64 <= i32::MAX as f64);
        for (tq, tk) in [(5, 19), (9, 33), (2, 1), (4, 8), (13, 200), (7, 1000), (3, 65)] {
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
