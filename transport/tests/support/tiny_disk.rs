//! A tmpfs of a few KiB or MiB, so a test can fill a disk for real. Shared by the WAL's
//! tests and the cluster's (`#[path]`-included: test crates cannot depend on each other).

use std::path::Path;
use std::process::Command;

/// A tmpfs mounted for one test, unmounted on drop.
pub struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    /// Mounts a tmpfs of `size` (mount's syntax: "64k", "3m"); fails when this process may
    /// not mount, so the caller can skip.
    pub fn mount(size: &str) -> Result<TinyDisk, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
        }
        Ok(TinyDisk { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
