//! What the native observation pass reads from TCP and UDP payloads: DNS
//! questions, answers and CNAMEs (hickory-proto), the server name of a TLS
//! ClientHello (tls-parser), the Host of an HTTP request (httparse) and the
//! resolvers a DHCP message offers (dhcproto). Each function takes one
//! complete message and returns what the report needs, or nothing for bytes
//! that are not such a message; none of them panics on any input.

use std::net::{IpAddr, Ipv4Addr};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{Name, RData};

/// What one DNS message (query or response) says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dns {
    pub response: bool,
    /// The first question's name, as Wireshark shows it (no trailing dot).
    pub question: Option<String>,
    /// A and AAAA records of every section, in message order.
    pub addresses: Vec<IpAddr>,
    /// CNAME targets of every section.
    pub cnames: Vec<String>,
}

/// A name as Wireshark's DNS dissector shows it: labels joined by dots, the
/// root as `<Root>`.
fn name_text(name: &Name) -> String {
    if name.is_root() {
        return "<Root>".into();
    }
    let mut text = name.to_ascii();
    if text.ends_with('.') {
        text.pop();
    }
    text
}

/// Parses a DNS message (UDP payload, or a TCP message without its length prefix).
pub fn dns(message: &[u8]) -> Option<Dns> {
    let m = Message::from_vec(message).ok()?;
    let mut out = Dns {
        response: m.message_type() == MessageType::Response,
        question: m.queries().first().map(|q| name_text(q.name())),
        ..Default::default()
    };
    for record in m.answers().iter().chain(m.name_servers()).chain(m.additionals()) {
        match record.data() {
            RData::A(a) => out.addresses.push(IpAddr::V4(a.0)),
            RData::AAAA(a) => out.addresses.push(IpAddr::V6(a.0)),
            RData::CNAME(c) => out.cnames.push(name_text(&c.0)),
            _ => {}
        }
    }
    Some(out)
}

/// TLS record header: content type, version, length.
const TLS_RECORD_HEADER: usize = 5;
pub const TLS_HANDSHAKE: u8 = 22;

/// The whole length (header included) of the TLS record whose header
/// starts `data`: change_cipher_spec, alert, handshake or application data
/// of SSL 3.0 to TLS 1.3; `None` for anything else.
pub fn tls_record_len(data: &[u8]) -> Option<usize> {
    match data {
        [20..=23, 3, 0..=4, hi, lo, ..] => Some(TLS_RECORD_HEADER + usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

/// The host names in the server_name extension of the ClientHello that the
/// TLS record `record` (complete, header included) carries.
pub fn client_hello_names(record: &[u8]) -> Vec<String> {
    use tls_parser::{parse_tls_extensions, parse_tls_plaintext, SNIType, TlsExtension, TlsMessage, TlsMessageHandshake};
    let Ok((_, plaintext)) = parse_tls_plaintext(record) else { return Vec::new() };
    let mut names = Vec::new();
    for message in &plaintext.msg {
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(hello)) = message else { continue };
        let Some(Ok((_, extensions))) = hello.ext.map(parse_tls_extensions) else { continue };
        for extension in extensions {
            if let TlsExtension::SNI(list) = extension {
                names.extend(list.iter().filter(|(kind, _)| *kind == SNIType::HostName).map(|(_, n)| String::from_utf8_lossy(n).into_owned()));
            }
        }
    }
    names
}

/// The Host header of the HTTP request that starts `data` (its header
/// block complete in `data`).
pub fn http_host(data: &[u8]) -> Option<String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(data).ok()?;
    let host = request.headers.iter().find(|h| h.name.eq_ignore_ascii_case("host"))?;
    Some(String::from_utf8_lossy(host.value).trim().to_string())
}

/// The DNS servers (option 6) of a DHCP message.
pub fn dhcp_resolvers(message: &[u8]) -> Vec<Ipv4Addr> {
    use dhcproto::{v4, Decodable, Decoder};
    let Ok(m) = v4::Message::decode(&mut Decoder::new(message)) else { return Vec::new() };
    match m.opts().get(v4::OptionCode::DomainNameServer) {
        Some(v4::DhcpOption::DomainNameServer(servers)) => servers.clone(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_answer_with_cname() {
        // Response to m2.tuyaeu.com A: a CNAME and one address.
        let mut m = Message::new();
        m.set_message_type(MessageType::Response);
        let q: Name = "m2.tuyaeu.com.".parse().unwrap();
        let target: Name = "eu.example.net.".parse().unwrap();
        m.add_query(hickory_proto::op::Query::query(q.clone(), hickory_proto::rr::RecordType::A));
        m.add_answer(hickory_proto::rr::Record::from_rdata(q, 60, RData::CNAME(hickory_proto::rr::rdata::CNAME(target.clone()))));
        m.add_answer(hickory_proto::rr::Record::from_rdata(target, 60, RData::A(Ipv4Addr::new(3, 67, 242, 33).into())));
        let bytes = m.to_vec().unwrap();
        let d = dns(&bytes).unwrap();
        assert!(d.response);
        assert_eq!(d.question.as_deref(), Some("m2.tuyaeu.com"));
        assert_eq!(d.cnames, vec!["eu.example.net".to_string()]);
        assert_eq!(d.addresses, vec![IpAddr::V4(Ipv4Addr::new(3, 67, 242, 33))]);
        for cut in 0..bytes.len() {
            let _ = dns(&bytes[..cut]);
        }
    }

    #[test]
    fn http_and_garbage() {
        assert_eq!(http_host(b"GET / HTTP/1.1\r\nHost: api.io.mi.com \r\n\r\n").as_deref(), Some("api.io.mi.com"));
        assert_eq!(http_host(b"\x16\x03\x01"), None);
        assert_eq!(tls_record_len(&[22, 3, 1, 0, 10]), Some(15));
        assert_eq!(tls_record_len(b"GET "), None);
        assert!(client_hello_names(&[22, 3, 1, 0, 1, 1]).is_empty());
        assert!(dhcp_resolvers(&[1, 2, 3]).is_empty());
    }
}
