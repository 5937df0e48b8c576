//! The real kubectl against a member's HTTPS API, for end-to-end tests and benchmarks:
//! the admin kubeconfig the server writes, and a kubectl cache directory of our own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use base64::Engine as _;
use kactor_transport::pki::{ClusterCa, KubeUser};

/// How long a fresh server may take to write its kubeconfig, bootstrap the default
/// namespace and load its role caches.
pub const API_READY_MS_MAX: u64 = 30_000;

pub struct Kubectl {
    pub kubeconfig: PathBuf,
    /// kubectl's discovery and OpenAPI cache: one per cluster, so runs never share one.
    pub cache: PathBuf,
}

impl Kubectl {
    /// kubectl as the administrator of member `n` (counting from 1) of the cluster under
    /// `root`, once that member answers `get namespace default`.
    pub fn admin(root: &Path, n: usize) -> anyhow::Result<Kubectl> {
        let kubectl = Kubectl {
            kubeconfig: root.join(format!("n{n}")).join("admin.kubeconfig"),
            cache: root.join("kubectl-cache"),
        };
        kubectl.wait_ready()?;
        Ok(kubectl)
    }

    /// The same cache, another kubeconfig (another user).
    pub fn with_kubeconfig(&self, kubeconfig: PathBuf) -> Kubectl {
        Kubectl {
            kubeconfig,
            cache: self.cache.clone(),
        }
    }

    /// kubectl as `user`, with a client certificate from `ca`.
    pub fn as_user(&self, ca: &ClusterCa, user: &KubeUser) -> anyhow::Result<Kubectl> {
        let cert = ca.issue_client(user)?;
        let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
        let credentials = serde_json::json!({
            "client-certificate-data": b64(&cert.cert_pem),
            "client-key-data": b64(&cert.key_pem),
        });
        self.with_credentials(&user.name, credentials)
    }

    /// kubectl with this one's server and CA and other credentials (a kubeconfig
    /// `user` entry: a token, a client certificate), in a kubeconfig named after `name`.
    pub fn with_credentials(
        &self,
        name: &str,
        credentials: serde_json::Value,
    ) -> anyhow::Result<Kubectl> {
        let mut config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&self.kubeconfig)?)?;
        config["users"][0]["user"] = credentials;
        let dir = self
            .cache
            .parent()
            .context("the cache directory's parent")?;
        let kubeconfig = dir.join(format!("{}.kubeconfig", name.replace(':', "-")));
        std::fs::write(&kubeconfig, serde_json::to_vec(&config)?)?;
        Ok(self.with_kubeconfig(kubeconfig))
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        command
    }

    /// `command` as one shell line, each word quoted (for `script`, which runs kubectl on
    /// a terminal).
    pub fn shell_line(&self, args: &[&str]) -> String {
        let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
        let kubeconfig = self.kubeconfig.to_string_lossy();
        let cache = self.cache.to_string_lossy();
        let fixed = [
            "kubectl",
            "--kubeconfig",
            &kubeconfig,
            "--cache-dir",
            &cache,
        ];
        let words: Vec<String> = fixed.iter().chain(args).map(|w| quote(w)).collect();
        words.join(" ")
    }

    pub fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        match self.command(args).output() {
            Ok(output) => Ok(output),
            Err(e) => bail!("kubectl (is it on the PATH?): {e}"),
        }
    }

    /// Runs kubectl until it succeeds (a fresh server may still be bootstrapping, a role
    /// just bound not yet in the authorizer's cache); its stdout.
    pub fn run_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_millis(API_READY_MS_MAX);
        loop {
            let output = self.run(args)?;
            if output.status.success() {
                return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
            }
            if Instant::now() > deadline {
                bail!(
                    "kubectl {args:?}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_millis(API_READY_MS_MAX);
        loop {
            let ready = self.kubeconfig.exists()
                && self.run(&["get", "namespace", "default"])?.status.success();
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the API at {} was not ready within {API_READY_MS_MAX} ms",
                    self.kubeconfig.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
