//! An alert: one new fact, said as one line on standard output and, with
//! `--alerts FILE`, appended to FILE as one JSON object per line (written
//! and flushed one at a time, so a stop loses none already said).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::clock::UtcOffset;
use crate::error::Error;
use crate::watch::facts::Kind;

#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    pub profile: String,
    /// The device's MACs and addresses, as the profile gives them.
    pub device: String,
    pub kind: Kind,
    pub what: String,
    /// The first packet showing it (seconds since the epoch), and as text.
    pub time: Option<f64>,
    pub time_text: Option<String>,
    /// The ring file holding that packet (moved aside to DIR/evidence/).
    pub file: String,
    /// Its frame number in that file (1-based, as Wireshark numbers frames).
    pub frame: Option<u32>,
}

impl Alert {
    pub fn line(&self) -> String {
        let at = match (&self.time_text, self.frame) {
            (Some(t), Some(f)) => format!(" at {t}, {} frame {f}", self.file),
            _ => format!(" in {}", self.file),
        };
        format!("ALERT {} {}: {}{at}", self.profile, self.kind.name(), self.what)
    }
}

/// Where alerts go besides standard output.
pub struct Log {
    file: Option<(PathBuf, File)>,
}

impl Log {
    pub fn open(path: Option<&Path>) -> Result<Log, Error> {
        let file = match path {
            Some(p) => Some((p.to_path_buf(), std::fs::OpenOptions::new().create(true).append(true).open(p).map_err(|e| Error::io(p, e))?)),
            None => None,
        };
        Ok(Log { file })
    }

    /// Says the alert; `Err` only when standard output fails. An alerts file
    /// that cannot take the line (a full disk) is a warning, returned, and
    /// is cut back to its last whole line.
    pub fn write(&mut self, alert: &Alert, out: &mut dyn Write) -> Result<Option<String>, Error> {
        writeln!(out, "{}", alert.line()).and_then(|()| out.flush()).map_err(|e| Error::io("<stdout>", e))?;
        let Some((path, file)) = &mut self.file else { return Ok(None) };
        let mut json = serde_json::to_string(alert).expect("an alert serialises");
        json.push('\n');
        let whole = file.metadata().map(|m| m.len());
        match file.write_all(json.as_bytes()).and_then(|()| file.sync_data()) {
            Ok(()) => Ok(None),
            Err(e) => {
                if let Ok(len) = whole {
                    let _ = file.set_len(len);
                }
                Ok(Some(format!("{}: alert not appended: {e}", path.display())))
            }
        }
    }
}

/// `2024-01-01 03:00:05.123 UTC`.
pub fn time_text(t: f64, offset: UtcOffset) -> String {
    let millis = ((t - t.floor()) * 1000.0).floor() as u32;
    format!("{}.{millis:03} {offset}", offset.format(t))
}
