//! The docker-compose stack as data: `docker-compose.yml`, the `Dockerfile`'s runtime stage and
//! the README's secret commands, read so that `tests/stack.rs` can start the same topology
//! natively (no Docker engine in CI) and check that the files and the binaries agree.
//!
//! Only the compose features the stack uses are understood; anything else panics with its
//! name, so a new feature is a failing test to extend rather than something silently skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::Value;

/// A YAML document as JSON (compose files use plain scalars, sequences and string-keyed maps).
pub fn yaml_to_json(text: &str) -> Value {
    let docs = Yaml::load_from_str(text).unwrap_or_else(|e| panic!("YAML: {e}"));
    assert_eq!(docs.len(), 1, "one YAML document");
    convert(&docs[0])
}

fn convert(node: &Yaml) -> Value {
    match node {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => Value::from(*i),
        Yaml::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(convert).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::Value(Scalar::String(s)) => s.to_string(),
                        other => panic!("non-string YAML key {other:?}"),
                    };
                    (key, convert(v))
                })
                .collect(),
        ),
        other => panic!("YAML node the stack test does not handle: {other:?}"),
    }
}

/// `docker-compose.yml`.
#[derive(Debug)]
pub struct Compose {
    pub doc: Value,
}

impl Compose {
    pub fn load(path: &Path) -> Compose {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        Compose {
            doc: yaml_to_json(&text),
        }
    }

    pub fn service_names(&self) -> Vec<String> {
        self.doc["services"]
            .as_object()
            .expect("services")
            .keys()
            .cloned()
            .collect()
    }

    pub fn service(&self, name: &str) -> &Value {
        let svc = &self.doc["services"][name];
        assert!(svc.is_object(), "docker-compose.yml has no service {name}");
        svc
    }

    /// The file behind a top-level secret, relative to the compose file's directory.
    pub fn secret_file(&self, name: &str) -> String {
        let file = self.doc["secrets"][name]["file"]
            .as_str()
            .unwrap_or_else(|| panic!("top-level secret {name} has no file"));
        file.trim_start_matches("./").to_string()
    }

    /// Names of the top-level secrets.
    pub fn secret_names(&self) -> Vec<String> {
        self.doc["secrets"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// A service's `environment:` as name → value (mapping or `NAME=value` list form).
pub fn environment(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Null => BTreeMap::new(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => panic!("environment {k}: unsupported value {other}"),
                };
                (k.clone(), value)
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let s = item.as_str().expect("environment entries are strings");
                let (k, v) = s.split_once('=').unwrap_or((s, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        other => panic!("environment: unsupported form {other}"),
    }
}

/// An exec-form list (`command`, `entrypoint`, healthcheck `test`); the string (shell) form is
/// not used by the stack and would need a shell to mean the same thing.
pub fn exec_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Null => None,
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| i.as_str().expect("exec-form items are strings").to_string())
                .collect(),
        ),
        other => panic!("only exec-form lists are supported, not {other}"),
    }
}

/// The names in a service's short-syntax list (`secrets: [a, b]`).
pub fn names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    i.as_str()
                        .expect("short syntax (a name) is what the stack uses")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A named-volume mount `NAME:PATH[:ro]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    pub volume: String,
    pub target: String,
    pub read_only: bool,
}

pub fn volume_mounts(service: &Value) -> Vec<VolumeMount> {
    names(&service["volumes"])
        .iter()
        .map(|spec| {
            let parts: Vec<&str> = spec.split(':').collect();
            match parts.as_slice() {
                [volume, target] => VolumeMount {
                    volume: volume.to_string(),
                    target: target.to_string(),
                    read_only: false,
                },
                [volume, target, "ro"] => VolumeMount {
                    volume: volume.to_string(),
                    target: target.to_string(),
                    read_only: true,
                },
                _ => panic!("volume mount {spec:?}: NAME:PATH[:ro] expected"),
            }
        })
        .collect()
}

/// A published port `HOST_IP:HOST_PORT:CONTAINER_PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub host_ip: std::net::IpAddr,
    pub host_port: u16,
    pub container_port: u16,
}

pub fn published_ports(service: &Value) -> Vec<Published> {
    names(&service["ports"])
        .iter()
        .map(|spec| {
            let parts: Vec<&str> = spec.split(':').collect();
            match parts.as_slice() {
                [ip, host, container] => Published {
                    host_ip: ip.parse().expect("host IP"),
                    host_port: host.parse().expect("host port"),
                    container_port: container.parse().expect("container port"),
                },
                _ => panic!("port {spec:?}: publish as HOST_IP:HOST_PORT:CONTAINER_PORT"),
            }
        })
        .collect()
}

/// What a container of the image starts with: the runtime (last) stage of the Dockerfile.
#[derive(Debug, Default)]
pub struct Image {
    /// `ARG`s before the first `FROM`, with their defaults.
    pub args: BTreeMap<String, String>,
    pub base: String,
    pub user: String,
    pub env: BTreeMap<String, String>,
    pub expose: Vec<u16>,
    pub healthcheck: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

/// Reads the instructions a container of the final stage depends on. Exec (JSON) forms only.
pub fn parse_dockerfile(text: &str) -> Image {
    let mut image = Image::default();
    let mut in_stage = false;
    let mut seen_from = false;
    // Join continuation lines; drop comments and blank lines.
    let mut logical = vec![];
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let json_list = |s: &str| -> Vec<String> {
        serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not an exec form {s:?}: {e}"))
    };
    for line in logical {
        let (instr, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let rest = rest.trim();
        match instr.to_ascii_uppercase().as_str() {
            "FROM" => {
                seen_from = true;
                in_stage = true;
                image = Image {
                    args: std::mem::take(&mut image.args),
                    base: rest.to_string(),
                    ..Image::default()
                };
            }
            "ARG" if !seen_from => {
                let (k, v) = rest.split_once('=').unwrap_or((rest, ""));
                image.args.insert(k.to_string(), v.to_string());
            }
            "USER" if in_stage => image.user = rest.to_string(),
            "ENV" if in_stage => {
                let (k, v) = rest
                    .split_once('=')
                    .unwrap_or_else(|| panic!("ENV {rest:?}: KEY=value expected"));
                assert!(!v.contains(' '), "one KEY=value per ENV line: {rest:?}");
                image.env.insert(k.to_string(), v.to_string());
            }
            "EXPOSE" if in_stage => {
                image.expose = rest
                    .split_whitespace()
                    .map(|p| p.trim_end_matches("/tcp").parse().expect("EXPOSE port"))
                    .collect();
            }
            "HEALTHCHECK" if in_stage => {
                let (_, command) = rest
                    .split_once(" CMD ")
                    .unwrap_or_else(|| panic!("HEALTHCHECK {rest:?}: CMD [..] expected"));
                image.healthcheck = json_list(command);
            }
            "ENTRYPOINT" if in_stage => image.entrypoint = json_list(rest),
            "CMD" if in_stage => image.cmd = json_list(rest),
            _ => {}
        }
    }
    image
}

/// The first ```sh block after `marker` in `markdown`.
pub fn shell_block_after(markdown: &str, marker: &str) -> String {
    let after = markdown
        .split_once(marker)
        .unwrap_or_else(|| panic!("README has no {marker:?}"))
        .1;
    let body = after
        .split_once("```sh\n")
        .unwrap_or_else(|| panic!("no ```sh block after {marker:?}"))
        .1;
    body.split_once("\n```")
        .unwrap_or_else(|| panic!("unterminated ```sh block after {marker:?}"))
        .0
        .to_string()
}

/// How container paths and addresses of one service map to this machine.
#[derive(Debug, Default, Clone)]
pub struct Native {
    /// Container path prefix → host path (mounted secrets and volumes).
    pub mounts: Vec<(String, PathBuf)>,
    /// `host:port` as written in the compose file → the native `host:port`.
    pub addresses: Vec<(String, String)>,
}

impl Native {
    /// `value` with addresses replaced, and a container path replaced by its host path. A
    /// value that is an absolute path outside every mount cannot exist in the container:
    /// that is drift, and panics.
    pub fn map(&self, service: &str, value: &str) -> String {
        let mut out = value.to_string();
        for (from, to) in &self.addresses {
            out = out.replace(from.as_str(), to);
        }
        if out.starts_with('/') {
            let (prefix, host) = self
                .mounts
                .iter()
                .filter(|(prefix, _)| {
                    out == *prefix || out.starts_with(&format!("{}/", prefix.trim_end_matches('/')))
                })
                .max_by_key(|(prefix, _)| prefix.len())
                .unwrap_or_else(|| {
                    panic!("{service}: {value} is not inside a secret or volume mounted there")
                });
            let rest = out[prefix.len()..].trim_start_matches('/');
            return if rest.is_empty() {
                host.display().to_string()
            } else {
                host.join(rest).display().to_string()
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_final_stage_and_exec_forms() {
        let image = parse_dockerfile(
            "# syntax=docker/dockerfile:1\nARG V=1.2\nFROM a:${V} AS build\nCMD [\"no\"]\n\
             FROM b:1\nUSER 10:10\nENV K=v\nEXPOSE 80\n\
             HEALTHCHECK --interval=1s \\\n  CMD [\"x\", \"check\"]\nENTRYPOINT [\"x\"]\nCMD [\"serve\"]\n",
        );
        assert_eq!(image.args["V"], "1.2");
        assert_eq!(image.base, "b:1");
        assert_eq!(image.user, "10:10");
        assert_eq!(image.env["K"], "v");
        assert_eq!(image.expose, vec![80]);
        assert_eq!(image.healthcheck, vec!["x", "check"]);
        assert_eq!(image.entrypoint, vec!["x"]);
        assert_eq!(image.cmd, vec!["serve"]);
    }

    #[test]
    fn compose_shapes_and_native_mapping() {
        let svc = yaml_to_json(
            "environment:\n  A: x\n  B: \"2\"\nvolumes: [\"data:/var/data:ro\"]\n\
             ports: [\"127.0.0.1:8080:80\"]\ncommand: [\"run\", \"--url\", \"http://db:5432\"]\n",
        );
        assert_eq!(environment(&svc)["B"], "2");
        assert!(volume_mounts(&svc)[0].read_only);
        assert_eq!(published_ports(&svc)[0].container_port, 80);
        let native = Native {
            mounts: vec![("/var/data".into(), PathBuf::from("/tmp/v"))],
            addresses: vec![("db:5432".into(), "127.0.0.1:6000".into())],
        };
        assert_eq!(native.map("s", "/var/data/x.json"), "/tmp/v/x.json");
        assert_eq!(native.map("s", "http://db:5432"), "http://127.0.0.1:6000");
        assert_eq!(native.map("s", "plain"), "plain");
        let outside = std::panic::catch_unwind(|| native.map("s", "/var/database"));
        assert!(outside.is_err(), "a path outside every mount is drift");
        assert_eq!(
            exec_list(&svc["command"]).unwrap(),
            vec!["run", "--url", "http://db:5432"]
        );
    }

    #[test]
    fn readme_blocks_are_found_after_their_marker() {
        let md = "x\n```sh\nno\n```\n<!-- m -->\n```sh\nyes\nand\n```\n";
        assert_eq!(shell_block_after(md, "<!-- m -->"), "yes\nand");
    }
}
