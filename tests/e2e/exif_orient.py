#!/usr/bin/env python3
"""Writes a JPEG's EXIF Orientation (tests): inserts an APP1 Exif segment whose little-endian TIFF IFD0 holds the one
SHORT tag 0x0112 right after the SOI marker. usage: exif_orient.py IN.jpg OUT.jpg ORIENTATION"""
import struct
import sys

src, dst, orient = sys.argv[1], sys.argv[2], int(sys.argv[3])
jpeg = open(src, "rb").read()
assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
tiff = b"II*\0" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orient, 0) + struct.pack("<I", 0)
body = b"Exif\0\0" + tiff
open(dst, "wb").write(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:])
