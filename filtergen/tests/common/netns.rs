//! Network namespaces for tests, held by a process rather than named with
//! `ip netns add`: that makes /run/netns a shared mount point that outlives
//! the test (and in a chroot cannot be removed), and `ip -n` / `ip netns exec`
//! remount /sys, which fails where / is not a mount point. A namespace here
//! lives exactly as long as its holder, `unshare --net cat`, which also ends
//! when the test process dies (its stdin closes), so nothing is left behind
//! even if the test is killed.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Netns {
    holder: Child,
    path: String,
}

extern "C" {
    fn setns(fd: i32, nstype: i32) -> i32;
}
const CLONE_NEWNET: i32 = 0x4000_0000;

impl Netns {
    /// A new namespace with its loopback up.
    pub fn new() -> Netns {
        let holder = Command::new("unshare")
            .args(["--net", "--", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("unshare (util-linux) to hold a network namespace");
        let ns = Netns { path: format!("/proc/{}/ns/net", holder.id()), holder };
        // unshare(2) runs after fork: wait until the holder is in a namespace of its own.
        let own = std::fs::read_link("/proc/self/ns/net").expect("/proc/self/ns/net");
        let moved = (0..100).any(|_| {
            let theirs = std::fs::read_link(&ns.path).ok();
            let done = theirs.is_some_and(|t| t != own);
            if !done {
                std::thread::sleep(Duration::from_millis(20));
            }
            done
        });
        assert!(moved, "unshare --net did not enter a new namespace within 2 s");
        ns.run(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// What `ip link ... netns` takes to move an interface here.
    pub fn pid(&self) -> String {
        self.holder.id().to_string()
    }

    /// `program` run inside the namespace (through nsenter).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.path)).arg(program);
        cmd
    }

    /// Runs `args` inside the namespace; panics with its stderr if it fails.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `f` on a thread inside the namespace; sockets it opens stay there.
    pub fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = self.path.clone();
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // SAFETY: a valid namespace fd; setns only changes this thread's namespace.
            let rc = unsafe { setns(file.as_raw_fd(), CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("namespace thread")
    }
}

impl Drop for Netns {
    /// The namespace, and the interfaces in it, go with its last process.
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
