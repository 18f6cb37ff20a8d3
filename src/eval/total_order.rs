//! Floats as unsigned integers in `total_cmp`'s order, so that a sort on plain integer keys
//! (one compare, radix-friendly) gives the float order, NaNs and signed zeros included.
//!
//! A float's bits order positive values correctly but negative ones backwards: flipping every bit
//! of a negative value, and only the sign bit of a non-negative one, puts all of them in
//! ascending order (−NaN < −∞ < … < −0 < +0 < … < +∞ < +NaN).

/// `x`'s place in `f32::total_cmp`'s ascending order.
pub(crate) fn f32_ascending(x: f32) -> u32 {
    let bits = x.to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

/// `x`'s place in `f64::total_cmp`'s ascending order.
pub(crate) fn f64_ascending(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_as_total_cmp() {
        let v32 = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            1.5,
            -1.5,
            f32::MIN_POSITIVE,
            -1e-45,
            3e38,
        ];
        for a in v32 {
            for b in v32 {
                assert_eq!(f32_ascending(a).cmp(&f32_ascending(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
        let v64 = [f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1.5, -1.5, 5e-324, -1e300];
        for a in v64 {
            for b in v64 {
                assert_eq!(f64_ascending(a).cmp(&f64_ascending(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
    }
}
