//! The real kubectl against a member's HTTPS API, for end-to-end tests and benchmarks:
//! the admin kubeconfig the server writes, and a kubectl cache directory of our own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::bail;

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

    pub fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        match self.command(args).output() {
            Ok(output) => Ok(output),
            Err(e) => bail!("kubectl (is it on the PATH?): {e}"),
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
