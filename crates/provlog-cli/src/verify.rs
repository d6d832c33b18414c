//! `provlog verify …`: offline checks of receipts and raw RFC 9162 proofs, and (with
//! `--rpc-url`) of a receipt's anchor against the chain.
//! Exit status: 0 valid, 1 invalid (reason on stderr), 2 usage or unparseable input.

use std::io::Read;
use std::path::{Path, PathBuf};

use provlog_chain::primitives::{Address, B256};
use provlog_chain::Reader;
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
        after_help = "Examples:\n  provlog verify receipt receipt.json --key 'example.com/provlog+1a2b3c4d+AaBb…'\n  \
        provlog verify receipt receipt.json --key log.vkey --rpc-url https://rpc.example \\\n    \
        --contract 0xContractAddress --confirmations 12\n\n\
        --key takes a verifier key or a file of them (one per line); give it several times\n\
        to trust old and new keys during a rotation. Signatures by other keys are ignored.\n\
        With --rpc-url the receipt's anchor is checked on chain too: the contract must hold the\n\
        receipt's root for its tree size, at least --confirmations blocks deep. Pin the contract\n\
        with --contract: the receipt itself names it, and anyone can deploy a contract."
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
        #[command(flatten)]
        chain: ChainCheck,
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

/// Options of the on-chain check of a receipt's anchor.
#[derive(Debug, Clone, clap::Args)]
pub struct ChainCheck {
    /// JSON-RPC endpoint of the anchor's chain: also check the anchor on chain.
    #[arg(
        long,
        value_name = "URL",
        env = "PROVLOG_VERIFY_RPC_URL",
        hide_env_values = true
    )]
    rpc_url: Option<String>,
    /// Blocks the anchoring block must have on top of it, itself included.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "rpc_url")]
    confirmations: u64,
    /// The contract the anchor must be in (recommended: otherwise the receipt's word is taken).
    #[arg(long, value_name = "ADDRESS", requires = "rpc_url")]
    contract: Option<String>,
}

pub fn run(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Receipt {
            file,
            keys,
            json,
            chain,
        } => receipt(&file, &keys, json, &chain),
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
pub fn trusted_keys(args: &[String]) -> Result<TrustedKeys, Failure> {
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

fn receipt(path: &Path, keys: &[String], json: bool, chain: &ChainCheck) -> Result<(), Failure> {
    let trusted = trusted_keys(keys)?;
    let pinned = chain
        .contract
        .as_deref()
        .map(|c| {
            c.parse::<Address>()
                .map_err(|_| Failure::Usage(format!("--contract {c:?} is not a 0x address")))
        })
        .transpose()?;
    let bytes = read_input(path)?;
    let receipt = Receipt::from_json(&bytes)
        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    let verified =
        verify_receipt(&receipt, &trusted).map_err(|e| Failure::Invalid(e.to_string()))?;
    let on_chain = match &chain.rpc_url {
        None => None,
        Some(url) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))?;
            Some(runtime.block_on(check_on_chain(&verified, url, chain.confirmations, pinned))?)
        }
    };
    if json {
        println!("{}", summary_json(&verified, on_chain.as_ref()));
    } else {
        print!("{}", summary_text(&verified, on_chain.as_ref()));
    }
    Ok(())
}

/// What the chain confirmed about a receipt's anchor.
#[derive(Debug)]
pub struct OnChain {
    contract: Address,
    block_number: u64,
    confirmations: u64,
    pinned: bool,
}

/// Requires the receipt's anchor to be in the contract with the receipt's root, deep enough.
pub async fn check_on_chain(
    v: &VerifiedReceipt,
    url: &str,
    min_confirmations: u64,
    pinned: Option<Address>,
) -> Result<OnChain, Failure> {
    let anchor = v.anchor.as_ref().ok_or_else(|| {
        Failure::Invalid(
            "the receipt carries no anchor, so the chain cannot confirm it; fetch the receipt \
             again once the log has anchored it (response header Provlog-Anchored: true)"
                .into(),
        )
    })?;
    let contract: Address = anchor
        .contract
        .parse()
        .map_err(|_| Failure::Invalid(format!("anchor contract {:?}", anchor.contract)))?;
    if let Some(pinned) = pinned {
        if pinned != contract {
            return Err(Failure::Invalid(format!(
                "the receipt's anchor is in contract {contract}, not the pinned {pinned}"
            )));
        }
    }
    let log_id: B256 = anchor
        .log_id
        .parse()
        .map_err(|_| Failure::Invalid(format!("anchor log_id {:?}", anchor.log_id)))?;
    let unreachable =
        |e: provlog_chain::ChainError| Failure::Usage(format!("checking the anchor on chain: {e}"));
    let reader = Reader::new(url).map_err(|e| Failure::Usage(e.to_string()))?;
    let chain_id = reader.chain_id().await.map_err(unreachable)?;
    if chain_id != anchor.chain_id {
        return Err(Failure::Invalid(format!(
            "the RPC endpoint serves chain {chain_id}, the anchor is on chain {}",
            anchor.chain_id
        )));
    }
    reader
        .require_contract(contract)
        .await
        .map_err(|e| match e {
            provlog_chain::ChainError::NoContract(_) => Failure::Invalid(format!(
                "there is no contract at {contract} on chain {chain_id}"
            )),
            other => unreachable(other),
        })?;
    let cp = &v.checkpoint.checkpoint;
    let held = reader
        .anchored(contract, log_id, cp.size)
        .await
        .map_err(|e| match e {
            provlog_chain::ChainError::Rpc(_) => unreachable(e),
            other => Failure::Invalid(format!("contract {contract}: {other}")),
        })?
        .ok_or_else(|| {
            Failure::Invalid(format!(
                "contract {contract} on chain {chain_id} holds no anchor of tree size {} for this log",
                cp.size
            ))
        })?;
    if held.root.0 != *cp.root.as_bytes() {
        return Err(Failure::Invalid(format!(
            "contract {contract} holds root {} for tree size {}, the receipt's checkpoint has {}",
            held.root, cp.size, cp.root
        )));
    }
    let head = reader.block_number().await.map_err(unreachable)?;
    let confirmations = (head + 1).saturating_sub(held.block_number);
    if confirmations < min_confirmations {
        return Err(Failure::Invalid(format!(
            "the anchor has {confirmations} confirmation(s), fewer than the required {min_confirmations}"
        )));
    }
    Ok(OnChain {
        contract,
        block_number: held.block_number,
        confirmations,
        pinned: pinned.is_some(),
    })
}

fn summary_json(v: &VerifiedReceipt, on_chain: Option<&OnChain>) -> serde_json::Value {
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
        "anchor": v.anchor.as_ref().map(|a| serde_json::json!({
            "checked": on_chain.is_some(),
            "chain_id": a.chain_id,
            "contract": a.contract,
            "contract_pinned": on_chain.map(|c| c.pinned),
            "tx_hash": a.tx_hash,
            "block_number": on_chain.map(|c| c.block_number).unwrap_or(a.block_number),
            "confirmations": on_chain.map(|c| c.confirmations),
        })),
    })
}

pub fn summary_text(v: &VerifiedReceipt, on_chain: Option<&OnChain>) -> String {
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
    match (&v.anchor, on_chain) {
        (Some(a), Some(c)) => {
            out += &format!(
                "  anchor      on chain {}: contract {} holds this root for tree size {} since block {} ({} confirmation(s))\n",
                a.chain_id, c.contract, a.tree_size, c.block_number, c.confirmations
            );
            if !c.pinned {
                out += "              (contract not pinned: pass --contract to require this one)\n";
            }
        }
        (Some(a), None) => {
            out += &format!(
                "  anchor      chain check skipped (no --rpc-url): chain {} contract {} tx {}\n",
                a.chain_id, a.contract, a.tx_hash
            );
        }
        (None, _) => out += "  anchor      none (the receipt is not anchored on a chain)\n",
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
