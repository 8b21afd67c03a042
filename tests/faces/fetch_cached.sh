#!/usr/bin/env bash
# Puts face-api 1.7.15's tarball (npm pack), its model folder (photoseek model fetch faces --from) and its demo
# photos into CACHE once; later runs reuse them.   bash tests/faces/fetch_cached.sh CACHE
set -eu
cache=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
tgz=$cache/vladmandic-face-api-1.7.15.tgz
mkdir -p "$cache"
if [ ! -s "$tgz" ]; then (cd "$cache" && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null); fi
if [ ! -s "$cache/model/face_recognition_model.bin" ]; then
    "$root/build/photoseek" model fetch faces --dir "$cache/model" --from "$tgz" 2>/dev/null
fi
if [ ! -s "$cache/demo/sample6.jpg" ]; then
    mkdir -p "$cache/demo"
    tar -xzf "$tgz" -C "$cache/demo" --strip-components=2 package/demo/sample1.jpg package/demo/sample2.jpg \
        package/demo/sample3.jpg package/demo/sample4.jpg package/demo/sample5.jpg package/demo/sample6.jpg
fi
