/* tokens.c - cl100k_base token counts (spec/behavior.md §10.1): the PCRE2 pre-tokeniser splits
 * the text into pieces, and each piece is byte-pair merged over the embedded rank table. */
#include "service/tokens.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/ccache.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* The rank file embedded by tokens_data.S; scripts/fetch-tokenizer.sh documents its format. */
extern const unsigned char tokens_ranks_data[];
extern const uint64_t tokens_ranks_size;

#define RANKS_MAGIC "ENGRANK1"
#define RANKS_HEADER 12            /* magic + u32 record count */
#define RANK_NONE UINT32_MAX       /* "not in the vocabulary" */
#define RANKS_MAX (1u << 20)       /* sanity bound on the record count (cl100k_base: 100256) */
#define SHORT_PIECE 256            /* longer pieces merge with a heap, not a stack array */

/*
 * The §10.1 pattern. \s is spelled out as WS because the reference's regex engine (Rust, via
 * tiktoken) means Unicode White_Space by it, which is exactly [\t-\r\x{85}\p{Z}], while PCRE2's
 * \s under PCRE2_UCP also matches U+180E MONGOLIAN VOWEL SEPARATOR.
 */
#define WS "\\t-\\r\\x{85}\\p{Z}"
static const char PATTERN[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
    "|\\p{N}{1,3}"
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*"
    "|[" WS "]*[\\r\\n]+"
    "|[" WS "]+(?![^" WS "])"
    "|[" WS "]+";

/* Built once by tokens_setup() and read-only until tokens_shutdown(), so threads share it. */
static struct {
    struct hmap ranks;             /* token bytes (in the embedded data) → rank */
    pcre2_code *re;                /* the pre-tokeniser; NULL until set up */
    struct ccache *counts;         /* segment text → token count (tokens_count_cached) */
} tk;

#define COUNTS_CACHE_BYTES (8u << 20)   /* segment texts kept by tokens_count_cached */

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Rank of the byte string p[0..n), or RANK_NONE when it is not a token. */
static inline uint32_t rank_of(const unsigned char *p, size_t n)
{
    const struct hmap_entry *e;

    if (n > UINT8_MAX)
        return RANK_NONE;   /* the rank file stores lengths in one byte */
    e = hmap_get(&tk.ranks, p, n);
    return e ? (uint32_t)e->val.num : RANK_NONE;
}

/* Fill tk.ranks from the embedded rank file; -1 if the file is malformed. */
static int load_ranks(void)
{
    const unsigned char *d = tokens_ranks_data;
    size_t size = (size_t)tokens_ranks_size, pos = RANKS_HEADER, k, count;
    int b;

    if (size < RANKS_HEADER || memcmp(d, RANKS_MAGIC, 8) != 0)
        return -1;
    count = get_u32(d + 8);
    if (count > RANKS_MAX)
        return -1;
    hmap_init(NULL, &tk.ranks, count);
    for (k = 0; k < count; k++) {
        size_t len = pos < size ? d[pos] : 0;

        if (len == 0 || size - pos < 1 + len + 4)
            return -1;
        hmap_put(&tk.ranks, (const char *)d + pos + 1, len, NULL)->val.num =
            get_u32(d + pos + 1 + len);
        pos += 1 + len + 4;
    }
    if (pos != size)
        return -1;
    /* Byte-pair merging starts from single bytes, so each must be a token. */
    for (b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;

        if (rank_of(&c, 1) == RANK_NONE)
            return -1;
    }
    return 0;
}

static int compile_pattern(struct err *err)
{
    int code;
    PCRE2_SIZE where;

    tk.re = pcre2_compile((PCRE2_SPTR)PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                          &code, &where, NULL);
    if (!tk.re) {
        PCRE2_UCHAR msg[128];

        pcre2_get_error_message(code, msg, sizeof(msg));
        log_write(LOG_ERROR, "tokens: cannot compile the pre-tokeniser at %zu: %s",
                  (size_t)where, (const char *)msg);
        return err_set(err, ERR_INTERNAL, "tokenizer setup failed");
    }
    /* Without JIT pcre2_match() still works, in the slower interpreter. */
    code = pcre2_jit_compile(tk.re, PCRE2_JIT_COMPLETE);
    if (code != 0)
        log_write(LOG_WARN, "tokens: PCRE2 JIT unavailable (%d), using the interpreter", code);
    return 0;
}

int tokens_setup(struct err *err)
{
    if (tk.re)
        return 0;
    if (load_ranks() < 0) {
        tokens_shutdown();
        log_write(LOG_ERROR, "tokens: the embedded cl100k_base rank data is malformed");
        return err_set(err, ERR_INTERNAL, "tokenizer setup failed");
    }
    if (compile_pattern(err) < 0) {
        tokens_shutdown();
        return -1;
    }
    tk.counts = ccache_new(COUNTS_CACHE_BYTES);
    return 0;
}

void tokens_shutdown(void)
{
    pcre2_code_free(tk.re);
    hmap_release(&tk.ranks);
    ccache_free(tk.counts);
    memset(&tk, 0, sizeof(tk));
}

/*
 * Short pieces: tiktoken's own algorithm over a stack array. parts[i].start is where part i
 * begins; parts[i].rank is the rank of part i joined with part i + 1. Each round merges the
 * leftmost pair of lowest rank. Quadratic, but only up to SHORT_PIECE bytes.
 */
struct part {
    uint32_t start;                /* offset of the part in the piece */
    uint32_t rank;                 /* rank of this part joined with the next one */
};

/* Rank of parts[i] joined with parts[i + 1] and parts[i + 2], as if i and i + 1 were merged. */
static uint32_t joined_rank(const unsigned char *p, const struct part *parts, size_t nparts,
                            size_t i)
{
    if (i + 3 >= nparts)
        return RANK_NONE;
    return rank_of(p + parts[i].start, parts[i + 3].start - parts[i].start);
}

static size_t merge_short(const unsigned char *p, size_t len, size_t want, size_t *cut)
{
    struct part parts[SHORT_PIECE + 1];
    size_t nparts = len + 1, i, best;

    for (i = 0; i < len; i++) {
        parts[i].start = (uint32_t)i;
        parts[i].rank = i + 1 < len ? rank_of(p + i, 2) : RANK_NONE;
    }
    parts[len] = (struct part){ .start = (uint32_t)len, .rank = RANK_NONE };
    for (;;) {
        best = 0;
        for (i = 1; i + 1 < nparts; i++) {
            if (parts[i].rank < parts[best].rank)
                best = i;
        }
        if (parts[best].rank == RANK_NONE)
            break;
        if (best > 0)
            parts[best - 1].rank = joined_rank(p, parts, nparts, best - 1);
        parts[best].rank = joined_rank(p, parts, nparts, best);
        memmove(&parts[best + 1], &parts[best + 2], (nparts - best - 2) * sizeof(parts[0]));
        nparts--;
    }
    if (cut && want < nparts - 1)
        *cut = parts[want].start;
    return nparts - 1;
}

/*
 * Long pieces (a 100 KB word, say) would make the array algorithm quadratic, so they merge the
 * same pairs in the same order with a min-heap of (rank, position) and a linked list of parts.
 * A part is named by its start offset; next[i] is where the following part starts (len at the
 * end). rank[i] is the current rank of part i joined with its successor; a heap entry whose rank
 * no longer equals rank[i] is stale and skipped (a part only grows, and ranks are unique, so an
 * old entry can never look current again).
 */
struct heap_item {
    uint32_t rank;                 /* rank of the pair */
    size_t pos;                    /* start of the pair's left part */
};

struct heap {
    struct heap_item *items;       /* binary min-heap by (rank, pos) */
    size_t n;                      /* items in use */
};

static int item_less(struct heap_item a, struct heap_item b)
{
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(struct heap *h, uint32_t rank, size_t pos)
{
    size_t i = h->n++;

    h->items[i] = (struct heap_item){ .rank = rank, .pos = pos };
    while (i > 0 && item_less(h->items[i], h->items[(i - 1) / 2])) {
        struct heap_item t = h->items[i];

        h->items[i] = h->items[(i - 1) / 2];
        h->items[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static struct heap_item heap_pop(struct heap *h)
{
    struct heap_item top = h->items[0];
    size_t i = 0;

    h->items[0] = h->items[--h->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct heap_item t;

        if (l < h->n && item_less(h->items[l], h->items[m]))
            m = l;
        if (r < h->n && item_less(h->items[r], h->items[m]))
            m = r;
        if (m == i)
            break;
        t = h->items[i];
        h->items[i] = h->items[m];
        h->items[m] = t;
        i = m;
    }
    return top;
}

/* Rank of part i joined with its successor, pushed onto the heap when it is a token. */
static void update_pair(const unsigned char *p, size_t len, const size_t *next, uint32_t *rank,
                        struct heap *h, size_t i)
{
    size_t j = next[i];

    rank[i] = j < len ? rank_of(p + i, next[j] - i) : RANK_NONE;
    if (rank[i] != RANK_NONE)
        heap_push(h, rank[i], i);
}

static size_t merge_long(const unsigned char *p, size_t len, size_t want, size_t *cut)
{
    size_t *next = xmalloc(len * sizeof(*next));
    size_t *prev = xmalloc(len * sizeof(*prev));
    uint32_t *rank = xmalloc(len * sizeof(*rank));
    /* At most len - 1 initial pairs plus two per merge, and at most len - 1 merges. */
    struct heap h = { xmalloc(3 * len * sizeof(*h.items)), 0 };
    size_t i, parts = len;

    for (i = 0; i < len; i++) {
        next[i] = i + 1;
        prev[i] = i - 1;           /* unused for part 0, which is never merged away */
    }
    for (i = 0; i < len; i++)
        update_pair(p, len, next, rank, &h, i);
    while (h.n > 0) {
        struct heap_item top = heap_pop(&h);
        size_t j;

        i = top.pos;
        if (rank[i] != top.rank)
            continue;
        j = next[i];
        next[i] = next[j];
        if (next[j] < len)
            prev[next[j]] = i;
        rank[j] = RANK_NONE;
        parts--;
        update_pair(p, len, next, rank, &h, i);
        if (i > 0)
            update_pair(p, len, next, rank, &h, prev[i]);
    }
    if (cut && want < parts) {
        for (i = 0; want > 0; want--)
            i = next[i];
        *cut = i;
    }
    free(h.items);
    free(rank);
    free(prev);
    free(next);
    return parts;
}

/* Tokens of one pre-tokeniser piece. When cut is not NULL and the piece has more than want
 * tokens, *cut = the byte offset where token number want (0-based) starts. */
static size_t piece_tokens_cut(const unsigned char *p, size_t len, size_t want, size_t *cut)
{
    if (len <= 1 || rank_of(p, len) != RANK_NONE) {
        if (cut && want < (len != 0))
            *cut = 0;
        return len != 0;
    }
    if (len <= SHORT_PIECE)
        return merge_short(p, len, want, cut);
    return merge_long(p, len, want, cut);
}

static size_t piece_tokens(const unsigned char *p, size_t len)
{
    return piece_tokens_cut(p, len, 0, NULL);
}

/* Count the tokens of valid UTF-8 s[0..n): every piece the pattern finds, left to right. */
static size_t count_valid(const unsigned char *s, size_t n)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    size_t pos = 0, count = 0;

    if (!md)
        BUG("out of memory");
    while (pos < n) {
        /* The caller validated s, so PCRE2 need not re-check it on every call. */
        int rc = pcre2_match(tk.re, s, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        PCRE2_SIZE *ov;

        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            /* A resource limit: one token per remaining byte is a safe over-estimate. */
            log_write(LOG_WARN, "tokens: pre-tokeniser failed (%d), estimating", rc);
            count += n - pos;
            break;
        }
        ov = pcre2_get_ovector_pointer(md);
        if (ov[1] <= pos) /* an empty match; the pattern has none, but never loop forever */
            BUG("tokens: empty pre-tokeniser match");
        count += piece_tokens(s + ov[0], ov[1] - ov[0]);
        pos = ov[1];
    }
    pcre2_match_data_free(md);
    return count;
}

/*
 * A copy of s[0..n) with each byte that is not part of valid UTF-8 replaced by U+FFFD (the HTTP
 * layer only passes valid text; this keeps bad input from reaching PCRE2 unchecked). The caller
 * frees the result; its length is stored in *out_n.
 */
static char *replace_invalid(const char *s, size_t n, size_t *out_n)
{
    char *out = xmalloc(3 * n);
    size_t i = 0, o = 0;

    while (i < n) {
        size_t ok = utf8_valid_len(s + i, n - i);

        memcpy(out + o, s + i, ok);
        o += ok;
        i += ok;
        if (i < n) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *out_n = o;
    return out;
}

size_t tokens_count(const char *s, size_t n)
{
    char *clean = NULL;
    size_t count;

    if (!tk.re)
        BUG("tokens_count() called before tokens_setup()");
    if (n == 0)
        return 0;
    if (utf8_valid_len(s, n) != n) {
        clean = replace_invalid(s, n, &n);
        s = clean;
    }
    count = count_valid((const unsigned char *)s, n);
    free(clean);
    return count;
}

/* The count of one segment, from the cache or counted and remembered. */
static size_t segment_count(const char *s, size_t n)
{
    size_t count;

    if (ccache_get_num(tk.counts, s, n, &count))
        return count;
    count = tokens_count(s, n);
    ccache_put_num(tk.counts, s, n, count);
    return count;
}

size_t tokens_count_cached(const char *s, size_t n)
{
    size_t start = 0, i, count = 0;

    if (!tk.re)
        BUG("tokens_count_cached() called before tokens_setup()");
    for (i = 0; i + 1 < n; i++) {
        if (s[i] == '\n' && s[i + 1] > ' ' && s[i + 1] < 0x7f) {
            count += segment_count(s + start, i + 1 - start);
            start = i + 1;
        }
    }
    return n > start ? count + segment_count(s + start, n - start) : count;
}

/* Walk the pieces of valid UTF-8 s[0..n) until max tokens are used up: the byte length of the
 * first max tokens (n when there are no more). */
static size_t prefix_valid(const unsigned char *s, size_t n, size_t max)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    size_t pos = 0, used = 0, end = n;

    if (!md)
        BUG("out of memory");
    while (pos < n) {
        int rc = pcre2_match(tk.re, s, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        PCRE2_SIZE *ov;
        size_t c, cut = 0;

        if (rc < 0) {
            /* No match or a resource limit: count the rest one token per byte. */
            end = n - pos > max - used ? pos + (max - used) : n;
            break;
        }
        ov = pcre2_get_ovector_pointer(md);
        if (ov[1] <= pos)
            BUG("tokens: empty pre-tokeniser match");
        c = piece_tokens_cut(s + ov[0], ov[1] - ov[0], max - used, &cut);
        if (used + c > max) {
            end = ov[0] + cut;
            break;
        }
        used += c;
        pos = ov[1];
    }
    pcre2_match_data_free(md);
    return end;
}

size_t tokens_prefix_bytes(const char *s, size_t n, size_t max_tokens)
{
    if (!tk.re)
        BUG("tokens_prefix_bytes() called before tokens_setup()");
    if (utf8_valid_len(s, n) != n)
        return utf8_valid_len(s, n) < max_tokens ? utf8_valid_len(s, n) : max_tokens;
    return prefix_valid((const unsigned char *)s, n, max_tokens);
}
