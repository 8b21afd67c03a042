/* The CLIP byte-level BPE tokenizer, as Hugging Face's tokenizer.json for CLIP defines it:
 *   special tokens <|startoftext|> / <|endoftext|> split out of the raw text first;
 *   normalizer: NFC, every run of white space -> one space, lower case;
 *   pre-tokenizer: the matches of 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ (white space dropped),
 *   each mapped to byte-level symbols (GPT-2's bytes_to_unicode);
 *   BPE with the merges in rank order, "</w>" appended to a word's last symbol;
 *   bos + ids + eos. */
#include "model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static size_t put_utf8(char *out, int32_t cp) {
    return (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out);
}

static void init_byte_syms(psk_bpe *t) {
    /* GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256, 257, ... in byte order. */
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        int32_t cp = printable ? b : 256 + n++;
        size_t len = put_utf8(t->byte_sym[b], cp);
        t->byte_sym[b][len] = 0;
    }
}

void psk_bpe_free(psk_bpe *t) {
    psk_strmap_free(&t->vocab);
    psk_u64map_free(&t->merges);
    if (t->tok_slots) psk_mmap_close(&t->map);
    t->tok_slots = t->pair_slots = NULL;
}

/* The two tables, in memory or mapped from the cache. */
static bool vocab_get(const psk_bpe *t, const char *s, size_t len, int32_t *id) {
    return t->tok_slots ? tokcache_vocab_get(t, s, len, id) : psk_strmap_get(&t->vocab, s, len, id);
}

static bool merge_get(const psk_bpe *t, uint64_t key, int64_t *val) {
    return t->tok_slots ? tokcache_merge_get(t, key, val) : psk_u64map_get(&t->merges, key, val);
}

static int add_merge(psk_bpe *t, const char *a, size_t la, const char *b, size_t lb, int64_t rank, const char *file,
                     psk_error *err) {
    int32_t ia, ib, im;
    char joined[512];
    if (la + lb >= sizeof joined) return psk_fail(err, PSK_ERR_FORMAT, "%s: merge %lld too long", file, (long long)rank);
    memcpy(joined, a, la);
    memcpy(joined + la, b, lb);
    joined[la + lb] = 0;
    if (!psk_strmap_get(&t->vocab, a, la, &ia) || !psk_strmap_get(&t->vocab, b, lb, &ib) ||
        !psk_strmap_get(&t->vocab, joined, la + lb, &im))
        return psk_fail(err, PSK_ERR_FORMAT, "%s: merge %lld ('%.40s' + '%.40s') uses a token not in the vocabulary",
                        file, (long long)rank, a, b);
    uint64_t key = ((uint64_t)(uint32_t)ia << 32 | (uint32_t)ib) + 1;
    int64_t old;
    if (psk_u64map_get(&t->merges, key, &old)) return PSK_OK; /* the first (lowest) rank wins */
    if (psk_u64map_put(&t->merges, key, rank << 32 | (uint32_t)im)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    return PSK_OK;
}

static int load_vocab_obj(psk_bpe *t, const cJSON *vocab, const char *file, psk_error *err) {
    if (!cJSON_IsObject(vocab)) return psk_fail(err, PSK_ERR_FORMAT, "%s: vocabulary is not a JSON object", file);
    for (const cJSON *it = vocab->child; it; it = it->next) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1e8)
            return psk_fail(err, PSK_ERR_FORMAT, "%s: bad id for token '%.40s'", file, it->string);
        if (psk_strmap_put(&t->vocab, it->string, strlen(it->string), (int32_t)it->valuedouble))
            return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    return PSK_OK;
}

static int load_from_files(psk_bpe *t, const char *vocab_path, const char *merges_path, psk_error *err) {
    cJSON *v;
    int rc = psk_json_load(vocab_path, 64u << 20, &v, err);
    if (rc) return rc;
    rc = load_vocab_obj(t, v, vocab_path, err);
    cJSON_Delete(v);
    if (rc) return rc;
    char *data;
    size_t size;
    if ((rc = psk_read_file(merges_path, 64u << 20, &data, &size, err))) return rc;
    int64_t rank = 0;
    char *line = data;
    while (!rc && line < data + size) {
        char *nl = memchr(line, '\n', (size_t)(data + size - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(data + size - line);
        if (len && line[len - 1] == '\r') len--;
        if (len && !(rank == 0 && len >= 8 && memcmp(line, "#version", 8) == 0)) {
            char *sp = memchr(line, ' ', len);
            if (!sp) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: merge line %lld has no space", merges_path, (long long)rank + 1);
            else rc = add_merge(t, line, (size_t)(sp - line), sp + 1, len - (size_t)(sp - line) - 1, rank++, merges_path, err);
        }
        line = nl ? nl + 1 : data + size;
    }
    psk_free(data);
    return rc;
}

static int load_from_tokenizer_json(psk_bpe *t, const char *path, psk_error *err) {
    cJSON *j;
    int rc = psk_json_load(path, 256u << 20, &j, err);
    if (rc) return rc;
    const char *type = psk_json_string(j, "model.type", "");
    if (strcmp(type, "BPE") != 0) rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: tokenizer model '%s' is not BPE", path, type);
    if (!rc) rc = load_vocab_obj(t, psk_json_get(j, "model.vocab"), path, err);
    const cJSON *merges = psk_json_get(j, "model.merges");
    if (!rc && !cJSON_IsArray(merges)) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: model.merges is not an array", path);
    int64_t rank = 0;
    const cJSON *it;
    if (!rc) cJSON_ArrayForEach(it, merges) {
        if (cJSON_IsString(it)) {
            const char *s = it->valuestring, *sp = strchr(s, ' ');
            if (!sp) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: merge %lld has no space", path, (long long)rank);
            else rc = add_merge(t, s, (size_t)(sp - s), sp + 1, strlen(sp + 1), rank, path, err);
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 && cJSON_IsString(it->child) &&
                   cJSON_IsString(it->child->next)) {
            const char *a = it->child->valuestring, *b = it->child->next->valuestring;
            rc = add_merge(t, a, strlen(a), b, strlen(b), rank, path, err);
        } else {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: merge %lld is neither \"a b\" nor [a, b]", path, (long long)rank);
        }
        if (rc) break;
        rank++;
    }
    cJSON_Delete(j);
    return rc;
}

int psk_bpe_load(psk_bpe *t, const char *dir, psk_error *err) {
    memset(t, 0, sizeof *t);
    init_byte_syms(t);
    if (tokcache_open(t, dir)) return PSK_OK;
    char vocab[1200], merges[1200], tok[1200];
    psk_path_join(vocab, sizeof vocab, dir, "vocab.json");
    psk_path_join(merges, sizeof merges, dir, "merges.txt");
    psk_path_join(tok, sizeof tok, dir, "tokenizer.json");
    int rc;
    if (psk_file_exists(vocab) && psk_file_exists(merges)) rc = load_from_files(t, vocab, merges, err);
    else if (psk_file_exists(tok)) rc = load_from_tokenizer_json(t, tok, err);
    else rc = psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no tokenizer (vocab.json + merges.txt or tokenizer.json)", dir);
    if (!rc && (!psk_strmap_get(&t->vocab, "<|startoftext|>", 15, &t->bos) ||
                !psk_strmap_get(&t->vocab, "<|endoftext|>", 13, &t->eos)))
        rc = psk_fail(err, PSK_ERR_FORMAT, "%s: vocabulary lacks <|startoftext|> or <|endoftext|>", dir);
    if (rc) psk_bpe_free(t);
    else tokcache_save(t, dir);
    return rc;
}

/* ---- encoding ---- */
typedef struct ids_vec {
    int32_t *v;
    int n, cap;
    bool oom;
} ids_vec;

static void push(ids_vec *o, int32_t id) {
    if (o->oom) return;
    if (o->n == o->cap) {
        int cap = o->cap ? o->cap * 2 : 32;
        int32_t *v = psk_realloc(o->v, sizeof(int32_t) * (size_t)cap);
        if (!v) {
            o->oom = true;
            return;
        }
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = id;
}

static bool is_space(int32_t c) {
    /* Unicode White_Space, what the regex \s matches */
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool is_letter(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO;
}

static bool is_number(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

/* BPE over one pre-tokenized piece (UTF-8 bytes). */
static int bpe_word(const psk_bpe *t, const uint8_t *s, size_t n, ids_vec *out) {
    int32_t stack_syms[64];
    int32_t *sym = n <= 64 ? stack_syms : psk_malloc(sizeof(int32_t) * n);
    if (!sym) return PSK_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char buf[16];
        size_t len = strlen(t->byte_sym[s[i]]);
        memcpy(buf, t->byte_sym[s[i]], len);
        if (i == n - 1) {
            memcpy(buf + len, "</w>", 4);
            len += 4;
        }
        int32_t id;
        sym[m++] = vocab_get(t, buf, len, &id) ? id : t->eos; /* unk is <|endoftext|> */
    }
    while (m > 1) {
        int64_t best_rank = INT64_MAX;
        size_t best = 0;
        int32_t merged = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            int64_t v;
            uint64_t key = ((uint64_t)(uint32_t)sym[i] << 32 | (uint32_t)sym[i + 1]) + 1;
            if (merge_get(t, key, &v) && (v >> 32) < best_rank) {
                best_rank = v >> 32;
                best = i;
                merged = (int32_t)(v & 0xffffffff);
            }
        }
        if (best_rank == INT64_MAX) break;
        /* Merge every occurrence of that pair, left to right, as the reference implementation does. */
        int32_t a = sym[best], b = sym[best + 1];
        size_t w = 0;
        for (size_t i = 0; i < m; i++) {
            if (i + 1 < m && sym[i] == a && sym[i + 1] == b) {
                sym[w++] = merged;
                i++;
            } else {
                sym[w++] = sym[i];
            }
        }
        m = w;
    }
    for (size_t i = 0; i < m; i++) push(out, sym[i]);
    if (sym != stack_syms) psk_free(sym);
    return out->oom ? PSK_ERR_NOMEM : PSK_OK;
}

/* Normalises one segment (no special tokens inside) and appends its BPE ids. */
static int encode_segment(const psk_bpe *t, const char *text, size_t len, ids_vec *out) {
    if (len == 0) return PSK_OK;
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0) return n == UTF8PROC_ERROR_NOMEM ? PSK_ERR_NOMEM : PSK_ERR_INVALID_ARG;
    size_t nfc_len = (size_t)n;
    /* Normalised code points: white space collapsed, lower-cased (one may become two). */
    int32_t *cp = psk_malloc(sizeof(int32_t) * (nfc_len + 1) * 2);
    if (!cp) {
        free(nfc);
        return PSK_ERR_NOMEM;
    }
    size_t ncp = 0;
    bool in_space = false;
    for (size_t i = 0; i < nfc_len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(nfc + i, (utf8proc_ssize_t)(nfc_len - i), &c);
        if (k <= 0) break;
        i += (size_t)k;
        if (is_space(c)) {
            if (!in_space) cp[ncp++] = ' ';
            in_space = true;
            continue;
        }
        in_space = false;
        if (c == 0x130) { /* 'İ' lower-cases to "i" + combining dot above */
            cp[ncp++] = 'i';
            cp[ncp++] = 0x307;
        } else {
            cp[ncp++] = utf8proc_tolower(c);
        }
    }
    free(nfc);
    uint8_t *piece = psk_malloc(ncp * 4 + 4);
    if (!piece) {
        psk_free(cp);
        return PSK_ERR_NOMEM;
    }
    int rc = PSK_OK;
    size_t i = 0;
    static const char *contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    while (i < ncp && rc == PSK_OK) {
        int32_t c = cp[i];
        if (is_space(c)) {
            i++;
            continue;
        }
        size_t j = i;
        if (c == '\'') {
            for (size_t q = 0; q < sizeof contractions / sizeof contractions[0]; q++) {
                const char *s = contractions[q] + 1;
                size_t l = strlen(s), a = 0;
                while (a < l && i + 1 + a < ncp && cp[i + 1 + a] == (int32_t)(unsigned char)s[a]) a++;
                if (a == l) {
                    j = i + 1 + l;
                    break;
                }
            }
        }
        if (j == i) {
            if (is_letter(c)) {
                while (j < ncp && is_letter(cp[j])) j++;
            } else if (is_number(c)) {
                j = i + 1;
            } else {
                while (j < ncp && !is_space(cp[j]) && !is_letter(cp[j]) && !is_number(cp[j])) j++;
            }
        }
        size_t plen = 0;
        for (size_t q = i; q < j; q++) plen += put_utf8((char *)piece + plen, cp[q]);
        rc = bpe_word(t, piece, plen, out);
        i = j;
    }
    psk_free(piece);
    psk_free(cp);
    return rc;
}

int psk_bpe_encode(const psk_bpe *t, const char *text, int32_t **ids, int *n, psk_error *err) {
    size_t len = strlen(text);
    if (!psk_utf8_valid(text, len)) return psk_fail(err, PSK_ERR_INVALID_ARG, "text is not valid UTF-8");
    ids_vec out = {0};
    push(&out, t->bos);
    int rc = PSK_OK;
    /* Special tokens are matched in the raw text before normalisation, as added tokens are. */
    const char *p = text, *end = text + len;
    while (p < end && rc == PSK_OK) {
        const char *a = strstr(p, "<|startoftext|>"), *b = strstr(p, "<|endoftext|>");
        const char *sp = a && (!b || a < b) ? a : b;
        const char *seg_end = sp ? sp : end;
        rc = encode_segment(t, p, (size_t)(seg_end - p), &out);
        if (!sp) break;
        push(&out, sp == a ? t->bos : t->eos);
        p = sp + (sp == a ? 15 : 13);
    }
    push(&out, t->eos);
    if (rc == PSK_OK && out.oom) rc = PSK_ERR_NOMEM;
    if (rc) {
        psk_free(out.v);
        return psk_fail(err, rc, rc == PSK_ERR_NOMEM ? "out of memory tokenizing" : "text is not valid UTF-8");
    }
    *ids = out.v;
    *n = out.n;
    return PSK_OK;
}
