//! What filtergen knows of the phonehome plugin, read from the dissector
//! crate itself (a library without its Wireshark glue): the protocols' filter
//! names, the field names reports ask tshark for, the key tables' names and
//! the rules a key or token must follow. Nothing here is restated.

use phonehome::spec::{FieldSpec, ProtocolSpec};
use phonehome::{iotc, miio, pppp, tuya};

/// The plugin's protocols, in registration order.
pub(crate) fn protocols() -> impl Iterator<Item = &'static ProtocolSpec> {
    phonehome::protocols().iter().map(|d| d.spec())
}

/// Their display-filter names ("tuya", "miio", "iotc", "pppp").
pub(crate) fn protocol_names() -> impl Iterator<Item = &'static str> {
    protocols().map(|s| s.filter_name)
}

fn abbrev(table: &'static [FieldSpec], field: impl Into<u32>) -> &'static str {
    table[field.into() as usize].abbrev
}

/// The plugin fields a report reads: the ids and kinds of message the IoT
/// dissectors decode. (Listed once: the report walks them a packet.)
pub(crate) fn report_fields() -> &'static [&'static str; 12] {
    static FIELDS: std::sync::OnceLock<[&str; 12]> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| [
        abbrev(tuya::FIELDS, tuya::Field::GwId),
        abbrev(tuya::FIELDS, tuya::Field::DevId),
        abbrev(tuya::FIELDS, tuya::Field::ProductKey),
        abbrev(tuya::FIELDS, tuya::Field::Version),
        abbrev(tuya::FIELDS, tuya::Field::Cmd),
        abbrev(miio::FIELDS, miio::Field::DeviceId),
        abbrev(miio::FIELDS, miio::Field::Method),
        // A token given away in a hello reply (`watch` alerts on it).
        leaked_token_field(),
        abbrev(iotc::FIELDS, iotc::Field::Uid),
        abbrev(iotc::FIELDS, iotc::Field::Opcode),
        abbrev(pppp::FIELDS, pppp::Field::Uid),
        abbrev(pppp::FIELDS, pppp::Field::Type),
    ])
}

/// The field of a miIO token given away in a hello reply.
pub(crate) fn leaked_token_field() -> &'static str {
    abbrev(miio::FIELDS, miio::Field::Token)
}

/// (protocol, field) of the peer-to-peer ids (Kalay/IOTC and PPPP UIDs)
/// that let anyone who has them reach the camera through the vendor's servers.
pub(crate) fn uid_fields() -> [(&'static str, &'static str); 2] {
    [
        (phonehome::Dissector::spec(&iotc::IOTC).filter_name, abbrev(iotc::FIELDS, iotc::Field::Uid)),
        (phonehome::Dissector::spec(&pppp::PPPP).filter_name, abbrev(pppp::FIELDS, pppp::Field::Uid)),
    ]
}

fn table_name(spec: &'static ProtocolSpec) -> &'static str {
    spec.table.map_or("", |t| t.name)
}

/// The UAT holding Tuya local keys (`tuya_keys`).
pub(crate) fn tuya_key_table() -> &'static str {
    table_name(phonehome::Dissector::spec(&tuya::TUYA))
}

/// The UAT holding miIO tokens (`miio_tokens`).
pub(crate) fn miio_token_table() -> &'static str {
    table_name(phonehome::Dissector::spec(&miio::MIIO))
}

/// Whether the plugin's `tuya_keys` table accepts this row.
pub(crate) fn tuya_key_accepted(dev_id: &str, local_key: &str) -> bool {
    tuya::keys::check_row(&[dev_id.to_string(), local_key.to_string()]).is_ok()
}

/// Whether the plugin's `miio_tokens` table accepts this token.
pub(crate) fn miio_token_accepted(token: &str) -> bool {
    miio::tokens::parse_token(token).is_some()
}

/// A miIO device id as the plugin's table reads it (decimal or 0x-hex).
pub(crate) fn miio_device_id(text: &str) -> Option<u32> {
    miio::tokens::parse_device_id(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_plugins() {
        assert_eq!(protocol_names().collect::<Vec<_>>(), ["tuya", "miio", "iotc", "pppp"]);
        assert_eq!(tuya_key_table(), "tuya_keys");
        assert_eq!(miio_token_table(), "miio_tokens");
        assert!(tuya_key_accepted("bf7e9b4aacf4f733d8o3zz", "0123456789abcdef"));
        assert!(!tuya_key_accepted("bf7e9b4aacf4f733d8o3zz", "0123456789abcde"));
        assert!(miio_token_accepted("00112233445566778899aabbccddeeff"));
        assert!(!miio_token_accepted("00112233445566778899aabbccddeefg"));
    }
}
