//! The docker-compose stack, started natively in place of `docker compose up` (CI has no Docker
//! engine). docker-compose.yml, the Dockerfile's runtime stage and the README's secret commands
//! are read, and the same services run with the same binaries, arguments, environment and
//! secrets, so a change on one side that the other does not follow fails here.
//!
//! Compose → this machine, explicitly:
//! - `postgres` → a fresh role and database on `DATABASE_URL`'s server. The database URL the
//!   README writes (`…@postgres:5432/…`) is checked against the service, then rewritten to them.
//! - `anvil` → `contracts/node_modules/.bin/anvil` (the release the image tag names) with the
//!   service's arguments, except `--host 127.0.0.1` and `--port` = the published port when it is
//!   free here, else a free one. `anvil:8545` in other services' settings → that address.
//! - `deploy`, `provlog` → the Dockerfile's `ENTRYPOINT ["provlog"]` is the built binary; the
//!   image's ENV, then the service's environment. `0.0.0.0:8080` → 127.0.0.1 and the published
//!   port when free, else a free one.
//! - `/run/secrets/NAME` → the file of top-level secret NAME as the README's commands made it;
//!   volume NAME mounted at PATH → one directory per volume, shared between services as there.
//! - `user:` → this test's user; compose runs the containers as PROVLOG_UID, checked to be what
//!   the README's commands write.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use provlog_client::{signal, Client, Submission};
use provlog_e2e::stack::{
    environment, exec_list, names, parse_dockerfile, published_ports, shell_block_after,
    volume_mounts, Compose, Image, Native,
};
use provlog_e2e::{provlog_bin, wait_for, workspace_root};
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

const README_MARKER: &str = "<!-- stack-secrets:";

fn compose() -> Compose {
    Compose::load(&workspace_root().join("docker-compose.yml"))
}

fn image() -> Image {
    parse_dockerfile(&std::fs::read_to_string(workspace_root().join("Dockerfile")).unwrap())
}

fn version(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap()).collect()
}

/// `user: "${PROVLOG_UID:?…}:${PROVLOG_GID:?…}"`: the owner of the mounted secrets.
fn assert_runs_as_secret_owner(name: &str, service: &Value) {
    let user = service["user"].as_str().unwrap_or_default();
    assert!(
        user.starts_with("${PROVLOG_UID:?") && user.contains("}:${PROVLOG_GID:?"),
        "{name} must run as ${{PROVLOG_UID}}:${{PROVLOG_GID}} (required), not {user:?}"
    );
}

/// Exec-form argv of a container of the provlog image: entrypoint + command, service first.
fn provlog_argv(service: &Value, image: &Image) -> Vec<String> {
    let mut argv = exec_list(&service["entrypoint"]).unwrap_or_else(|| image.entrypoint.clone());
    argv.extend(exec_list(&service["command"]).unwrap_or_else(|| image.cmd.clone()));
    argv
}

/// The container's environment: the image's ENV, then the service's.
fn container_env(service: &Value, image: &Image) -> BTreeMap<String, String> {
    let mut env = image.env.clone();
    env.extend(environment(service));
    env
}

#[test]
fn compose_file_agrees_with_the_binary_and_the_dockerfile() {
    let compose = compose();
    let image = image();
    let services = compose.service_names();
    assert_eq!(
        services.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(["anvil", "deploy", "postgres", "provlog"])
    );
    let (postgres, anvil, deploy, provlog) = (
        compose.service("postgres"),
        compose.service("anvil"),
        compose.service("deploy"),
        compose.service("provlog"),
    );

    // One image, built from ./Dockerfile by `provlog` and reused (never pulled) by `deploy`.
    assert_eq!(provlog["build"], ".");
    assert_eq!(deploy["image"], provlog["image"]);
    assert!(deploy["build"].is_null());
    assert_eq!(deploy["pull_policy"], "never");
    let uid: u32 = image.user.split(':').next().unwrap().parse().unwrap();
    assert_ne!(uid, 0, "the image runs as an unprivileged user");
    assert_runs_as_secret_owner("provlog", provlog);
    assert_runs_as_secret_owner("deploy", deploy);
    assert_eq!(image.entrypoint, ["provlog"]);
    assert_eq!(image.cmd, ["serve"]);
    assert_eq!(image.healthcheck, ["provlog", "healthcheck"]);
    assert_eq!(
        deploy["healthcheck"]["disable"], true,
        "deploy serves nothing"
    );

    // The builder's toolchain is at least the workspace's floor.
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let floor = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    let builder = &image.args["RUST_VERSION"];
    assert!(
        version(builder) >= version(floor),
        "rust {builder} < {floor}"
    );
    assert!(
        image.base.starts_with("debian:bookworm"),
        "runtime {}",
        image.base
    );

    // anvil is the release contracts/package.json pins (the test chain's).
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("contracts/package.json")).unwrap(),
    )
    .unwrap();
    let pin = package["devDependencies"]["@foundry-rs/anvil-linux-amd64"]
        .as_str()
        .unwrap();
    assert_eq!(anvil["image"], format!("ghcr.io/foundry-rs/foundry:v{pin}"));

    // Every PROVLOG_* variable is a configuration key (or one of the binary's own two).
    let config = serde_json::to_value(provlog_server::Config::default()).unwrap();
    let mut known: BTreeSet<String> = config.as_object().unwrap().keys().cloned().collect();
    known.extend(["log".to_string(), "config".to_string()]);
    for (name, service) in [("deploy", deploy), ("provlog", provlog)] {
        let env = container_env(service, &image);
        for key in env.keys().filter(|k| k.starts_with("PROVLOG_")) {
            let field = key["PROVLOG_".len()..].to_lowercase();
            assert!(
                known.contains(&field),
                "{name}: {key} is no configuration key"
            );
        }
    }

    // Secrets: defined at the top level with a file in ./secrets, each one used somewhere.
    let mut used = BTreeSet::new();
    for name in &services {
        for secret in names(&compose.service(name)["secrets"]) {
            let file = compose.secret_file(&secret);
            assert!(
                file.starts_with("secrets/"),
                "{secret}: {file} is outside ./secrets"
            );
            used.insert(secret);
        }
    }
    assert_eq!(
        used,
        compose.secret_names().into_iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(
        environment(postgres)["POSTGRES_PASSWORD_FILE"],
        "/run/secrets/postgres_password"
    );
    // Volumes are declared; every absolute path a service is given lies in one of its mounts
    // (Native::map panics otherwise), and `provlog` only reads the deployment record.
    let declared = compose.doc["volumes"].as_object().unwrap();
    for name in &services {
        let service = compose.service(name);
        let mut native = Native::default();
        for secret in names(&service["secrets"]) {
            native
                .mounts
                .push((format!("/run/secrets/{secret}"), PathBuf::from("/host")));
        }
        for mount in volume_mounts(service) {
            assert!(
                declared.contains_key(&mount.volume),
                "{name}: {}",
                mount.volume
            );
            native.mounts.push((mount.target, PathBuf::from("/host")));
        }
        if name == "deploy" || name == "provlog" {
            for value in container_env(service, &image).values() {
                native.map(name, value);
            }
            for arg in provlog_argv(service, &image) {
                native.map(name, &arg);
            }
        }
    }
    assert!(volume_mounts(provlog).iter().all(|m| m.read_only));

    // Start order: a healthy database and chain, and a finished deployment.
    let condition = |svc: &Value, dep: &str| svc["depends_on"][dep]["condition"].clone();
    assert_eq!(condition(provlog, "postgres"), "service_healthy");
    assert_eq!(condition(provlog, "anvil"), "service_healthy");
    assert_eq!(
        condition(provlog, "deploy"),
        "service_completed_successfully"
    );
    assert_eq!(condition(deploy, "anvil"), "service_healthy");
    for svc in [postgres, anvil] {
        assert_eq!(svc["healthcheck"]["test"][0], "CMD");
    }

    // Ports: loopback only; provlog's is PROVLOG_LISTEN's and EXPOSE's, anvil's its --port.
    assert!(
        published_ports(postgres).is_empty(),
        "the database stays inside"
    );
    for name in &services {
        for p in published_ports(compose.service(name)) {
            assert!(p.host_ip.is_loopback(), "{name} publishes on {}", p.host_ip);
        }
    }
    let [api] = published_ports(provlog)[..] else {
        panic!("provlog publishes one port")
    };
    let listen = &container_env(provlog, &image)["PROVLOG_LISTEN"];
    assert_eq!(listen, &format!("0.0.0.0:{}", api.container_port));
    assert_eq!(image.expose, [api.container_port]);
    let [rpc] = published_ports(anvil)[..] else {
        panic!("anvil publishes one port")
    };
    let args = exec_list(&anvil["entrypoint"]).unwrap();
    let port_arg = args.iter().position(|a| a == "--port").unwrap() + 1;
    assert_eq!(args[port_arg], rpc.container_port.to_string());
}

/// A port of this machine for a published one: the same when free, else any free port.
fn port_or_free(port: u16) -> u16 {
    if TcpListener::bind(("127.0.0.1", port)).is_ok() {
        return port;
    }
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command with no inherited `PROVLOG_*` variable: only the service's environment counts.
fn command(program: &Path, args: &[String], env: &BTreeMap<String, String>) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PROVLOG_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env);
    cmd
}

fn run(program: &Path, args: &[String], env: &BTreeMap<String, String>) -> Output {
    command(program, args, env).output().unwrap()
}

/// A long-running service, killed when dropped.
struct Service {
    what: String,
    child: Child,
    log: PathBuf,
}

impl Service {
    fn start(
        what: &str,
        program: &Path,
        args: &[String],
        env: &BTreeMap<String, String>,
        log: PathBuf,
    ) -> Service {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = command(program, args, env)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what} ({}): {e}", program.display()));
        Service {
            what: what.to_string(),
            child,
            log,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as `docker compose stop` sends, and the exit status.
    fn stop(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} ignored SIGTERM:\n{}",
                self.what,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a healthcheck's exec-form command until it exits 0, as the engine would; fails at once
/// if the service exits.
async fn wait_healthy(
    program: &Path,
    args: &[String],
    env: &BTreeMap<String, String>,
    service: &mut Service,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = run(program, args, env);
        if out.status.success() {
            return;
        }
        if let Some(status) = service.child.try_wait().unwrap() {
            panic!("{} exited ({status}):\n{}", service.what, service.logs());
        }
        assert!(
            Instant::now() < deadline,
            "{} never turned healthy: {}{}\n--- log\n{}",
            service.what,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            service.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The compose `postgres` service's stand-in: a role and a database of their own.
struct Database {
    admin_url: String,
    role: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(password: &str) -> Database {
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let options: PgConnectOptions = admin_url.parse().unwrap();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let tag = format!("provlog_stack_{}_{nanos}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        assert!(password.chars().all(|c| c.is_ascii_hexdigit()));
        for sql in [
            format!("CREATE ROLE \"{tag}\" LOGIN PASSWORD '{password}'"),
            format!("CREATE DATABASE \"{tag}\" OWNER \"{tag}\""),
        ] {
            sqlx::query(&sql).execute(&mut admin).await.unwrap();
        }
        let _ = admin.close().await;
        let url = format!(
            "postgres://{tag}:{password}@{}:{}/{tag}",
            options.get_host(),
            options.get_port()
        );
        Database {
            admin_url,
            role: tag.clone(),
            name: tag,
            url,
        }
    }
}

/// Dropped even when the test panics, on a thread of its own (this may run inside the test's
/// runtime): the database first, then its owner.
impl Drop for Database {
    fn drop(&mut self) {
        let (admin_url, role, name) =
            (self.admin_url.clone(), self.role.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.unwrap();
                for sql in [
                    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                    format!("DROP ROLE IF EXISTS \"{role}\""),
                ] {
                    sqlx::query(&sql).execute(&mut admin).await.unwrap();
                }
                let _ = admin.close().await;
            });
        })
        .join();
    }
}

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_stack_runs_natively_deploys_once_and_anchors_receipts() {
    let compose = compose();
    let image = image();
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    let bin = provlog_bin();
    let logs = |name: &str| t.join(format!("{name}.log"));

    // 1. Secrets and .env, made by the README's own commands with this provlog on PATH.
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let block = shell_block_after(&readme, README_MARKER);
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-e", "-c", &block])
        .current_dir(t)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the README's secret commands failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dotenv = std::fs::read_to_string(t.join(".env")).unwrap();
        let owner: u32 = dotenv
            .lines()
            .find_map(|l| l.strip_prefix("PROVLOG_UID="))
            .unwrap()
            .parse()
            .unwrap();
        assert_ne!(owner, 0, "the containers never run as root");
        assert!(dotenv.contains("PROVLOG_GID="));
        for secret in compose.secret_names() {
            let file = compose.secret_file(&secret);
            let meta = std::fs::metadata(t.join(&file))
                .unwrap_or_else(|e| panic!("the README's commands made no {file}: {e}"));
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{secret}");
            assert_eq!(meta.uid(), owner, "{secret} belongs to PROVLOG_UID");
        }
    }

    // 2. postgres: the URL the README wrote names the service, its user and database, and
    //    the password the service reads; here it points at a fresh role and database.
    let postgres = compose.service("postgres");
    let pg_env = environment(postgres);
    let password = read_trimmed(&t.join(compose.secret_file("postgres_password")));
    let written = read_trimmed(&t.join(compose.secret_file("database_url")));
    assert_eq!(
        written,
        format!(
            "postgres://{}:{password}@postgres:5432/{}",
            pg_env["POSTGRES_USER"], pg_env["POSTGRES_DB"]
        )
    );
    let db = Database::create(&password).await;
    let native_db_url = t.join("native-database_url");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&native_db_url)
            .unwrap();
        f.write_all(db.url.as_bytes()).unwrap();
    }

    // 3. The explicit mapping of every service's addresses and mounts.
    let anvil = compose.service("anvil");
    let [rpc] = published_ports(anvil)[..] else {
        panic!("anvil publishes one port")
    };
    let anvil_port = port_or_free(rpc.host_port);
    let [api] = published_ports(compose.service("provlog"))[..] else {
        panic!("provlog publishes one port")
    };
    let api_port = port_or_free(api.host_port);
    let mut native: BTreeMap<String, Native> = BTreeMap::new();
    for name in compose.service_names() {
        let service = compose.service(&name);
        let mut n = Native::default();
        for secret in names(&service["secrets"]) {
            let host = if secret == "database_url" {
                native_db_url.clone()
            } else {
                t.join(compose.secret_file(&secret))
            };
            n.mounts.push((format!("/run/secrets/{secret}"), host));
        }
        for mount in volume_mounts(service) {
            let host = t.join("volumes").join(&mount.volume);
            std::fs::create_dir_all(&host).unwrap();
            n.mounts.push((mount.target, host));
        }
        n.addresses.push((
            format!("anvil:{}", rpc.container_port),
            format!("127.0.0.1:{anvil_port}"),
        ));
        let own = match name.as_str() {
            "anvil" => Some((rpc.container_port, anvil_port)),
            "provlog" => Some((api.container_port, api_port)),
            _ => None,
        };
        if let Some((container, host)) = own {
            for ip in ["0.0.0.0", "127.0.0.1"] {
                n.addresses
                    .push((format!("{ip}:{container}"), format!("127.0.0.1:{host}")));
            }
        }
        native.insert(name, n);
    }
    let rpc_url = format!("http://127.0.0.1:{anvil_port}");

    // 4. anvil with the service's arguments; healthy by the service's own check.
    let entry = exec_list(&anvil["entrypoint"]).unwrap();
    assert_eq!(entry[0], "anvil");
    let mut anvil_args = vec![];
    let mut rest = entry[1..].iter();
    while let Some(arg) = rest.next() {
        anvil_args.push(arg.clone());
        match arg.as_str() {
            "--host" => {
                rest.next();
                anvil_args.push("127.0.0.1".into());
            }
            "--port" => {
                assert_eq!(rest.next().unwrap(), &rpc.container_port.to_string());
                anvil_args.push(anvil_port.to_string());
            }
            _ => {}
        }
    }
    let anvil_args: Vec<String> = anvil_args
        .iter()
        .map(|a| native["anvil"].map("anvil", a))
        .collect();
    let anvil_bin = provlog_chain::anvil::binary().expect("anvil (npm ci in contracts/)");
    let check = exec_list(&anvil["healthcheck"]["test"]).unwrap();
    assert_eq!(check[..2], ["CMD", "cast"]);
    let cast = root.join("contracts/node_modules/.bin/cast");
    let cast_args: Vec<String> = check[2..]
        .iter()
        .map(|a| native["anvil"].map("anvil", a))
        .collect();
    let no_env = BTreeMap::new();
    let mut chain = Service::start("anvil", &anvil_bin, &anvil_args, &no_env, logs("anvil"));
    wait_healthy(&cast, &cast_args, &no_env, &mut chain).await;
    let reader = provlog_chain::Reader::new(&rpc_url).unwrap();
    assert_eq!(reader.chain_id().await.unwrap(), 31337);

    // 5. deploy: the service's command, run by the image's entrypoint.
    let deploy = compose.service("deploy");
    let deploy_env: BTreeMap<String, String> = container_env(deploy, &image)
        .iter()
        .map(|(k, v)| (k.clone(), native["deploy"].map("deploy", v)))
        .collect();
    let deploy_argv: Vec<String> = provlog_argv(deploy, &image)
        .iter()
        .map(|a| native["deploy"].map("deploy", a))
        .collect();
    assert_eq!(deploy_argv[0], "provlog");
    let run_deploy = || run(&bin, &deploy_argv[1..], &deploy_env);
    let out = run_deploy();
    assert!(
        out.status.success(),
        "deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let contract = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let record_path =
        PathBuf::from(&deploy_argv[deploy_argv.iter().position(|a| a == "--out").unwrap() + 1]);
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    assert_eq!(record["contract"], contract.as_str());

    // 6. provlog: the image's command with the service's environment.
    let provlog = compose.service("provlog");
    let serve_env: BTreeMap<String, String> = container_env(provlog, &image)
        .iter()
        .map(|(k, v)| (k.clone(), native["provlog"].map("provlog", v)))
        .collect();
    let serve_argv = provlog_argv(provlog, &image);
    assert_eq!(serve_argv, ["provlog", "serve"]);
    let health = exec_list(&provlog["healthcheck"]["test"])
        .map(|t| t[1..].to_vec())
        .unwrap_or_else(|| image.healthcheck.clone());
    assert_eq!(health[0], "provlog");
    let health_args: Vec<String> = health[1..]
        .iter()
        .map(|a| native["provlog"].map("provlog", a))
        .collect();
    // Unhealthy while nothing serves: the check can fail.
    let early = run(&bin, &health_args, &serve_env);
    assert_eq!(early.status.code(), Some(1), "{early:?}");
    let mut server = Service::start(
        "provlog",
        &bin,
        &serve_argv[1..],
        &serve_env,
        logs("provlog"),
    );
    wait_healthy(&bin, &health_args, &serve_env, &mut server).await;

    // 7. A record, its anchored receipt, and the chain check from the host.
    let api_url = format!("http://127.0.0.1:{api_port}");
    let token = read_trimmed(&t.join(compose.secret_file("admin_token")));
    let client = Client::new(&api_url).unwrap().with_token(token);
    let ack = client
        .submit(&Submission::one(&signal(
            "acme-signals",
            json!({"token": "ETH", "signal": 1, "via": "compose stack"}),
        )))
        .await
        .unwrap();
    let index = ack.records[0].index;
    let anchored = |client: Client| async move {
        wait_for("an anchored receipt", Duration::from_secs(60), || {
            let client = client.clone();
            async move {
                let r = client.receipt_json(index, None, None).await.ok()?;
                let v: Value = serde_json::from_slice(&r).ok()?;
                v.get("anchor").is_some().then_some(v)
            }
        })
        .await
    };
    let receipt = anchored(client.clone()).await;
    assert_eq!(
        receipt["anchor"]["contract"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        contract.to_lowercase()
    );
    let receipt_file = t.join("receipt.json");
    std::fs::write(&receipt_file, serde_json::to_vec_pretty(&receipt).unwrap()).unwrap();
    let vkey = t.join("secrets/verifier_key");
    let verify = |rpc: &str| {
        run(
            &bin,
            &[
                "verify".into(),
                "receipt".into(),
                receipt_file.display().to_string(),
                "--key".into(),
                vkey.display().to_string(),
                "--rpc-url".into(),
                rpc.into(),
                "--contract".into(),
                contract.clone(),
            ],
            &no_env,
        )
    };
    let out = verify(&rpc_url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("holds this root"), "{stdout}");

    // 8. A second `up`: the chain restarts from its state file on the anvil volume, deploy
    //    reuses its record without a transaction, and the log serves the same anchored receipt.
    assert!(server.stop().success());
    let height = reader.block_number().await.unwrap();
    assert!(chain.stop().success());
    let mut chain = Service::start("anvil", &anvil_bin, &anvil_args, &no_env, logs("anvil"));
    wait_healthy(&cast, &cast_args, &no_env, &mut chain).await;
    assert_eq!(
        reader.block_number().await.unwrap(),
        height,
        "the chain kept its state"
    );
    let out = run_deploy();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), contract);
    assert!(stderr.contains("reusing"), "{stderr}");
    assert_eq!(
        reader.block_number().await.unwrap(),
        height,
        "nothing was sent"
    );
    let mut server = Service::start(
        "provlog",
        &bin,
        &serve_argv[1..],
        &serve_env,
        logs("provlog"),
    );
    wait_healthy(&bin, &health_args, &serve_env, &mut server).await;
    let again = anchored(client.clone()).await;
    assert_eq!(again["anchor"], receipt["anchor"]);
    assert!(server.stop().success());

    // 9. A chain that lost the contract (here: a fresh node) makes deploy refuse, not redeploy.
    let fresh = provlog_chain::anvil::Anvil::start(Default::default())
        .await
        .unwrap();
    let stale_argv: Vec<String> = deploy_argv[1..]
        .iter()
        .map(|a| a.replace(&rpc_url, &fresh.url()))
        .collect();
    let before = std::fs::read(&record_path).unwrap();
    let out = run(&bin, &stale_argv, &deploy_env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no contract code") && stderr.contains("reset chain"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&record_path).unwrap(), before);
    // Nor does a record that could not be written: refused before anything is sent.
    let nowhere = t.join("no-such-volume/anvil.json").display().to_string();
    let unwritable: Vec<String> = stale_argv
        .iter()
        .map(|a| a.replace(&record_path.display().to_string(), &nowhere))
        .collect();
    let out = run(&bin, &unwritable, &deploy_env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no directory"), "{stderr}");
    let fresh_reader = provlog_chain::Reader::new(&fresh.url()).unwrap();
    assert_eq!(
        fresh_reader.block_number().await.unwrap(),
        0,
        "nothing was sent"
    );

    drop(chain);
    drop(db);
}
