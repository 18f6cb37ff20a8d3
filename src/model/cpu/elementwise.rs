//! The row-wise steps of the int16 forward — LayerNorm and the exact-erf GELU — on the
//! `crate::simd` vectors: four lanes per instruction in one fixed order on every target.
//!
//! `kernels::layer_norm` and `kernels::gelu` stay the f32 reference's (`Kernels::F32`); these
//! compute the same functions (GELU to the bit: the same operations lane by lane) with the sums
//! of a row in four partial sums.

use super::kernels;
use crate::simd::{
    and, f32_add, f32_div, f32_madd, f32_max, f32_min, f32_mul, f32_splat, f32_sub, f32_sum, i32_shl23, i32_splat,
    i32_sub, load_f32, store_f32, xor, V,
};

/// LayerNorm of each `d`-wide row of `x` into `y` (`d` a multiple of 16; others go to the
/// reference kernel).
pub(crate) fn layer_norm(x: &[f32], d: usize, g: &[f32], b: &[f32], eps: f32, y: &mut [f32]) {
    if d % 16 != 0 || d == 0 {
        return kernels::layer_norm(x, d, g, b, eps, y);
    }
    assert!(g.len() >= d && b.len() >= d);
    for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        // SAFETY: every access below is at 4·c + 4 ≤ d into rows of d values and g, b (asserted).
        unsafe {
            let at = |c: usize| load_f32(xr.as_ptr().add(4 * c));
            let mut acc = [f32_splat(0.0); 4];
            for c in 0..d / 4 {
                acc[c % 4] = f32_add(acc[c % 4], at(c));
            }
            let mean = f32_sum(f32_add(f32_add(acc[0], acc[1]), f32_add(acc[2], acc[3]))) / d as f32;
            let m = f32_splat(mean);
            let mut acc = [f32_splat(0.0); 4];
            for c in 0..d / 4 {
                let dev = f32_sub(at(c), m);
                acc[c % 4] = f32_madd(dev, dev, acc[c % 4]);
            }
            let var = f32_sum(f32_add(f32_add(acc[0], acc[1]), f32_add(acc[2], acc[3]))) / d as f32;
            let inv = f32_splat(1.0 / (var + eps).sqrt());
            for c in 0..d / 4 {
                let gv = load_f32(g.as_ptr().add(4 * c));
                let bv = load_f32(b.as_ptr().add(4 * c));
                let out = f32_madd(f32_mul(f32_sub(at(c), m), inv), gv, bv);
                store_f32(yr.as_mut_ptr().add(4 * c), out);
            }
        }
    }
}

/// Exact-erf GELU in place, `x · Φ(x)`: `kernels::gelu`'s operations, four lanes at a time.
pub(crate) fn gelu(x: &mut [f32]) {
    let split = x.len() - x.len() % 4;
    let (body, tail) = x.split_at_mut(split);
    let gelu = Gelu::new();
    for chunk in body.chunks_exact_mut(4) {
        // SAFETY: `chunk` holds four f32.
        unsafe { store_f32(chunk.as_mut_ptr(), gelu.eval(load_f32(chunk.as_ptr()))) };
    }
    kernels::gelu(tail);
}

/// GELU on four lanes, with its constants as vectors made once per call: V8 builds a
/// non-trivial `v128.const` with several instructions at every use, inside the loop; values
/// read through `black_box` stay locals that it keeps in registers or reads from the stack.
struct Gelu {
    frac_1_sqrt_2: V,
    half: V,
    one: V,
    sign: V,
    abs: V,
    /// A&S 7.1.26: p, then a1 … a5.
    erf: [V; 6],
    /// `kernels::exp`: −87, 88, log₂e, 1.5 · 2²³, the two parts of ln 2, then 1/7! … 1/2!.
    exp: [V; 12],
    exp_bits: V,
}

impl Gelu {
    #[inline(always)]
    fn new() -> Self {
        const ROUND: f32 = 12_582_912.0;
        let f: [f32; 21] = std::hint::black_box([
            std::f32::consts::FRAC_1_SQRT_2,
            0.5,
            1.0,
            0.327_591_1,
            0.254_829_6,
            -0.284_496_74,
            1.421_413_7,
            -1.453_152_1,
            1.061_405_4,
            -87.0,
            88.0,
            std::f32::consts::LOG2_E,
            ROUND,
            0.693_145_75,
            1.428_606_8e-6,
            1.0 / 5040.0,
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
        ]);
        let i: [i32; 3] = std::hint::black_box([i32::MIN, i32::MAX, ROUND.to_bits() as i32 - 127]);
        let v = |k: usize| f32_splat(f[k]);
        Gelu {
            frac_1_sqrt_2: v(0),
            half: v(1),
            one: v(2),
            sign: i32_splat(i[0]),
            abs: i32_splat(i[1]),
            erf: [v(3), v(4), v(5), v(6), v(7), v(8)],
            exp: [v(9), v(10), v(11), v(12), v(13), v(14), v(15), v(16), v(17), v(18), v(19), v(20)],
            exp_bits: i32_splat(i[2]),
        }
    }

    /// `x · Φ(x)` on four lanes: `kernels::gelu`'s operations.
    #[inline(always)]
    fn eval(&self, v: V) -> V {
        let e = self.erf(f32_mul(v, self.frac_1_sqrt_2));
        f32_mul(f32_mul(self.half, v), f32_add(self.one, e))
    }

    /// `kernels::erf` (Abramowitz & Stegun 7.1.26) on four lanes; the sign goes back by flipping
    /// the sign bit, which is what multiplying by ±1 does.
    #[inline(always)]
    fn erf(&self, x: V) -> V {
        let sign = and(x, self.sign);
        let a = and(x, self.abs);
        let c = &self.erf;
        let t = f32_div(self.one, f32_madd(c[0], a, self.one));
        let mut poly = f32_madd(t, c[5], c[4]);
        poly = f32_madd(t, poly, c[3]);
        poly = f32_madd(t, poly, c[2]);
        poly = f32_madd(t, poly, c[1]);
        poly = f32_mul(t, poly);
        let e = self.exp(xor(f32_mul(a, a), self.sign));
        xor(f32_sub(self.one, f32_mul(poly, e)), sign)
    }

    /// `kernels::exp` on four lanes (the same operations, so the same results).
    #[inline(always)]
    fn exp(&self, x: V) -> V {
        let c = &self.exp;
        let x = f32_max(x, c[0]);
        let x = f32_min(x, c[1]);
        let t = f32_madd(x, c[2], c[3]);
        let n = f32_sub(t, c[3]);
        let f = f32_sub(f32_sub(x, f32_mul(n, c[4])), f32_mul(n, c[5]));
        let mut p = f32_madd(f, c[6], c[7]);
        p = f32_madd(f, p, c[8]);
        p = f32_madd(f, p, c[9]);
        p = f32_madd(f, p, c[10]);
        p = f32_madd(f, p, c[11]);
        p = f32_madd(f, p, self.one);
        p = f32_madd(f, p, self.one);
        f32_mul(p, i32_shl23(i32_sub(t, self.exp_bits)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_is_the_reference_gelu_to_the_bit() {
        let mut x: Vec<f32> = (-40_000..40_000).map(|i| i as f32 * 3e-4).collect();
        x.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e-30, 87.0, -150.0, 1e30]);
        x.extend([0.25, -0.25, 3.0]); // a multiple of four
        let mut want = x.clone();
        kernels::gelu(&mut want);
        let gelu = Gelu::new();
        for chunk in x.chunks_exact_mut(4) {
            unsafe { store_f32(chunk.as_mut_ptr(), gelu.eval(load_f32(chunk.as_ptr()))) };
        }
        for (i, (a, b)) in x.iter().zip(&want).enumerate() {
            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{i}: {a} vs {b}");
        }
    }

    #[test]
    fn layer_norm_matches_the_reference() {
        let d = 64;
        let x: Vec<f32> = (0..5 * d).map(|i| (i as f32 * 0.37).sin() * 3.0 + 0.5).collect();
        let g: Vec<f32> = (0..d).map(|i| 1.0 + i as f32 * 0.01).collect();
        let b: Vec<f32> = (0..d).map(|i| i as f32 * -0.02).collect();
        let (mut got, mut want) = (vec![0.0; 5 * d], vec![0.0; 5 * d]);
        layer_norm(&x, d, &g, &b, 1e-5, &mut got);
        kernels::layer_norm(&x, d, &g, &b, 1e-5, &mut want);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 2e-6, "{a} vs {b}");
        }
    }
}
