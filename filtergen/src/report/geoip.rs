//! `--geoip FILE`: a MaxMind GeoLite2/GeoIP2 or DB-IP database in `.mmdb`
//! format. A country (or city) database overrides the embedded registry
//! countries; an ASN database adds the network's owner.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use maxminddb::{path, Reader, WithinOptions};

use crate::report::country::Country;
use crate::error::Error;
use crate::report::model::Geo;

pub struct Countries {
    reader: Reader<Vec<u8>>,
}

impl Countries {
    pub fn open(path: &Path) -> Result<Countries, Error> {
        let reader = Reader::open_readfile(path).map_err(|e| Error::Usage(format!("--geoip {}: not a readable .mmdb database: {e}", path.display())))?;
        Ok(Countries { reader })
    }

    /// Every network the database places in `country`, both families.
    pub fn blocks(&self, country: Country) -> Vec<IpNet> {
        let Ok(networks) = self.reader.networks(WithinOptions::default()) else { return Vec::new() };
        networks
            .filter_map(Result::ok)
            .filter(|found| {
                let code: Option<String> = found.decode_path(&path!["country", "iso_code"]).ok().flatten();
                code.is_some_and(|c| c.eq_ignore_ascii_case(country.as_str()))
            })
            .filter_map(|found| found.network().ok())
            .filter_map(|n| IpNet::new(n.ip(), n.prefix()).ok())
            .map(|n| n.trunc())
            .collect()
    }
}

impl Geo for Countries {
    /// The ISO country code, if the database has the address.
    fn country(&self, addr: IpAddr) -> Option<String> {
        let found = self.reader.lookup(addr).ok()?;
        let code: Option<String> = found.decode_path(&path!["country", "iso_code"]).ok()?;
        code
    }

    /// `AS15169 Google LLC` from an ASN database (GeoLite2-ASN, DB-IP ASN).
    fn owner(&self, addr: IpAddr) -> Option<String> {
        let found = self.reader.lookup(addr).ok()?;
        let number: Option<u32> = found.decode_path(&path!["autonomous_system_number"]).ok().flatten();
        let org: Option<String> = found.decode_path(&path!["autonomous_system_organization"]).ok().flatten();
        match (number, org) {
            (Some(n), Some(o)) => Some(format!("AS{n} {o}")),
            (Some(n), None) => Some(format!("AS{n}")),
            (None, Some(o)) => Some(o),
            (None, None) => None,
        }
    }
}
