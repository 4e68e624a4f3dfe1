/* uuid.c - UUIDv4 generation and validation. */
#include "util/uuid.h"

#include <errno.h>
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

void uuid_v4(char out[UUID_STR_LEN])
{
    unsigned char r[16];

    random_bytes(r, sizeof(r));
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

        random_bytes(r, (chunk + 1) / 2);
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
