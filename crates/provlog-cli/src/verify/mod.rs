//! `provlog verify …`: offline checks of receipts and raw RFC 9162 proofs, and (with
//! `--rpc-url`) of a receipt's anchor against the chain.
//! Exit status: 0 valid, 1 invalid (reason on stderr), 2 usage or unparseable input.

use std::io::Read;
use std::path::{Path, PathBuf};

mod chain;
mod payload;
mod summary;
mod track;

use provlog_chain::primitives::Address;
use provlog_core::checkpoint::{TrustedKeys, VerifierKey};
use provlog_core::log::{verify_consistency, verify_inclusion};
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_core::Hash;
use serde::Deserialize;

pub use chain::check_on_chain;
use summary::summary_json;
pub use summary::summary_text;

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
        receipt's root for its tree size, at least --confirmations blocks deep; the receipt's\n\
        block must be the chain's (hash and timestamp), and its transaction must be in it and\n\
        have emitted the contract's CheckpointAnchored event for this log, size and root. Only\n\
        then does it print the chain's time bound. Pin the contract with --contract: the\n\
        receipt itself names it, and anyone can deploy a contract."
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
    /// Start from a value you received: find its records in a log and verify each offline.
    #[command(
        after_help = "Examples:\n  provlog verify payload signal.json --url https://log.example --key log.vkey\n  \
        curl -s https://provider.example/signals/latest | provlog verify payload - \\\n    \
        --url https://log.example --key log.vkey --source acme-signals --rpc-url https://rpc.example \\\n    \
        --contract 0xContractAddress --json\n\n\
        The file is a signal's JSON payload, as the provider served it: key order and number\n\
        spelling do not matter (the hash is over its RFC 8785 form). The command computes the\n\
        content root locally, asks the log for the records with it, fetches each receipt and\n\
        verifies it offline; the log is trusted for nothing but listing them. It prints the\n\
        source, leaf, received time, checkpoint and the time bound: the anchoring block's\n\
        timestamp with --rpc-url, else the checkpoint (the operator's clock).\n\
        A signed record's key must be proven the source's by the log's registry records.\n\
        With --item the file is one row of a snapshot: a JSON value, or a .csv file of the\n\
        header and that one line (read as `provlog submit snapshot` reads CSV).\n\
        Exit 0: logged, every check passed; 1: not in the log, evidence failed, or another\n\
        source than --source; 2: usage, unreadable input or unreachable server."
    )]
    Payload {
        /// The payload (JSON), or - for standard input.
        file: PathBuf,
        /// Base URL of the log.
        #[arg(long, value_name = "URL", env = "PROVLOG_URL")]
        url: String,
        /// File holding a read API key, where the log's reads are not public.
        #[arg(long, value_name = "FILE", env = "PROVLOG_API_KEY_FILE")]
        token_file: Option<PathBuf>,
        /// A trusted log verifier key (name+hexid+base64), or a file of them.
        #[arg(long = "key", value_name = "VKEY", required = true)]
        keys: Vec<String>,
        /// The source the payload must come from.
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// The file is one row of a snapshot, not a signal's payload.
        #[arg(long)]
        item: bool,
        /// Print what was verified as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chain: ChainCheck,
    },
    /// Verify a source's track record: every record of a window, none missing.
    #[command(
        name = "track-record",
        after_help = "Examples:\n  curl -s 'https://log.example/v1/sources/acme-signals/track-record?since=2026-11-01T00:00:00Z' \\\n    \
        > acme.json && provlog verify track-record acme.json --key log.vkey\n  \
        provlog verify track-record acme.json --key log.vkey --rpc-url https://rpc.example \\\n    \
        --contract 0xContractAddress --json\n\n\
        The bundle (provlog-track-record/v1) holds the window's records in sequence order, the\n\
        source's records just before and after it, and the registry evidence of every key that\n\
        signed in it, all at one signed checkpoint. The command checks every inclusion proof,\n\
        that the sequence numbers run without a gap from the record before to the record after,\n\
        that each record names the one before it (prev), that no record outside the window was\n\
        left in and none inside it left out, and each signing key's registry evidence.\n\
        Exit 0: complete and valid (gaps 0); 1: a record missing, moved, replaced or forged, the\n\
        window cut short, or evidence failed; 2: usage or unreadable input."
    )]
    TrackRecord {
        /// Bundle file (JSON), or - for standard input.
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
        Command::Payload {
            file,
            url,
            token_file,
            keys,
            source,
            item,
            json,
            chain,
        } => payload::verify(&payload::Args {
            file: &file,
            url: &url,
            token_file: token_file.as_deref(),
            keys: &keys,
            source: source.as_deref(),
            item,
            json,
            chain: &chain,
        }),
        Command::TrackRecord {
            file,
            keys,
            json,
            chain,
        } => track::verify(&file, &keys, json, &chain),
        Command::Inclusion { file } => inclusion(&file),
        Command::Consistency { file } => consistency(&file),
    }
}

pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
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

impl ChainCheck {
    /// The `--contract` to require, parsed.
    fn pinned(&self) -> Result<Option<Address>, Failure> {
        self.contract
            .as_deref()
            .map(|c| {
                c.parse::<Address>()
                    .map_err(|_| Failure::Usage(format!("--contract {c:?} is not a 0x address")))
            })
            .transpose()
    }
}

fn receipt(path: &Path, keys: &[String], json: bool, chain: &ChainCheck) -> Result<(), Failure> {
    let trusted = trusted_keys(keys)?;
    let pinned = chain.pinned()?;
    let bytes = read_input(path)?;
    let receipt = Receipt::from_json(&bytes)
        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    let verified =
        verify_receipt(&receipt, &trusted).map_err(|e| Failure::Invalid(e.to_string()))?;
    let on_chain = match &chain.rpc_url {
        None => None,
        Some(url) => Some(crate::admin::runtime()?.block_on(check_on_chain(
            &verified,
            url,
            chain.confirmations,
            pinned,
        ))?),
    };
    if json {
        println!("{}", summary_json(&verified, on_chain.as_ref()));
    } else {
        print!("{}", summary_text(&verified, on_chain.as_ref()));
    }
    Ok(())
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
