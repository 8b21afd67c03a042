#!/usr/bin/env python3
"""Writes a GPS position into a JPEG's EXIF (tests): inserts an APP1 Exif segment right after the SOI marker, with a
little-endian TIFF IFD0 whose GPSInfo tag (0x8825) points at a GPS IFD holding GPSLatitudeRef, GPSLatitude,
GPSLongitudeRef and GPSLongitude (three RATIONALs each: degrees, minutes, seconds).

usage: exif_gps.py IN.jpg OUT.jpg LAT LON [STYLE]
STYLE: dms (default: whole degrees and minutes, seconds to 1/1000), decimal (the whole value in the degrees
rational, 0/1 minutes and seconds, as some phones write), zero-denominator (a malformed rational), raw (LAT and LON
written as given even when out of range, e.g. 95)."""
import struct
import sys


def rationals(value: float, style: str) -> bytes:
    v = abs(value)
    if style == "decimal":
        parts = [(round(v * 1000000), 1000000), (0, 1), (0, 1)]
    elif style == "zero-denominator":
        parts = [(int(v), 0), (0, 1), (0, 1)]
    else:
        d = int(v)
        m = int((v - d) * 60)
        s = (v - d - m / 60) * 3600
        parts = [(d, 1), (m, 1), (round(s * 1000), 1000)]
    return b"".join(struct.pack("<II", n, den) for n, den in parts)


def app1(lat: float, lon: float, style: str) -> bytes:
    # layout: header(8) | IFD0: 1 entry (18) | GPS IFD: 4 entries (54) | lat rationals (24) | lon rationals (24)
    ifd0_off, gps_off = 8, 8 + 2 + 12 + 4
    data_off = gps_off + 2 + 4 * 12 + 4
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_off) + struct.pack("<I", 0)
    gps = struct.pack("<H", 4)
    gps += struct.pack("<HHI4s", 0x0001, 2, 2, (b"N" if lat >= 0 else b"S") + b"\0\0\0")
    gps += struct.pack("<HHII", 0x0002, 5, 3, data_off)
    gps += struct.pack("<HHI4s", 0x0003, 2, 2, (b"E" if lon >= 0 else b"W") + b"\0\0\0")
    gps += struct.pack("<HHII", 0x0004, 5, 3, data_off + 24)
    gps += struct.pack("<I", 0)
    tiff = b"II*\0" + struct.pack("<I", ifd0_off) + ifd0 + gps + rationals(lat, style) + rationals(lon, style)
    assert len(b"II*\0") + 4 + len(ifd0) == gps_off and gps_off + len(gps) == data_off
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def main() -> None:
    src, dst, lat, lon = sys.argv[1:5]
    style = sys.argv[5] if len(sys.argv) > 5 else "dms"
    jpeg = open(src, "rb").read()
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    open(dst, "wb").write(jpeg[:2] + app1(float(lat), float(lon), style) + jpeg[2:])


if __name__ == "__main__":
    main()
