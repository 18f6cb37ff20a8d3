//! The row-wise steps of the int16 forward — LayerNorm and the exact-erf GELU — on the
//! `crate::simd` vectors: four lanes per instruction in one fixed order on every target.
//!
//! `kernels::layer_norm` and `kernels::gelu` stay the f32 reference's (`Kernels::F32`); these
//! compute the same functions, LayerNorm with the sums of a row in four partial sums and GELU
//! with a cheaper erf (see [`gelu`]).

use super::kernels;
use crate::simd::{
    and, f32_add, f32_div, f32_madd, f32_max, f32_mul, f32_splat, f32_sub, f32_sum, i32_splat, lanes_f32, load_f32,
    store_f32, V,
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

/// Exact-erf GELU in place, `x · Φ(x)`, four lanes at a time, with the erf of Abramowitz &
/// Stegun 7.1.28 (a rational function: one division, no exp) instead of the reference's 7.1.26
/// (`kernels::erf`, a division and an exp): about half the instructions. In f32 it is within
/// 1e-6 of the exact GELU, where the reference kernel is within 5e-7; both are far below the
/// 1.5e-5 of a row's maximum that the int16 rows of the next layer round to. ±∞ give NaN (the
/// reference: +∞ and NaN), which the next layer's finite check treats alike.
pub(crate) fn gelu(x: &mut [f32]) {
    let split = x.len() - x.len() % 4;
    let (body, tail) = x.split_at_mut(split);
    let gelu = Gelu::new();
    for chunk in body.chunks_exact_mut(4) {
        // SAFETY: `chunk` holds four f32.
        unsafe { store_f32(chunk.as_mut_ptr(), gelu.eval(load_f32(chunk.as_ptr()))) };
    }
    for v in tail {
        *v = lanes_f32(gelu.eval(f32_splat(*v)))[0];
    }
}

/// GELU on four lanes, with its constants as vectors made once per call: V8 builds a
/// non-trivial `v128.const` with several instructions at every use, inside the loop; values
/// read through `black_box` stay locals that it keeps in registers or reads from the stack.
struct Gelu {
    half: V,
    one: V,
    zero: V,
    abs: V,
    /// A&S 7.1.28's a6, a5, … a1 over √2⁶, √2⁵, … √2: the polynomial of |x| rather than |x|/√2.
    erf: [V; 6],
}

impl Gelu {
    #[inline(always)]
    fn new() -> Self {
        let f: [f32; 9] = std::hint::black_box([
            0.5,
            1.0,
            0.0,
            5.382_975e-6,
            4.889_063_6e-5,
            3.800_357_5e-5,
            0.003_277_626_3,
            0.021_141_006,
            0.049_867_347,
        ]);
        let abs = std::hint::black_box(i32::MAX);
        let v = |k: usize| f32_splat(f[k]);
        Gelu { half: v(0), one: v(1), zero: v(2), abs: i32_splat(abs), erf: [v(3), v(4), v(5), v(6), v(7), v(8)] }
    }

    /// `x · Φ(x)` on four lanes as `max(x, 0) − |x| · Φ(−|x|)`: for x ≥ 0, Φ(x) = 1 − Φ(−x).
    /// Φ(−|x|) = ½ · (1 − erf(|x|/√2)) = ½ / P(|x|)¹⁶ with A&S 7.1.28's polynomial P (|error|
    /// of erf ≤ 3e-7 in exact arithmetic); a large |x| takes the power to +∞ and Φ(−|x|) to 0,
    /// GELU to exactly max(x, 0). Five instructions fewer than `x/2 · (1 + erf(x/√2))` with erf's
    /// sign put back.
    #[inline(always)]
    fn eval(&self, v: V) -> V {
        let a = and(v, self.abs);
        let c = &self.erf;
        let mut p = f32_madd(a, c[0], c[1]);
        p = f32_madd(a, p, c[2]);
        p = f32_madd(a, p, c[3]);
        p = f32_madd(a, p, c[4]);
        p = f32_madd(a, p, c[5]);
        p = f32_madd(a, p, self.one);
        for _ in 0..4 {
            p = f32_mul(p, p);
        }
        f32_sub(f32_max(v, self.zero), f32_mul(a, f32_div(self.half, p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_is_within_1e6_of_the_exact_gelu_and_handles_extremes() {
        let input: Vec<f32> = (-40_001..40_000).map(|i| i as f32 * 3e-4).collect(); // one tail value
        let (mut x, mut reference) = (input.clone(), input.clone());
        gelu(&mut x);
        kernels::gelu(&mut reference);
        for ((&got, &r), &v) in x.iter().zip(&reference).zip(&input) {
            let v = v as f64;
            let exact = v * 0.5 * (1.0 + libm_erf(v / std::f64::consts::SQRT_2));
            assert!((got as f64 - exact).abs() <= 1e-6, "{v}: {got} vs {exact}");
            assert!((got - r).abs() <= 1.5e-6, "{v}: {got} vs the reference kernel's {r}");
        }
        let mut x =
            vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e-30, 87.0, -150.0, 1e30, -1e30, 6.0, -6.0];
        let mut reference = x.clone();
        gelu(&mut x);
        kernels::gelu(&mut reference);
        for (a, b) in x.iter().zip(&reference) {
            // ±∞: non-finite as the reference's, NaN where it gives +∞.
            let both_non_finite = !a.is_finite() && !b.is_finite();
            assert!(a.to_bits() == b.to_bits() || both_non_finite || (a - b).abs() <= 1e-6, "{a} vs {b}");
        }
        assert!(x[0].is_nan() && x[1].is_nan() && x[2].is_nan(), "{:?}", &x[..3]);
        // Far from 0 it is exactly max(x, 0); at ±6 within 1e-6 of it.
        assert_eq!(&x[6..10], &[87.0, 0.0, 1e30, 0.0][..]);
        assert!((x[10] - 6.0).abs() <= 1e-6 && x[11].abs() <= 1e-6, "{:?}", &x[10..]);
        assert_eq!(x[4].to_bits(), (-0.0f32).to_bits());
    }

    /// erf in f64 (A&S 7.1.26 is not accurate enough to judge 1e-6): the Taylor series near 0
    /// and the continued fraction of erfc beyond.
    fn libm_erf(x: f64) -> f64 {
        let a = x.abs();
        let r = if a < 3.0 {
            let (mut term, mut sum, mut n) = (a, a, 0.0);
            while term.abs() > 1e-17 * sum.abs() {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            2.0 / std::f64::consts::PI.sqrt() * sum
        } else {
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = (k as f64 / 2.0) / (a + f);
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f)
        };
        r.copysign(x)
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
