//! Logarithms for `no_std` code: `f64::log2` and `f64::ln` live in `std`,
//! which a `no_std` rule cannot call. Accurate to a few ulps, enough for
//! entropy and scores.

use core::f64::consts::{LN_2, LOG2_E, SQRT_2};

/// Natural logarithm of `x`; NaN for negative `x` and NaN, -inf for 0.
pub fn ln(x: f64) -> f64 {
    log2(x) * LN_2
}

/// Base-2 logarithm of `x`; NaN for negative `x` and NaN, -inf for 0.
pub fn log2(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    // x = m * 2^e with m in [1, 2): e from the exponent bits.
    let mut bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64;
    if e == 0 {
        // Subnormal: scale into the normal range first.
        bits = (x * 18014398509481984.0).to_bits(); // 2^54
        e = ((bits >> 52) & 0x7ff) as i64 - 54;
    }
    e -= 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // Centre m on 1 (m in [0.707, 1.414]) so the series below converges fast.
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln(m) = 2 * atanh(z) = 2 * (z + z^3/3 + z^5/5 + ...), z = (m-1)/(m+1),
    // |z| <= 0.172: each term is at most 0.03x the previous one, so 11 terms
    // reach double precision.
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let mut term = z;
    let mut sum = z;
    let mut k = 3.0;
    for _ in 0..11 {
        term *= z2;
        sum += term / k;
        k += 2.0;
    }
    e as f64 + 2.0 * sum * LOG2_E
}
