//! `provlog verify …`: offline checks of receipts and raw RFC 9162 proofs.
//! Exit status: 0 valid, 1 invalid (reason on stderr), 2 usage or unparseable input.

use std::io::Read;
use std::path::{Path, PathBuf};

use provlog_core::checkpoint::{TrustedKeys, VerifierKey};
use provlog_core::log::{verify_consistency, verify_inclusion};
use provlog_core::receipt::{verify_receipt, Receipt, VerifiedReceipt};
use provlog_core::Hash;
use serde::Deserialize;

use crate::Failure;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Verify a receipt: record, inclusion, signed checkpoint, snapshot row, source signature.
    #[command(
        after_help = "Example:\n  provlog verify receipt receipt.json --key 'example.com/provlog+1a2b3c4d+AaBb…'\n\n\
        --key takes a verifier key or a file of them (one per line); give it several times\n\
        to trust old and new keys during a rotation. Signatures by other keys are ignored."
    )]
    Receipt {
        /// Receipt file (JSON), or - for standard input.
        file: PathBuf,
        /// A trusted log verifier key (name+hexid+base64), or a file of them.
        #[arg(long = "key", value_name = "VKEY", required = true)]
        keys: Vec<String>,
        /// Print what was verified as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a raw inclusion proof: {"leafIdx", "treeSize", "root", "leafHash", "proof"}.
    #[command(
        after_help = "Example:\n  echo '{\"leafIdx\":0,\"treeSize\":1,\"root\":\"bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\",\n\
        \"leafHash\":\"bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\",\"proof\":null}' | provlog verify inclusion -\n\n\
        Hashes are base64; proof may be null or empty; other fields are ignored."
    )]
    Inclusion {
        /// JSON file, or - (the default) for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
    /// Check a raw consistency proof: {"size1", "size2", "root1", "root2", "proof"}.
    #[command(after_help = "Example:\n  provlog verify consistency proof.json\n\n\
        Hashes are base64; proof may be null or empty; other fields are ignored.")]
    Consistency {
        /// JSON file, or - (the default) for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
}

pub fn run(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Receipt { file, keys, json } => receipt(&file, &keys, json),
        Command::Inclusion { file } => inclusion(&file),
        Command::Consistency { file } => consistency(&file),
    }
}

fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut buf = vec![];
    let result = if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut buf).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut buf).map(|_| ()))
    };
    result.map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(buf)
}

/// Keys given inline, or files holding one key per line (blank lines and `#` comments skipped).
fn trusted_keys(args: &[String]) -> Result<TrustedKeys, Failure> {
    let mut keys = vec![];
    for arg in args {
        if let Ok(key) = arg.parse::<VerifierKey>() {
            keys.push(key);
            continue;
        }
        let text = std::fs::read_to_string(arg).map_err(|e| {
            Failure::Usage(format!(
                "--key {arg:?} is neither a verifier key (name+hexid+base64) nor a readable file: {e}"
            ))
        })?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = line
                .parse::<VerifierKey>()
                .map_err(|e| Failure::Usage(format!("{arg}: {e}")))?;
            keys.push(key);
        }
    }
    Ok(TrustedKeys::new(keys))
}

fn receipt(path: &Path, keys: &[String], json: bool) -> Result<(), Failure> {
    let trusted = trusted_keys(keys)?;
    let bytes = read_input(path)?;
    let receipt = Receipt::from_json(&bytes)
        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    let verified =
        verify_receipt(&receipt, &trusted).map_err(|e| Failure::Invalid(e.to_string()))?;
    if json {
        println!("{}", summary_json(&verified));
    } else {
        print!("{}", summary_text(&verified));
    }
    Ok(())
}

fn summary_json(v: &VerifiedReceipt) -> serde_json::Value {
    let cp = &v.checkpoint.checkpoint;
    serde_json::json!({
        "valid": true,
        "origin": cp.origin,
        "leaf_index": v.leaf_index,
        "leaf_hash": v.leaf_hash,
        "tree_size": cp.size,
        "root": cp.root,
        "signed_by": v.checkpoint.signed_by,
        "source": v.record.source.as_str(),
        "kind": v.record.kind,
        "content_root": v.record.content.root,
        "received_at": v.record.received_at.to_string(),
        "item": v.item.as_ref().map(|i| serde_json::json!({"index": i.index, "leaf_hash": i.leaf_hash})),
        "source_signature": v.source_signature.as_ref().map(|s| serde_json::json!({"key_id": s.key_id})),
        "anchor": v.anchor.as_ref().map(|a| serde_json::json!({"checked": false, "chain_id": a.chain_id, "tx_hash": a.tx_hash})),
    })
}

fn summary_text(v: &VerifiedReceipt) -> String {
    let cp = &v.checkpoint.checkpoint;
    let r = &v.record;
    let mut out = String::from("receipt valid\n");
    out += &format!(
        "  record      {} from source {} received {}, leaf {} (hash {})\n",
        r.kind,
        r.source.as_str(),
        r.received_at,
        v.leaf_index,
        v.leaf_hash
    );
    out += &format!(
        "  included in {} at tree size {} (root {}), checkpoint signed by {}\n",
        cp.origin,
        cp.size,
        cp.root,
        v.checkpoint.signed_by.join(", ")
    );
    out += &format!(
        "  content     root {} over {} item(s)\n",
        r.content.root, r.content.items
    );
    if let Some(item) = &v.item {
        out += &format!(
            "  item        row {} is in the content tree (leaf hash {}): {}\n",
            item.index,
            item.leaf_hash,
            printable(&item.data)
        );
    }
    match &v.source_signature {
        Some(sig) => {
            out += &format!(
                "  signature   source key {} signed this content (check that the key is {}'s)\n",
                sig.key_id,
                r.source.as_str()
            )
        }
        None => out += "  signature   none (the record carries no source signature)\n",
    }
    if let Some(a) = &v.anchor {
        out += &format!(
            "  anchor      not checked offline: chain {} tx {} (verify against the chain with an RPC URL)\n",
            a.chain_id, a.tx_hash
        );
    }
    out
}

/// A row as text when it is short UTF-8 (JSON rows are), else its size.
fn printable(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) if text.len() <= 200 && !text.chars().any(char::is_control) => text.to_string(),
        _ => format!("{} bytes", data.len()),
    }
}

/// Proof documents as in transparency-dev/merkle's test data. Hashes stay strings here so that
/// a bad hash is an invalid proof (exit 1), not an unreadable document (exit 2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionDoc {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct ConsistencyDoc {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
}

fn parse_doc<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Failure> {
    let bytes = read_input(path)?;
    serde_json::from_slice(&bytes).map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
}

fn hash(field: &str, text: &str) -> Result<Hash, Failure> {
    Hash::from_base64(text).map_err(|e| Failure::Invalid(format!("{field}: {e}")))
}

fn proof(items: Option<Vec<String>>) -> Result<Vec<Hash>, Failure> {
    items
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, h)| hash(&format!("proof[{i}]"), h))
        .collect()
}

fn inclusion(path: &Path) -> Result<(), Failure> {
    let doc: InclusionDoc = parse_doc(path)?;
    let root = hash("root", &doc.root)?;
    let leaf = hash("leafHash", &doc.leaf_hash)?;
    let proof = proof(doc.proof)?;
    verify_inclusion(doc.leaf_idx, doc.tree_size, &leaf, &proof, &root)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    println!(
        "valid: leaf {} is in the tree of size {} with root {}",
        doc.leaf_idx,
        doc.tree_size,
        root.to_base64()
    );
    Ok(())
}

fn consistency(path: &Path) -> Result<(), Failure> {
    let doc: ConsistencyDoc = parse_doc(path)?;
    let root1 = hash("root1", &doc.root1)?;
    let root2 = hash("root2", &doc.root2)?;
    let proof = proof(doc.proof)?;
    verify_consistency(doc.size1, doc.size2, &root1, &root2, &proof)
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    println!(
        "valid: the tree of size {} is a prefix of the tree of size {}",
        doc.size1, doc.size2
    );
    Ok(())
}
