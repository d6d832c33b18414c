//! `provlog keygen`: a new checkpoint signing key, written where only its owner can read it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use provlog_core::checkpoint::NoteSigner;

use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Key name: the log's origin (no spaces, no '+'), e.g. example.com/provlog.
    #[arg(long)]
    name: String,
    /// Where to write the secret key. An existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let signer = NoteSigner::generate(&args.name, &mut rand::rngs::OsRng)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&args.out).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (refusing to overwrite a key; choose another --out or remove it first)"
        } else {
            ""
        };
        Failure::Usage(format!("cannot create {}: {e}{hint}", args.out.display()))
    })?;
    let secret = signer.to_secret_text();
    file.write_all(secret.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::Usage(format!("writing {}: {e}", args.out.display())))?;
    println!("{}", signer.verifier_key());
    Ok(())
}
