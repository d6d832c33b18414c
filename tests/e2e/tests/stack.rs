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

/// One image, built from ./Dockerfile by `provlog` and reused (never pulled) by `deploy`.
fn check_one_image(deploy: &Value, provlog: &Value, image: &Image) {
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
}

/// The builder's toolchain is at least the workspace's floor; anvil is the release
/// contracts/package.json pins (the test chain's).
fn check_pinned_versions(anvil: &Value, image: &Image) {
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
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("contracts/package.json")).unwrap(),
    )
    .unwrap();
    let pin = package["devDependencies"]["@foundry-rs/anvil-linux-amd64"]
        .as_str()
        .unwrap();
    assert_eq!(anvil["image"], format!("ghcr.io/foundry-rs/foundry:v{pin}"));
}

/// Every PROVLOG_* variable is a configuration key (or one of the binary's own two).
fn check_configuration_keys(deploy: &Value, provlog: &Value, image: &Image) {
    let config = serde_json::to_value(provlog_server::Config::default()).unwrap();
    let mut known: BTreeSet<String> = config.as_object().unwrap().keys().cloned().collect();
    known.extend(["log".to_string(), "config".to_string()]);
    for (name, service) in [("deploy", deploy), ("provlog", provlog)] {
        let env = container_env(service, image);
        for key in env.keys().filter(|k| k.starts_with("PROVLOG_")) {
            let field = key["PROVLOG_".len()..].to_lowercase();
            assert!(
                known.contains(&field),
                "{name}: {key} is no configuration key"
            );
        }
    }
}

/// Secrets: defined at the top level with a file in ./secrets, each one used somewhere.
/// Volumes are declared; every absolute path a service is given lies in one of its mounts
/// (Native::map panics otherwise), and `provlog` only reads the deployment record.
fn check_secrets_and_volumes(compose: &Compose, image: &Image) {
    let services = compose.service_names();
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
        environment(compose.service("postgres"))["POSTGRES_PASSWORD_FILE"],
        "/run/secrets/postgres_password"
    );
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
            for value in container_env(service, image).values() {
                native.map(name, value);
            }
            for arg in provlog_argv(service, image) {
                native.map(name, &arg);
            }
        }
    }
    assert!(volume_mounts(compose.service("provlog"))
        .iter()
        .all(|m| m.read_only));
}

/// Ports: loopback only; provlog's is PROVLOG_LISTEN's and EXPOSE's, anvil's its --port.
fn check_ports(compose: &Compose, image: &Image) {
    let (postgres, anvil, provlog) = (
        compose.service("postgres"),
        compose.service("anvil"),
        compose.service("provlog"),
    );
    assert!(
        published_ports(postgres).is_empty(),
        "the database stays inside"
    );
    for name in &compose.service_names() {
        for p in published_ports(compose.service(name)) {
            assert!(p.host_ip.is_loopback(), "{name} publishes on {}", p.host_ip);
        }
    }
    let [api] = published_ports(provlog)[..] else {
        panic!("provlog publishes one port")
    };
    let listen = &container_env(provlog, image)["PROVLOG_LISTEN"];
    assert_eq!(listen, &format!("0.0.0.0:{}", api.container_port));
    assert_eq!(image.expose, [api.container_port]);
    let [rpc] = published_ports(anvil)[..] else {
        panic!("anvil publishes one port")
    };
    let args = exec_list(&anvil["entrypoint"]).unwrap();
    let port_arg = args.iter().position(|a| a == "--port").unwrap() + 1;
    assert_eq!(args[port_arg], rpc.container_port.to_string());
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
    check_one_image(deploy, provlog, &image);
    check_pinned_versions(anvil, &image);
    check_configuration_keys(deploy, provlog, &image);
    check_secrets_and_volumes(&compose, &image);

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
    check_ports(&compose, &image);
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

/// 1. Secrets and .env, made by the README's own commands with this provlog on PATH in `t`.
fn make_secrets_as_the_readme_does(compose: &Compose, bin: &Path, t: &Path) {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
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

/// 2. postgres: the URL the README wrote names the service, its user and database, and the
///    password the service reads; here it points at a fresh role and database, whose URL is in
///    the returned file.
async fn database_as_the_readme_wrote(compose: &Compose, t: &Path) -> (Database, PathBuf) {
    let pg_env = environment(compose.service("postgres"));
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
    (db, native_db_url)
}

/// 3. The explicit mapping of every service's addresses and mounts.
struct Mapping {
    native: BTreeMap<String, Native>,
    /// anvil's port in its container, and here.
    rpc: (u16, u16),
    /// provlog's port here.
    api_port: u16,
}

fn map_services(compose: &Compose, t: &Path, native_db_url: &Path) -> Mapping {
    let [rpc] = published_ports(compose.service("anvil"))[..] else {
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
                native_db_url.to_path_buf()
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
    Mapping {
        native,
        rpc: (rpc.container_port, anvil_port),
        api_port,
    }
}

impl Mapping {
    /// Each of `values` as service `name` sees it, mapped here.
    fn all(&self, name: &str, values: &[String]) -> Vec<String> {
        values
            .iter()
            .map(|a| self.native[name].map(name, a))
            .collect()
    }

    fn env(&self, name: &str, env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        env.iter()
            .map(|(k, v)| (k.clone(), self.native[name].map(name, v)))
            .collect()
    }
}

/// A program with its arguments and environment.
struct Program {
    path: PathBuf,
    args: Vec<String>,
    env: BTreeMap<String, String>,
}

impl Program {
    fn run(&self) -> Output {
        run(&self.path, &self.args, &self.env)
    }
}

/// A long-running service and the healthcheck that says it is up.
struct Runnable {
    what: &'static str,
    program: Program,
    check: Program,
}

impl Runnable {
    /// Starts it, logging to `log`, and waits until it is healthy.
    async fn up(&self, log: PathBuf) -> Service {
        let p = &self.program;
        let mut service = Service::start(self.what, &p.path, &p.args, &p.env, log);
        let c = &self.check;
        wait_healthy(&c.path, &c.args, &c.env, &mut service).await;
        service
    }
}

/// 4. anvil with the service's arguments (`--host` and `--port` as mapped); healthy by the
///    service's own check.
fn anvil_natively(compose: &Compose, map: &Mapping) -> Runnable {
    let anvil = compose.service("anvil");
    let (container_port, anvil_port) = map.rpc;
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
                assert_eq!(rest.next().unwrap(), &container_port.to_string());
                anvil_args.push(anvil_port.to_string());
            }
            _ => {}
        }
    }
    let check = exec_list(&anvil["healthcheck"]["test"]).unwrap();
    assert_eq!(check[..2], ["CMD", "cast"]);
    let cast = workspace_root().join("contracts/node_modules/.bin/cast");
    Runnable {
        what: "anvil",
        program: Program {
            path: provlog_chain::anvil::binary().expect("anvil (npm ci in contracts/)"),
            args: map.all("anvil", &anvil_args),
            env: BTreeMap::new(),
        },
        check: Program {
            path: cast,
            args: map.all("anvil", &check[2..]),
            env: BTreeMap::new(),
        },
    }
}

/// 5. deploy: the service's command, run by the image's entrypoint; argv (after `provlog`)
///    and environment.
fn deploy_natively(compose: &Compose, image: &Image, map: &Mapping) -> Program {
    let deploy = compose.service("deploy");
    let argv = map.all("deploy", &provlog_argv(deploy, image));
    assert_eq!(argv[0], "provlog");
    Program {
        path: provlog_bin(),
        args: argv[1..].to_vec(),
        env: map.env("deploy", &container_env(deploy, image)),
    }
}

/// 6. provlog: the image's command with the service's environment; healthy by its check.
fn provlog_natively(compose: &Compose, image: &Image, map: &Mapping) -> Runnable {
    let provlog = compose.service("provlog");
    let serve_argv = provlog_argv(provlog, image);
    assert_eq!(serve_argv, ["provlog", "serve"]);
    let health = exec_list(&provlog["healthcheck"]["test"])
        .map(|t| t[1..].to_vec())
        .unwrap_or_else(|| image.healthcheck.clone());
    assert_eq!(health[0], "provlog");
    let env = map.env("provlog", &container_env(provlog, image));
    Runnable {
        what: "provlog",
        program: Program {
            path: provlog_bin(),
            args: serve_argv[1..].to_vec(),
            env: env.clone(),
        },
        check: Program {
            path: provlog_bin(),
            args: map.all("provlog", &health[1..]),
            env,
        },
    }
}

/// Waits for an anchored receipt of record `index`.
async fn anchored(client: &Client, index: u64) -> Value {
    wait_for("an anchored receipt", Duration::from_secs(60), || {
        let client = client.clone();
        async move {
            let r = client.receipt_json(index, None, None).await.ok()?;
            let v: Value = serde_json::from_slice(&r).ok()?;
            v.get("anchor").is_some().then_some(v)
        }
    })
    .await
}

/// 7. A record and its anchored receipt, which the chain check from the host accepts. Returns
///    the receipt and its index.
async fn anchored_receipt(
    client: &Client,
    t: &Path,
    rpc_url: &str,
    contract: &str,
) -> (Value, u64) {
    let ack = client
        .submit(&Submission::one(&signal(
            "acme-signals",
            json!({"token": "ETH", "signal": 1, "via": "compose stack"}),
        )))
        .await
        .unwrap();
    let index = ack.records[0].index;
    let receipt = anchored(client, index).await;
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
    let out = run(
        &provlog_bin(),
        &[
            "verify".into(),
            "receipt".into(),
            receipt_file.display().to_string(),
            "--key".into(),
            vkey.display().to_string(),
            "--rpc-url".into(),
            rpc_url.into(),
            "--contract".into(),
            contract.to_string(),
        ],
        &BTreeMap::new(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("holds this root"), "{stdout}");
    (receipt, index)
}

/// 9. A chain that lost the contract (here: a fresh node) makes deploy refuse, not redeploy.
///    Nor does a record that could not be written: refused before anything is sent.
async fn deploy_refuses_a_reset_chain(
    deploy: &Program,
    rpc_url: &str,
    record_path: &Path,
    t: &Path,
) {
    let fresh = provlog_chain::anvil::Anvil::start(Default::default())
        .await
        .unwrap();
    let stale_argv: Vec<String> = deploy
        .args
        .iter()
        .map(|a| a.replace(rpc_url, &fresh.url()))
        .collect();
    let before = std::fs::read(record_path).unwrap();
    let out = run(&deploy.path, &stale_argv, &deploy.env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no contract code") && stderr.contains("reset chain"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(record_path).unwrap(), before);
    let nowhere = t.join("no-such-volume/anvil.json").display().to_string();
    let unwritable: Vec<String> = stale_argv
        .iter()
        .map(|a| a.replace(&record_path.display().to_string(), &nowhere))
        .collect();
    let out = run(&deploy.path, &unwritable, &deploy.env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no directory"), "{stderr}");
    let fresh_reader = provlog_chain::Reader::new(&fresh.url()).unwrap();
    assert_eq!(
        fresh_reader.block_number().await.unwrap(),
        0,
        "nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_stack_runs_natively_deploys_once_and_anchors_receipts() {
    let compose = compose();
    let image = image();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    let logs = |name: &str| t.join(format!("{name}.log"));
    make_secrets_as_the_readme_does(&compose, &provlog_bin(), t);
    let (db, native_db_url) = database_as_the_readme_wrote(&compose, t).await;
    let map = map_services(&compose, t, &native_db_url);
    let rpc_url = format!("http://127.0.0.1:{}", map.rpc.1);

    let anvil = anvil_natively(&compose, &map);
    let chain = anvil.up(logs("anvil")).await;
    let reader = provlog_chain::Reader::new(&rpc_url).unwrap();
    assert_eq!(reader.chain_id().await.unwrap(), 31337);

    let deploy = deploy_natively(&compose, &image, &map);
    let out = deploy.run();
    assert!(
        out.status.success(),
        "deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let contract = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out_arg = deploy.args.iter().position(|a| a == "--out").unwrap() + 1;
    let record_path = PathBuf::from(&deploy.args[out_arg]);
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    assert_eq!(record["contract"], contract.as_str());

    let serve = provlog_natively(&compose, &image, &map);
    // Unhealthy while nothing serves: the check can fail.
    let early = serve.check.run();
    assert_eq!(early.status.code(), Some(1), "{early:?}");
    let server = serve.up(logs("provlog")).await;
    let api_url = format!("http://127.0.0.1:{}", map.api_port);
    let token = read_trimmed(&t.join(compose.secret_file("admin_token")));
    let client = Client::new(&api_url).unwrap().with_token(token);
    let (receipt, index) = anchored_receipt(&client, t, &rpc_url, &contract).await;

    // 8. A second `up`: the chain restarts from its state file on the anvil volume, deploy
    //    reuses its record without a transaction, and the log serves the same anchored receipt.
    assert!(server.stop().success());
    let height = reader.block_number().await.unwrap();
    assert!(chain.stop().success());
    let chain = anvil.up(logs("anvil")).await;
    assert_eq!(
        reader.block_number().await.unwrap(),
        height,
        "the chain kept its state"
    );
    let out = deploy.run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), contract);
    assert!(stderr.contains("reusing"), "{stderr}");
    assert_eq!(
        reader.block_number().await.unwrap(),
        height,
        "nothing was sent"
    );
    let server = serve.up(logs("provlog")).await;
    let again = anchored(&client, index).await;
    assert_eq!(again["anchor"], receipt["anchor"]);
    assert!(server.stop().success());

    deploy_refuses_a_reset_chain(&deploy, &rpc_url, &record_path, t).await;
    drop(chain);
    drop(db);
}
