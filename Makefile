# photoseek build. `make` builds build/photoseek; `make test` runs every check; `make bench` the benchmarks.
# WERROR=1 turns warnings into errors (CI). SAN=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer.

CC       ?= cc
BUILD    ?= build
PKGS     := libpng libwebp libwebpdemux libheif libexif libtiff-4 libcjson libutf8proc libcurl sqlite3 libcrypto libmicrohttpd libavformat libavcodec libavutil libswscale libarchive libpq libxxhash
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN     += -Werror
endif
OPT      ?= -O2
CFLAGS   += -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -Iinclude -pthread $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -ljpeg -lgif -lm -pthread
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard src/common/*.c src/kernels/*.c src/model/*.c src/image/*.c src/store/*.c src/library/*.c \
              src/index/*.c src/ingest/*.c src/search/*.c src/video/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c src/server/*.c))
WEB      := $(sort $(wildcard web/*))
TEST_SRC := $(sort $(wildcard tests/unit/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/web_assets.o
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
FUZZ_NAMES := safetensors image

all: $(BUILD)/photoseek

# Only the AVX2 kernels are compiled for AVX2+FMA, and only the AVX-512 ones for AVX-512; the CPU is checked at run
# time before they are used.
$(BUILD)/src/kernels/avx2.o: CFLAGS += -mavx2 -mfma -O3
$(BUILD)/src/kernels/avx512.o: CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mfma -mavx2 -O3
$(BUILD)/src/kernels/gemm.o: CFLAGS += -O3
$(BUILD)/src/index/vindex.o: CFLAGS += -O3

$(BUILD)/%.o: %.c $(wildcard include/*.h src/*/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The web page is compiled into the binary.
$(BUILD)/gen/web_assets.c: $(WEB) scripts/embed_assets.sh
	@mkdir -p $(dir $@)
	bash scripts/embed_assets.sh $@ $(WEB)

$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c src/server/assets.h
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libphotoseek.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/photoseek: $(CLI_OBJ) $(BUILD)/libphotoseek.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(TEST_OBJ) $(BUILD)/libphotoseek.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets: the libFuzzer entry point plus a main() that replays the committed corpus (tests/fuzz/).
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(BUILD)/libphotoseek.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

fuzz-libfuzzer: $(LIB_SRC)
	@mkdir -p $(BUILD)/libfuzzer
	for f in $(FUZZ_NAMES); do clang -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude $(shell pkg-config --cflags $(PKGS)) \
	  -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_$$f.c $(filter-out src/kernels/avx2.c,$(LIB_SRC)) \
	  -mavx2 -mfma src/kernels/avx2.c -o $(BUILD)/libfuzzer/fuzz_$$f $(LDLIBS) || exit 1; done

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

test: all $(BUILD)/unit_tests $(BUILD)/make_library $(FUZZ_NAMES:%=$(BUILD)/fuzz_%)
	bash tests/run_all.sh

bench: $(BUILD)/bench_clip $(BUILD)/bench_search $(BUILD)/bench_ann
	$(BUILD)/bench_clip
	$(BUILD)/bench_search
	$(BUILD)/bench_ann

bench-video: $(BUILD)/bench_video $(BUILD)/bench_clip
	@[ -s $(BUILD)/bench-1080p.mp4 ] || ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=20" \
	  -pix_fmt yuv420p -c:v libx264 -preset veryfast $(BUILD)/bench-1080p.mp4
	$(BUILD)/bench_video $(BUILD)/bench-1080p.mp4

bench-index: $(BUILD)/bench_index $(BUILD)/bench_clip
	@[ -s $(BUILD)/bench-12mp.jpg ] || /usr/bin/convert -size 4000x3000 plasma:fractal -attenuate 0.3 +noise Gaussian \
	  -quality 92 $(BUILD)/bench-12mp.jpg
	$(BUILD)/bench_index $(BUILD)/bench-12mp.jpg $${N:-200}

# The HNSW graph beside hnswlib on the same vectors (N=100000 by default; N=1000000 needs about 4 GB and minutes).
bench-ann: $(BUILD)/bench_ann $(BUILD)/hnswlib_ref
	mkdir -p $(BUILD)/ann-dump
	$(BUILD)/bench_ann $${N:-100000} $(BUILD)/ann-dump
	$(BUILD)/hnswlib_ref $(BUILD)/ann-dump $${N:-100000} 100
	rm -rf $(BUILD)/ann-dump

# Everything the speed goals are measured by, in one run, ending in one RESULT line (bench/bench_speed.sh).
bench-speed: $(BUILD)/bench_clip $(BUILD)/bench_index $(BUILD)/bench_ann $(BUILD)/hnswlib_ref
	@[ -s $(BUILD)/bench-12mp.jpg ] || /usr/bin/convert -size 4000x3000 plasma:fractal -attenuate 0.3 +noise Gaussian \
	  -quality 92 $(BUILD)/bench-12mp.jpg
	BUILD=$(BUILD) bash bench/bench_speed.sh

$(BUILD)/hnswlib_ref: bench/hnswlib_ref.cpp
	$(CXX) -O3 -march=native -std=c++17 -pthread -o $@ $<

bench-pg: all $(BUILD)/make_library
	bash bench/bench_pg.sh

bench-server: all $(BUILD)/make_library
	bash bench/load_server.sh

$(BUILD)/make_library: bench/make_library.c $(BUILD)/libphotoseek.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench_%: bench/bench_%.c $(BUILD)/libphotoseek.a
	$(CC) $(CFLAGS) -O3 -o $@ $^ $(LDLIBS) -lopenblas

clean:
	rm -rf build build-san tests/out

.PHONY: all test unit bench bench-speed bench-ann bench-pg bench-server bench-video bench-index clean fuzz-libfuzzer
.SECONDARY:
