//! Loading a profile: the YAML schema (unknown keys are errors), validation
//! with file:line:column positions, and `include` resolution.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{de, Deserialize, Deserializer};

use crate::error::Error;
use crate::plugin;
use crate::profile::protocols::{self, Catalog};
use crate::profile::rules::{
    Device, Host, Keys, MacPattern, MiioToken, Name, PortRange, Profile, Protocol, RawFilter, Rule,
    ScalarText, Text, TuyaKey,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    // Top-level scalars are validated after parsing: serde_yaml_ng reports
    // their errors at 1:1, so `top_level` finds their line itself.
    name: String,
    description: Option<String>,
    #[serde(default)]
    include: Vec<IncludeName>,
    device: Option<DeviceFile>,
    #[serde(default)]
    ignore: Vec<RuleFile>,
    #[serde(default)]
    expected: Vec<RuleFile>,
    #[serde(default)]
    keys: KeysFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    #[serde(default)]
    mac: NonEmpty<MacPattern>,
    #[serde(default)]
    ip: NonEmpty<Addr>,
    placeholder: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFields {
    name: Option<Name>,
    note: Option<Text>,
    #[serde(default)]
    mac: NonEmpty<MacPattern>,
    #[serde(default)]
    host: NonEmpty<Host>,
    #[serde(default)]
    tcp: NonEmpty<PortRange>,
    #[serde(default)]
    udp: NonEmpty<PortRange>,
    #[serde(default)]
    protocols: NonEmpty<Protocol>,
    filter: Option<RawFilter>,
}

/// A rule as written; `try_from` rejects a rule with no match key (it would
/// match every packet) at the rule's position.
#[derive(Deserialize)]
#[serde(try_from = "RuleFields")]
struct RuleFile(Rule);

impl TryFrom<RuleFields> for RuleFile {
    type Error = String;
    fn try_from(f: RuleFields) -> Result<Self, String> {
        let rule = Rule {
            name: f.name,
            note: f.note,
            mac: f.mac.0,
            host: f.host.0,
            tcp: f.tcp.0,
            udp: f.udp.0,
            protocols: f.protocols.0,
            filter: f.filter,
            origin: String::new(),
        };
        let keyless = rule.mac.is_empty()
            && rule.host.is_empty()
            && !rule.has_ports()
            && rule.protocols.is_empty()
            && rule.filter.is_none();
        if keyless {
            return Err("rule has no match key (mac, host, tcp, udp, protocols or filter): it would match every packet".into());
        }
        Ok(RuleFile(rule))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    tuya: Vec<TuyaKeyFile>,
    #[serde(default)]
    miio: Vec<MiioTokenFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TuyaKeyFields {
    dev_id: String,
    local_key: String,
}

#[derive(Deserialize)]
#[serde(try_from = "TuyaKeyFields")]
struct TuyaKeyFile(TuyaKey);

impl TryFrom<TuyaKeyFields> for TuyaKeyFile {
    type Error = String;
    fn try_from(f: TuyaKeyFields) -> Result<Self, String> {
        let id_ok = !f.dev_id.is_empty() && f.dev_id.len() <= 64 && f.dev_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok {
            return Err(format!("bad Tuya dev_id {:?}: want letters and digits", f.dev_id));
        }
        let key_ok = plugin::tuya_key_accepted(&f.dev_id, &f.local_key)
            && f.local_key.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'\'');
        if !key_ok {
            return Err("bad Tuya local_key: want 16 printable ASCII characters (no quotes or backslashes)".into());
        }
        Ok(TuyaKeyFile(TuyaKey { dev_id: f.dev_id, local_key: f.local_key }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MiioTokenFields {
    device_id: MiioDeviceId,
    token: String,
}

#[derive(Deserialize)]
#[serde(try_from = "MiioTokenFields")]
struct MiioTokenFile(MiioToken);

impl TryFrom<MiioTokenFields> for MiioTokenFile {
    type Error = String;
    fn try_from(f: MiioTokenFields) -> Result<Self, String> {
        if f.token.trim() != f.token || !plugin::miio_token_accepted(&f.token) {
            return Err("bad miio token: want 32 hex digits (quote it if it is all digits)".into());
        }
        Ok(MiioTokenFile(MiioToken { device_id: f.device_id.0, token: f.token.to_ascii_lowercase() }))
    }
}

/// A miIO device id: a number, decimal or `0x` hex.
struct MiioDeviceId(u32);

impl<'de> Deserialize<'de> for MiioDeviceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(ScalarText)?;
        let parsed = plugin::miio_device_id(&text).filter(|_| text.trim() == text);
        parsed.map(MiioDeviceId).ok_or_else(|| de::Error::custom(format!("bad miio device_id {text:?}: want a 32-bit number")))
    }
}

/// A device address.
struct Addr(IpAddr);

impl<'de> Deserialize<'de> for Addr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(ScalarText)?;
        text.parse().map(Addr).map_err(|_| de::Error::custom(format!("bad IP address {text:?}")))
    }
}

/// An `include` entry: a profile path relative to a profiles folder, without `.yaml`.
struct IncludeName(String);

impl<'de> Deserialize<'de> for IncludeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(ScalarText)?;
        let name = text.strip_suffix(".yaml").unwrap_or(&text);
        let ok = name.split('/').all(|part| part.parse::<Name>().is_ok() && part != "..");
        if !ok {
            return Err(de::Error::custom(format!("bad include {text:?}: want a profile name such as noise/zerotier")));
        }
        Ok(IncludeName(name.to_string()))
    }
}

/// A list that, when present, must have at least one item.
struct NonEmpty<T>(Vec<T>);

impl<T> Default for NonEmpty<T> {
    fn default() -> Self {
        NonEmpty(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NonEmpty<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<T>::deserialize(d)?;
        if items.is_empty() {
            return Err(de::Error::custom("empty list: remove the key or give at least one item"));
        }
        Ok(NonEmpty(items))
    }
}

/// Reads and validates the profile at `path` and the ignore rules of
/// everything it includes. With a catalog, protocol names are checked too.
pub fn load(path: &Path, catalog: Option<&Catalog>) -> Result<Profile, Error> {
    let mut loader = Loader { catalog, stack: Vec::new(), seen: BTreeSet::new() };
    loader.load(path)
}

/// Parses one profile text (no includes resolved); `file` names it in errors.
pub fn parse(text: &str, file: &Path, catalog: Option<&Catalog>) -> Result<Profile, Error> {
    let (raw, name, description) = parse_file(text, file, catalog)?;
    Ok(into_profile(raw, name, description, file))
}

struct Loader<'a> {
    catalog: Option<&'a Catalog>,
    stack: Vec<PathBuf>,
    seen: BTreeSet<PathBuf>,
}

impl Loader<'_> {
    fn load(&mut self, path: &Path) -> Result<Profile, Error> {
        let canonical = path.canonicalize().map_err(|e| Error::io(path, e))?;
        if self.stack.contains(&canonical) {
            return Err(Error::ProfileFile { file: path.into(), message: "include cycle".into() });
        }
        self.seen.insert(canonical.clone());
        let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        if size > MAX_PROFILE_BYTES {
            let message = format!("{size} bytes; a profile has at most {MAX_PROFILE_BYTES}");
            return Err(Error::ProfileFile { file: path.into(), message });
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let (raw, name, description) = parse_file(&text, path, self.catalog)?;
        let includes: Vec<String> = raw.include.iter().map(|i| i.0.clone()).collect();
        let mut profile = into_profile(raw, name, description, path);
        self.stack.push(canonical);
        for include in includes {
            let found = find_include(path, &include).ok_or_else(|| Error::ProfileFile {
                file: path.into(),
                message: format!("include {include:?}: no {include}.yaml in this folder or a parent folder"),
            })?;
            let canonical = found.canonicalize().map_err(|e| Error::io(&found, e))?;
            if self.seen.contains(&canonical) && !self.stack.contains(&canonical) {
                continue; // already merged through another include
            }
            let included = self.load(&found)?;
            profile.ignore.extend(included.ignore);
        }
        self.stack.pop();
        Ok(profile)
    }
}

/// `include: [noise/zerotier]` is looked up beside the including file, then
/// in each parent folder, so `profiles/x.yaml` and `profiles/noise/y.yaml`
/// both find `profiles/noise/zerotier.yaml`.
fn find_include(from: &Path, include: &str) -> Option<PathBuf> {
    let start = from.parent().unwrap_or(Path::new("."));
    let start = if start.as_os_str().is_empty() { Path::new(".") } else { start };
    start.ancestors().map(|dir| dir.join(format!("{include}.yaml"))).find(|p| p.is_file())
}

/// Profiles are a few KB; anything past this is refused before parsing.
pub const MAX_PROFILE_BYTES: u64 = 4 << 20;
/// Deeper YAML nesting than this is refused before parsing: the YAML
/// parser's time grows with the square of the depth (100 000 `[` took
/// over a minute), and no profile nests more than a few levels.
pub const MAX_NESTING: usize = 64;

/// The first place (line, column, 1-based) where `text` nests deeper than
/// [`MAX_NESTING`]: flow brackets outside quotes and comments, or block
/// nesting (indentation, or `- ` / `? ` items opened on one line).
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut flow = 0usize;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let mut block = indent;
        let mut rest = &line[indent..];
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
            block += 2;
            rest = r.trim_start_matches(' ');
        }
        if block / 2 > MAX_NESTING {
            return Some((n + 1, 1));
        }
        let mut quote: Option<char> = None;
        for (col, c) in line.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => {
                    flow += 1;
                    if flow > MAX_NESTING {
                        return Some((n + 1, col + 1));
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

fn parse_file(text: &str, file: &Path, catalog: Option<&Catalog>) -> Result<(ProfileFile, Name, Option<Text>), Error> {
    if let Some((line, column)) = too_deep(text) {
        let message = format!("nested deeper than {MAX_NESTING} levels");
        return Err(Error::Profile { file: file.into(), line, column, message });
    }
    let raw = protocols::with_catalog(catalog, || serde_yaml_ng::from_str::<ProfileFile>(text)).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
        Error::Profile { file: file.into(), line, column, message: strip_location(&e.to_string()) }
    })?;
    let name = top_level(text, file, "name", &raw.name)?;
    let description = raw.description.as_deref().map(|d| top_level(text, file, "description", d)).transpose()?;
    Ok((raw, name, description))
}

/// Parses a top-level value, reporting an error at its `key:` line.
fn top_level<T: std::str::FromStr<Err = String>>(text: &str, file: &Path, key: &str, value: &str) -> Result<T, Error> {
    value.parse().map_err(|message| {
        let prefix = format!("{key}:");
        let line = text.lines().position(|l| l.starts_with(&prefix)).map_or(1, |i| i + 1);
        let column = text.lines().nth(line - 1).map_or(1, |l| l.len() - l[prefix.len()..].trim_start().len() + 1);
        Error::Profile { file: file.into(), line, column, message: format!("{key}: {message}") }
    })
}

/// serde_yaml_ng appends " at line L column C" to messages; we print the
/// position in front instead.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn into_profile(raw: ProfileFile, name: Name, description: Option<Text>, file: &Path) -> Profile {
    let origin_rules = |rules: Vec<RuleFile>, section: &str| -> Vec<Rule> {
        rules
            .into_iter()
            .enumerate()
            .map(|(i, RuleFile(mut rule))| {
                rule.origin = format!("{name} {section}[{i}]");
                rule
            })
            .collect()
    };
    let ignore = origin_rules(raw.ignore, "ignore");
    let expected = origin_rules(raw.expected, "expected");
    Profile {
        device: raw.device.map(|d| Device { mac: d.mac.0, ip: d.ip.0.into_iter().map(|a| a.0).collect(), placeholder: d.placeholder }),
        keys: Keys {
            tuya: raw.keys.tuya.into_iter().map(|k| k.0).collect(),
            miio: raw.keys.miio.into_iter().map(|k| k.0).collect(),
        },
        name,
        description,
        ignore,
        expected,
        path: file.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        let catalog = Catalog::from_listing("Spanning Tree\tSTP\tstp\n");
        parse(text, Path::new("p.yaml"), Some(&catalog)).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_column_and_field() {
        let e = err("name: x\nignore:\n  - protocols: [stp, nosuch]\n");
        assert!(e.starts_with("p.yaml:3:"), "{e}");
        assert!(e.contains("unknown protocol \"nosuch\""), "{e}");
        let e = err("name: x\nignore:\n  - hosts: [1.2.3.4]\n");
        assert!(e.starts_with("p.yaml:3:") && e.contains("unknown field `hosts`"), "{e}");
        let e = err("name: x\ndevice:\n  mac: [64:90:c1:1d:24]\n  ip: [10.0.0.300]\n");
        assert!(e.starts_with("p.yaml:4:") && e.contains("10.0.0.300"), "{e}");
        let e = err("name: x\nexpected:\n  - tcp: [99999]\n");
        assert!(e.starts_with("p.yaml:3:") && e.contains("99999"), "{e}");
        let e = err("name: x\nexpected:\n  - note: nothing\n");
        assert!(e.contains("no match key"), "{e}");
        let e = err("name: x\nexpected:\n  - host: []\n");
        assert!(e.contains("empty list"), "{e}");
    }

    #[test]
    fn parses_the_issue_example() {
        let text = r#"
name: roborock-s5
description: Roborock S5 on Tuya firmware v02.29.02
device:
  mac: [64:90:c1:1d:24:c4]
  ip: [10.10.10.8]
ignore:
  - protocols: [stp]
  - mac: [18:c0:4d:3b:66:d2]
    note: analysis laptop
  - host: [195.181.173.159, 50.7.73.34]
    udp: [9993]
expected:
  - name: tuya-mqtt
    host: [m2.tuyaeu.com, "*.tuyaeu.com"]
    tcp: [8883]
keys:
  tuya: [{dev_id: bf7e9b4aacf4f733d8o3zz, local_key: "0123456789abcdef"}]
  miio: [{device_id: 0x0a1b2c3d, token: 00112233445566778899aabbccddeeff}]
"#;
        let p = parse(text, Path::new("p.yaml"), None).unwrap();
        assert_eq!(p.ignore.len(), 3);
        assert_eq!(p.ignore[2].origin, "roborock-s5 ignore[2]");
        assert_eq!(p.keys.miio[0].device_id, 0x0a1b2c3d);
        assert_eq!(p.expected[0].host.len(), 2);
    }
}
