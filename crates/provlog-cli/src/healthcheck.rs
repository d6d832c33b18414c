//! `provlog healthcheck`: exit 0 when a server's `/readyz` answers 200, for container
//! healthchecks (the runtime image has no curl).

use std::time::Duration;

use provlog_client::Client;

use crate::Failure;

pub const AFTER_HELP: &str = "Examples:\n  provlog healthcheck                       # the server this PROVLOG_LISTEN configures\n  \
    provlog healthcheck --url http://127.0.0.1:8080\n\n\
    Without --url the address is PROVLOG_LISTEN's (127.0.0.1:8080 when unset), with 0.0.0.0\n\
    or [::] replaced by loopback: in a container, the same variable that tells `provlog serve`\n\
    where to listen. Exit status: 0 ready (a leader holds the lease, the database answers),\n\
    1 not ready or unreachable, 2 usage. The Dockerfile's HEALTHCHECK runs this.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the server (default: from PROVLOG_LISTEN).
    #[arg(long, env = "PROVLOG_URL")]
    url: Option<String>,
    /// Give up after this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 3_000)]
    timeout_ms: u64,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let base = match args.url {
        Some(url) => url,
        None => {
            let listen = std::env::var("PROVLOG_LISTEN")
                .unwrap_or_else(|_| provlog_server::Config::default().listen);
            base_for_listen(&listen)?
        }
    };
    let client = Client::new(&base).map_err(|e| Failure::Usage(format!("--url {base}: {e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))?;
    // The timer is made inside the runtime: tokio's timers need one to exist.
    let answer = runtime.block_on(async {
        tokio::time::timeout(Duration::from_millis(args.timeout_ms), client.ready()).await
    });
    match answer {
        Ok(Ok(true)) => {
            println!("ready: {base}");
            Ok(())
        }
        Ok(Ok(false)) => Err(Failure::Invalid(format!("{base}/readyz: not ready (503)"))),
        Ok(Err(e)) => Err(Failure::Invalid(format!("{base}/readyz: {e}"))),
        Err(_) => Err(Failure::Invalid(format!(
            "{base}/readyz: no answer within {} ms",
            args.timeout_ms
        ))),
    }
}

/// The URL a local client reaches a server listening on `listen` (`host:port`) at.
fn base_for_listen(listen: &str) -> Result<String, Failure> {
    let (host, port) = listen
        .rsplit_once(':')
        .ok_or_else(|| Failure::Usage(format!("PROVLOG_LISTEN {listen:?}: not host:port")))?;
    if port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(Failure::Usage(format!(
            "PROVLOG_LISTEN {listen:?}: no fixed port to check; pass --url"
        )));
    }
    let host = match host {
        "" | "0.0.0.0" => "127.0.0.1",
        "[::]" => "[::1]",
        other => other,
    };
    Ok(format!("http://{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::base_for_listen;

    #[test]
    fn wildcard_listen_addresses_are_checked_on_loopback() {
        for (listen, want) in [
            ("0.0.0.0:8080", "http://127.0.0.1:8080"),
            ("[::]:9000", "http://[::1]:9000"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("provlog.internal:80", "http://provlog.internal:80"),
        ] {
            assert_eq!(
                base_for_listen(listen).ok().as_deref(),
                Some(want),
                "{listen}"
            );
        }
        for bad in ["8080", "127.0.0.1:0", "127.0.0.1:http"] {
            assert!(base_for_listen(bad).is_err(), "{bad}");
        }
    }
}
