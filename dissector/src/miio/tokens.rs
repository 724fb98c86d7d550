//! Where tokens come from: the user's `miio_tokens` table (device id,
//! token; several rows per device are allowed, e.g. its LAN token and its
//! cloud key) and the tokens devices leak in hello replies, learnt per
//! capture file.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use super::frame::{Token, TOKEN_LEN};
use crate::crypto;

/// The user's table: device id → tokens, in table order.
static TABLE: RwLock<BTreeMap<u32, Vec<Token>>> = RwLock::new(BTreeMap::new());

/// A device id as written in the table: decimal or 0x-hex.
pub fn parse_device_id(text: &str) -> Option<u32> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// A token as written in the table: 32 hex characters.
pub fn parse_token(text: &str) -> Option<Token> {
    let t = text.trim();
    if t.len() != TOKEN_LEN * 2 {
        return None;
    }
    crypto::unhex(t)?.try_into().ok()
}

/// Checks one table row (device id, token).
pub fn check_row(row: &[String]) -> Result<(), String> {
    let [id, token] = row else {
        return Err("expected 2 columns: device id, token".into());
    };
    if parse_device_id(id).is_none() {
        return Err(format!("device id {id:?} is neither a decimal nor a 0x-hex 32-bit number"));
    }
    if parse_token(token).is_none() {
        return Err(format!("a token is 32 hex characters; {token:?} is not"));
    }
    Ok(())
}

/// Replaces the table (rows that do not parse are skipped: Wireshark has
/// already refused them through [`check_row`]).
pub fn set_table(rows: Vec<Vec<String>>) {
    let mut table = BTreeMap::<u32, Vec<Token>>::new();
    for row in rows {
        if let [id, token] = row.as_slice() {
            if let (Some(id), Some(token)) = (parse_device_id(id), parse_token(token)) {
                let tokens = table.entry(id).or_default();
                if !tokens.contains(&token) {
                    tokens.push(token);
                }
            }
        }
    }
    *TABLE.write().unwrap_or_else(|e| e.into_inner()) = table;
}

/// Where a candidate token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Table,
    /// Learnt from the hello reply in this frame.
    Learnt(u32),
}

/// At most this many devices and leaked tokens per device are remembered
/// per capture, whatever a hostile capture holds.
const MAX_DEVICES: usize = 4096;
const MAX_PER_DEVICE: usize = 4;

/// Tokens leaked in hello replies of one capture file: device id →
/// (frame of the hello reply, token), in frame order.
#[derive(Default)]
pub struct Learnt {
    by_device: HashMap<u32, Vec<(u32, Token)>>,
}

impl Learnt {
    /// Records the token a hello reply in `frame` leaked. Returns false when
    /// it was not kept (capture already holds too many devices).
    pub fn learn(&mut self, device_id: u32, frame: u32, token: Token) -> bool {
        if !self.by_device.contains_key(&device_id) && self.by_device.len() >= MAX_DEVICES {
            return false;
        }
        let seen = self.by_device.entry(device_id).or_default();
        if seen.iter().any(|&(f, t)| f == frame || (t == token && f <= frame)) {
            return true;
        }
        if seen.len() >= MAX_PER_DEVICE {
            seen.remove(0);
        }
        seen.push((frame, token));
        seen.sort_by_key(|&(f, _)| f);
        true
    }

    /// The tokens `device_id` leaked at or before `frame`, latest first.
    pub fn at(&self, device_id: u32, frame: u32) -> impl Iterator<Item = (u32, Token)> + '_ {
        self.by_device.get(&device_id).into_iter().flatten().rev().filter(move |&&(f, _)| f <= frame).copied()
    }
}

/// The candidate tokens for a message of `device_id` in `frame`: the
/// table's rows first, then the learnt ones, latest first (a device that
/// was reset leaks a new token; the checksum tells which one applies).
pub fn candidates(learnt: &Learnt, device_id: u32, frame: u32) -> Vec<(Origin, Token)> {
    let mut out: Vec<(Origin, Token)> = TABLE
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&device_id)
        .map(|ts| ts.iter().map(|&t| (Origin::Table, t)).collect())
        .unwrap_or_default();
    for (f, t) in learnt.at(device_id, frame) {
        if !out.iter().any(|&(_, c)| c == t) {
            out.push((Origin::Learnt(f), t));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_checked() {
        let row = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert!(check_row(&row("0x0a1b2c3d", "00112233445566778899aabbccddeeff")).is_ok());
        assert!(check_row(&row("169552957", "00112233445566778899AABBCCDDEEFF")).is_ok());
        assert!(check_row(&row("0x1ffffffff", "00112233445566778899aabbccddeeff")).is_err());
        assert!(check_row(&row("abc", "00112233445566778899aabbccddeeff")).is_err());
        assert!(check_row(&row("1", "0011")).unwrap_err().contains("32 hex"));
        assert!(check_row(&row("1", "zz112233445566778899aabbccddeeff")).is_err());
        assert!(check_row(&[String::new()]).is_err());
        assert_eq!(parse_device_id(" 0x0A1B2C3D "), Some(0x0a1b2c3d));
        assert_eq!(parse_device_id("169552957"), Some(0x0a1b2c3d));
    }

    #[test]
    fn learnt_tokens_apply_from_their_frame_on() {
        let mut l = Learnt::default();
        assert!(l.learn(7, 10, [1; 16]));
        let at = |l: &Learnt, d, f| l.at(d, f).collect::<Vec<_>>();
        assert_eq!(at(&l, 7, 9), []);
        assert_eq!(at(&l, 7, 10), [(10, [1; 16])]);
        assert!(l.learn(7, 50, [2; 16]));
        assert_eq!(at(&l, 7, 49), [(10, [1; 16])]);
        assert_eq!(at(&l, 7, 51), [(50, [2; 16]), (10, [1; 16])]);
        assert_eq!(at(&l, 8, 51), []);
        // Second pass: the same hello reply again changes nothing.
        assert!(l.learn(7, 10, [1; 16]));
        assert_eq!(l.by_device[&7].len(), 2);
    }

    #[test]
    fn learnt_state_is_bounded() {
        let mut l = Learnt::default();
        for d in 0..(MAX_DEVICES as u32 + 10) {
            l.learn(d, d, [3; 16]);
        }
        assert_eq!(l.by_device.len(), MAX_DEVICES);
        for f in 0..20 {
            l.learn(1, 1000 + f, [f as u8; 16]);
        }
        assert_eq!(l.by_device[&1].len(), MAX_PER_DEVICE);
    }
}
