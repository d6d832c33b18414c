//! Strict JSON in, RFC 8785 (JCS) canonical JSON out.
//!
//! [`parse_json`] accepts RFC 8259 JSON and additionally refuses what would make canonical bytes
//! ambiguous or lossy:
//! - invalid UTF-8 and lone surrogate escapes (`"\ud800"`);
//! - duplicate object keys, compared after unescaping (serde_json would silently keep the last);
//! - nesting deeper than a limit (an array or object is one level; scalars are level 0);
//! - **unsafe integers**: JCS writes every number as an IEEE 754 double, so an integer beyond
//!   ±(2^53−1) would silently change (`9007199254740993` becomes `9007199254740992`). Such
//!   integers must travel as strings. Refused are integer literals beyond ±(2^53−1), and any
//!   number whose canonical form would be one (an integral value with 2^53 ≤ |x| < 10^21, e.g.
//!   `1e20`). Other numbers are fine and take their JCS form (`1.0` → `1`, `1e21` → `1e+21`).
//!
//! This is a small hand-written parser rather than a serde visitor: serde_json hands a visitor
//! `1e21` and `1000000000000000000001` as the same `f64`, and only the literal tells them apart.
//! Errors name the JSON path (`$.prices[3]`); no input makes the parser panic, and its recursion
//! is bounded by [`DEPTH_CEILING`].

use serde_json::{Map, Number, Value};

use super::{Limits, RecordError};

/// The largest integer JCS (and JavaScript) represent exactly: 2^53 − 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Depth limits above this are treated as this (serde_json's own recursion limit), so that
/// no configuration can let an input exhaust the stack.
pub const DEPTH_CEILING: usize = 128;

/// Doubles at or above this are written with an exponent by JCS (`1e+21`).
const EXPONENT_FORM_FROM: f64 = 1e21;

/// One step of a JSON path.
enum Step {
    Key(String),
    Index(usize),
}

fn render_path(steps_innermost_first: &[Step]) -> String {
    let mut path = String::from("$");
    for step in steps_innermost_first.iter().rev() {
        match step {
            Step::Index(i) => path.push_str(&format!("[{i}]")),
            Step::Key(k) => {
                let plain = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if plain {
                    path.push('.');
                    path.push_str(k);
                } else {
                    path.push('[');
                    path.push_str(&Value::String(k.clone()).to_string());
                    path.push(']');
                }
            }
        }
    }
    path
}

enum Fault {
    Syntax(usize, &'static str),
    Duplicate(String),
    TooDeep(usize),
    UnsafeInteger,
    OutOfRange,
}

/// A parse failure and the path to it, innermost step first (filled in while unwinding).
struct Failure {
    fault: Fault,
    path: Vec<Step>,
}

impl Failure {
    fn at(mut self, step: Step) -> Self {
        self.path.push(step);
        self
    }

    fn into_error(self) -> RecordError {
        let path = render_path(&self.path);
        match self.fault {
            Fault::Syntax(offset, reason) => RecordError::Syntax { offset, reason },
            Fault::Duplicate(key) => RecordError::DuplicateKey { path, key },
            Fault::TooDeep(limit) => RecordError::TooDeep { path, limit },
            Fault::UnsafeInteger => RecordError::UnsafeInteger { path },
            Fault::OutOfRange => RecordError::NumberOutOfRange { path },
        }
    }
}

impl From<Fault> for Failure {
    fn from(fault: Fault) -> Self {
        Failure {
            fault,
            path: Vec::new(),
        }
    }
}

type Parsed<T> = Result<T, Failure>;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    max_depth: usize,
}

/// Parses a payload as strict JSON (see the module docs), nested at most
/// [`Limits::max_payload_depth`] deep.
pub fn parse_json(bytes: &[u8], limits: &Limits) -> Result<Value, RecordError> {
    parse_json_with_depth(bytes, limits.max_payload_depth)
}

/// Parses `bytes` as strict JSON (see the module docs), with containers nested at most
/// `max_depth` deep (capped at [`DEPTH_CEILING`]).
pub fn parse_json_with_depth(bytes: &[u8], max_depth: usize) -> Result<Value, RecordError> {
    let text = std::str::from_utf8(bytes).map_err(|e| RecordError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut p = Parser {
        text,
        pos: 0,
        max_depth: max_depth.min(DEPTH_CEILING),
    };
    p.document().map_err(Failure::into_error)
}

impl Parser<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn syntax<T>(&self, reason: &'static str) -> Parsed<T> {
        Err(Fault::Syntax(self.pos, reason).into())
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn document(&mut self) -> Parsed<Value> {
        self.skip_ws();
        let v = self.value(0)?;
        self.skip_ws();
        if self.pos != self.bytes().len() {
            return self.syntax("trailing characters after the value");
        }
        Ok(v)
    }

    /// A value nested inside `depth` containers.
    fn value(&mut self, depth: usize) -> Parsed<Value> {
        match self.peek() {
            None => self.syntax("unexpected end of input"),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(_) => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(value);
                    }
                }
                self.syntax("expected a JSON value")
            }
        }
    }

    fn enter(&self, depth: usize) -> Parsed<()> {
        if depth > self.max_depth {
            return Err(Fault::TooDeep(self.max_depth).into());
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Parsed<Value> {
        self.enter(depth)?;
        self.pos += 1; // '{'
        let mut map = Map::new();
        self.skip_ws();
        if self.eat(b'}') {
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return self.syntax("expected a string key");
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(b':') {
                return self.syntax("expected ':'");
            }
            self.skip_ws();
            let value = match self.value(depth) {
                Ok(v) => v,
                Err(f) => return Err(f.at(Step::Key(key))),
            };
            if map.contains_key(&key) {
                return Err(Fault::Duplicate(key).into());
            }
            map.insert(key, value);
            self.skip_ws();
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            if !self.eat(b',') {
                return self.syntax("expected ',' or '}'");
            }
        }
    }

    fn array(&mut self, depth: usize) -> Parsed<Value> {
        self.enter(depth)?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            match self.value(depth) {
                Ok(v) => items.push(v),
                Err(f) => return Err(f.at(Step::Index(items.len()))),
            }
            self.skip_ws();
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return self.syntax("expected ',' or ']'");
            }
        }
    }

    fn hex4(&mut self) -> Parsed<u32> {
        let Some(digits) = self.text.get(self.pos..self.pos + 4) else {
            return self.syntax("truncated \\u escape");
        };
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.syntax("invalid \\u escape");
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).or_else(|_| self.syntax("invalid \\u escape"))
    }

    fn string(&mut self) -> Parsed<String> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // Stops only at ASCII bytes, so both ends are char boundaries.
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                None => return self.syntax("unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return self.syntax("invalid escape"),
                    };
                    self.pos += 1;
                    out.push(escaped);
                }
                Some(_) => return self.syntax("control character in string"),
            }
        }
    }

    /// After `\u`: one code point, from a single escape or a surrogate pair.
    fn unicode_escape(&mut self) -> Parsed<char> {
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if !self.bytes()[self.pos..].starts_with(b"\\u") {
                    return self.syntax("lone surrogate");
                }
                self.pos += 2;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return self.syntax("lone surrogate");
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return self.syntax("lone surrogate"),
            c => c,
        };
        char::from_u32(code).map_or_else(|| self.syntax("invalid \\u escape"), Ok)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Parsed<Number> {
        let start = self.pos;
        self.eat(b'-');
        let int_start = self.pos;
        match self.digits() {
            0 => return self.syntax("expected a digit"),
            n if n > 1 && self.bytes()[int_start] == b'0' => {
                self.pos = int_start;
                return self.syntax("leading zero");
            }
            _ => {}
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            if self.digits() == 0 {
                return self.syntax("expected a digit after '.'");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return self.syntax("expected a digit in the exponent");
            }
        }
        let literal = &self.text[start..self.pos];
        if integer {
            let magnitude = literal.trim_start_matches('-');
            // 2^53 − 1 has 16 digits; longer literals cannot be safe (no leading zeros).
            let value = match magnitude.parse::<u64>() {
                Ok(m) if magnitude.len() <= 16 && m <= MAX_SAFE_INTEGER => m,
                _ => return Err(Fault::UnsafeInteger.into()),
            };
            return Ok(match (literal.starts_with('-'), value) {
                // As serde_json: `-0` is the double −0.0 (canonical form `0`).
                (true, 0) => Number::from_f64(-0.0).ok_or(Fault::OutOfRange)?,
                (true, m) => Number::from(-(m as i64)),
                (false, m) => Number::from(m),
            });
        }
        let x: f64 = literal.parse().map_err(|_| Fault::OutOfRange)?;
        float_number(x).map_err(Into::into)
    }
}

/// A finite double that does not canonicalise to an unsafe integer.
fn float_number(x: f64) -> Result<Number, Fault> {
    if !x.is_finite() {
        return Err(Fault::OutOfRange);
    }
    if x.fract() == 0.0 && x.abs() > MAX_SAFE_INTEGER as f64 && x.abs() < EXPONENT_FORM_FROM {
        return Err(Fault::UnsafeInteger);
    }
    Number::from_f64(x).ok_or(Fault::OutOfRange)
}

fn safe_number(n: &Number) -> Result<(), Fault> {
    if let Some(u) = n.as_u64() {
        return if u <= MAX_SAFE_INTEGER {
            Ok(())
        } else {
            Err(Fault::UnsafeInteger)
        };
    }
    if let Some(i) = n.as_i64() {
        return if i.unsigned_abs() <= MAX_SAFE_INTEGER {
            Ok(())
        } else {
            Err(Fault::UnsafeInteger)
        };
    }
    float_number(n.as_f64().ok_or(Fault::OutOfRange)?).map(drop)
}

/// Checks the number rule everywhere in `value`, and that it nests at most [`DEPTH_CEILING`]
/// deep (the recursion stops there).
fn check_value(value: &Value, depth: usize) -> Parsed<()> {
    match value {
        Value::Number(n) => safe_number(n).map_err(Into::into),
        Value::Array(items) => {
            if depth + 1 > DEPTH_CEILING {
                return Err(Fault::TooDeep(DEPTH_CEILING).into());
            }
            for (i, item) in items.iter().enumerate() {
                check_value(item, depth + 1).map_err(|f| f.at(Step::Index(i)))?;
            }
            Ok(())
        }
        Value::Object(map) => {
            if depth + 1 > DEPTH_CEILING {
                return Err(Fault::TooDeep(DEPTH_CEILING).into());
            }
            for (k, item) in map {
                check_value(item, depth + 1).map_err(|f| f.at(Step::Key(k.clone())))?;
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

/// The RFC 8785 (JCS) canonical bytes of `value`: object keys sorted by UTF-16 code units, no
/// whitespace, numbers in their shortest round-trip double form, minimal string escapes.
/// Applies the integer rule of [`parse_json`] and refuses nesting beyond [`DEPTH_CEILING`].
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, RecordError> {
    check_value(value, 0).map_err(Failure::into_error)?;
    serde_json_canonicalizer::to_vec(value).map_err(|e| RecordError::Canonicalization {
        reason: e.to_string(),
    })
}

/// How many containers deep `value` nests: 0 for a scalar, 1 for `[]` or `{"a":1}`.
/// Iterative, so any value is safe to measure.
pub fn nesting_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    deepest
}

#[cfg(test)]
pub(crate) mod tests;
