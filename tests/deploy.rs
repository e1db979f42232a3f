//! The deploy files, checked as far as this machine allows (no Docker engine,
//! no cluster): the Kubernetes YAML parses, every `${env:NAME}` the sidecar's
//! config uses is provided to the sidecar container, the configs pass
//! `portcullis check`, and the Dockerfile and compose file wire the same
//! paths and ports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

fn documents(path: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(deploy(path)).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"))
}

fn all_kubernetes() -> Vec<Yaml> {
    ["configmap.yaml", "secret.yaml", "deployment.yaml"]
        .iter()
        .flat_map(|f| documents(&format!("kubernetes/{f}")))
        .collect()
}

fn of_kind<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

/// `${env:NAME}` references in a config text.
fn env_refs(text: &str) -> BTreeSet<String> {
    text.split("${env:")
        .skip(1)
        .filter_map(|rest| rest.split('}').next())
        .map(str::to_owned)
        .collect()
}

fn sidecar_config(docs: &[Yaml]) -> String {
    of_kind(docs, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"].as_str() == Some("portcullis-config"))
        .and_then(|c| c["data"]["proxy.toml"].as_str())
        .expect("ConfigMap portcullis-config with proxy.toml")
        .to_owned()
}

fn check(config_text: &str, env: &BTreeSet<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, config_text).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("check").arg("--config").arg(&path).env_clear();
    for name in env {
        cmd.env(name, "placeholder-value");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kubernetes_manifests_parse_and_provide_every_env_secret() {
    let docs = all_kubernetes();
    assert!(!of_kind(&docs, "Deployment").is_empty() && !of_kind(&docs, "Secret").is_empty());
    let config = sidecar_config(&docs);
    let needed = env_refs(&config);
    assert!(needed.contains("OPENAI_API_KEY"), "{needed:?}");

    let deployment = of_kind(&docs, "Deployment")[0];
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_vec()
        .unwrap();
    let sidecar = containers
        .iter()
        .find(|c| c["name"].as_str() == Some("portcullis"))
        .expect("a portcullis container");
    let provided: BTreeSet<String> = sidecar["env"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect();
    for name in &needed {
        assert!(
            provided.contains(name),
            "${{env:{name}}} is not provided to the sidecar"
        );
    }
    // Each secretKeyRef points at a key the Secret defines.
    let secret = of_kind(&docs, "Secret")[0];
    for env in sidecar["env"].as_vec().unwrap() {
        let reference = &env["valueFrom"]["secretKeyRef"];
        if let Some(key) = reference["key"].as_str() {
            assert_eq!(
                reference["name"].as_str(),
                secret["metadata"]["name"].as_str()
            );
            assert!(
                !secret["stringData"][key].is_badvalue(),
                "Secret lacks {key}"
            );
        }
    }
    // Probes hit the admin listener the config declares.
    assert_eq!(
        sidecar["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        sidecar["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert!(config.contains("admin_listen = \"0.0.0.0:9901\""));
    assert_eq!(sidecar["ports"][0]["containerPort"].as_i64(), Some(9901));
    assert!(!sidecar["resources"]["requests"]["memory"].is_badvalue());
    check(&config, &needed);
}

#[test]
fn container_config_passes_check_and_compose_provides_its_env() {
    let config = std::fs::read_to_string(deploy("proxy.toml")).unwrap();
    let needed = env_refs(&config);
    check(&config, &needed);
    let compose = &documents("docker-compose.yml")[0];
    let env = &compose["services"]["portcullis"]["environment"];
    for name in &needed {
        assert!(
            !env[name.as_str()].is_badvalue(),
            "compose does not provide {name}"
        );
    }
    let dockerfile = std::fs::read_to_string(deploy("Dockerfile")).unwrap();
    for expected in [
        "/etc/portcullis/proxy.toml",
        "USER nonroot",
        "HEALTHCHECK",
        "probe",
        "AS build",
    ] {
        assert!(dockerfile.contains(expected), "Dockerfile lacks {expected}");
    }
}

#[test]
fn probe_command_reports_health() {
    // Nothing listens on port 9 of loopback: the probe fails, with exit 1.
    let out = Command::new(BIN)
        .args(["probe", "http://127.0.0.1:9/readyz"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn example_frontend_config_passes_check() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/frontend/proxy.toml");
    let out = Command::new(BIN)
        .arg("check")
        .arg("--config")
        .arg(&path)
        .env_clear()
        .env("JWT_SECRET", "an-example-secret-that-is-long-enough-0123")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
