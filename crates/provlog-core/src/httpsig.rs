//! Signed submissions: the narrow profile of [RFC 9421] HTTP Message Signatures that provlog
//! accepts, with the [RFC 9530] `Content-Digest` that binds the body.
//!
//! Profile: one signature, algorithm Ed25519 (RFC 9421 §3.3.6); covered components exactly
//! `@method`, `@target-uri` and `content-digest`; parameters `created`, `expires`, `nonce` and
//! `keyid` (all required; `alg`, if given, must be `ed25519`). `content-digest` carries
//! `sha-256`. What the key id names, and whether `created`, `expires` and `nonce` are acceptable
//! (clock window, replay), is the verifier's policy, not this module's.
//!
//! The signature base is built per RFC 9421 §2.5 ([`signature_base`]); the `@signature-params`
//! line is the RFC 8941 serialisation of the parameters as received, so a base for any
//! component list (such as the RFC's own Ed25519 example, B.2.6) is reproduced byte for byte.
//!
//! [RFC 9421]: https://www.rfc-editor.org/rfc/rfc9421
//! [RFC 9530]: https://www.rfc-editor.org/rfc/rfc9530

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sfv::{BareItem, Dictionary, InnerList, Item, Key, ListEntry, Parameters, Parser};

use crate::hash::Hash;

/// The label provlog clients give their signature (`Signature-Input: provlog=(…)`).
pub const LABEL: &str = "provlog";
/// The covered components of the profile, in the order clients list them.
pub const COMPONENTS: [&str; 3] = ["@method", "@target-uri", "content-digest"];

/// Why a request signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSigError {
    #[error("the {header} header is missing")]
    Missing { header: &'static str },
    #[error("the {header} header is malformed: {reason}")]
    Malformed {
        header: &'static str,
        reason: String,
    },
    #[error("the signature does not follow provlog's profile: {reason}")]
    Profile { reason: String },
    #[error("Content-Digest does not match the body")]
    DigestMismatch,
    #[error("the signature does not verify")]
    BadSignature,
}

fn malformed(header: &'static str, reason: impl ToString) -> HttpSigError {
    HttpSigError::Malformed {
        header,
        reason: reason.to_string(),
    }
}

fn profile(reason: impl Into<String>) -> HttpSigError {
    HttpSigError::Profile {
        reason: reason.into(),
    }
}

/// The RFC 9530 `Content-Digest` field value of `body`: `sha-256=:<base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!(
        "sha-256=:{}:",
        BASE64_STANDARD.encode(Hash::sha256(body).as_bytes())
    )
}

/// Checks a `Content-Digest` field value against `body`: it must hold a `sha-256` member (other
/// algorithms are ignored) equal to the body's SHA-256.
pub fn check_content_digest(value: &str, body: &[u8]) -> Result<(), HttpSigError> {
    const H: &str = "Content-Digest";
    let dict: Dictionary = Parser::new(value).parse().map_err(|e| malformed(H, e))?;
    let digest = match dict.get("sha-256") {
        Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(bytes),
            ..
        })) => bytes,
        Some(_) => return Err(malformed(H, "sha-256 is not a byte sequence")),
        None => return Err(malformed(H, "no sha-256 member")),
    };
    if digest.as_slice() != Hash::sha256(body).as_bytes() {
        return Err(HttpSigError::DigestMismatch);
    }
    Ok(())
}

/// The signature parameters of the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds.
    pub expires: u64,
    pub nonce: String,
    pub keyid: String,
}

/// A parsed `Signature-Input` / `Signature` pair (one label).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSignature {
    pub label: String,
    /// Covered component identifiers, in order (RFC 9421 §2: lowercase names, no parameters).
    pub components: Vec<String>,
    /// The `@signature-params` value: the inner list serialised per RFC 8941.
    pub params_line: String,
    /// The raw parameters, in the order received.
    pub params: Parameters,
    pub signature: Vec<u8>,
}

fn integer_param(params: &Parameters, name: &str) -> Result<Option<u64>, HttpSigError> {
    match params.get(name) {
        None => Ok(None),
        Some(BareItem::Integer(i)) => u64::try_from(i64::from(*i))
            .map(Some)
            .map_err(|_| malformed("Signature-Input", format!("{name} is negative"))),
        Some(_) => Err(malformed(
            "Signature-Input",
            format!("{name} is not an integer"),
        )),
    }
}

fn string_param(params: &Parameters, name: &str) -> Result<Option<String>, HttpSigError> {
    match params.get(name) {
        None => Ok(None),
        Some(BareItem::String(s)) => Ok(Some(s.as_str().to_string())),
        Some(_) => Err(malformed(
            "Signature-Input",
            format!("{name} is not a string"),
        )),
    }
}

impl ParsedSignature {
    /// Parses the two headers. With several signatures, the one labelled [`LABEL`] is taken;
    /// a single signature may have any label.
    pub fn parse(signature_input: &str, signature: &str) -> Result<Self, HttpSigError> {
        const SI: &str = "Signature-Input";
        const S: &str = "Signature";
        let inputs: Dictionary = Parser::new(signature_input)
            .parse()
            .map_err(|e| malformed(SI, e))?;
        let sigs: Dictionary = Parser::new(signature)
            .parse()
            .map_err(|e| malformed(S, e))?;
        let label = if inputs.len() == 1 {
            inputs.keys().next().map(|k| k.as_str().to_string())
        } else {
            inputs
                .keys()
                .find(|k| k.as_str() == LABEL)
                .map(|k| k.as_str().to_string())
        }
        .ok_or_else(|| {
            malformed(
                SI,
                format!("expected one signature or one labelled {LABEL}"),
            )
        })?;

        let Some(ListEntry::InnerList(list)) = inputs.get(label.as_str()) else {
            return Err(malformed(SI, format!("{label} is not an inner list")));
        };
        let mut components = Vec::with_capacity(list.items.len());
        for item in &list.items {
            match (&item.bare_item, item.params.is_empty()) {
                (BareItem::String(s), true) => components.push(s.as_str().to_string()),
                _ => {
                    return Err(malformed(
                        SI,
                        "components must be strings without parameters",
                    ))
                }
            }
        }
        let signature = match sigs.get(label.as_str()) {
            Some(ListEntry::Item(Item {
                bare_item: BareItem::ByteSequence(bytes),
                ..
            })) => bytes.clone(),
            Some(_) => return Err(malformed(S, format!("{label} is not a byte sequence"))),
            None => return Err(malformed(S, format!("no signature labelled {label}"))),
        };
        Ok(ParsedSignature {
            label,
            components,
            params_line: serialize_inner_list(list)?,
            params: list.params.clone(),
            signature,
        })
    }

    /// The parameters, checked against the profile: `created`, `expires`, `nonce` and `keyid`
    /// present, `alg` absent or `ed25519`, `expires` after `created`, nothing else.
    pub fn profile_params(&self) -> Result<SignatureParams, HttpSigError> {
        for key in self.params.keys() {
            if !["created", "expires", "nonce", "keyid", "alg"].contains(&key.as_str()) {
                return Err(profile(format!("unexpected parameter {}", key.as_str())));
            }
        }
        if let Some(alg) = string_param(&self.params, "alg")? {
            if alg != "ed25519" {
                return Err(profile(format!("alg {alg:?}: only ed25519")));
            }
        }
        let need = |name: &str| profile(format!("parameter {name} is required"));
        let created = integer_param(&self.params, "created")?.ok_or_else(|| need("created"))?;
        let expires = integer_param(&self.params, "expires")?.ok_or_else(|| need("expires"))?;
        let nonce = string_param(&self.params, "nonce")?.ok_or_else(|| need("nonce"))?;
        let keyid = string_param(&self.params, "keyid")?.ok_or_else(|| need("keyid"))?;
        if expires <= created {
            return Err(profile("expires must be after created"));
        }
        let mut sorted = self.components.clone();
        sorted.sort();
        let mut wanted = COMPONENTS.map(String::from).to_vec();
        wanted.sort();
        if sorted != wanted {
            return Err(profile(format!(
                "covered components must be exactly {COMPONENTS:?}, got {:?}",
                self.components
            )));
        }
        Ok(SignatureParams {
            created,
            expires,
            nonce,
            keyid,
        })
    }

    /// Verifies the signature (Ed25519, `verify_strict`) over the base built from
    /// `values` (component identifier → value, RFC 9421 §2), one per covered component.
    pub fn verify(&self, values: &[(&str, &str)], key: &VerifyingKey) -> Result<(), HttpSigError> {
        let mut ordered = Vec::with_capacity(self.components.len());
        for name in &self.components {
            let value = values
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| profile(format!("component {name} is not available")))?;
            ordered.push((name.as_str(), value));
        }
        let base = signature_base(&ordered, &self.params_line)?;
        let sig = <[u8; 64]>::try_from(self.signature.as_slice())
            .map_err(|_| HttpSigError::BadSignature)?;
        key.verify_strict(base.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| HttpSigError::BadSignature)
    }
}

fn serialize_inner_list(list: &InnerList) -> Result<String, HttpSigError> {
    let mut ser = sfv::ListSerializer::new();
    ser.members([&ListEntry::InnerList(list.clone())]);
    ser.finish()
        .ok_or_else(|| malformed("Signature-Input", "empty"))
}

/// The signature base of RFC 9421 §2.5: one line `"<component>": <value>` per covered
/// component, then `"@signature-params": <params_line>`, joined by `\n` (no trailing newline).
/// Values containing a newline are refused (they could forge a line).
pub fn signature_base(
    components: &[(&str, &str)],
    params_line: &str,
) -> Result<String, HttpSigError> {
    let mut base = String::new();
    for (name, value) in components {
        if value.contains(['\n', '\r']) || name.contains(['\n', '\r', '"']) {
            return Err(profile(format!("component {name} holds a line break")));
        }
        base.push_str(&format!("\"{name}\": {}\n", value.trim()));
    }
    base.push_str(&format!("\"@signature-params\": {params_line}"));
    Ok(base)
}

/// The headers of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub content_digest: String,
    pub signature_input: String,
    pub signature: String,
}

/// Signs a request under the profile: `Content-Digest` of `body`, then a signature labelled
/// [`LABEL`] over `@method`, `@target-uri` and `content-digest`.
pub fn sign_request(
    method: &str,
    target_uri: &str,
    body: &[u8],
    key: &SigningKey,
    params: &SignatureParams,
) -> Result<SignedHeaders, HttpSigError> {
    let content_digest = content_digest(body);
    let bad = |e: sfv::Error| profile(e.to_string());
    let items = COMPONENTS
        .iter()
        .map(|c| {
            Ok(Item::new(
                sfv::String::from_string((*c).to_string()).map_err(|(e, _)| bad(e))?,
            ))
        })
        .collect::<Result<Vec<_>, HttpSigError>>()?;
    let key_of = |k: &str| Key::from_string(k.to_string()).map_err(|(e, _)| bad(e));
    let string = |s: &str| {
        sfv::String::from_string(s.to_string())
            .map(BareItem::String)
            .map_err(|(e, _)| bad(e))
    };
    let integer = |v: u64| {
        i64::try_from(v)
            .ok()
            .and_then(|v| sfv::Integer::try_from(v).ok())
            .map(BareItem::Integer)
            .ok_or_else(|| profile("time out of range"))
    };
    let mut p = Parameters::new();
    p.insert(key_of("created")?, integer(params.created)?);
    p.insert(key_of("expires")?, integer(params.expires)?);
    p.insert(key_of("nonce")?, string(&params.nonce)?);
    p.insert(key_of("keyid")?, string(&params.keyid)?);
    p.insert(key_of("alg")?, string("ed25519")?);
    let params_line = serialize_inner_list(&InnerList::with_params(items, p))?;
    let base = signature_base(
        &[
            ("@method", method),
            ("@target-uri", target_uri),
            ("content-digest", &content_digest),
        ],
        &params_line,
    )?;
    let sig = key.sign(base.as_bytes());
    Ok(SignedHeaders {
        content_digest,
        signature_input: format!("{LABEL}={params_line}"),
        signature: format!("{LABEL}=:{}:", BASE64_STANDARD.encode(sig.to_bytes())),
    })
}

#[cfg(test)]
mod tests;
