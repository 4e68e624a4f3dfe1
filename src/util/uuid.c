/* uuid.c - UUIDv4 generation and validation. */
#include "util/uuid.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "util/xalloc.h"

static const char hexdig[] = "0123456789abcdef";

void random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n) {
        ssize_t got = getrandom(p, n, 0);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            BUG("getrandom failed");
        }
        p += got;
        n -= (size_t)got;
    }
}

/* 16 random bytes with the version (4) and variant (10xx) bits set, as canonical text. */
static void format_v4(unsigned char r[16], char out[UUID_STR_LEN])
{
    int i, o = 0;

    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hexdig[r[i] >> 4];
        out[o++] = hexdig[r[i] & 15];
    }
    out[o] = '\0';
}

/*
 * Random bytes for ids (uuid_v4, random_hex), drawn from getrandom in blocks of UUID_POOL
 * per thread: one system call per UUID_POOL / 16 ids instead of one per id (an ingest request
 * makes two: its request id and its episode's; issue 22). Not for secrets (random_bytes). Each byte is handed out once and wiped as it is
 * taken. A forked child starts with an empty pool, so parent and child never share ids.
 */
#define UUID_POOL 512

static __thread unsigned char pool[UUID_POOL];
static __thread size_t pool_left;
static __thread unsigned pool_gen;
static unsigned fork_gen;   /* bumped in a forked child: every pool of the parent is stale */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void after_fork_child(void)
{
    __atomic_add_fetch(&fork_gen, 1, __ATOMIC_RELAXED);
}

static void watch_forks(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static void pool_take(unsigned char *out, size_t n)
{
    unsigned gen;

    pthread_once(&fork_once, watch_forks);
    gen = __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
    if (pool_gen != gen) {
        pool_left = 0;
        pool_gen = gen;
    }
    if (pool_left < n) {
        random_bytes(pool, sizeof(pool));
        pool_left = sizeof(pool);
    }
    pool_left -= n;
    memcpy(out, pool + pool_left, n);
    memset(pool + pool_left, 0, n);
}

void uuid_v4(char out[UUID_STR_LEN])
{
    unsigned char r[16];

    pool_take(r, sizeof(r));
    format_v4(r, out);
}

uint32_t uuid_batch_prefix(void)
{
    unsigned char r[4];

    random_bytes(r, sizeof(r));
    return (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
}

void uuid_v4_prefixed(char out[UUID_STR_LEN], uint32_t prefix)
{
    unsigned char r[16];

    random_bytes(r + 4, sizeof(r) - 4);
    r[0] = (unsigned char)(prefix >> 24);
    r[1] = (unsigned char)(prefix >> 16);
    r[2] = (unsigned char)(prefix >> 8);
    r[3] = (unsigned char)prefix;
    format_v4(r, out);
}

void random_hex(char *out, size_t n)
{
    unsigned char r[64];
    size_t i;

    while (n) {
        size_t chunk = n > 128 ? 128 : n;

        pool_take(r, (chunk + 1) / 2);
        for (i = 0; i < chunk; i++)
            out[i] = hexdig[(r[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
        out += chunk;
        n -= chunk;
    }
    *out = '\0';
}

int uuid_valid(const char *s)
{
    int i;

    if (!s || strlen(s) != 36)
        return 0;
    for (i = 0; i < 36; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}
