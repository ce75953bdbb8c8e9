//! Unit tests of the SF dialect.

use super::*;

#[test]
fn integers_have_at_most_15_digits() {
    assert_eq!(
        parse_item(b"999999999999999").map(|i| i.bare),
        Ok(BareItem::Integer(999_999_999_999_999))
    );
    assert_eq!(
        parse_item(b"-999999999999999").map(|i| i.bare),
        Ok(BareItem::Integer(-999_999_999_999_999))
    );
    assert!(parse_item(b"1234567890123456").is_err());
    assert!(parse_item(b"-").is_err());
    assert!(parse_item(b"----WebKit").is_err());
}

#[test]
fn decimals() {
    assert_eq!(
        parse_item(b"1.5").map(|i| i.bare),
        Ok(BareItem::Decimal(1.5))
    );
    assert_eq!(
        parse_item(b"-0.5").map(|i| i.bare),
        Ok(BareItem::Decimal(-0.5))
    );
    assert!(parse_item(b"1.").is_err());
    assert!(parse_item(b"1.2345").is_err());
    assert!(parse_item(b"1234567890123.5").is_err());
    assert_eq!(serialize_bare_item(&BareItem::Decimal(1.5)), b"1.5");
    assert_eq!(serialize_bare_item(&BareItem::Decimal(2.0)), b"2.0");
}

#[test]
fn strings_tokens_bytes_booleans() {
    assert_eq!(
        parse_item(br#""a\"b\\c""#).map(|i| i.bare),
        Ok(BareItem::String(br#"a"b\c"#.to_vec()))
    );
    assert!(parse_item(b"\"unterminated").is_err());
    assert!(parse_item(b"\"bad\\n\"").is_err());
    assert!(parse_item(b"\"tab\there\"").is_err());
    assert_eq!(
        parse_item(b"text/plain").map(|i| i.bare),
        Ok(BareItem::Token("text/plain".into()))
    );
    assert_eq!(
        parse_item(b":AQI=:").map(|i| i.bare),
        Ok(BareItem::ByteSequence(vec![1, 2]))
    );
    assert_eq!(
        parse_item(b":AQI:").map(|i| i.bare),
        Ok(BareItem::ByteSequence(vec![1, 2]))
    );
    assert!(parse_item(b":A=QI:").is_err());
    assert_eq!(
        parse_item(b"?1").map(|i| i.bare),
        Ok(BareItem::Boolean(true))
    );
    assert!(parse_item(b"?2").is_err());
}

#[test]
fn lists_and_inner_lists() {
    let l = parse_list(b"(\"a\" \"b\");p=1, x").unwrap_or_default();
    assert_eq!(l.len(), 2);
    assert_eq!(serialize_list(&l), b"(\"a\" \"b\");p=1, x");
    assert!(parse_list(b"a,").is_err());
    assert!(parse_list(b"a b").is_err());
    assert_eq!(parse_list(b"").map(|l| l.len()), Ok(0));
}

#[test]
fn dictionaries() {
    let d = parse_dictionary(b"a=1, a=2, B=x;p, -k").unwrap_or_default();
    assert_eq!(d.len(), 3);
    assert_eq!(d[0].1, Member::Item(Item::new(BareItem::Integer(2))));
    assert_eq!(serialize_dictionary(&d), b"a=2, B=x;p, -k");
    assert!(parse_dictionary(b"a=1 b=2").is_err());
    assert!(parse_dictionary(b"=1").is_err());
}

#[test]
fn params() {
    let item =
        parse_item(b"form-data;name=\"m\"").unwrap_or_else(|_| Item::new(BareItem::Boolean(false)));
    assert_eq!(item.param("name"), Some(&BareItem::String(b"m".to_vec())));
    assert!(parse_item(b"x;Name=1").is_err());
}
