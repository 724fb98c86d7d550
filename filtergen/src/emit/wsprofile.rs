//! Writes a Wireshark configuration profile: `dfilter_buttons`, `dfilters`,
//! `dfilter_macros` and the plugin's key tables `tuya_keys` / `miio_tokens`.
//! Our entries replace earlier ones with the same key; the user's stay.

use std::path::{Path, PathBuf};

use crate::atomic;
use crate::compile::delivery::ModeFilter;
use crate::error::Error;
use crate::plugin;
use crate::profile::rules::{Keys, Name};
use crate::emit::uat;

/// The Wireshark personal configuration folder: `$XDG_CONFIG_HOME/wireshark`
/// or `$HOME/.config/wireshark`.
pub fn config_dir() -> Result<PathBuf, Error> {
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("wireshark"));
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).ok_or_else(|| {
        Error::Usage("neither XDG_CONFIG_HOME nor HOME is set: pass --config-dir".into())
    })?;
    Ok(PathBuf::from(home).join(".config").join("wireshark"))
}

/// What goes into one Wireshark profile.
#[derive(Debug, Default)]
pub struct Contents {
    pub filters: Vec<ModeFilter>,
    pub keys: Keys,
}

/// Writes (merges) the profile `name` under `config_dir/profiles/`; returns its folder.
pub fn install(config_dir: &Path, name: &Name, contents: &Contents) -> Result<PathBuf, Error> {
    let dir = config_dir.join("profiles").join(&name.0);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let macros: Vec<String> = contents.filters.iter().map(|f| uat::record(&[&f.macro_name(), &format!("({})", f.text)])).collect();
    let buttons: Vec<String> = contents
        .filters
        .iter()
        .map(|f| uat::record(&["TRUE", &f.label(), &f.argument(), &format!("filtergen: {} traffic of {}", f.mode, f.profile)]))
        .collect();
    let saved: Vec<String> = contents.filters.iter().map(|f| format!("\"{}\" {}", f.label(), f.argument())).collect();
    let tuya: Vec<String> = contents.keys.tuya.iter().map(|k| uat::record(&[&k.dev_id, &k.local_key])).collect();
    let miio: Vec<String> =
        contents.keys.miio.iter().map(|k| uat::record(&[&format!("0x{:08x}", k.device_id), &k.token])).collect();

    merge_file(&dir.join("dfilter_macros"), &macros, uat::first_field)?;
    merge_file(&dir.join("dfilter_buttons"), &buttons, uat::second_field)?;
    merge_file(&dir.join("dfilters"), &saved, saved_filter_name)?;
    if !tuya.is_empty() {
        merge_file(&dir.join(plugin::tuya_key_table()), &tuya, uat::first_field)?;
    }
    if !miio.is_empty() {
        merge_file(&dir.join(plugin::miio_token_table()), &miio, uat::first_field)?;
    }
    Ok(dir)
}

/// Writes only the macros (for `filter` when a filter is over the argument limit).
pub fn install_macros(config_dir: &Path, name: &Name, filters: &[ModeFilter]) -> Result<PathBuf, Error> {
    let dir = config_dir.join("profiles").join(&name.0);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let macros: Vec<String> = filters.iter().map(|f| uat::record(&[&f.macro_name(), &format!("({})", f.text)])).collect();
    merge_file(&dir.join("dfilter_macros"), &macros, uat::first_field)?;
    Ok(dir)
}

/// The key of a `dfilters` line `"name" expression`.
fn saved_filter_name(line: &str) -> Option<String> {
    let rest = line.strip_prefix('"')?;
    rest.find("\" ").map(|end| rest[..end].to_string())
}

fn merge_file(path: &Path, lines: &[String], key_of: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(path, e)),
    };
    atomic::write(path, uat::merge(&existing, lines, key_of).as_bytes())
}
