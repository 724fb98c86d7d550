"""Writes a small country database (.mmdb, MaxMind DB format) with the
third-party writer mmdb-writer, for testing `filtergen report --geoip`.

usage: make_mmdb.py OUT.mmdb CIDR=CC [CIDR=CC ...]
"""
import sys

from mmdb_writer import MMDBWriter
from netaddr import IPSet


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="phonehome-test-country")
    for spec in argv[2:]:
        cidr, country = spec.split("=")
        writer.insert_network(IPSet([cidr]), {"country": {"iso_code": country}})
    writer.to_db_file(argv[1])


if __name__ == "__main__":
    main(sys.argv)
