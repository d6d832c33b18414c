//! `provlog keygen`: a new checkpoint signing key (or, with `--anchorer`, a secp256k1 key for
//! the account that anchors checkpoints on chain; with `--cosigner`, a monitor's C2SP
//! cosignature key), written where only its owner can read it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use provlog_core::checkpoint::NoteSigner;

use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Key name: the log's origin (no spaces, no '+'), e.g. example.com/provlog; with
    /// --cosigner, the monitor's own name, e.g. monitor.example/m1.
    #[arg(
        long,
        required_unless_present = "anchorer",
        conflicts_with = "anchorer"
    )]
    name: Option<String>,
    /// Make a secp256k1 key for the anchoring account instead; prints its address.
    #[arg(long, conflicts_with = "cosigner")]
    anchorer: bool,
    /// Make a cosigner key (C2SP tlog-cosignature, for `provlog monitor`) named --name.
    #[arg(long, requires = "name")]
    cosigner: bool,
    /// Where to write the secret key. An existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let (secret, public) = match &args.name {
        Some(name) if args.cosigner => {
            let cosigner =
                provlog_core::cosignature::Cosigner::generate(name, &mut rand::rngs::OsRng)
                    .map_err(|e| Failure::Usage(e.to_string()))?;
            (cosigner.to_secret_text(), cosigner.public_key().to_string())
        }
        Some(name) if !args.anchorer => {
            let signer = NoteSigner::generate(name, &mut rand::rngs::OsRng)
                .map_err(|e| Failure::Usage(e.to_string()))?;
            (signer.to_secret_text(), signer.verifier_key().to_string())
        }
        _ => {
            let key = provlog_chain::AnchorKey::random();
            (key.to_hex(), key.address().to_string())
        }
    };
    write_secret(&args.out, &secret)?;
    println!("{public}");
    Ok(())
}

/// Writes `secret` and a newline to a new file of mode 0600; never overwrites.
pub fn write_secret(out: &Path, secret: &str) -> Result<(), Failure> {
    write_private(
        out,
        secret,
        " (refusing to overwrite a key; choose another --out or remove it first)",
    )
}

/// Writes `text` and a newline to a new file only its owner can read; `exists_hint` follows
/// the error when the file is already there.
pub fn write_private(out: &Path, text: &str, exists_hint: &str) -> Result<(), Failure> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            exists_hint
        } else {
            ""
        };
        Failure::Usage(format!("cannot create {}: {e}{hint}", out.display()))
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::Usage(format!("writing {}: {e}", out.display())))
}
