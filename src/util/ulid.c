/* ulid.c - monotonic ULIDs (see ulid.h). */
#include "util/ulid.h"

#include <pthread.h>
#include <string.h>

#include "util/uuid.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_ms;
static unsigned char last_rand[10];

/* rand + 1 as an 80-bit big-endian number; 1 on overflow. */
static int increment(unsigned char r[10])
{
    int i;

    for (i = 9; i >= 0; i--) {
        if (++r[i] != 0)
            return 0;
    }
    return 1;
}

void ulid_new(char out[ULID_LEN + 1], int64_t now_us)
{
    uint64_t ms = now_us > 0 ? (uint64_t)now_us / 1000 : 0;
    unsigned char bytes[16];
    int i, bit;

    pthread_mutex_lock(&lock);
    if (ms <= last_ms) {
        ms = last_ms;
        if (increment(last_rand))   /* 2^80 ids in one millisecond: move to the next one */
            last_ms = ++ms;
    } else {
        last_ms = ms;
        random_bytes(last_rand, sizeof(last_rand));
        last_rand[0] &= 0x7f;       /* room to increment without overflow in practice */
    }
    for (i = 0; i < 6; i++)
        bytes[i] = (unsigned char)(ms >> (8 * (5 - i)));
    memcpy(bytes + 6, last_rand, 10);
    pthread_mutex_unlock(&lock);

    /* 128 bits as 26 base32 digits: the first digit holds the top 3 bits (2 pad bits). */
    for (i = 0; i < ULID_LEN; i++) {
        int v = 0, k;

        for (k = 0; k < 5; k++) {
            bit = i * 5 + k - 2;   /* bit index into the 128 bits, -2/-1 = padding */
            v <<= 1;
            if (bit >= 0)
                v |= (bytes[bit / 8] >> (7 - bit % 8)) & 1;
        }
        out[i] = alphabet[v];
    }
    out[ULID_LEN] = '\0';
}

int ulid_valid(const char *s)
{
    size_t i;

    if (!s || strlen(s) != ULID_LEN || s[0] > '7')
        return 0;
    for (i = 0; i < ULID_LEN; i++) {
        if (!strchr(alphabet, s[i]) || s[i] == '\0')
            return 0;
    }
    return 1;
}
