//! Demo data for `provlog dev`, shaped like what an AI market-data provider publishes: hourly
//! trading signals, a daily grade snapshot, 7-day price predictions, sentiment scores, and a
//! strategy signal derived from a grade row and a prediction.
//!
//! Everything is generated from a fixed seed and a fixed day, without network, so two runs
//! produce the same payloads byte for byte (the log's `received_at` differs, of course).
//!
//! [`ingest`] registers the demo's sources with a running log and submits the data.

pub mod ingest;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// The demo's sources: id, display name, JSON Schema of a payload (or snapshot item).
pub const SIGNALS: &str = "demo.signals";
pub const GRADES: &str = "demo.grades";
pub const PREDICTIONS: &str = "demo.predictions";
pub const SENTIMENT: &str = "demo.sentiment";
pub const STRATEGY: &str = "demo.strategy";
pub const PRICES: &str = "demo.prices";

/// The demo's day runs in seconds of log time: an outcome counts for a record once it is logged
/// this long after it (the horizon of the demo's scoring specs; a real one would say 3600 for
/// hourly signals).
pub const HORIZON_S: u64 = 1;

/// The day the demo describes.
pub const DAY: &str = "2026-11-01";
const SEED: u64 = 0x7072_6f76_6c6f_6721; // "provlog!"

/// Tokens with hourly signals, predictions and sentiment; the snapshot grades many more.
const MAJORS: [(&str, f64); 12] = [
    ("BTC", 68_250.0),
    ("ETH", 3_480.0),
    ("SOL", 162.4),
    ("BNB", 585.0),
    ("XRP", 0.52),
    ("ADA", 0.41),
    ("AVAX", 27.9),
    ("DOGE", 0.124),
    ("LINK", 14.6),
    ("DOT", 5.8),
    ("ARB", 0.82),
    ("TON", 5.3),
];

/// The tokens with hourly signals, predictions and sentiment.
pub fn majors() -> Vec<&'static str> {
    MAJORS.iter().map(|(s, _)| *s).collect()
}

/// One token of the demo universe.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub symbol: String,
    pub price_usd: f64,
}

/// A source as the admin API registers it.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub id: &'static str,
    pub display_name: &'static str,
    pub schema: Value,
    /// Submissions must be signed by the source's own key.
    pub require_signature: bool,
}

/// Everything the demo submits, in submission order (the derived signal comes last, as it
/// names the leaf hashes of records logged before it).
#[derive(Debug, Clone)]
pub struct DemoData {
    pub tokens: Vec<Token>,
    /// `demo.grades`: one snapshot, one item per token.
    pub grades: Vec<Value>,
    /// `demo.predictions`: one signal per major token.
    pub predictions: Vec<Value>,
    /// `demo.sentiment`: every 6 hours per major token.
    pub sentiment: Vec<Value>,
    /// `demo.signals`: every hour per major token.
    pub signals: Vec<Value>,
}

/// Rounds to `places` decimals, so payloads read like a provider's (and stay short).
fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn hour(h: u32) -> String {
    format!("{DAY}T{h:02}:00:00Z")
}

/// Made-up tickers after the majors: pronounceable, unique, deterministic.
fn synthetic_symbol(rng: &mut ChaCha8Rng, taken: &std::collections::HashSet<String>) -> String {
    const C: &[u8] = b"BCDFGHKLMNPRSTVZ";
    const V: &[u8] = b"AEIOU";
    loop {
        let len = rng.gen_range(3..=5);
        let s: String = (0..len)
            .map(|i| {
                let set = if i % 2 == 0 { C } else { V };
                set[rng.gen_range(0..set.len())] as char
            })
            .collect();
        if !taken.contains(&s) {
            return s;
        }
    }
}

/// The demo universe: the majors, then synthetic tokens up to `n`.
pub fn tokens(n: usize, rng: &mut ChaCha8Rng) -> Vec<Token> {
    let mut taken: std::collections::HashSet<String> =
        MAJORS.iter().map(|(s, _)| s.to_string()).collect();
    let mut out: Vec<Token> = MAJORS
        .iter()
        .take(n)
        .map(|(s, p)| Token {
            symbol: s.to_string(),
            price_usd: *p,
        })
        .collect();
    while out.len() < n {
        let symbol = synthetic_symbol(rng, &taken);
        taken.insert(symbol.clone());
        // Log-uniform between $0.001 and $50.
        let price = 10f64.powf(rng.gen_range(-3.0..1.7));
        out.push(Token {
            symbol,
            price_usd: round(price, 6),
        });
    }
    out
}

/// The demo's data for `universe` tokens (the majors get signals, predictions and sentiment).
pub fn generate(universe: usize) -> DemoData {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let tokens = tokens(universe.max(MAJORS.len()), &mut rng);
    let majors = &tokens[..MAJORS.len()];

    let mut grades: Vec<(f64, Value)> = tokens
        .iter()
        .map(|t| {
            let trader = round(rng.gen_range(20.0..95.0), 1);
            let investor = round(rng.gen_range(15.0..92.0), 1);
            (
                trader,
                json!({
                    "date": DAY,
                    "token": t.symbol,
                    "trader_grade": trader,
                    "investor_grade": investor,
                }),
            )
        })
        .collect();
    // Ranked by trader grade, as a grades table is published.
    grades.sort_by(|a, b| b.0.total_cmp(&a.0));
    let grades = grades
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut row))| {
            row["rank"] = json!(i + 1);
            row
        })
        .collect();

    let predictions = majors
        .iter()
        .map(|t| {
            let change = rng.gen_range(-0.12..0.15);
            let spread = rng.gen_range(0.03..0.10);
            let predicted = t.price_usd * (1.0 + change);
            json!({
                "as_of": hour(0),
                "token": t.symbol,
                "horizon_days": 7,
                "price_usd": t.price_usd,
                "predicted_usd": round(predicted, 6),
                "low_usd": round(predicted * (1.0 - spread), 6),
                "high_usd": round(predicted * (1.0 + spread), 6),
                "model": "demo-forecaster-3",
            })
        })
        .collect();

    let mut sentiment = vec![];
    for h in (0..24).step_by(6) {
        for t in majors {
            sentiment.push(json!({
                "as_of": hour(h),
                "token": t.symbol,
                "score": round(rng.gen_range(-1.0..1.0), 2),
                "mentions": rng.gen_range(40..5_000),
            }));
        }
    }

    let mut signals = vec![];
    let mut grade_of: Vec<f64> = majors.iter().map(|_| rng.gen_range(40.0..80.0)).collect();
    for h in 0..24 {
        for (t, grade) in majors.iter().zip(grade_of.iter_mut()) {
            *grade = (*grade + rng.gen_range(-4.0..4.0)).clamp(0.0, 100.0);
            let (signal, trend) = match *grade {
                g if g >= 65.0 => (1, "bullish"),
                g if g <= 45.0 => (-1, "bearish"),
                _ => (0, "neutral"),
            };
            signals.push(json!({
                "at": hour(h),
                "token": t.symbol,
                "signal": signal,
                "trend": trend,
                "trader_grade": round(*grade, 1),
            }));
        }
    }

    DemoData {
        tokens,
        grades,
        predictions,
        sentiment,
        signals,
    }
}

/// What `demo.prices` logs: the outcome of each hourly signal (the token's return over the
/// signal's hour, and its price at the end of it) and of each prediction (the price 7 days on).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcomes {
    /// One per signal of [`DemoData::signals`], in order.
    pub signals: Vec<Value>,
    /// One per prediction of [`DemoData::predictions`], in order.
    pub predictions: Vec<Value>,
}

/// The hour's return of a token that `signal` called: a small edge, much noise.
fn hourly_return(rng: &mut ChaCha8Rng, signal: f64) -> f64 {
    round(signal * 0.0015 + rng.gen_range(-0.008..0.008), 6)
}

/// The price outcome of an hourly signal.
pub fn signal_outcome(signal: &Value, r: f64, price_usd: f64) -> Value {
    json!({
        "token": signal["token"],
        "from": signal["at"],
        "hours": 1,
        "return": r,
        "price_usd": round(price_usd, 6),
    })
}

/// The outcomes of `data`, from their own seed: the data itself does not change with them.
pub fn outcomes(data: &DemoData) -> Outcomes {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 1);
    let mut prices: std::collections::HashMap<String, f64> = data
        .tokens
        .iter()
        .map(|t| (t.symbol.clone(), t.price_usd))
        .collect();
    let signals = data
        .signals
        .iter()
        .map(|s| {
            let r = hourly_return(&mut rng, s["signal"].as_f64().unwrap_or(0.0));
            let token = s["token"].as_str().unwrap_or_default().to_string();
            let price = prices.entry(token).or_insert(1.0);
            *price *= 1.0 + r;
            signal_outcome(s, r, *price)
        })
        .collect();
    let predictions = data
        .predictions
        .iter()
        .map(|p| {
            let now = p["price_usd"].as_f64().unwrap_or(0.0);
            let predicted = p["predicted_usd"].as_f64().unwrap_or(0.0);
            // The forecaster gets the direction right more often than not.
            let change = (predicted / now - 1.0) * 0.6 + rng.gen_range(-0.05..0.05);
            json!({
                "token": p["token"],
                "as_of": "2026-11-08T00:00:00Z",
                "price_usd": round(now * (1.0 + change), 6),
            })
        })
        .collect();
    Outcomes {
        signals,
        predictions,
    }
}

/// Signals for the next day's first hour, logged as hiding commitments (`demo.signals` sells
/// them): the demo reveals all but the last.
pub fn committed_signals() -> Vec<Value> {
    [
        ("BTC", 1, "bullish", 68.2),
        ("ETH", -1, "bearish", 41.5),
        ("SOL", 1, "bullish", 71.0),
    ]
    .into_iter()
    .map(|(token, signal, trend, grade)| {
        json!({
            "at": "2026-11-02T00:00:00Z",
            "token": token,
            "signal": signal,
            "trend": trend,
            "trader_grade": grade,
        })
    })
    .collect()
}

/// The outcomes of the committed signals, once revealed: their hour's return.
pub fn committed_outcomes() -> Vec<Value> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 2);
    committed_signals()
        .iter()
        .map(|s| {
            let r = hourly_return(&mut rng, s["signal"].as_f64().unwrap_or(0.0));
            let base = MAJORS
                .iter()
                .find(|(t, _)| s["token"] == *t)
                .map_or(1.0, |(_, p)| *p);
            signal_outcome(s, r, base * (1.0 + r))
        })
        .collect()
}

/// The demo's scoring specs (docs/track-records.md): signals by their hour's return,
/// predictions by the price that came true, both from `demo.prices`.
pub fn scoring_specs() -> Vec<(&'static str, Value)> {
    vec![
        (
            SIGNALS,
            json!({"kind": "signals", "value": "/signal", "outcome": "/return",
                   "outcome_source": PRICES, "horizon_s": HORIZON_S}),
        ),
        (
            PREDICTIONS,
            json!({"kind": "predictions", "value": "/predicted_usd", "outcome": "/price_usd",
                   "baseline": "/price_usd", "outcome_source": PRICES, "horizon_s": HORIZON_S}),
        ),
    ]
}

/// The derived signal: a strategy's call on `token`, from its grade row and its prediction.
/// Its record names both as lineage parents.
pub fn derived_signal(grade_row: &Value, prediction: &Value) -> Value {
    let grade = grade_row["trader_grade"].as_f64().unwrap_or(0.0);
    let now = prediction["price_usd"].as_f64().unwrap_or(0.0);
    let predicted = prediction["predicted_usd"].as_f64().unwrap_or(0.0);
    let change = if now > 0.0 {
        round((predicted / now - 1.0) * 100.0, 2)
    } else {
        0.0
    };
    let signal = match (grade >= 60.0, change > 0.0) {
        (true, true) => 1,
        (false, false) => -1,
        _ => 0,
    };
    json!({
        "as_of": hour(23),
        "token": grade_row["token"],
        "signal": signal,
        "inputs": {"trader_grade": grade, "predicted_change_pct": change},
        "rule": "long when trader grade >= 60 and the 7-day prediction is up; short when neither",
    })
}

/// The six demo sources with their schemas; signals must be signed by the source's key.
pub fn sources() -> Vec<SourceSpec> {
    let token = json!({"type": "string", "pattern": "^[A-Z0-9]{2,10}$"});
    let time = json!({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$"});
    let grade = json!({"type": "number", "minimum": 0, "maximum": 100});
    let price = json!({"type": "number", "exclusiveMinimum": 0});
    let object = |required: &[&str], properties: Value| {
        json!({
            "type": "object",
            "required": required,
            "properties": properties,
            "additionalProperties": false,
        })
    };
    vec![
        SourceSpec {
            id: SIGNALS,
            display_name: "Demo AI: hourly trading signals",
            schema: object(
                &["at", "token", "signal", "trend", "trader_grade"],
                json!({
                    "at": time, "token": token,
                    "signal": {"enum": [-1, 0, 1]},
                    "trend": {"enum": ["bullish", "neutral", "bearish"]},
                    "trader_grade": grade,
                }),
            ),
            require_signature: true,
        },
        SourceSpec {
            id: GRADES,
            display_name: "Demo AI: daily trader and investor grades",
            schema: object(
                &["date", "token", "trader_grade", "investor_grade", "rank"],
                json!({
                    "date": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
                    "token": token, "trader_grade": grade, "investor_grade": grade,
                    "rank": {"type": "integer", "minimum": 1},
                }),
            ),
            require_signature: false,
        },
        SourceSpec {
            id: PREDICTIONS,
            display_name: "Demo AI: 7-day price predictions",
            schema: object(
                &[
                    "as_of",
                    "token",
                    "horizon_days",
                    "price_usd",
                    "predicted_usd",
                    "low_usd",
                    "high_usd",
                    "model",
                ],
                json!({
                    "as_of": time, "token": token,
                    "horizon_days": {"const": 7},
                    "price_usd": price, "predicted_usd": price, "low_usd": price, "high_usd": price,
                    "model": {"type": "string"},
                }),
            ),
            require_signature: false,
        },
        SourceSpec {
            id: SENTIMENT,
            display_name: "Demo AI: sentiment scores",
            schema: object(
                &["as_of", "token", "score", "mentions"],
                json!({
                    "as_of": time, "token": token,
                    "score": {"type": "number", "minimum": -1, "maximum": 1},
                    "mentions": {"type": "integer", "minimum": 0},
                }),
            ),
            require_signature: false,
        },
        SourceSpec {
            id: STRATEGY,
            display_name: "Demo AI: strategy signals derived from grades and predictions",
            schema: object(
                &["as_of", "token", "signal", "inputs", "rule"],
                json!({
                    "as_of": time, "token": token,
                    "signal": {"enum": [-1, 0, 1]},
                    "inputs": {"type": "object"},
                    "rule": {"type": "string"},
                }),
            ),
            require_signature: false,
        },
        SourceSpec {
            id: PRICES,
            display_name: "Demo market data: the prices that scored the signals and predictions",
            schema: json!({
                "type": "object",
                "required": ["token", "price_usd"],
                "properties": {
                    "token": token, "from": time, "hours": {"const": 1},
                    "return": {"type": "number"}, "as_of": time, "price_usd": price,
                },
                "additionalProperties": false,
            }),
            require_signature: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator(schema: &Value) -> jsonschema::Validator {
        jsonschema::validator_for(schema).expect("demo schemas compile")
    }

    #[test]
    fn the_same_data_every_time() {
        let (a, b) = (generate(300), generate(300));
        assert_eq!(a.tokens, b.tokens);
        assert_eq!(a.grades, b.grades);
        assert_eq!(a.signals, b.signals);
        assert_eq!(a.predictions, b.predictions);
        assert_eq!(a.sentiment, b.sentiment);
    }

    #[test]
    fn shapes_and_sizes() {
        let d = generate(300);
        assert_eq!(d.tokens.len(), 300);
        let symbols: std::collections::HashSet<_> = d.tokens.iter().map(|t| &t.symbol).collect();
        assert_eq!(symbols.len(), 300, "token symbols are unique");
        assert_eq!(d.grades.len(), 300);
        assert_eq!(d.signals.len(), 24 * MAJORS.len());
        assert_eq!(d.predictions.len(), MAJORS.len());
        assert_eq!(d.sentiment.len(), 4 * MAJORS.len());
        // Ranked by trader grade, best first, ranks 1..=n.
        let grades: Vec<f64> = d
            .grades
            .iter()
            .map(|r| r["trader_grade"].as_f64().unwrap())
            .collect();
        assert!(grades.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(d.grades[299]["rank"], 300);
        // Every signal value appears over a day.
        for s in [-1, 0, 1] {
            assert!(
                d.signals.iter().any(|x| x["signal"] == s),
                "signal {s} occurs"
            );
        }
    }

    #[test]
    fn every_payload_satisfies_its_sources_schema() {
        let d = generate(300);
        let schema =
            |id: &str| validator(&sources().into_iter().find(|s| s.id == id).unwrap().schema);
        let derived = derived_signal(&d.grades[0], &d.predictions[0]);
        let o = outcomes(&d);
        let prices: Vec<Value> = o.signals.into_iter().chain(o.predictions).collect();
        for (id, payloads) in [
            (SIGNALS, &committed_signals()),
            (PRICES, &prices),
            (SIGNALS, &d.signals),
            (GRADES, &d.grades),
            (PREDICTIONS, &d.predictions),
            (SENTIMENT, &d.sentiment),
            (STRATEGY, &vec![derived]),
        ] {
            let v = schema(id);
            for p in payloads {
                let errors: Vec<String> = v.iter_errors(p).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{id}: {p} fails its schema: {errors:?}");
            }
        }
    }

    #[test]
    fn outcomes_follow_the_data_and_are_the_same_every_time() {
        let d = generate(300);
        let o = outcomes(&d);
        assert_eq!(o, outcomes(&generate(300)));
        assert_eq!(o.signals.len(), d.signals.len());
        assert_eq!(o.predictions.len(), d.predictions.len());
        for (s, out) in d.signals.iter().zip(&o.signals) {
            assert_eq!((&s["token"], &s["at"]), (&out["token"], &out["from"]));
        }
        // The specs are valid, and name the price source.
        for (_, spec) in scoring_specs() {
            let spec: provlog_core::score::ScoringSpec = serde_json::from_value(spec).unwrap();
            spec.check().unwrap();
            assert_eq!(spec.outcome_source.unwrap().as_str(), PRICES);
        }
    }

    #[test]
    fn the_schemas_refuse_a_wrong_payload() {
        let d = generate(20);
        let v = validator(&sources()[0].schema);
        let mut bad = d.signals[0].clone();
        bad["signal"] = json!(2);
        assert!(!v.is_valid(&bad));
        let mut extra = d.signals[0].clone();
        extra["leverage"] = json!(10);
        assert!(!v.is_valid(&extra));
    }

    #[test]
    fn the_derived_signal_follows_its_inputs() {
        let row = json!({"token": "ETH", "trader_grade": 70.0});
        let up = json!({"price_usd": 100.0, "predicted_usd": 106.5});
        let down = json!({"price_usd": 100.0, "predicted_usd": 90.0});
        assert_eq!(derived_signal(&row, &up)["signal"], 1);
        assert_eq!(
            derived_signal(&row, &up)["inputs"]["predicted_change_pct"],
            6.5
        );
        assert_eq!(derived_signal(&row, &down)["signal"], 0);
        let weak = json!({"token": "ETH", "trader_grade": 30.0});
        assert_eq!(derived_signal(&weak, &down)["signal"], -1);
    }
}
