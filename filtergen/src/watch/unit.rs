//! A systemd service running `filtergen watch` with the given arguments
//! (paths made absolute), stopped with SIGTERM so the final report is written.

use std::ffi::OsString;
use std::path::Path;

/// The unit file's text; `args` are watch's own arguments, without `--systemd-unit`.
pub fn text(exe: &Path, args: &[OsString], interface: &str, dir: &Path) -> String {
    let command: Vec<String> = std::iter::once(exe.as_os_str()).chain(args.iter().map(|a| a.as_os_str())).map(|a| systemd_quote(&a.to_string_lossy())).collect();
    format!(
        "# Written by `filtergen watch --systemd-unit`. Install:\n\
         #   sudo cp THIS /etc/systemd/system/phonehome-watch.service\n\
         #   sudo systemctl daemon-reload && sudo systemctl enable --now phonehome-watch\n\
         # Alerts: journalctl -u phonehome-watch; reports in {dir}.\n\
         [Unit]\n\
         Description=phonehome: watch {interface} for devices doing something new\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={}\n\
         # SIGTERM: dumpcap finishes its file, the last file is analysed, the final report written.\n\
         KillSignal=SIGTERM\n\
         KillMode=mixed\n\
         TimeoutStopSec=120\n\
         Restart=on-failure\n\
         RestartSec=30\n\
         # dumpcap needs these to capture (or run as a member of the wireshark group).\n\
         AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        command.join(" "),
        dir = dir.display(),
    )
}

/// systemd's ExecStart splits on spaces and honours double quotes; `%` and
/// `$` are its specifiers and variables, doubled to stay literal.
fn systemd_quote(s: &str) -> String {
    let escaped = s.replace('%', "%%").replace('$', "$$");
    if escaped.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\') {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(systemd_quote("/srv/watch"), "/srv/watch");
        assert_eq!(systemd_quote("my dir"), "\"my dir\"");
        assert_eq!(systemd_quote("50%"), "50%%");
        let t = text(Path::new("/usr/bin/filtergen"), &["watch".into(), "a b.yaml".into()], "eth1", Path::new("/srv/w"));
        assert!(t.contains("ExecStart=/usr/bin/filtergen watch \"a b.yaml\"\n"), "{t}");
    }
}
