//! Erlang float text: `float_to_binary/1` (C `printf("%.20e")`) and the float literal syntax
//! `binary_to_float/1` accepts (`codecs.md` §2.2, §2.3).

use crate::Error;
use std::io::Write as _;

/// Formats `x` like C's `printf("%.20e")`: one digit, `.`, 20 digits, `e`, sign, at least two
/// exponent digits. Rust's `{:.20e}` is exactly rounded like glibc; only the exponent differs.
///
/// ```
/// use ferrobeam_structured::float::format_float;
/// assert_eq!(format_float(1.5).unwrap(), "1.50000000000000000000e+00");
/// assert_eq!(format_float(0.8).unwrap(), "8.00000000000000044409e-01");
/// assert_eq!(format_float(1e300).unwrap(), "1.00000000000000005250e+300");
/// assert!(format_float(f64::NAN).is_err());
/// ```
pub fn format_float(x: f64) -> Result<String, Error> {
    let mut out = Vec::with_capacity(32);
    write_float(&mut out, x)?;
    // Only ASCII is written.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// Appends [`format_float`]'s text of `x` to `out`.
///
/// ```
/// let mut out = Vec::new();
/// ferrobeam_structured::float::write_float(&mut out, -2.5).unwrap();
/// assert_eq!(out, b"-2.50000000000000000000e+00");
/// ```
pub fn write_float(out: &mut Vec<u8>, x: f64) -> Result<(), Error> {
    if !x.is_finite() {
        return Err(Error::NonFiniteFloat(x));
    }
    if !exact::write(out, x) {
        write_formatted(out, x);
    }
    Ok(())
}

/// [`write_float`] for any finite `x`, through Rust's exact formatting (which, for 21 digits,
/// always ends in its bignum algorithm): what [`exact::write`] leaves to it, and what that is
/// tested against.
fn write_formatted(out: &mut Vec<u8>, x: f64) {
    let start = out.len();
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{x:.20e}");
    let Some(e) = out[start..].iter().position(|&c| c == b'e') else {
        return;
    };
    let exponent: i32 = std::str::from_utf8(&out[start + e + 1..])
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    out.truncate(start + e + 1);
    out.push(if exponent < 0 { b'-' } else { b'+' });
    let _ = write!(out, "{:02}", exponent.unsigned_abs());
}

/// `%.20e` in 128-bit integers, for the floats messages hold.
///
/// The 21 digits of `x = m·2^e` (`m` < 2^53) are `x·10^s` rounded to an integer, with
/// `s = 20 − k` and `k` the decimal exponent. Since `10^s = 2^s·5^s`, that integer is `m·5^s`
/// shifted by `e + s` bits when `s ≥ 0`, and `m` shifted by `e + s` bits and divided by `5^−s`
/// when `s < 0`; both are exact in 128 bits for `x` between about 1e-12 and 1e45, and the
/// remainder decides the rounding (to nearest, ties to even, as glibc and Rust round). Other
/// values go to [`write_formatted`].
mod exact {
    /// 10^20: the first of the 21 digits has this weight.
    const E20: u128 = 100_000_000_000_000_000_000;

    /// Writes `%.20e` of finite `x` and returns `true`, or returns `false` having written
    /// nothing when `x` is out of this path's range.
    pub(super) fn write(out: &mut Vec<u8>, x: f64) -> bool {
        let bits = x.to_bits();
        let negative = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1 << 52) - 1);
        if biased == 0 {
            if fraction != 0 {
                return false; // subnormal: far below this path's range
            }
            put(out, negative, 0, 0);
            return true;
        }
        let (m, e) = (fraction | 1 << 52, biased - 1075);
        // floor(log10(2^p)) for the top bit's weight 2^p: k is this or one more.
        let p = e + 52;
        let mut k = (p * 78_913) >> 18;
        let Some(mut digits) = scaled(m, e, 20 - k) else {
            return false;
        };
        if digits.truncated >= 10 * E20 {
            k += 1;
            let Some(again) = scaled(m, e, 20 - k) else {
                return false;
            };
            digits = again;
        }
        if digits.truncated < E20 {
            // The estimate of k was one too high: it is a floor, so this never happens.
            return false;
        }
        let q = digits.rounded();
        if q >= 10 * E20 {
            // Rounding up to the next power of ten would take a double within 5e-21 (relative)
            // below it, and doubles are ~1e-16 apart: this never happens, but would be
            // handled.
            return false;
        }
        put(out, negative, q, k);
        true
    }

    /// `m·2^e·10^s` as an integer part and what decides its rounding.
    struct Scaled {
        truncated: u128,
        /// The remainder against the divisor's half: below, at, or above it.
        rest: std::cmp::Ordering,
    }

    impl Scaled {
        fn rounded(&self) -> u128 {
            use std::cmp::Ordering::{Equal, Greater, Less};
            match self.rest {
                Less => self.truncated,
                Equal if self.truncated % 2 == 0 => self.truncated,
                Equal | Greater => self.truncated + 1,
            }
        }
    }

    /// 5^0 … 5^55: every power of five below 2^128.
    const POWERS_OF_FIVE: [u128; 56] = {
        let mut table = [1u128; 56];
        let mut i = 1;
        while i < table.len() {
            table[i] = table[i - 1] * 5;
            i += 1;
        }
        table
    };

    /// 5^`s` for `s` ≥ 0, `None` beyond 128 bits (as `checked_pow` answers, without its loop).
    fn power_of_five(s: i32) -> Option<u128> {
        POWERS_OF_FIVE.get(usize::try_from(s).ok()?).copied()
    }

    /// `None` when a step would not be exact in 128 bits.
    fn scaled(m: u64, e: i32, s: i32) -> Option<Scaled> {
        use std::cmp::Ordering::Less;
        let t = e + s;
        if s >= 0 {
            let n = u128::from(m).checked_mul(power_of_five(s)?)?;
            if t >= 0 {
                // An integer already: nothing to round.
                let truncated = n.checked_shl(t as u32).filter(|q| q >> t == n)?;
                return Some(Scaled {
                    truncated,
                    rest: Less,
                });
            }
            let shift = (-t) as u32;
            if shift >= 128 {
                return None;
            }
            let rest = n & ((1u128 << shift) - 1);
            Some(Scaled {
                truncated: n >> shift,
                rest: rest.cmp(&(1u128 << (shift - 1))),
            })
        } else {
            let divisor = power_of_five(-s)?;
            if !(0..=74).contains(&t) {
                return None;
            }
            let n = u128::from(m) << t;
            // rest < divisor < 2^127: doubling it cannot overflow.
            let rest = n % divisor;
            Some(Scaled {
                truncated: n / divisor,
                rest: (2 * rest).cmp(&divisor),
            })
        }
    }

    /// `[-]d.dddddddddddddddddddde±kk` of the 21 digits `q` (`q < 10^21`).
    fn put(out: &mut Vec<u8>, negative: bool, q: u128, k: i32) {
        let mut text = [0u8; 32];
        let mut len = 0;
        if negative {
            text[0] = b'-';
            len = 1;
        }
        // q < 10^21, so each half fits in a u64. The high half is q / 10^10 taken as
        // (q / 2^10) / 5^10, a 64-bit division (q / 2^10 < 2^60) that compiles to a product,
        // where a 128-bit division is a call.
        let high = ((q >> 10) as u64) / 9_765_625;
        let low = (q - u128::from(high) * 10_000_000_000) as u64;
        let mut digits = [0u8; 21];
        fill(&mut digits[..11], high);
        fill(&mut digits[11..], low);
        text[len] = digits[0];
        text[len + 1] = b'.';
        text[len + 2..len + 22].copy_from_slice(&digits[1..]);
        len += 22;
        text[len] = b'e';
        text[len + 1] = if k < 0 { b'-' } else { b'+' };
        len += 2;
        let k = k.unsigned_abs();
        if k >= 100 {
            text[len] = b'0' + (k / 100) as u8;
            len += 1;
        }
        text[len] = b'0' + (k / 10 % 10) as u8;
        text[len + 1] = b'0' + (k % 10) as u8;
        out.extend_from_slice(&text[..len + 2]);
    }

    /// `to` filled with the decimal digits of `v`, zero-padded on the left: two at a time.
    fn fill(to: &mut [u8], mut v: u64) {
        let mut end = to.len();
        while end >= 2 {
            let pair = 2 * (v % 100) as usize;
            to[end - 2..end].copy_from_slice(&PAIRS[pair..pair + 2]);
            v /= 100;
            end -= 2;
        }
        if end == 1 {
            to[0] = b'0' + (v % 10) as u8;
        }
    }

    /// `00`, `01`, … `99`.
    const PAIRS: [u8; 200] = {
        let mut table = [0u8; 200];
        let mut i = 0;
        while i < 100 {
            table[2 * i] = b'0' + (i / 10) as u8;
            table[2 * i + 1] = b'0' + (i % 10) as u8;
            i += 1;
        }
        table
    };
}

/// Parses an Erlang float literal: `[+-]digits.digits[(e|E)[+-]digits]`. `1` and `1e5` are not
/// floats in Erlang and are rejected, as are values that overflow to infinity.
///
/// ```
/// use ferrobeam_structured::float::parse_float;
/// assert_eq!(parse_float(b"-2.5e-3").unwrap(), -0.0025);
/// assert!(parse_float(b"1").is_err());
/// assert!(parse_float(b"1e5").is_err());
/// ```
pub fn parse_float(text: &[u8]) -> Result<f64, Error> {
    let bad = || Error::BadFloat(crate::error::snippet(text));
    let literal = Literal::read(text).ok_or_else(bad)?;
    if let Some(value) = literal.exact() {
        return Ok(value);
    }
    // Printable ASCII, checked above.
    let value: f64 = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(bad)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(bad())
    }
}

/// An Erlang float literal, read in one pass: its sign, and its digits as `mantissa·10^exponent`
/// when the significant ones fit in a `u64`.
struct Literal {
    negative: bool,
    /// The digits without leading or trailing zeros; `None` when they do not fit.
    mantissa: Option<u64>,
    /// The power of ten the mantissa is scaled by (capped far beyond any finite double's).
    exponent: i32,
}

impl Literal {
    /// Reads `[+-]digits.digits[(e|E)[+-]digits]` and nothing else.
    fn read(text: &[u8]) -> Option<Literal> {
        let mut at = 0;
        let negative = match text.first() {
            Some(b'-') => {
                at += 1;
                true
            }
            Some(b'+') => {
                at += 1;
                false
            }
            _ => false,
        };
        let mut mantissa = Some(0u64);
        // Zeros read since the last other digit: they count only if another digit follows.
        let mut zeros = 0u32;
        let mut exponent = 0i32;
        let mut digits = |at: &mut usize, fraction: bool| {
            let start = *at;
            while let Some(&c) = text.get(*at).filter(|c| c.is_ascii_digit()) {
                *at += 1;
                if fraction {
                    exponent = exponent.saturating_sub(1);
                }
                if c == b'0' {
                    zeros = zeros.saturating_add(1);
                    continue;
                }
                mantissa = mantissa.and_then(|m| {
                    10u64
                        .checked_pow(zeros.saturating_add(1))?
                        .checked_mul(m)?
                        .checked_add(u64::from(c - b'0'))
                });
                zeros = 0;
            }
            *at > start
        };
        if !digits(&mut at, false) || text.get(at) != Some(&b'.') {
            return None;
        }
        at += 1;
        if !digits(&mut at, true) {
            return None;
        }
        // Trailing zeros scale the mantissa (the fraction's were counted in the exponent).
        exponent = exponent.saturating_add_unsigned(zeros);
        if matches!(text.get(at), Some(b'e' | b'E')) {
            at += 1;
            let sign = match text.get(at) {
                Some(b'-') => {
                    at += 1;
                    -1
                }
                Some(b'+') => {
                    at += 1;
                    1
                }
                _ => 1,
            };
            let start = at;
            let mut written = 0i32;
            while let Some(&c) = text.get(at).filter(|c| c.is_ascii_digit()) {
                at += 1;
                written = (written * 10 + i32::from(c - b'0')).min(100_000);
            }
            if at == start {
                return None;
            }
            exponent = exponent.saturating_add(sign * written);
        }
        (at == text.len()).then_some(Literal {
            negative,
            mantissa,
            exponent,
        })
    }

    /// The value, when one rounding gives it exactly: a mantissa of at most 53 bits is a
    /// double as it is, as is 10^k for k ≤ 22, so one product or quotient of the two is the
    /// correctly rounded value (Clinger's fast path), as `str::parse` gives it.
    fn exact(&self) -> Option<f64> {
        /// 10^0 … 10^22, each a double exactly.
        const POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        let mantissa = self.mantissa.filter(|&m| m < 1 << 53)?;
        let power = *POWERS.get(self.exponent.unsigned_abs() as usize)?;
        let magnitude = if mantissa == 0 {
            0.0
        } else if self.exponent < 0 {
            mantissa as f64 / power
        } else {
            mantissa as f64 * power
        };
        Some(if self.negative { -magnitude } else { magnitude })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::splitmix::random;

    #[test]
    fn formats_like_printf() {
        let cases = [
            (0.0, "0.00000000000000000000e+00"),
            (-0.0, "-0.00000000000000000000e+00"),
            (-2.25, "-2.25000000000000000000e+00"),
            (0.1, "1.00000000000000005551e-01"),
            (1e-7, "9.99999999999999954748e-08"),
            (123456.789, "1.23456789000000004307e+05"),
            (5e-324, "4.94065645841246544177e-324"),
            (f64::MAX, "1.79769313486231570815e+308"),
        ];
        for (x, want) in cases {
            assert_eq!(format_float(x).ok().as_deref(), Some(want), "{x}");
        }
    }

    /// The 128-bit path against Rust's exact formatting, whenever it takes a value.
    fn check(x: f64) -> bool {
        let mut fast = Vec::new();
        let taken = exact::write(&mut fast, x);
        if taken {
            let mut slow = Vec::new();
            write_formatted(&mut slow, x);
            assert_eq!(
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&slow),
                "{x:e} ({:#018x})",
                x.to_bits()
            );
        }
        taken
    }

    #[test]
    fn the_integer_path_writes_what_exact_formatting_writes() {
        let mut state = 7;
        let (mut taken, mut tried) = (0, 0);
        // Every exponent, random mantissas and signs.
        while tried < 400_000 {
            let x = f64::from_bits(random(&mut state));
            if x.is_finite() {
                tried += 1;
                taken += usize::from(check(x));
            }
        }
        // The floats messages hold: short decimals, integers, and their neighbours.
        for _ in 0..200_000 {
            let digits = random(&mut state) % 10_000_000;
            let scale = (random(&mut state) % 40) as i32 - 20;
            let x = digits as f64 * 10f64.powi(scale);
            for y in [x, x.next_up(), x.next_down(), -x] {
                taken += usize::from(check(y));
            }
        }
        // Powers of two and ten, and either side of them, across the whole range.
        for p in -1074..=1023 {
            let x = 2f64.powi(p);
            for y in [x, x.next_up(), x.next_down()] {
                check(y);
            }
        }
        for p in -323..=308 {
            let x: f64 = format!("1e{p}").parse().unwrap_or(1.0);
            for y in [
                x,
                x.next_up(),
                x.next_down(),
                9.5 * x,
                9.999_999_999_999_999 * x,
            ] {
                check(y);
            }
        }
        for x in [
            0.0,
            -0.0,
            1.0,
            0.1,
            0.5,
            1e-12,
            1e45,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            check(x);
        }
        // Most of what messages hold takes this path (else it would be pointless).
        assert!(taken > 600_000, "{taken}");
    }

    #[test]
    fn ties_round_to_even_as_exact_formatting_does() {
        // x = j·2^(k−21) with j odd and 5^(21−k)·j a 22-digit number is that number·10^(k−21):
        // exactly 22 significant digits, the last a 5, so its 21-digit rounding is a tie. j must
        // stay below 2^53 to be exact, which holds for k ≤ 12, and 5^(21−k) below 10^22, which
        // holds for k ≥ −10.
        let mut state = 11;
        let mut ties = 0;
        for k in -10..=12 {
            let five = 5u128.pow((21 - k) as u32);
            let (low, high) = (10u128.pow(21).div_ceil(five), 10u128.pow(22) / five);
            for _ in 0..1_000 {
                let j = (low + u128::from(random(&mut state)) % (high - low)) | 1;
                if j >= high || j >= 1 << 53 {
                    continue;
                }
                let x = j as f64 * 2f64.powi(k - 21);
                assert!(check(x), "{x:e} is in the integer path's range");
                ties += 1;
            }
        }
        assert!(ties > 20_000, "{ties}");
        // Pinned, one tie each way: 1 + 2^-21 = 1.000000476837158203125 keeps its even 2;
        // 1 + 3·2^-21 = 1.000001430511474609375 rounds its odd 7 up.
        assert_eq!(
            format_float(1.0 + 2f64.powi(-21)).ok().as_deref(),
            Some("1.00000047683715820312e+00")
        );
        assert_eq!(
            format_float(1.0 + 3.0 * 2f64.powi(-21)).ok().as_deref(),
            Some("1.00000143051147460938e+00")
        );
    }

    #[test]
    fn parses_erlang_literals_only() {
        assert_eq!(parse_float(b"1.5").ok(), Some(1.5));
        assert_eq!(parse_float(b"+1.5E+00").ok(), Some(1.5));
        for bad in [
            &b"1"[..],
            b"1e5",
            b".5",
            b"1.",
            b"1.5e",
            b"1.5x",
            b"",
            b"1.0e999",
            b"nan",
        ] {
            assert!(parse_float(bad).is_err(), "{bad:?}");
        }
    }

    /// What `parse_float` reads a valid literal as: Rust's parse of the text.
    fn by_rust(text: &str) -> Option<f64> {
        text.parse().ok().filter(|x: &f64| x.is_finite())
    }

    #[test]
    fn the_one_rounding_path_reads_what_rust_reads() {
        let mut state = 5;
        let mut taken = 0;
        let digits = |n: u64, state: &mut u64| -> String {
            let n = 1 + random(state) % n;
            (0..n)
                .map(|_| char::from(b'0' + (random(state) % 10) as u8))
                .collect()
        };
        for i in 0..300_000 {
            // Short and long digit runs, zeros at either end, every form of exponent.
            let (int, frac) = (
                digits(10, &mut state),
                digits(if i % 2 == 0 { 6 } else { 22 }, &mut state),
            );
            let pad = "0".repeat((random(&mut state) % 4) as usize);
            let sign = ["", "-", "+"][(random(&mut state) % 3) as usize];
            let exp = match random(&mut state) % 5 {
                0 => String::new(),
                1 => format!("e{}", random(&mut state) % 30),
                2 => format!("e-{:02}", random(&mut state) % 40),
                3 => format!("E+{}", random(&mut state) % 330),
                _ => format!("e-{}", random(&mut state) % 330),
            };
            let text = format!("{sign}{pad}{int}.{frac}{pad}{exp}");
            let literal = Literal::read(text.as_bytes()).expect("a literal");
            if let Some(x) = literal.exact() {
                taken += 1;
                assert_eq!(
                    Some(x.to_bits()),
                    by_rust(&text).map(f64::to_bits),
                    "{text}"
                );
            }
            assert_eq!(
                parse_float(text.as_bytes()).ok().map(f64::to_bits),
                by_rust(&text).map(f64::to_bits),
                "{text}"
            );
        }
        // What encoders write takes it: `1.5e+00`, and this codec's 20 digits when they end
        // in zeros.
        for (text, x) in [
            ("1.5e+00", 1.5),
            ("-2.50000000000000000000e+00", -2.5),
            ("1.23456789000000000000e+05", 123_456.789),
            ("0.0", 0.0),
            ("-0.0e+00", -0.0),
        ] {
            let exact = Literal::read(text.as_bytes()).and_then(|l| l.exact());
            assert_eq!(exact.map(f64::to_bits), Some(f64::to_bits(x)), "{text}");
        }
        assert!(taken > 100_000, "{taken}");
    }

    #[test]
    fn round_trips() {
        for x in [1.5, 0.8, -1e-300, std::f64::consts::PI, 1e21, 123e-20] {
            let text = format_float(x).unwrap_or_default();
            assert_eq!(parse_float(text.as_bytes()).ok(), Some(x));
        }
    }
}
