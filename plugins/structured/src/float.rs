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
    let start = out.len();
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{x:.20e}");
    let Some(e) = out[start..].iter().position(|&c| c == b'e') else {
        return Ok(());
    };
    let exponent: i32 = std::str::from_utf8(&out[start + e + 1..])
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    out.truncate(start + e + 1);
    out.push(if exponent < 0 { b'-' } else { b'+' });
    let _ = write!(out, "{:02}", exponent.unsigned_abs());
    Ok(())
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
    if !is_erlang_float_literal(text) {
        return Err(bad());
    }
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

fn is_erlang_float_literal(text: &[u8]) -> bool {
    let mut i = 0;
    if matches!(text.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while text.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) || text.get(i) != Some(&b'.') {
        return false;
    }
    i += 1;
    if !digits(&mut i) {
        return false;
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn round_trips() {
        for x in [1.5, 0.8, -1e-300, std::f64::consts::PI, 1e21, 123e-20] {
            let text = format_float(x).unwrap_or_default();
            assert_eq!(parse_float(text.as_bytes()).ok(), Some(x));
        }
    }
}
