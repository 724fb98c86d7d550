//! Running tshark with the phonehome plugin, whoever we are.
//!
//! Wireshark ignores the per-user plugin folder (and WIRESHARK_PLUGIN_DIR)
//! when it runs as root. So the plugin is copied into a private HOME, and as
//! root that HOME is given to `nobody` and tshark runs as `nobody` through
//! `setpriv`. Captures are then fed on standard input, since `nobody` may not
//! read the caller's files. As any other user tshark runs directly with the
//! same private HOME, so no personal preference changes a result.
//! `filtergen report` and the end-to-end tests both run tshark this way.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private HOME holding a copy of the plugin.
pub struct PluginHome {
    home: tempfile::TempDir,
    as_nobody: bool,
    /// The plugin copied in, if one was found.
    pub plugin: Option<PathBuf>,
}

impl PluginHome {
    /// Copies `plugin` (if any) into a new private HOME for Wireshark `xy`
    /// ("4.0") and, as root, gives the HOME to `nobody`.
    pub fn new(xy: &str, plugin: Option<PathBuf>) -> std::io::Result<PluginHome> {
        let home = tempfile::Builder::new().prefix("phonehome-tshark-").tempdir()?;
        if let Some(p) = &plugin {
            let epan = home.path().join(".local/lib/wireshark/plugins").join(xy).join("epan");
            std::fs::create_dir_all(&epan)?;
            std::fs::copy(p, epan.join("phonehome.so"))?;
        }
        let home = PluginHome { home, as_nobody: is_root(), plugin };
        home.hand_over()?;
        Ok(home)
    }

    /// The private HOME.
    pub fn path(&self) -> &Path {
        self.home.path()
    }

    /// Wireshark's personal configuration folder there (for profiles); call
    /// [`PluginHome::hand_over`] after writing into it.
    pub fn config_dir(&self) -> PathBuf {
        self.path().join(".config/wireshark")
    }

    /// As root, gives everything in the HOME to `nobody` (again).
    pub fn hand_over(&self) -> std::io::Result<()> {
        if !self.as_nobody {
            return Ok(());
        }
        let chown = Command::new("chown").args(["-R", "nobody:nogroup"]).arg(self.path()).status()?;
        let chmod = Command::new("chmod").args(["-R", "a+rX"]).arg(self.path()).status()?;
        if chown.success() && chmod.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("could not give {} to nobody", self.path().display())))
        }
    }

    /// A command running `program` (tshark, editcap, …) in this HOME, as
    /// `nobody` when we are root.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", program]);
            c
        } else {
            Command::new(program)
        };
        cmd.env("HOME", self.path())
            .env_remove("WIRESHARK_PLUGIN_DIR")
            .env_remove("WIRESHARK_CONFIG_DIR")
            .env("LC_ALL", "C");
        cmd
    }
}

/// "TShark (Wireshark) 4.0.17 (…)" or "4.0.17" gives "4.0".
pub fn wireshark_xy(version: &str) -> Option<String> {
    let first = version.lines().next()?;
    let v = first.split_whitespace().find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let parts: Vec<&str> = v.split('.').take(2).collect();
    (parts.len() == 2 && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))).then(|| parts.join("."))
}

/// The plugin to use: PHONEHOME_PLUGIN, else the per-user plugin folder
/// that `make install` fills.
pub fn installed_plugin(xy: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PHONEHOME_PLUGIN") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let home = std::env::var_os("HOME")?;
    let p = PathBuf::from(home).join(".local/lib/wireshark/plugins").join(xy).join("epan/phonehome.so");
    p.is_file().then_some(p)
}

fn is_root() -> bool {
    extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version() {
        assert_eq!(wireshark_xy("TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).\n").as_deref(), Some("4.0"));
        assert_eq!(wireshark_xy("4.4.18").as_deref(), Some("4.4"));
        assert_eq!(wireshark_xy("TShark"), None);
    }
}
