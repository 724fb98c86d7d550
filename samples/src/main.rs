//! `phonehome-samples DIR`: writes the demo captures into DIR.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [dir] if !dir.starts_with('-') => PathBuf::from(dir),
        _ => {
            eprintln!("usage: phonehome-samples DIR\n\nWrites sample captures built by phonehome's own encoders into DIR:\n  tuya-discovery.pcap  Tuya discovery broadcasts (3.1 plain, 3.3 and 3.4 encrypted)\n  tuya-session-3.4.pcap  a Tuya 3.4 session on TCP 6668 (local key: see README)\n  iotc-session.pcap    ThroughTek Kalay LAN search, master-server requests, ping, session data\n  pppp-session.pcap    CS2 PPPP LAN session, PSK-obfuscated datagrams (\"camera\", \"MyVendorPSK\")\n  miio-lan.pcap        Xiaomi miIO polls on UDP 54321; the hello reply leaks the token\n  roborock-hourN.pcap   six hours of a Roborock-like Roborock on Tuya firmware");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("phonehome-samples: cannot create {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    let samples = phonehome_samples::demo_captures();
    for (name, cap) in samples {
        let path = dir.join(&name);
        // Written whole to a temporary name, then renamed.
        let tmp = dir.join(format!(".{name}.partial"));
        if let Err(e) = cap.write(&tmp).and_then(|_| std::fs::rename(&tmp, &path)) {
            eprintln!("phonehome-samples: cannot write {}: {e}", path.display());
            let _ = std::fs::remove_file(&tmp);
            return ExitCode::from(1);
        }
        println!("{} ({} frames)", path.display(), cap.len());
    }
    ExitCode::SUCCESS
}
