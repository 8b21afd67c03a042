#!/usr/bin/env python3
"""Writes a JPEG's EXIF DateTimeOriginal (tests): inserts an APP1 Exif segment whose IFD0 points to an Exif IFD
holding the one ASCII tag, right after the SOI marker. usage: exif_date.py IN.jpg OUT.jpg "YYYY:MM:DD HH:MM:SS" """
import struct
import sys


def app1(when: str) -> bytes:
    val = when.encode() + b"\0"
    assert len(val) == 20, "the date is YYYY:MM:DD HH:MM:SS"
    # TIFF header (8) | IFD0 at 8: one entry, the Exif IFD pointer (18) | Exif IFD at 26: one entry (18) | value at 44
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 26) + struct.pack("<I", 0)
    exif = struct.pack("<H", 1) + struct.pack("<HHII", 0x9003, 2, len(val), 44) + struct.pack("<I", 0)
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd0 + exif + val
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def main() -> None:
    src, dst, when = sys.argv[1:4]
    jpeg = open(src, "rb").read()
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    open(dst, "wb").write(jpeg[:2] + app1(when) + jpeg[2:])


if __name__ == "__main__":
    main()
