#!/usr/bin/env python3
"""Fails when a log holds personal data: any valid Finnish personal identity code (checksum
and all, so ids and hashes do not count) or a street address the tests give recipients.

Usage: no-personal-data-in-logs.py LOG [LOG ...]
"""
import re
import sys

CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CODE = re.compile(rb"(?<![0-9A-Za-z])([0-3][0-9][01][0-9][0-9]{2})([-+A-FU-Y])([0-9]{3})([0-9A-Y])(?![0-9A-Za-z])")
# What the tests put in recipients' addresses (server/tests/api, server/benches).
ADDRESSES = [b"Mannerheimintie 1", b"Esimerkkikatu", b"Turvakieltotie", b"Salainen"]


def valid(match):
    number = int(match.group(1) + match.group(3))
    return CHECK[number % 31].encode() == match.group(4)


def main():
    found = []
    for path in sys.argv[1:]:
        with open(path, "rb") as log:
            for number, line in enumerate(log, 1):
                for match in CODE.finditer(line):
                    if valid(match):
                        found.append(f"{path}:{number}: an identity code ({match.group(0)[:6].decode()}…)")
                for address in ADDRESSES:
                    if address in line:
                        found.append(f"{path}:{number}: a street address ({address.decode()}…)")
    for finding in found[:20]:
        print(finding)
    if found:
        print(f"personal data in the logs: {len(found)} lines")
        sys.exit(1)
    print(f"no personal data in {', '.join(sys.argv[1:])}")


if __name__ == "__main__":
    main()
