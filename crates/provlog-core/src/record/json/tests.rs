//! Strict parsing and JCS: RFC 8785's own examples, the integer rule at its boundaries, paths in
//! errors, depth limits, and differential tests against serde_json on valid input.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::record::MAX_PAYLOAD_DEPTH;

fn parse(text: &str) -> Result<Value, RecordError> {
    parse_json(text.as_bytes(), &Limits::default())
}

fn jcs(text: &str) -> String {
    String::from_utf8(canonicalize(&parse(text).unwrap()).unwrap()).unwrap()
}

fn unsafe_at(path: &str) -> RecordError {
    RecordError::UnsafeInteger { path: path.into() }
}

/// RFC 8785 §3.2.2, the sample object (also checked byte by byte against the RFC's hex dump).
#[test]
fn rfc8785_sample_object() {
    let input = r#"{
        "numbers": [333333333.33333329, 1E30, 4.50,
                    2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
    }"#;
    let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    assert_eq!(jcs(input), expected);
    let hex_dump = "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
                    75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
                    5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
                    65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
                    5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
                    30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d";
    let hex_dump: String = hex_dump.split_whitespace().collect();
    assert_eq!(hex::encode(jcs(input)), hex_dump);
}

/// RFC 8785 §3.2.3: properties sorted by UTF-16 code units, not by code points or UTF-8.
#[test]
fn rfc8785_sorting() {
    let input = r#"{
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\ud83d\ude00": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                    \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                    \"\u{1f600}\":\"Emoji: Grinning Face\",\
                    \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(jcs(input), expected);
    // U+FF61 < U+1F600 as code points, but 0xFF61 > 0xD83D as UTF-16 code units.
    assert_eq!(
        jcs("{\"\u{ff61}\":1,\"\u{1f600}\":2}"),
        "{\"\u{1f600}\":2,\"\u{ff61}\":1}"
    );
}

/// RFC 8785 Appendix B: IEEE 754 doubles and their canonical text. Integral values between 2^53
/// and 10^21 print as unsafe integers, which our rule refuses (the library alone prints them).
#[test]
fn rfc8785_numbers() {
    let cases: [(u64, &str, bool); 22] = [
        (0x0000000000000000, "0", true),
        (0x8000000000000000, "0", true),
        (0x0000000000000001, "5e-324", true),
        (0x8000000000000001, "-5e-324", true),
        (0x7fefffffffffffff, "1.7976931348623157e+308", true),
        (0xffefffffffffffff, "-1.7976931348623157e+308", true),
        (0x4340000000000000, "9007199254740992", false),
        (0xc340000000000000, "-9007199254740992", false),
        (0x4430000000000000, "295147905179352830000", false),
        (0x44b52d02c7e14af5, "9.999999999999997e+22", true),
        (0x44b52d02c7e14af6, "1e+23", true),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23", true),
        (0x444b1ae4d6e2ef4e, "999999999999999700000", false),
        (0x444b1ae4d6e2ef4f, "999999999999999900000", false),
        (0x444b1ae4d6e2ef50, "1e+21", true),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7", true),
        (0x3eb0c6f7a0b5ed8d, "0.000001", true),
        (0x41b3de4355555553, "333333333.3333332", true),
        (0x41b3de4355555554, "333333333.33333325", true),
        (0x41b3de4355555555, "333333333.3333333", true),
        (0xbecbf647612f3696, "-0.0000033333333333333333", true),
        (0x43143ff3c1cb0959, "1424953923781206.2", true),
    ];
    for (bits, text, safe) in cases {
        let value = Value::from(f64::from_bits(bits));
        let raw = serde_json_canonicalizer::to_vec(&value).unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), text, "{bits:#x}");
        if safe {
            assert_eq!(canonicalize(&value).unwrap(), text.as_bytes(), "{bits:#x}");
            // The canonical text parses back to the same double.
            assert_eq!(parse(text).unwrap().as_f64(), Some(f64::from_bits(bits)));
        } else {
            assert_eq!(canonicalize(&value), Err(unsafe_at("$")), "{bits:#x}");
            assert_eq!(parse(text), Err(unsafe_at("$")), "{text}");
        }
    }
    assert_eq!(jcs("1e21"), "1e+21");
    assert_eq!(jcs("0.000001"), "0.000001");
    assert_eq!(jcs("-0"), "0");
    assert_eq!(jcs("-0.0"), "0");
    assert_eq!(jcs("1.0"), "1");
    assert_eq!(jcs("[1E2, 1e-7, 12.50]"), "[100,1e-7,12.5]");
}

#[test]
fn integer_boundary() {
    assert_eq!(
        parse("9007199254740991").unwrap(),
        json!(9_007_199_254_740_991u64)
    );
    assert_eq!(
        parse("-9007199254740991").unwrap(),
        json!(-9_007_199_254_740_991i64)
    );
    for unsafe_int in [
        "9007199254740992",
        "-9007199254740992",
        "18446744073709551616",
        "1000000000000000000001",
        "123456789012345678901234567890",
        "1e20",
        "9007199254740993.0",
        "12345678901234567890.5",
    ] {
        assert_eq!(parse(unsafe_int), Err(unsafe_at("$")), "{unsafe_int}");
    }
    assert_eq!(
        parse(r#"{"prices":[1,2.5,3,9007199254740993]}"#),
        Err(unsafe_at("$.prices[3]"))
    );
    assert_eq!(
        parse(r#"{"a b":[{"c":[0,-9007199254740992]}]}"#),
        Err(unsafe_at(r#"$["a b"][0].c[1]"#))
    );
    // As strings they travel unchanged.
    assert_eq!(
        jcs(r#"{"wei":"9007199254740993"}"#),
        r#"{"wei":"9007199254740993"}"#
    );
    // Large non-integral magnitudes are written with an exponent: fine.
    assert_eq!(jcs("1.5e300"), "1.5e+300");

    assert_eq!(
        canonicalize(&json!(9_007_199_254_740_991u64)).unwrap(),
        b"9007199254740991"
    );
    assert_eq!(
        canonicalize(&json!({"x": [u64::MAX]})),
        Err(unsafe_at("$.x[0]"))
    );
    assert_eq!(canonicalize(&json!(i64::MIN)), Err(unsafe_at("$")));
    assert_eq!(canonicalize(&json!(1e20)), Err(unsafe_at("$")));
}

#[test]
fn out_of_range_numbers() {
    assert_eq!(
        parse("[1e400]"),
        Err(RecordError::NumberOutOfRange {
            path: "$[0]".into()
        })
    );
    assert_eq!(
        parse("-1e400"),
        Err(RecordError::NumberOutOfRange { path: "$".into() })
    );
    assert_eq!(jcs("1e-400"), "0");
}

#[test]
fn duplicate_keys() {
    assert_eq!(
        parse(r#"{"a":{"b":1,"c":2,"b":3}}"#),
        Err(RecordError::DuplicateKey {
            path: "$.a".into(),
            key: "b".into()
        })
    );
    // Compared after unescaping.
    assert_eq!(
        parse(r#"[{"a":1,"\u0061":2}]"#),
        Err(RecordError::DuplicateKey {
            path: "$[0]".into(),
            key: "a".into()
        })
    );
    assert!(parse(r#"{"a":1,"A":2,"a ":3}"#).is_ok());
}

#[test]
fn depth_limit() {
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(parse(&nested(MAX_PAYLOAD_DEPTH)).is_ok());
    let err = parse(&nested(MAX_PAYLOAD_DEPTH + 1)).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::TooDeep {
                limit: MAX_PAYLOAD_DEPTH,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        parse_json_with_depth(br#"{"a":[[1]]}"#, 2),
        Err(RecordError::TooDeep {
            path: "$.a[0]".into(),
            limit: 2
        })
    );
    assert_eq!(parse_json_with_depth(b"1", 0).unwrap(), json!(1));
    assert!(parse_json_with_depth(b"{}", 0).is_err());
    // Neither a huge input nor a huge configured limit can exhaust the stack.
    let deep = "[".repeat(1_000_000);
    assert_eq!(
        parse_json_with_depth(deep.as_bytes(), usize::MAX).unwrap_err(),
        RecordError::TooDeep {
            path: format!("${}", "[0]".repeat(DEPTH_CEILING)),
            limit: DEPTH_CEILING
        }
    );
    let mut v = json!(1);
    for _ in 0..DEPTH_CEILING {
        v = json!([v]);
    }
    assert_eq!(nesting_depth(&v), DEPTH_CEILING);
    assert!(canonicalize(&v).is_ok());
    let v = json!([v]);
    assert!(matches!(canonicalize(&v), Err(RecordError::TooDeep { .. })));
    assert_eq!(nesting_depth(&json!("x")), 0);
    assert_eq!(nesting_depth(&json!({"a": [1, {"b": []}], "c": {}})), 4);
}

#[test]
fn invalid_utf8_and_surrogates() {
    for (bytes, offset) in [
        (&b"\"\xff\""[..], 1),
        (b"\"a\xc0\xaf\"", 2),      // overlong '/'
        (b"[\"\xed\xa0\x80\"]", 2), // UTF-8 encoded surrogate
        (b"\"\xe2\x82\"", 1),       // truncated sequence
    ] {
        assert_eq!(
            parse_json(bytes, &Limits::default()),
            Err(RecordError::InvalidUtf8 { offset })
        );
    }
    for lone in [
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud800\u0041""#,
        r#""\ud800x""#,
    ] {
        assert!(
            matches!(
                parse(lone),
                Err(RecordError::Syntax {
                    reason: "lone surrogate",
                    ..
                })
            ),
            "{lone}"
        );
    }
    assert_eq!(parse(r#""\ud83d\ude00""#).unwrap(), json!("\u{1f600}"));
}

#[test]
fn syntax_errors() {
    for bad in [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        r#"{a:1}"#,
        "[1 2]",
        "1 2",
        "01",
        "-01",
        "1.",
        ".5",
        "+1",
        "1e",
        "1e+",
        "-",
        "--1",
        "NaN",
        "Infinity",
        "-Infinity",
        "tru",
        "nul",
        "True",
        "'a'",
        "\"a",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"\t\"",
        "\"\u{1}\"",
        "\u{feff}1",
        "[1]]",
        r#"{"a":1}}"#,
        "/* */ 1",
    ] {
        let err = parse(bad).unwrap_err();
        assert!(matches!(err, RecordError::Syntax { .. }), "{bad:?}: {err}");
    }
    assert_eq!(
        parse("[1,]"),
        Err(RecordError::Syntax {
            offset: 3,
            reason: "expected a JSON value"
        })
    );
    assert_eq!(
        parse(" \t\r\n[ 1 , {\"a\" : null } ]\n").unwrap(),
        json!([1, {"a": null}])
    );
}

#[test]
fn escapes_take_their_canonical_form() {
    assert_eq!(
        jcs(r#""\u0041\/\b\f\n\r\t\u001f\u007f\u2028""#),
        "\"A/\\b\\f\\n\\r\\t\\u001f\u{7f}\u{2028}\""
    );
}

/// JSON values without unsafe numbers; `integral_floats`: whether floats such as `3.0` (which
/// canonicalise to `3`, an integer) may appear.
pub(crate) fn arb_json(integral_floats: bool) -> impl Strategy<Value = Value> {
    let max = MAX_SAFE_INTEGER as i64;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-max..=max).prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite, safe, maybe non-integral", move |x| {
                float_number(*x).is_ok() && (integral_floats || x.fract() != 0.0)
            })
            .prop_map(Value::from),
        prop::collection::vec(any::<char>(), 0..8)
            .prop_map(|c| Value::String(c.into_iter().collect())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn agrees_with_serde_json_on_valid_json(v in arb_json(true), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
        prop_assert_eq!(parse(&text).unwrap(), serde_json::from_str::<Value>(&text).unwrap());
    }

    #[test]
    fn canonical_form_is_a_fixed_point(v in arb_json(true)) {
        let c1 = canonicalize(&v).unwrap();
        let back = parse_json(&c1, &Limits::default()).unwrap();
        prop_assert_eq!(canonicalize(&back).unwrap(), c1);
    }

    #[test]
    fn canonical_form_round_trips_without_integral_floats(v in arb_json(false)) {
        let c = canonicalize(&v).unwrap();
        prop_assert_eq!(parse_json(&c, &Limits::default()).unwrap(), v);
    }

    #[test]
    fn parse_json_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_json(&bytes, &Limits::default());
    }

    #[test]
    fn parse_json_never_panics_on_json_like_text(text in r#"[\[\]{}",:0-9eE.+\- \\u\\dDabfnrtlse"]{0,64}"#) {
        if let Ok(v) = parse(&text) {
            // Whatever it accepts, serde_json accepts as the same value.
            prop_assert_eq!(Some(v), serde_json::from_str::<Value>(&text).ok());
        }
    }
}
