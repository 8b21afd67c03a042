/* The BERT WordPiece tokenizer as Hugging Face's tokenizers runs it (BertNormalizer, BertPreTokenizer, WordPiece):
 *   clean text: drop NUL, U+FFFD and control characters (Unicode C*, except tab/CR/LF), white space -> ' ';
 *   put spaces around CJK ideographs; strip accents (NFD, drop Mn) and lower-case when the config says so;
 *   split on white space, and make every punctuation character (ASCII symbols and Unicode P*) its own word;
 *   greedy longest-match-first WordPiece with "##" continuations; [UNK] for a word longer than 100 characters
 *   or with no match; [CLS] ... [SEP]. */
#include "model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

void psk_wordpiece_free(psk_wordpiece *t) {
    psk_strmap_free(&t->vocab);
    for (int i = 0; i < t->n_special; i++) psk_free(t->special[i]);
    t->n_special = 0;
}

static void add_special(psk_wordpiece *t, const char *s, int32_t id) {
    for (int i = 0; i < t->n_special; i++)
        if (strcmp(t->special[i], s) == 0) return;
    if (t->n_special < 16 && *s && (t->special[t->n_special] = psk_strdup(s))) t->special_id[t->n_special++] = id;
}

static int load_vocab_txt(psk_wordpiece *t, const char *path, psk_error *err) {
    char *data;
    size_t size;
    int rc = psk_read_file(path, 64u << 20, &data, &size, err);
    if (rc) return rc;
    int32_t id = 0;
    for (char *line = data; line < data + size;) {
        char *nl = memchr(line, '\n', (size_t)(data + size - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(data + size - line);
        if (len && line[len - 1] == '\r') len--;
        int32_t old;
        /* The first occurrence of a duplicated token keeps its id, as in transformers' load_vocab. */
        if (!psk_strmap_get(&t->vocab, line, len, &old) && psk_strmap_put(&t->vocab, line, len, id)) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        id++;
        line = nl ? nl + 1 : data + size;
    }
    psk_free(data);
    return rc;
}

int psk_wordpiece_load(psk_wordpiece *t, const char *dir, psk_error *err) {
    memset(t, 0, sizeof *t);
    t->max_chars_per_word = 100;
    t->lowercase = true; /* BERT's default when no config says otherwise */
    char path[1200];
    int rc = PSK_OK;
    cJSON *tj = NULL, *tc = NULL;
    psk_path_join(path, sizeof path, dir, "tokenizer.json");
    if (psk_file_exists(path) && (rc = psk_json_load(path, 256u << 20, &tj, err))) return rc;
    char cfg_path[1200];
    psk_path_join(cfg_path, sizeof cfg_path, dir, "tokenizer_config.json");
    if (psk_file_exists(cfg_path) && (rc = psk_json_load(cfg_path, 1 << 20, &tc, err))) {
        cJSON_Delete(tj);
        return rc;
    }
    if (tc) t->lowercase = psk_json_bool(tc, "do_lower_case", t->lowercase);
    if (tj && psk_json_get(tj, "normalizer.lowercase")) t->lowercase = psk_json_bool(tj, "normalizer.lowercase", true);
    t->strip_accents = t->lowercase;
    const cJSON *sa = tj ? psk_json_get(tj, "normalizer.strip_accents") : NULL;
    if (cJSON_IsBool(sa)) t->strip_accents = cJSON_IsTrue(sa);
    if (tj) t->max_chars_per_word = (int)psk_json_number(tj, "model.max_input_chars_per_word", 100);
    char vocab_path[1200];
    psk_path_join(vocab_path, sizeof vocab_path, dir, "vocab.txt");
    if (psk_file_exists(vocab_path)) {
        rc = load_vocab_txt(t, vocab_path, err);
    } else if (tj) {
        const cJSON *v = psk_json_get(tj, "model.vocab");
        if (!cJSON_IsObject(v)) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: model.vocab is not an object", path);
        for (const cJSON *it = v ? v->child : NULL; !rc && it; it = it->next) {
            if (!cJSON_IsNumber(it)) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: bad vocabulary entry", path);
            else if (psk_strmap_put(&t->vocab, it->string, strlen(it->string), (int32_t)it->valuedouble))
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        }
    } else {
        rc = psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no vocab.txt or tokenizer.json", dir);
    }
    const cJSON *added = tj ? psk_json_get(tj, "added_tokens") : NULL, *it;
    cJSON_ArrayForEach(it, added) {
        const char *content = psk_json_string(it, "content", NULL);
        double id = psk_json_number(it, "id", -1);
        if (content && id >= 0 && psk_json_bool(it, "special", true)) add_special(t, content, (int32_t)id);
    }
    cJSON_Delete(tj);
    cJSON_Delete(tc);
    static const char *defaults[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (size_t i = 0; !rc && i < sizeof defaults / sizeof defaults[0]; i++) {
        int32_t id;
        if (psk_strmap_get(&t->vocab, defaults[i], strlen(defaults[i]), &id)) add_special(t, defaults[i], id);
    }
    if (!rc && (!psk_strmap_get(&t->vocab, "[CLS]", 5, &t->cls) || !psk_strmap_get(&t->vocab, "[SEP]", 5, &t->sep) ||
                !psk_strmap_get(&t->vocab, "[UNK]", 5, &t->unk)))
        rc = psk_fail(err, PSK_ERR_FORMAT, "%s: vocabulary lacks [CLS], [SEP] or [UNK]", dir);
    if (!rc && !psk_strmap_get(&t->vocab, "[PAD]", 5, &t->pad)) t->pad = 0;
    if (rc) psk_wordpiece_free(t);
    return rc;
}

static bool is_ws(int32_t c) {
    return c == '\t' || c == '\n' || c == '\r' || c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

static bool is_control(int32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CS ||
           k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CN;
}

static bool is_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static bool is_punct(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_PC || k == UTF8PROC_CATEGORY_PD || k == UTF8PROC_CATEGORY_PS ||
           k == UTF8PROC_CATEGORY_PE || k == UTF8PROC_CATEGORY_PI || k == UTF8PROC_CATEGORY_PF ||
           k == UTF8PROC_CATEGORY_PO;
}

typedef struct wp_out {
    int32_t *v;
    int n, cap;
    bool oom;
} wp_out;

static void emit(wp_out *o, int32_t id) {
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

/* WordPiece of one word given as code points. */
static void wordpiece_word(const psk_wordpiece *t, const int32_t *cp, size_t n, wp_out *o) {
    if (n == 0) return;
    if ((int)n > t->max_chars_per_word) {
        emit(o, t->unk);
        return;
    }
    /* UTF-8 of the word with the byte offset of every character. */
    char *u = psk_malloc(n * 4 + 3);
    size_t *off = psk_malloc(sizeof(size_t) * (n + 1));
    char *cand = psk_malloc(n * 4 + 3);
    if (!u || !off || !cand) {
        o->oom = true;
        psk_free(u);
        psk_free(off);
        psk_free(cand);
        return;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        off[i] = len;
        len += (size_t)utf8proc_encode_char(cp[i], (utf8proc_uint8_t *)u + len);
    }
    off[n] = len;
    int start_n = o->n;
    size_t start = 0;
    bool bad = false;
    while (start < n) {
        size_t end = n;
        int32_t found = -1;
        while (end > start) {
            size_t cl = 0;
            if (start > 0) {
                memcpy(cand, "##", 2);
                cl = 2;
            }
            memcpy(cand + cl, u + off[start], off[end] - off[start]);
            cl += off[end] - off[start];
            int32_t id;
            if (psk_strmap_get(&t->vocab, cand, cl, &id)) {
                found = id;
                break;
            }
            end--;
        }
        if (found < 0) {
            bad = true;
            break;
        }
        emit(o, found);
        start = end;
    }
    if (bad) {
        o->n = start_n;
        emit(o, t->unk);
    }
    psk_free(u);
    psk_free(off);
    psk_free(cand);
}

/* Normalises, pre-tokenizes and WordPieces one segment of text that holds no special token. */
static void encode_segment(const psk_wordpiece *t, const char *text, size_t len, wp_out *o) {
    /* Normalise into code points; CJK padding can triple the count. */
    int32_t *cp = psk_malloc(sizeof(int32_t) * (len * 3 + 1));
    if (!cp) {
        o->oom = true;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) break;
        i += (size_t)k;
        if (c == 0 || c == 0xFFFD || is_control(c)) continue;
        if (is_ws(c)) {
            cp[n++] = ' ';
        } else if (is_cjk(c)) {
            cp[n++] = ' ';
            cp[n++] = c;
            cp[n++] = ' ';
        } else {
            cp[n++] = c;
        }
    }
    if (t->strip_accents || t->lowercase) {
        /* NFD and drop non-spacing marks, then lower-case; decomposition can grow the text. */
        int32_t *out = psk_malloc(sizeof(int32_t) * (n * 4 + 1));
        if (!out) {
            psk_free(cp);
            o->oom = true;
            return;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t dec[8];
            utf8proc_ssize_t k = 1;
            dec[0] = cp[i];
            if (t->strip_accents) {
                int last = 0;
                k = utf8proc_decompose_char(cp[i], dec, 8, UTF8PROC_DECOMPOSE, &last);
                if (k < 0 || k > 8) {
                    k = 1;
                    dec[0] = cp[i];
                }
            }
            for (utf8proc_ssize_t j = 0; j < k; j++) {
                if (t->strip_accents && utf8proc_category(dec[j]) == UTF8PROC_CATEGORY_MN) continue;
                if (m >= n * 4) break;
                out[m++] = t->lowercase ? utf8proc_tolower(dec[j]) : dec[j];
            }
        }
        psk_free(cp);
        cp = out;
        n = m;
    }
    size_t i = 0;
    while (i < n) {
        if (cp[i] == ' ') {
            i++;
            continue;
        }
        if (is_punct(cp[i])) {
            wordpiece_word(t, &cp[i], 1, o);
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && cp[j] != ' ' && !is_punct(cp[j])) j++;
        wordpiece_word(t, &cp[i], j - i, o);
        i = j;
    }
    psk_free(cp);
}

int psk_wordpiece_encode(const psk_wordpiece *t, const char *text, int32_t **ids, int *n_out, psk_error *err) {
    size_t len = strlen(text);
    if (!psk_utf8_valid(text, len)) return psk_fail(err, PSK_ERR_INVALID_ARG, "text is not valid UTF-8");
    wp_out o = {0};
    emit(&o, t->cls);
    const char *p = text, *end = text + len;
    while (p < end) {
        /* The earliest special token in the rest of the text (the longest at that position). */
        const char *best = NULL;
        int best_i = -1;
        for (int s = 0; s < t->n_special; s++) {
            const char *f = strstr(p, t->special[s]);
            if (f && (!best || f < best || (f == best && strlen(t->special[s]) > strlen(t->special[best_i])))) {
                best = f;
                best_i = s;
            }
        }
        encode_segment(t, p, (size_t)((best ? best : end) - p), &o);
        if (!best) break;
        emit(&o, t->special_id[best_i]);
        p = best + strlen(t->special[best_i]);
    }
    emit(&o, t->sep);
    if (o.oom) {
        psk_free(o.v);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory tokenizing");
    }
    *ids = o.v;
    *n_out = o.n;
    return PSK_OK;
}
