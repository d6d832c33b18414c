//! Bad input over a real socket, against the real binary: every write route (and the body of
//! `POST /v1/verify`) gets truncated and malformed JSON, bodies over the limit (with a
//! `Content-Length` and streamed without one), JSON nested 10,000 deep (arrays and objects, as
//! the whole body, in a payload, in metadata, in a source's schema), huge numbers, duplicate
//! keys, lone surrogates, invalid UTF-8, a BOM, NUL bytes, an empty body, and wrong or missing
//! `Content-Type`s; routes get wrong methods; read routes get absurd query parameters (negative
//! and overflowing indexes and sizes, huge pages, duplicates); and requests get overlong paths,
//! queries and headers. Requests are written byte for byte on a TCP socket (no HTTP client
//! library normalises them).
//!
//! Each must be answered with a 4xx whose body is an RFC 9457 problem
//! (`application/problem+json` with `type`, `title` and `status`); a few edge values that are
//! well-formed (the largest u64 as a cursor) may instead get a 2xx JSON answer, never a 5xx.
//! Afterwards the server is still up and serving, no record was logged (the `records` table,
//! `GET /v1/log`) and no admin change was made (the audit trail), and a valid submission still
//! succeeds.
//!
//! `PROVLOG_BAD_INPUT_DEPTH` sets the nesting depth (default 10,000, the figure) and
//! `PROVLOG_BAD_INPUT_ROUNDS` repeats the whole set (default 1; every round also re-checks the
//! server).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use provlog_client::SourceSigner;
use provlog_e2e::{Fixture, Server, TestDb};
use serde_json::{json, Value};

/// The server's body limit in this test (the default is 16 MiB; smaller keeps the test quick).
const MAX_BODY: usize = 64 << 10;
/// The admin routes' own body limit (`MAX_ADMIN_BODY` in the server).
const MAX_ADMIN_BODY: usize = 1 << 20;

/// An HTTP/1.1 answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// One request, as bytes on the wire.
#[derive(Clone)]
struct Req {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    /// Send the body as chunks, without `Content-Length`.
    chunked: bool,
}

impl Req {
    fn new(method: &str, target: impl Into<String>) -> Req {
        Req {
            method: method.into(),
            target: target.into(),
            headers: vec![],
            body: None,
            chunked: false,
        }
    }

    fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Req {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn bearer(self, token: &str) -> Req {
        self.header("Authorization", format!("Bearer {token}"))
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = Some(body.into());
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            self.method, self.target
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"Connection: close\r\n");
        match (&self.body, self.chunked) {
            (Some(body), true) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in body.chunks(8192) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
            (Some(body), false) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            (None, _) => out.extend_from_slice(b"\r\n"),
        }
        out
    }
}

/// Writes the request (from another thread, so a server that answers before reading a large
/// body is still heard) and reads the answer until the server closes the connection.
fn send(addr: SocketAddr, req: &Req) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let bytes = req.bytes();
    let write = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
        let _ = writer.flush();
    });
    let mut raw = vec![];
    let mut buf = [0u8; 16384];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after the answer (the server closed with body bytes unread).
            Err(_) if !raw.is_empty() => break,
            Err(e) => panic!("{} {}: no answer: {e}", req.method, short(&req.target)),
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = write.join();
    parse_reply(&raw).unwrap_or_else(|e| {
        panic!(
            "{} {}: unreadable answer ({e}): {:?}",
            req.method,
            short(&req.target),
            String::from_utf8_lossy(&raw[..raw.len().min(500)])
        )
    })
}

fn parse_reply(raw: &[u8]) -> Result<Reply, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("no status line")?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        let mut body = vec![];
        let mut at = 0;
        loop {
            let line_end = rest[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("truncated chunk")?;
            let size_text =
                std::str::from_utf8(&rest[at..at + line_end]).map_err(|e| e.to_string())?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|e| e.to_string())?;
            at += line_end + 2;
            if size == 0 {
                break;
            }
            body.extend_from_slice(rest.get(at..at + size).ok_or("truncated chunk")?);
            at += size + 2;
        }
        body
    } else {
        let len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(rest.len());
        rest.get(..len).ok_or("truncated body")?.to_vec()
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn short(s: &str) -> String {
    if s.len() > 120 {
        format!("{}…({} bytes)", &s[..120], s.len())
    } else {
        s.to_string()
    }
}

/// What a case may be answered with.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// A 4xx problem.
    Problem,
    /// A 4xx problem or a 2xx JSON answer (a well-formed edge value); never a 5xx.
    ProblemOrJson,
}

struct Case {
    name: String,
    req: Req,
    expect: Expect,
}

fn case(cases: &mut Vec<Case>, name: impl Into<String>, req: Req) {
    cases.push(Case {
        name: name.into(),
        req,
        expect: Expect::Problem,
    });
}

/// Checks one answer; returns a failure description.
fn check(case: &Case, reply: &Reply) -> Result<(), String> {
    let ct = reply.header("content-type").unwrap_or("");
    let fail = |why: &str| {
        Err(format!(
            "{}: {} {} → {} ({ct}) {why}: {:?}",
            case.name,
            case.req.method,
            short(&case.req.target),
            reply.status,
            String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)])
        ))
    };
    if case.expect == Expect::ProblemOrJson && (200..300).contains(&reply.status) {
        return match serde_json::from_slice::<Value>(&reply.body) {
            Ok(_) if ct.starts_with("application/json") => Ok(()),
            _ => fail("a 2xx that is not JSON"),
        };
    }
    if !(400..500).contains(&reply.status) {
        return fail("not a 4xx");
    }
    if !ct.starts_with("application/problem+json") {
        return fail("not application/problem+json");
    }
    let Ok(Value::Object(p)) = serde_json::from_slice::<Value>(&reply.body) else {
        return fail("the body is not a JSON object");
    };
    let type_ok = p
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("urn:provlog:problem:"));
    let title_ok = p.get("title").and_then(Value::as_str).is_some();
    let status_ok = p.get("status").and_then(Value::as_u64) == Some(u64::from(reply.status));
    if !(type_ok && title_ok && status_ok) {
        return fail("not a problem with type, title and status");
    }
    Ok(())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `[[[…1…]]]`, `depth` deep.
fn deep_array(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"a":{"a":…1…}}`, `depth` deep.
fn deep_object(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

/// A JSON route: its target, token, and a valid body (accepted as it is).
struct JsonRoute {
    method: &'static str,
    target: String,
    token: String,
    valid: Value,
    /// Where nested, huge or odd values go in a body that is otherwise valid: a member name
    /// whose value the route parses.
    slots: Vec<&'static str>,
    /// The route's body limit.
    limit: usize,
    /// Whether a wrong `Content-Type` is refused (write routes; `POST /v1/verify` reads a
    /// receipt whatever its label).
    checks_content_type: bool,
    /// Whether an empty body is valid (a key rotation with the default overlap).
    empty_ok: bool,
}

impl JsonRoute {
    fn req(&self, body: impl Into<Vec<u8>>, content_type: Option<&str>) -> Req {
        let mut req = Req::new(self.method, self.target.clone()).bearer(&self.token);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        req.body(body)
    }

    /// The valid body with `slot` set to the raw JSON text `raw`.
    fn with(&self, slot: &str, raw: &str) -> Vec<u8> {
        let mut v = self.valid.clone();
        v[slot] = json!("\u{0}SLOT\u{0}");
        let text = v.to_string();
        text.replace("\"\\u0000SLOT\\u0000\"", raw).into_bytes()
    }

    /// A case of this route: `body` labelled `content_type`.
    fn case(&self, what: &str, body: Vec<u8>, content_type: Option<&str>) -> Case {
        Case {
            name: format!("{} {}: {what}", self.method, self.target),
            req: self.req(body, content_type),
            expect: Expect::Problem,
        }
    }
}

const JSON: Option<&str> = Some("application/json");

fn json_route_cases(cases: &mut Vec<Case>, r: &JsonRoute, depth: usize) {
    let valid = r.valid.to_string().into_bytes();
    malformed_cases(cases, r, &valid);
    // Deep nesting, as the whole body and inside.
    cases.push(r.case("arrays nested deep", deep_array(depth).into_bytes(), JSON));
    cases.push(r.case("objects nested deep", deep_object(depth).into_bytes(), JSON));
    for slot in &r.slots {
        slot_cases(cases, r, slot, depth);
    }
    framing_cases(cases, r, &valid);
    if r.checks_content_type {
        content_type_cases(cases, r, &valid);
    }
}

/// Truncated and malformed bodies, and JSON that is not an object.
fn malformed_cases(cases: &mut Vec<Case>, r: &JsonRoute, valid: &[u8]) {
    let mut bodies: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("truncated by one byte", valid[..valid.len() - 1].to_vec()),
        ("bare words", b"{kind: signal, source: x}".to_vec()),
        ("single quotes", b"{'kind': 'signal'}".to_vec()),
        ("trailing comma", b"{\"a\": 1,}".to_vec()),
        ("two documents", [valid, b" ", valid].concat()),
        ("trailing garbage", [valid, b"x"].concat()),
        ("unterminated string", b"{\"kind\": \"sig".to_vec()),
        ("nul literal", b"nul".to_vec()),
        ("a number", b"1".to_vec()),
        ("a string", b"\"signal\"".to_vec()),
        ("null", b"null".to_vec()),
        ("an empty array", b"[]".to_vec()),
    ];
    if !r.empty_ok {
        bodies.push(("empty body", vec![]));
        bodies.push(("whitespace body", b" \r\n\t ".to_vec()));
    }
    for (what, body) in bodies {
        cases.push(r.case(what, body, JSON));
    }
}

/// Nested, huge or odd values in one member of an otherwise valid body.
fn slot_cases(cases: &mut Vec<Case>, r: &JsonRoute, slot: &str, depth: usize) {
    let (arrays, objects) = (deep_array(depth), deep_object(depth));
    let digits = format!("{{\"n\":1{}}}", "0".repeat(5000));
    // Huge numbers, duplicate keys, lone surrogates.
    for (what, raw) in [
        ("arrays nested deep", arrays.as_str()),
        ("objects nested deep", objects.as_str()),
        ("1e400", "{\"n\":1e400}"),
        ("-1e400 bare", "-1e400"),
        ("a 5001-digit integer", digits.as_str()),
        ("2^64", "{\"n\":18446744073709551616}"),
        ("duplicate keys", "{\"a\":1,\"a\":1}"),
        ("lone high surrogate", "{\"s\":\"\\ud800\"}"),
        ("lone low surrogate", "{\"s\":\"x\\udfffy\"}"),
        ("surrogate as a key", "{\"\\udbff\":1}"),
        ("lone surrogate string", "\"\\ud800\""),
    ] {
        cases.push(r.case(&format!("{slot}: {what}"), r.with(slot, raw), JSON));
    }
    // Raw bytes in a string: invalid UTF-8, NUL.
    for (what, bytes) in [
        ("invalid UTF-8 (ff fe)", &[0xff, 0xfe][..]),
        ("overlong UTF-8 (c0 af)", &[0xc0, 0xaf]),
        ("truncated UTF-8 (e2 82)", &[0xe2, 0x82]),
        ("UTF-8 of a surrogate (ed a0 80)", &[0xed, 0xa0, 0x80]),
        ("raw NUL in a string", &[0]),
    ] {
        let mut body = r.with(slot, "{\"s\":\"@\"}");
        replace_marker(&mut body, b"@", bytes);
        cases.push(r.case(&format!("{slot}: {what}"), body, JSON));
    }
}

/// The valid body framed wrong: every member twice, a BOM, NUL bytes, UTF-16, too large (with
/// `Content-Length`, and streamed in chunks without one).
fn framing_cases(cases: &mut Vec<Case>, r: &JsonRoute, valid: &[u8]) {
    if let Value::Object(o) = &r.valid {
        let members: Vec<String> = o
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
            .collect();
        let doubled = format!("{{{},{}}}", members.join(","), members.join(","));
        cases.push(r.case("every member twice", doubled.into_bytes(), JSON));
    }
    let pad = r.limit + 1 - valid.len().min(r.limit);
    let mut large = valid.to_vec();
    large.extend(std::iter::repeat_n(b' ', pad));
    for (what, body) in [
        (
            "BOM then a valid body",
            [&b"\xef\xbb\xbf"[..], valid].concat(),
        ),
        ("NUL then a valid body", [&b"\0"[..], valid].concat()),
        ("a valid body then NUL", [valid, b"\0"].concat()),
        ("UTF-16LE body", utf16le(&String::from_utf8_lossy(valid))),
        ("one byte over the body limit", large.clone()),
    ] {
        cases.push(r.case(what, body, JSON));
    }
    let mut streamed = r.case(
        "streamed over the limit without Content-Length",
        [&large[..], &vec![b' '; r.limit][..]].concat(),
        JSON,
    );
    streamed.req.chunked = true;
    cases.push(streamed);
}

/// The valid body, labelled wrong.
fn content_type_cases(cases: &mut Vec<Case>, r: &JsonRoute, valid: &[u8]) {
    for wrong in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=xyz"),
        Some("application/json; charset=latin1"),
        Some("application/json; charset=iso-8859-1"),
        Some("application/json; charset=utf-16"),
        Some("application/jsonx"),
        Some("application/x-ndjson"),
        Some("application/problem+json"),
        Some(""),
    ] {
        cases.push(r.case(&format!("Content-Type {wrong:?}"), valid.to_vec(), wrong));
    }
    let mut latin1 = r.case("a non-ASCII Content-Type", valid.to_vec(), None);
    latin1.req.headers.push((
        "Content-Type".into(),
        b"application/json; charset=\xe9".to_vec(),
    ));
    cases.push(latin1);
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Replaces the first `marker` in `bytes` with `with`.
fn replace_marker(bytes: &mut Vec<u8>, marker: &[u8], with: &[u8]) {
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap();
    bytes.splice(at..at + marker.len(), with.iter().copied());
}

fn ndjson_cases(cases: &mut Vec<Case>, target: &str, token: &str, depth: usize) {
    let name = format!("POST {target}");
    let req = |body: Vec<u8>, ct: Option<&str>| {
        let mut r = Req::new("POST", target).bearer(token);
        if let Some(ct) = ct {
            r = r.header("Content-Type", ct);
        }
        r.body(body)
    };
    let ct = Some("application/x-ndjson");
    let good = b"{\"a\":1}\n".to_vec();
    let mk = |what: &str, body: Vec<u8>, ct: Option<&str>| Case {
        name: format!("{name}: {what}"),
        req: req(body, ct),
        expect: Expect::Problem,
    };
    macro_rules! add {
        ($what:expr, $body:expr, $ct:expr $(,)?) => {
            cases.push(mk(&$what, $body, $ct))
        };
    }
    macro_rules! line {
        ($what:expr, $line:expr $(,)?) => {
            add!($what, [&good[..], &$line[..], b"\n"].concat(), ct)
        };
    }
    line!("a truncated line", b"{\"a\":");
    line!("a malformed line", b"{a:1}");
    line!("two values on a line", b"{\"a\":1} {\"b\":2}");
    line!("arrays nested deep", deep_array(depth).as_bytes());
    line!("objects nested deep", deep_object(depth).as_bytes());
    line!("1e400", b"{\"n\":1e400}");
    line!(
        "a 5001-digit integer",
        format!("1{}", "0".repeat(5000)).as_bytes()
    );
    line!("duplicate keys", b"{\"a\":1,\"a\":1}");
    line!("a lone surrogate", b"{\"s\":\"\\ud800\"}");
    line!("invalid UTF-8", b"{\"s\":\"\xff\xfe\"}");
    line!("overlong UTF-8", b"{\"s\":\"\xc0\xaf\"}");
    line!("a raw NUL", b"{\"s\":\"\0\"}");
    line!("a NUL line", b"\0");
    line!("a BOM line", b"\xef\xbb\xbf{\"a\":2}");
    add!(
        "BOM at the start",
        [&b"\xef\xbb\xbf"[..], &good[..]].concat(),
        ct
    );
    add!("empty body", vec![], ct);
    add!("only blank lines", b"\n\r\n  \n".to_vec(), ct);
    let mut large = good.clone();
    large.extend(std::iter::repeat_n(b'\n', MAX_BODY + 1));
    add!("one byte over the body limit", large.clone(), ct);
    let mut streamed = mk(
        "streamed over the limit without Content-Length",
        [&large[..], &vec![b'\n'; MAX_BODY][..]].concat(),
        ct,
    );
    streamed.req.chunked = true;
    cases.push(streamed);
    for wrong in [
        None,
        Some("text/plain"),
        Some("application/json"),
        Some("application/x-ndjson; charset=latin1"),
        Some("application/x-ndjsonx"),
        Some("multipart/form-data; boundary=xyz"),
    ] {
        add!(&format!("Content-Type {wrong:?}"), good.clone(), wrong);
    }
}

async fn count_records(db: &TestDb) -> i64 {
    let mut conn = db.connect().await;
    sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

fn get_json(addr: SocketAddr, target: &str, token: &str) -> Value {
    let reply = send(addr, &Req::new("GET", target).bearer(token));
    assert_eq!(
        reply.status,
        200,
        "GET {target}: {:?}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

fn post_json(addr: SocketAddr, target: &str, token: &str, body: &Value) -> Reply {
    send(
        addr,
        &Req::new("POST", target)
            .bearer(token)
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    )
}

const SOURCE: &str = "bad-input";

/// Credentials made through the admin API: an admin key, an ingest key of [`SOURCE`], and the
/// id of a spare key.
struct Creds {
    admin: String,
    ingest: String,
    spare_id: String,
    /// A new key for the source, with its proof of possession for this log.
    source_key: Value,
}

fn credentials(addr: SocketAddr, fx: &Fixture) -> Creds {
    let boot = post_json(addr, "/v1/admin/bootstrap", &fx.token, &json!({}));
    assert_eq!(
        boot.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&boot.body)
    );
    let admin = boot.json()["token"].as_str().unwrap().to_string();
    let r = post_json(
        addr,
        "/v1/admin/sources",
        &admin,
        &json!({"id": SOURCE, "display_name": "Bad input"}),
    );
    assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
    let r = post_json(
        addr,
        "/v1/admin/keys",
        &admin,
        &json!({"scope": "ingest", "source": SOURCE, "label": "bad input"}),
    );
    assert_eq!(r.status, 201);
    let ingest = r.json()["token"].as_str().unwrap().to_string();
    let r = post_json(
        addr,
        "/v1/admin/keys",
        &admin,
        &json!({"scope": "read", "label": "spare"}),
    );
    assert_eq!(r.status, 201);
    let spare_id = r.json()["key"]["id"].as_str().unwrap().to_string();
    let signer = SourceSigner::new(SigningKey::from_bytes(&[11; 32]), "k1").unwrap();
    let source_key = json!({"key_id": "k1", "public_key": signer.public_key_base64(),
        "proof": signer.prove_possession(&fx.origin, SOURCE).unwrap()});
    Creds {
        admin,
        ingest,
        spare_id,
        source_key,
    }
}

/// Every route that reads a JSON body, with a valid body for it.
fn json_routes(c: &Creds, signal: &Value) -> Vec<JsonRoute> {
    let route = |method: &'static str, target: String, valid: Value, slots| JsonRoute {
        method,
        target,
        token: c.admin.clone(),
        valid,
        slots,
        limit: MAX_ADMIN_BODY,
        checks_content_type: true,
        empty_ok: false,
    };
    let write = |valid, slots| JsonRoute {
        token: c.ingest.clone(),
        limit: MAX_BODY,
        ..route("POST", "/v1/records".into(), valid, slots)
    };
    vec![
        write(signal.clone(), vec!["payload", "metadata"]),
        write(json!({"records": [signal.clone()]}), vec!["records"]),
        route(
            "POST",
            "/v1/admin/sources".into(),
            json!({"id": "bad-input-2", "display_name": "Another"}),
            vec!["schema", "display_name"],
        ),
        route(
            "PATCH",
            format!("/v1/admin/sources/{SOURCE}"),
            json!({"display_name": "Changed"}),
            vec!["display_name", "schema"],
        ),
        route(
            "POST",
            format!("/v1/admin/sources/{SOURCE}/keys"),
            c.source_key.clone(),
            vec!["public_key", "proof"],
        ),
        route(
            "POST",
            "/v1/admin/keys".into(),
            json!({"scope": "read", "label": "never"}),
            vec!["label", "scope"],
        ),
        JsonRoute {
            empty_ok: true,
            ..route(
                "POST",
                format!("/v1/admin/keys/{}/rotate", c.spare_id),
                json!({"overlap_ms": 1000}),
                vec!["overlap_ms"],
            )
        },
        JsonRoute {
            limit: provlog_core::receipt::MAX_RECEIPT_BYTES,
            checks_content_type: false,
            ..route(
                "POST",
                "/v1/verify".into(),
                json!({"format": "provlog-receipt-v1"}),
                vec!["format"],
            )
        },
    ]
}

/// Headers of a write that are malformed.
fn header_cases(cases: &mut Vec<Case>, ingest: &str, valid_signal: &str) {
    for (name, value) in [
        ("Idempotency-Key", b"\xff\xfe".to_vec()),
        ("Idempotency-Key", vec![b'k'; 201]),
        (
            "Signature-Input",
            b"provlog=(\"@method\";created=-1".to_vec(),
        ),
        ("Authorization", b"Bearer \xff\xfe".to_vec()),
        ("Authorization", b"Basic Zm9vOmJhcg==".to_vec()),
    ] {
        let mut req = Req::new("POST", "/v1/records");
        if name != "Authorization" {
            req = req.bearer(ingest);
        }
        let req = req
            .header("Content-Type", "application/json")
            .header(name, value.clone())
            .body(valid_signal);
        case(
            cases,
            format!(
                "POST /v1/records: {name} {:?}",
                String::from_utf8_lossy(&value)
            ),
            req,
        );
    }
    let snapshot_sig = Req::new("POST", format!("/v1/records/snapshot?source={SOURCE}"))
        .bearer(ingest)
        .header("Content-Type", "application/x-ndjson")
        .header("Provlog-Source-Signature", b"{\"alg\":1e400}".to_vec())
        .body(b"{\"a\":1}\n".to_vec());
    case(
        cases,
        "snapshot: a malformed Provlog-Source-Signature",
        snapshot_sig,
    );
}

fn wrong_method_cases(cases: &mut Vec<Case>, admin: &str) {
    for (method, target) in [
        ("PUT", "/v1/records"),
        ("DELETE", "/v1/records"),
        ("PATCH", "/v1/records"),
        ("GET", "/v1/records/snapshot"),
        ("PUT", "/v1/records/0"),
        ("POST", "/v1/checkpoint"),
        ("DELETE", "/v1/checkpoint"),
        ("POST", "/checkpoint"),
        ("PUT", "/tile/0/000"),
        ("GET", "/v1/verify"),
        ("POST", "/v1/log"),
        ("PUT", "/v1/admin/keys"),
        ("DELETE", "/v1/admin/sources/bad-input"),
        ("GET", "/v1/admin/bootstrap"),
        ("GET", "/v1/admin/keys/x/revoke"),
        ("OPTIONS", "/v1/records"),
        ("TRACE", "/v1/records"),
        ("FROBNICATE", "/v1/records"),
        ("POST", "/healthz"),
        ("DELETE", "/openapi.json"),
    ] {
        case(
            cases,
            format!("wrong method {method} {target}"),
            Req::new(method, target).bearer(admin),
        );
    }
}

/// Absurd query parameters and path segments on read routes.
fn query_cases(cases: &mut Vec<Case>, admin: &str) {
    for target in [
        "/v1/records?limit=-1",
        "/v1/records?limit=0",
        "/v1/records?limit=1001",
        "/v1/records?limit=1000000",
        "/v1/records?limit=4294967296",
        "/v1/records?limit=99999999999999999999999999",
        "/v1/records?limit=1&limit=2",
        "/v1/records?limit=1e3",
        "/v1/records?limit=%FF%FE",
        "/v1/records?after=-1",
        "/v1/records?after=18446744073709551616",
        "/v1/records?since=yesterday",
        "/v1/records?since=99999-01-01T00:00:00.000Z",
        "/v1/records?until=2026-13-45T25:61:61.000Z",
        "/v1/records?content_root=not-a-hash",
        "/v1/records?leaf_hash=%00%00",
        "/v1/records/-1",
        "/v1/records/18446744073709551616",
        "/v1/records/00",
        "/v1/records/1e3",
        "/v1/records/%FF%FE",
        "/v1/records/0/receipt?size=-1",
        "/v1/records/0/receipt?size=0",
        "/v1/records/0/receipt?size=18446744073709551616",
        "/v1/records/0/receipt?item=-1",
        "/v1/records/0/receipt?item=18446744073709551616",
        // Record 0 is the source's registry record (one item); record 1 the valid signal.
        "/v1/records/1/receipt?item=0",
        "/v1/records/0/receipt?item=1",
        "/v1/records/-1/evidence",
        "/v1/records/0/evidence?size=-1",
        "/v1/records/1/evidence?item=0",
        "/v1/sources/%FF%FE",
        "/v1/sources/nobody",
        "/v1/records/0/lineage?depth=-1",
        "/v1/records/0/lineage?depth=4294967296",
        "/v1/checkpoints?before=-1",
        "/v1/checkpoints?before=18446744073709551616",
        "/v1/checkpoints?limit=0",
        "/v1/checkpoints?limit=5000",
        "/v1/anchors?before=-9223372036854775809",
        "/v1/anchors?limit=100000",
        "/v1/anchors?status=%00",
        "/v1/proofs/consistency?from=-1&to=1",
        "/v1/proofs/consistency?from=1",
        "/v1/proofs/consistency?from=3&to=2",
        "/v1/proofs/consistency?from=1&to=18446744073709551616",
        "/v1/records?source=%00",
        "/v1/admin/keys/%00/rotate",
        "/tile/0/x999999999999999999999/000",
        "/tile/-1/000",
        "/tile/0/000.p/0",
        "/tile/0/000.p/257",
        "/tile/99/000",
        "/tile/entries/%FF",
        "/v1/admin/audit?after=18446744073709551616",
        "/v1/admin/audit?limit=0",
        "/v1/admin/audit?limit=1001",
        "/v1/admin/sources/%FF%FE",
        "/v1/admin/sources/%00",
        "/v1/no-such-route",
    ] {
        case(
            cases,
            format!("query GET {target}"),
            Req::new("GET", target).bearer(admin),
        );
    }
}

/// Well-formed edge values on read routes: a problem or a JSON answer, never a 5xx.
fn edge_cases(cases: &mut Vec<Case>, admin: &str) {
    let max = u64::MAX;
    for target in [
        format!("/v1/records?after={max}"),
        format!("/v1/records/{max}"),
        format!("/v1/records/{max}/receipt"),
        format!("/v1/records/0/receipt?size={max}"),
        format!("/v1/records/0/receipt?item={max}"),
        format!("/v1/records/0/lineage?depth={}", u32::MAX),
        format!("/v1/checkpoints?before={max}"),
        format!("/v1/anchors?before={}", i64::MAX),
        format!("/v1/anchors?before={}", i64::MIN),
        format!("/v1/proofs/consistency?from=1&to={max}"),
        format!("/v1/proofs/consistency?from={max}&to={max}"),
        format!("/v1/admin/audit?after={max}"),
        "/v1/proofs/consistency?from=0&to=0".to_string(),
        format!("/tile/0/{}", "x999/".repeat(6) + "999"),
    ] {
        cases.push(Case {
            name: format!("edge GET {target}"),
            req: Req::new("GET", target).bearer(admin),
            expect: Expect::ProblemOrJson,
        });
    }
}

/// Overlong requests: over the server's limits (16 KiB target, 64 KiB headers), under
/// hyper's own (a 64 KiB target, a ~400 KB header buffer), which answer without a body.
fn overlong_cases(cases: &mut Vec<Case>, ingest: &str, valid_signal: &str) {
    let long = "1".repeat(30_000);
    case(
        cases,
        "a 30 KB path",
        Req::new("GET", format!("/v1/records/{long}")),
    );
    case(
        cases,
        "a 30 KB query",
        Req::new("GET", format!("/v1/records?source={long}")),
    );
    case(
        cases,
        "a 30 KB query on a write",
        Req::new("POST", format!("/v1/records?wait={long}"))
            .bearer(ingest)
            .header("Content-Type", "application/json")
            .body(valid_signal),
    );
    case(
        cases,
        "a 90 KB header",
        Req::new("GET", "/v1/checkpoint").header("X-Padding", long.repeat(3)),
    );
    case(
        cases,
        "a 90 KB bearer token",
        Req::new("POST", "/v1/records")
            .bearer(&long.repeat(3))
            .header("Content-Type", "application/json")
            .body(valid_signal),
    );
    let mut many = Req::new("GET", "/v1/log");
    for i in 0..90 {
        many = many.header(&format!("X-Pad-{i}"), "p".repeat(1000));
    }
    case(cases, "90 headers of 1 KB", many);
}

/// Every case, for the routes as `c` and `signal` (a valid record) open them.
fn all_cases(c: &Creds, signal: &Value, depth: usize) -> Vec<Case> {
    let mut cases = vec![];
    for r in &json_routes(c, signal) {
        json_route_cases(&mut cases, r, depth);
    }
    ndjson_cases(
        &mut cases,
        &format!("/v1/records/snapshot?source={SOURCE}"),
        &c.ingest,
        depth,
    );
    let valid_signal = signal.to_string();
    header_cases(&mut cases, &c.ingest, &valid_signal);
    wrong_method_cases(&mut cases, &c.admin);
    query_cases(&mut cases, &c.admin);
    edge_cases(&mut cases, &c.admin);
    overlong_cases(&mut cases, &c.ingest, &valid_signal);
    cases
}

/// Sends every case `rounds` times, checking that the server still serves after each round.
/// Returns the failures and the count of answers per status.
fn run(addr: SocketAddr, cases: &[Case], rounds: usize) -> (Vec<String>, BTreeMap<u16, usize>) {
    let mut failures = vec![];
    let mut by_status = BTreeMap::<u16, usize>::new();
    for _ in 0..rounds {
        for c in cases {
            let reply = send(addr, &c.req);
            *by_status.entry(reply.status).or_default() += 1;
            if let Err(f) = check(c, &reply) {
                failures.push(f);
            }
        }
        let health = send(addr, &Req::new("GET", "/healthz"));
        assert_eq!(health.status, 200, "the server stopped serving");
    }
    (failures, by_status)
}

fn audit_len(addr: SocketAddr, admin: &str) -> usize {
    get_json(addr, "/v1/admin/audit?limit=1000", admin)["events"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn bad_input_gets_a_problem_and_changes_nothing() {
    let depth = env_usize("PROVLOG_BAD_INPUT_DEPTH", 10_000);
    let rounds = env_usize("PROVLOG_BAD_INPUT_ROUNDS", 1);
    let fx = Fixture::new("example.com/provlog/e2e-bad-input");
    let db = TestDb::create("bad_input").await;
    let max_body = MAX_BODY.to_string();
    let server = Server::start(
        &fx,
        &db.url,
        &[
            ("PROVLOG_MAX_BODY_BYTES", max_body.as_str()),
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
        ],
    );
    let addr = server.addr;
    let c = credentials(addr, &fx);

    // A valid record first: the credentials and bodies below work, only their flaw differs.
    let signal = json!({"kind": "signal", "source": SOURCE, "payload": {"ok": 1}});
    let r = post_json(addr, "/v1/records", &c.ingest, &signal);
    assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));

    let cases = all_cases(&c, &signal, depth);
    let records_before = count_records(&db).await;
    let audit_before = audit_len(addr, &c.admin);
    let keys_before = get_json(addr, "/v1/admin/keys", &c.admin);
    let (failures, by_status) = run(addr, &cases, rounds);
    assert!(
        failures.is_empty(),
        "{} of {} cases were not answered as they should be:\n{}",
        failures.len(),
        cases.len() * rounds,
        failures.join("\n")
    );

    // Nothing was logged, and no admin change was made.
    assert_eq!(
        count_records(&db).await,
        records_before,
        "a bad request logged a record"
    );
    assert_eq!(
        audit_len(addr, &c.admin),
        audit_before,
        "a bad request changed the admin state"
    );
    assert_eq!(get_json(addr, "/v1/admin/keys", &c.admin), keys_before);
    let src = get_json(addr, &format!("/v1/admin/sources/{SOURCE}"), &c.admin);
    assert_eq!(src["display_name"], "Bad input");
    let missing = send(
        addr,
        &Req::new("GET", "/v1/admin/sources/bad-input-2").bearer(&c.admin),
    );
    assert_eq!(missing.status, 404);

    // And it still takes a valid write, which is logged.
    let r = post_json(addr, "/v1/records", &c.ingest, &signal);
    assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(count_records(&db).await, records_before + 1);
    // The source's registry record and the two signals.
    let size = provlog_e2e::wait_for("the log to integrate", Duration::from_secs(30), || {
        let log = get_json(addr, "/v1/log", &c.admin);
        async move { (log["size"].as_u64() == Some(3)).then_some(3) }
    })
    .await;

    let statuses: Vec<String> = by_status.iter().map(|(s, n)| format!("{s}×{n}")).collect();
    let _ = writeln!(
        std::io::stderr(),
        "bad-input: {} requests ({} cases × {rounds}), 0 5xx, 0 non-problem errors, each a 4xx problem or (edge reads) 2xx JSON \
         problems ({}), nesting depth {depth}, 0 records logged by them, server up, log size {size}",
        cases.len() * rounds,
        cases.len(),
        statuses.join(" ")
    );
    drop(server);
    db.drop_db().await;
}
