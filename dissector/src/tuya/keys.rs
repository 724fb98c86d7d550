//! The `tuya_keys` table: device ids and their 16-character local keys, as
//! the user entered them in Wireshark's preferences or with
//! `tshark -o 'uat:tuya_keys:"DEVICE_ID","LOCAL_KEY"'`.

use std::sync::{Arc, RwLock};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub dev_id: String,
    pub key: [u8; 16],
}

/// The rows that hold a usable key (16 bytes; others are skipped, as
/// `check_row` already refuses them in the preferences dialog).
pub fn rows_from_table(rows: Vec<Vec<String>>) -> Vec<KeyRow> {
    rows.into_iter()
        .filter_map(|row| match row.as_slice() {
            [id, key] => Some(KeyRow { dev_id: id.trim().to_string(), key: key.as_bytes().try_into().ok()? }),
            _ => None,
        })
        .collect()
}

/// Checks one row before Wireshark accepts it.
pub fn check_row(row: &[String]) -> Result<(), String> {
    match row {
        [id, key] if id.trim().is_empty() => Err(format!("device id is empty (key {key:?})")),
        [_, key] if key.len() != 16 => Err(format!("a local key has 16 characters; {key:?} has {}", key.len())),
        [_, _] => Ok(()),
        _ => Err("expected 2 columns: device id, local key".into()),
    }
}

static TABLE: RwLock<Option<Arc<Vec<KeyRow>>>> = RwLock::new(None);

/// Replaces the table (Wireshark then dissects the capture again).
pub fn set(rows: Vec<KeyRow>) {
    let mut table = TABLE.write().unwrap_or_else(|e| e.into_inner());
    *table = Some(Arc::new(rows));
}

/// The current table; cheap (one reference count).
pub fn current() -> Arc<Vec<KeyRow>> {
    let table = TABLE.read().unwrap_or_else(|e| e.into_inner());
    table.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_only_usable_keys() {
        let row = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        let rows = rows_from_table(vec![row(" bf01 ", "0123456789abcdef"), row("bf02", "short"), vec!["x".into()]]);
        assert_eq!(rows, [KeyRow { dev_id: "bf01".into(), key: *b"0123456789abcdef" }]);
        assert!(check_row(&row("bf7e9b4aacf4f733d8o3zz", "0123456789abcdef")).is_ok());
        assert!(check_row(&row("bf7e", "short")).unwrap_err().contains("16 characters"));
        assert!(check_row(&row(" ", "0123456789abcdef")).is_err());
        assert!(check_row(&["a".to_string()]).is_err());
    }
}
