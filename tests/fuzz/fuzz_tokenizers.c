/* libFuzzer target: the CLIP byte-level BPE and the BERT WordPiece tokenizers on any bytes (the text of a search
 * comes from whoever can reach the server). The tiny fixtures' vocabularies are loaded once, from
 * $PHOTOSEEK_FIXTURES or ../shared/fixtures; without them the target stops at once (a replay must not pass
 * having tested nothing). Every id must lie inside the vocabulary and the ids must start and end with the
 * begin/end tokens. */
#include "../../src/model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static psk_bpe bpe;
static psk_wordpiece wordpiece;
static int32_t bpe_size, wordpiece_size;

/* One past the largest id the tokenizer can give: its vocabulary's and the special tokens'. */
static int32_t vocab_end(const psk_strmap *m, int32_t special) {
    int32_t end = special + 1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] && m->vals[i] >= end) end = m->vals[i] + 1;
    return end;
}

static void load_once(void) {
    static int loaded;
    if (loaded) return;
    const char *fix = getenv("PHOTOSEEK_FIXTURES");
    if (!fix) fix = "../shared/fixtures";
    char dir[1024];
    psk_error err = {0};
    snprintf(dir, sizeof dir, "%s/models/tiny-clip", fix);
    if (psk_bpe_load(&bpe, dir, &err)) {
        fprintf(stderr, "fuzz_tokenizers: cannot load the BPE vocabulary in %s: %s\n", dir, err.message);
        exit(2);
    }
    snprintf(dir, sizeof dir, "%s/models/tiny-mclip", fix);
    if (psk_wordpiece_load(&wordpiece, dir, &err)) {
        fprintf(stderr, "fuzz_tokenizers: cannot load the WordPiece vocabulary in %s: %s\n", dir, err.message);
        exit(2);
    }
    bpe_size = vocab_end(&bpe.vocab, bpe.bos > bpe.eos ? bpe.bos : bpe.eos);
    int32_t top = wordpiece.cls > wordpiece.sep ? wordpiece.cls : wordpiece.sep;
    wordpiece_size = vocab_end(&wordpiece.vocab, top > wordpiece.unk ? top : wordpiece.unk);
    for (int i = 0; i < wordpiece.n_special; i++)
        if (wordpiece.special_id[i] >= wordpiece_size) wordpiece_size = wordpiece.special_id[i] + 1;
    loaded = 1;
}

static void check_ids(const char *what, const int32_t *ids, int n, int32_t first, int32_t last, int32_t vocab) {
    if (n < 2 || ids[0] != first || ids[n - 1] != last) {
        fprintf(stderr, "%s: %d ids, not framed by %d ... %d\n", what, n, first, last);
        abort();
    }
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab) {
            fprintf(stderr, "%s: id %d at %d is outside the vocabulary of %d\n", what, ids[i], i, vocab);
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_once();
    if (size > 1 << 16) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0; /* the tokenizers take C strings: the text stops at the first NUL byte */
    int32_t *ids = NULL;
    int n = 0;
    psk_error err = {0};
    if (psk_bpe_encode(&bpe, text, &ids, &n, &err) == PSK_OK) check_ids("bpe", ids, n, bpe.bos, bpe.eos, bpe_size);
    psk_free(ids);
    ids = NULL;
    if (psk_wordpiece_encode(&wordpiece, text, &ids, &n, &err) == PSK_OK)
        check_ids("wordpiece", ids, n, wordpiece.cls, wordpiece.sep, wordpiece_size);
    psk_free(ids);
    free(text);
    return 0;
}
