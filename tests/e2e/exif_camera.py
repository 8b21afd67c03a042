#!/usr/bin/env python3
"""Writes a JPEG's EXIF Make and Model (tests): inserts an APP1 Exif segment with a little-endian TIFF IFD0 holding
the two ASCII tags right after the SOI marker. usage: exif_camera.py IN.jpg OUT.jpg MAKE MODEL"""
import struct
import sys


def app1(make: str, model: str) -> bytes:
    tags = [(0x010F, make.encode() + b"\0"), (0x0110, model.encode() + b"\0")]
    ifd_size = 2 + 12 * len(tags) + 4
    data_off = 8 + ifd_size  # values follow the IFD, offsets from the TIFF header
    entries, values = b"", b""
    for tag, val in tags:
        if len(val) <= 4:
            entries += struct.pack("<HHI4s", tag, 2, len(val), val.ljust(4, b"\0"))
        else:
            entries += struct.pack("<HHII", tag, 2, len(val), data_off + len(values))
            values += val
    tiff = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(tags)) + entries + struct.pack("<I", 0) + values
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def main() -> None:
    src, dst, make, model = sys.argv[1:5]
    jpeg = open(src, "rb").read()
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    open(dst, "wb").write(jpeg[:2] + app1(make, model) + jpeg[2:])


if __name__ == "__main__":
    main()
