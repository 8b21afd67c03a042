#!/usr/bin/env bash
# What a new user is told when something is wrong (a fresh clone's README trial): a broken photo given to similar
# is named as broken (not called a video), similar has its own help, a taken port or an address the machine lacks
# is said as such by serve, index of a new library without a model leaves no library behind, the missing places
# data is said only when photos went without names, import takeout uses the library's model, --db given a folder
# says so, a deleted photo's thumbnail is a 404, status and model fetch name what was wrong, a second
# interrupt says it stopped at once, the command list names each command once.
source "$(dirname "$0")/lib.sh"
need python3 curl /usr/bin/convert
M=$FIX/models
export PHOTOSEEK_MODELS=$TMP/models
mkdir -p "$TMP/pics"
cp "$FIX/images/photo_coffee.jpg" "$FIX/images/photo_chelsea.jpg" "$TMP/pics/"
DB=$TMP/lib.db
$PS index "$TMP/pics" --db "$DB" --image-model "$M/tiny-clip" >/dev/null 2>&1

# similar on a broken photo: the photo's own error, not "is a video"
for f in bad_truncated.jpg bad_not_an_image.jpg bad_crc.png; do
    expect_status "similar $f is an error (3)" 3 $PS similar "$FIX/images/$f" --db "$DB"
    if grep -q "video" "$TMP/err" || ! grep -q "$f: " "$TMP/err"; then
        fail "... that names the file and what is wrong with it, not a video" "$(cat "$TMP/err")"
    else pass "... that names the file and what is wrong with it, not a video"; fi
done
check "... a truncated JPEG says so" grep -q "truncated" <(
    $PS similar "$FIX/images/bad_truncated.jpg" --db "$DB" 2>&1)

# similar's help is its own: no --text or --person, which similar refuses
$PS similar --help >"$TMP/help"
check "similar --help starts with similar's usage" grep -q "^usage: photoseek similar FILE" "$TMP/help"
if grep -qE -- "--text|--person" "$TMP/help"; then fail "similar --help lists no --text or --person" "$(grep -E -- '--text|--person' "$TMP/help")"
else pass "similar --help lists no --text or --person"; fi
for opt in $(grep -oE -- '(^| )--[a-z-]+' "$TMP/help" | tr -d ' ' | sort -u); do
    case $opt in --help) continue ;; esac
    # every option similar's help lists is one similar takes (a value it refuses is fine; an unknown option is not)
    $PS similar "$FIX/images/photo_coffee.jpg" --db "$DB" "$opt" x >/dev/null 2>"$TMP/err"
    if grep -q "unknown option" "$TMP/err"; then fail "similar takes $opt, as its help says" "$(cat "$TMP/err")"; fi
done
pass "similar takes every option its help lists"
expect_status "similar with an unknown option is a usage error" 2 $PS similar "$FIX/images/photo_coffee.jpg" --db "$DB" --bogus
check "... that points to similar's help, not to query words" sh -c "grep -q \"photoseek similar --help\" '$TMP/err' && ! grep -q 'query word' '$TMP/err'"

# serve: a port in use, an address this machine lacks
$PS serve --db "$DB" --port 0 --port-file "$TMP/port" >/dev/null 2>&1 &
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port" 2>/dev/null)
if [ -z "$PORT" ]; then fail "serve --port 0 writes its port"; else
    expect_status "a second serve on a port in use is an error (3)" 3 timeout 20 $PS serve --db "$DB" --port "$PORT"
    check "... that says the port is in use and how to pick another" sh -c "grep -q 'port is in use' '$TMP/err' && grep -q -- '--port' '$TMP/err'"
    if grep -q "Bad file descriptor" "$TMP/err"; then fail "... and no stray errno" "$(cat "$TMP/err")"; else pass "... and no stray errno"; fi
fi
# a photo deleted after indexing: its thumbnail is a 404 that says so, as its file is (not a 500)
mkdir -p "$TMP/gone"
cp "$FIX/images/photo_astronaut.jpg" "$TMP/gone/g.jpg"
$PS index "$TMP/gone" --db "$DB" >/dev/null 2>&1
GID=$($PS search astronaut --db "$DB" -k 100 --all --json | python3 -c "
import json, sys
print(next(r['id'] for r in map(json.loads, sys.stdin) if r['path'].endswith('/gone/g.jpg')))")
rm "$TMP/gone/g.jpg"
if [ -n "$PORT" ] && [ -n "$GID" ]; then
    code=$(curl -s -o "$TMP/thumb" -w '%{http_code}' "http://127.0.0.1:$PORT/api/media/$GID/thumb")
    if [ "$code" = 404 ] && grep -q "gone from disk" "$TMP/thumb"; then pass "the thumbnail of a deleted photo is a 404 saying it is gone"
    else fail "the thumbnail of a deleted photo is a 404 saying it is gone" "HTTP $code: $(head -c 200 "$TMP/thumb")"; fi
else fail "the thumbnail of a deleted photo is a 404 saying it is gone" "no server ($PORT) or no id ($GID)"; fi
expect_status "serve on an address this machine lacks is an error (3)" 3 timeout 20 $PS serve --db "$DB" --port 0 --bind 192.0.2.1 --token abcdefgh1234
check "... that says the machine has no such address" grep -q "no address 192.0.2.1" "$TMP/err"

# index of a new library without a model: refused before the library file is made
expect_status "index of a new library without a model is fatal (3)" 3 $PS index "$TMP/pics" --db "$TMP/new/lib.db"
check "... and leaves no library file behind" test ! -e "$TMP/new/lib.db"
expect_status "... so that search then says there is no library yet" 3 $PS search cat --db "$TMP/new/lib.db"
check "... (not that it is empty)" grep -q "no library here yet" "$TMP/err"

# the missing places data is said when photos were indexed without place names, not on every run
export PHOTOSEEK_PLACES=$TMP/no-places
cp "$FIX/images/photo_rocket.jpg" "$TMP/pics/"
$PS index "$TMP/pics" --db "$DB" >/dev/null 2>"$TMP/err"
check "a run that indexes photos without the places data says so" grep -q "photos are indexed without place names" "$TMP/err"
$PS index "$TMP/pics" --db "$DB" >/dev/null 2>"$TMP/err"
if grep -q "places" "$TMP/err"; then fail "an unchanged re-run says nothing of places" "$(cat "$TMP/err")"
else pass "an unchanged re-run says nothing of places"; fi
$PS index "$TMP/pics" --db "$TMP/other.db" --image-model "$M/tiny-mclip" >/dev/null 2>"$TMP/err"
check "a run that fails on its model says only that" sh -c "grep -q 'not an image model' '$TMP/err' && test \$(wc -l <'$TMP/err') = 1"

# import takeout indexes with the library's own model, as index does
mkdir -p "$TMP/takeout/Photos from 2019"
/usr/bin/convert -size 64x48 xc:teal "$TMP/takeout/Photos from 2019/t.jpg"
echo '{"title": "t.jpg", "photoTakenTime": {"timestamp": "1560000000"}}' >"$TMP/takeout/Photos from 2019/t.jpg.json"
expect_status "import takeout into a library indexes with its model (no --image-model, none in the models folder)" 0 \
    $PS import takeout "$TMP/takeout" --into "$TMP/imported" --db "$DB"
check "... and the photo is searchable there" sh -c "$PS search teal --db '$DB' -k 100 --json | grep -q '/imported/'"
expect_status "import takeout of a path that does not exist is a usage error (2)" 2 $PS import takeout "$TMP/none" --into "$TMP/imported" --db "$DB"
check "... that names it" grep -q "$TMP/none: No such file" "$TMP/err"
expect_status "import takeout into a new library without a model is fatal (3)" 3 $PS import takeout "$TMP/takeout" --into "$TMP/imp2" --db "$TMP/imp2.db"
check "... saying how to get one, and leaves no library file" sh -c "grep -q 'model fetch clip-vit-b-32' '$TMP/err' && test ! -e '$TMP/imp2.db'"

# --db given a folder
expect_status "status --db FOLDER is an error (3)" 3 $PS status --db "$TMP"
check "... that says it is a folder and what --db takes" grep -q "a folder, not a library file" "$TMP/err"

# status and model fetch say what was wrong
expect_status "status --bogus is a usage error" 2 $PS status --db "$DB" --bogus
check "... that names the option" grep -q "unknown option '--bogus'" "$TMP/err"
expect_status "status with a stray word is a usage error" 2 $PS status --db "$DB" extra
check "... that names the word" grep -q "unexpected argument 'extra'" "$TMP/err"
expect_status "model fetch --help is help (0)" 0 $PS model fetch --help
check "... on stdout" grep -q "model fetch clip-vit-b-32" "$TMP/out"
expect_status "model fetch of an unknown name is a usage error" 2 $PS model fetch gpt-17
check "... that names the face and places fetches too" sh -c "grep -q 'model fetch faces' '$TMP/err' && grep -q 'model fetch places' '$TMP/err'"
HF_ENDPOINT=http://127.0.0.1:9 $PS model fetch clip-vit-b-32 >/dev/null 2>"$TMP/err"
check "an offline fetch says where to copy the model folder by hand" grep -q "by hand to $PHOTOSEEK_MODELS/clip-vit-b-32" "$TMP/err"

# a second interrupt stops at once and says so
# (48-megapixel photos: a decode takes longer than the gap between the two signals, so the first one cannot let the
# run finish its photo in flight and end before the second arrives)
mkdir -p "$TMP/many"
convert "$FIX/images/large_3000x2000.jpg" -resize 8000x6000! -quality 90 "$TMP/big.jpg"
for i in $(seq 40); do { cat "$TMP/big.jpg"; printf '%05d' "$i"; } >"$TMP/many/p$i.jpg"; done
$PS index "$TMP/many" --db "$TMP/many.db" --image-model "$M/tiny-clip" --jobs 1 --threads 1 >/dev/null 2>"$TMP/err" &
pid=$!
sleep 1; kill -INT $pid; sleep 0.01; kill -INT $pid
wait $pid
st=$?
if [ "$st" = 130 ] && grep -q "stopped at once (a second interrupt)" "$TMP/err"; then pass "a second interrupt stops index at once (130) and says so"
else fail "a second interrupt stops index at once (130) and says so" "exit $st" "$(cat "$TMP/err")"; fi

# the command list: each command once
$PS --help >"$TMP/help"
check "photoseek --help lists each command once" sh -c "test -z \"\$(sed -n 's/^  \([a-z]*\) .*/\1/p' '$TMP/help' | sort | uniq -d)\""

done_testing
