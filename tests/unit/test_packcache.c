/* The packed-weight cache (src/model/packcache.c): a second load maps the packed matrices and encodes exactly as a
 * plain load; a changed model file misses (and the cache is rewritten); a damaged or truncated cache file is
 * ignored. */
#include "test.h"

#include "../../src/model/model.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

/* Loads dir (both towers), encodes a phrase into v (and, for CLIP, an image into img); whether the matrices came
 * from the cache in *hit. */
static psk_precision precision = PSK_PRECISION_FP32;

static int encode(const char *dir, float *v, float *img, bool *hit) {
    psk_model *m = NULL;
    psk_context *ctx = NULL;
    psk_error err = {0};
    psk_model_params p = psk_model_default_params();
    p.precision = precision;
    int rc = psk_model_load(dir, &p, &m, &err);
    if (!rc) rc = psk_context_new(m, NULL, &ctx, &err);
    const char *text = "a photo of a cake";
    if (!rc) rc = psk_encode_texts(ctx, &text, 1, v, &err);
    if (!rc && img && psk_model_has_vision(m)) {
        int s = psk_model_image_size(m);
        float *px = malloc(sizeof(float) * 3 * (size_t)s * (size_t)s);
        for (int i = 0; i < 3 * s * s; i++) px[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
        rc = psk_encode_pixels(ctx, px, 1, img, &err);
        free(px);
    }
    *hit = m && m->packed_map.data != NULL;
    if (rc) fprintf(stderr, "%s\n", err.message);
    psk_context_free(ctx);
    psk_model_free(m);
    return rc;
}

static const char *cache_file(const char *cache) {
    static char path[1200];
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "ls %s/*.pack 2>/dev/null | head -1", cache);
    FILE *p = popen(cmd, "r");
    path[0] = 0;
    if (p) {
        if (fgets(path, sizeof path, p)) path[strcspn(path, "\n")] = 0;
        pclose(p);
    }
    return path;
}

static void check_model(const char *fixture, const char *name, bool vision, psk_precision prec) {
    char dir[800], cache[800], cmd[2000];
    precision = prec;
    const char *tag = prec == PSK_PRECISION_INT8 ? "int8" : "fp32";
    snprintf(dir, sizeof dir, "%s/%s-%s", test_tmpdir(), name, tag);
    snprintf(cache, sizeof cache, "%s/pack-%s-%s", test_tmpdir(), name, tag);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && chmod -R u+w '%s'", fixture_path(fixture), dir, dir);
    if (system(cmd) != 0) SKIP("cannot copy %s", fixture);
    setenv("PHOTOSEEK_PACK_CACHE", cache, 1);
    setenv("PHOTOSEEK_PACK_CACHE_MIN", "0", 1);
    float ref[1024] = {0}, got[1024] = {0}, iref[1024] = {0}, igot[1024] = {0};
    bool hit = true;
    /* the first load packs and writes the cache, the second maps it: the same vectors, bit for bit */
    CHECK(encode(dir, ref, vision ? iref : NULL, &hit) == 0 && !hit);
    const char *file = cache_file(cache);
    CHECKF(file[0], "no cache file in %s", cache);
    CHECK(encode(dir, got, vision ? igot : NULL, &hit) == 0 && hit);
    CHECK(memcmp(ref, got, sizeof(float) * 64) == 0);
    if (vision) CHECK(memcmp(iref, igot, sizeof(float) * 64) == 0);
    /* the model file changes (its time here): a miss, then a hit on the rewritten cache */
    char st_path[900];
    snprintf(st_path, sizeof st_path, "%s/model.safetensors", dir);
    struct utimbuf t = {1000000000, 1000000000};
    CHECK(utime(st_path, &t) == 0);
    CHECK(encode(dir, got, NULL, &hit) == 0 && !hit && memcmp(ref, got, sizeof(float) * 64) == 0);
    CHECK(encode(dir, got, NULL, &hit) == 0 && hit && memcmp(ref, got, sizeof(float) * 64) == 0);
    /* a damaged header, a truncated file: ignored, the model loads plainly (and the cache is written again) */
    file = cache_file(cache);
    FILE *f = fopen(file, "r+b");
    CHECK(f != NULL);
    fseek(f, 40, SEEK_SET);
    fputc('#', f);
    fclose(f);
    CHECK(encode(dir, got, NULL, &hit) == 0 && !hit && memcmp(ref, got, sizeof(float) * 64) == 0);
    CHECK(encode(dir, got, NULL, &hit) == 0 && hit);
    struct stat sb;
    CHECK(stat(file, &sb) == 0 && truncate(file, sb.st_size - 4) == 0);
    CHECK(encode(dir, got, NULL, &hit) == 0 && !hit && memcmp(ref, got, sizeof(float) * 64) == 0);
    CHECK(encode(dir, got, NULL, &hit) == 0 && hit);
    if (prec == PSK_PRECISION_INT8) {
        /* a sound header over an int8 record of another shape: the model loads plainly, and the file is written
         * again (not mapped and refused at every later load) */
        uint64_t floats[2];
        f = fopen(file, "r+b");
        CHECK(f != NULL);
        int32_t bad_n = 12345;
        bool wrote = fseek(f, 8, SEEK_SET) == 0 && fread(floats, 8, 2, f) == 2 &&
                     fseek(f, (long)(4096 + 4 * (floats[0] + floats[1])), SEEK_SET) == 0 &&
                     fwrite(&bad_n, sizeof bad_n, 1, f) == 1;
        fclose(f);
        CHECK(wrote);
        CHECK(encode(dir, got, NULL, &hit) == 0 && !hit && memcmp(ref, got, sizeof(float) * 64) == 0);
        CHECK(encode(dir, got, NULL, &hit) == 0 && hit && memcmp(ref, got, sizeof(float) * 64) == 0);
    }
    /* no cache folder: plain loads */
    setenv("PHOTOSEEK_PACK_CACHE", "", 1);
    CHECK(encode(dir, got, NULL, &hit) == 0 && !hit && memcmp(ref, got, sizeof(float) * 64) == 0);
    unsetenv("PHOTOSEEK_PACK_CACHE");
    unsetenv("PHOTOSEEK_PACK_CACHE_MIN");
}

TEST(packcache_clip_hit_miss_and_damage) { check_model("models/tiny-clip", "clip", true, PSK_PRECISION_FP32); }

TEST(packcache_mclip_hit_miss_and_damage) { check_model("models/tiny-mclip", "mclip", false, PSK_PRECISION_FP32); }

/* int8: the file holds the quantised matrices, and a hit encodes bit for bit as quantising at load does */
TEST(packcache_int8_clip_hit_miss_and_damage) { check_model("models/tiny-clip", "clip", true, PSK_PRECISION_INT8); }

TEST(packcache_int8_mclip_hit_miss_and_damage) {
    check_model("models/tiny-mclip", "mclip", false, PSK_PRECISION_INT8);
}

/* Writes `text` into folder/name. */
static bool put_file(const char *folder, const char *name, const char *text) {
    char path[1000];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(text, 1, strlen(text), f) == strlen(text);
    return f && fclose(f) == 0 && ok;
}

/* A cache never pruned grows by a file per model folder ever loaded: writing one removes those whose folder is gone
 * and those of another format, and leaves everything else alone. */
TEST(packcache_prunes_files_of_deleted_folders) {
    char a[800], b[800], cache[800], cmd[6000], path[1000];
    snprintf(a, sizeof a, "%s/prune-a", test_tmpdir());
    snprintf(b, sizeof b, "%s/prune-b", test_tmpdir());
    snprintf(cache, sizeof cache, "%s/pack-prune", test_tmpdir());
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && cp -r '%s' '%s' && chmod -R u+w '%s' '%s'",
             fixture_path("models/tiny-clip"), a, fixture_path("models/tiny-clip"), b, a, b);
    if (system(cmd) != 0) SKIP("cannot copy models/tiny-clip");
    setenv("PHOTOSEEK_PACK_CACHE", cache, 1);
    setenv("PHOTOSEEK_PACK_CACHE_MIN", "0", 1);
    precision = PSK_PRECISION_FP32;
    float v[1024];
    bool hit;
    CHECK(encode(a, v, NULL, &hit) == 0 && !hit);
    char first[1000];
    snprintf(first, sizeof first, "%s", cache_file(cache));
    CHECK(first[0]);
    /* an old-format file and a file that is not the cache's */
    CHECK(put_file(cache, "0000000000000000-avx2-fp32-vt.pack", "PSKPACK1"));
    CHECK(put_file(cache, "notes.txt", ""));
    /* files that are not ours though they end in .pack / .tok (the cache folder may be any folder), a link with our
     * name to a file that is not the cache's, a writer's temporary file left an hour ago and one being written */
    const char *kept[] = {"photos.pack", "words.tok", "link-target.bin", "0000000000000001-avx2-fp32-vt.pack",
                          "0000000000000002-avx2-fp32-vt.pack.77.0.tmp"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", cache, kept[i]);
        if (i == 3) {
            char target[1000];
            snprintf(target, sizeof target, "%s/%s", cache, kept[2]);
            CHECK(symlink(target, path) == 0);
            continue;
        }
        CHECK(put_file(cache, kept[i], "not a cache file"));
    }
    CHECK(put_file(cache, "0000000000000003-avx2-fp32-vt.pack.77.1.tmp", ""));
    snprintf(path, sizeof path, "%s/0000000000000003-avx2-fp32-vt.pack.77.1.tmp", cache);
    struct utimbuf old = {time(NULL) - 7200, time(NULL) - 7200};
    CHECK(utime(path, &old) == 0);
    /* the first folder goes; loading the second writes its file and prunes */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", a);
    CHECK(system(cmd) == 0);
    CHECK(encode(b, v, NULL, &hit) == 0 && !hit);
    CHECK(access(first, F_OK) != 0);
    snprintf(path, sizeof path, "%s/0000000000000000-avx2-fp32-vt.pack", cache);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/notes.txt", cache);
    CHECK(access(path, F_OK) == 0);
    for (int i = 0; i < 5; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", cache, kept[i]);
        CHECKF(lstat(path, &st) == 0, "%s was pruned", kept[i]);
    }
    snprintf(path, sizeof path, "%s/0000000000000003-avx2-fp32-vt.pack.77.1.tmp", cache);
    CHECK(access(path, F_OK) != 0);
    CHECK(encode(b, v, NULL, &hit) == 0 && hit); /* the live folder's file stays */
    unsetenv("PHOTOSEEK_PACK_CACHE");
    unsetenv("PHOTOSEEK_PACK_CACHE_MIN");
}
