//! `provlog serve` itself reads two `PROVLOG_*` variables that are not configuration keys:
//! `PROVLOG_LOG` (the log filter, crates/provlog-cli/src/serve.rs) and `PROVLOG_CONFIG` (clap's
//! env for `--config`). The configuration loader must not refuse them as unknown keys.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use provlog_e2e::{Fixture, Server, TestDb};

#[tokio::test]
async fn serve_accepts_provlog_log_and_provlog_config() {
    let fx = Fixture::new("example.com/provlog/config-env");
    let db = TestDb::create("cfgenv").await;
    let config = fx.path("provlog.toml");
    std::fs::write(&config, "checkpoint_interval_ms = 200\n").unwrap();
    let config = config.to_str().unwrap();
    let mut refused = vec![];
    for env in [("PROVLOG_LOG", "warn"), ("PROVLOG_CONFIG", config)] {
        match Server::try_start(&fx, &db.url, &[env]) {
            Ok(server) => assert!(server.terminate(Duration::from_secs(15)).success()),
            Err(e) => refused.push(format!("{}={}: {e}", env.0, env.1)),
        }
    }
    db.drop_db().await;
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}
