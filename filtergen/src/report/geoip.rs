//! `--geoip FILE`: countries from a MaxMind GeoLite2/GeoIP2 or DB-IP
//! country (or city) database in `.mmdb` format.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{path, Reader};

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
}

impl Geo for Countries {
    /// The ISO country code, if the database has the address.
    fn country(&self, addr: IpAddr) -> Option<String> {
        let found = self.reader.lookup(addr).ok()?;
        let code: Option<String> = found.decode_path(&path!["country", "iso_code"]).ok()?;
        code
    }
}
