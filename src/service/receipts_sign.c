/* receipts_sign.c - Ed25519 signatures of context receipts through OpenSSL (spec/api.md §5.4):
 * the key comes from the PEM file named by STATEWAVE_RECEIPT_SIGNING_KEY. */
#include "service/receipts.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "util/config.h"
#include "util/log.h"
#include "util/xalloc.h"

static EVP_PKEY *key;          /* read-only after receipts_setup */
static char key_id[17];

int receipts_setup(struct err *err)
{
    unsigned char raw[64], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t rawlen = sizeof(raw), i;
    const char *path = cfg ? cfg->receipt_signing_key : NULL;
    FILE *f;

    if (!path)
        return 0;
    f = fopen(path, "r");
    if (!f)
        return err_set(err, ERR_INVALID, "STATEWAVE_RECEIPT_SIGNING_KEY: cannot read '%s'",
                       path);
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1 ||
        EVP_Digest(raw, rawlen, md, &mdlen, EVP_sha256(), NULL) != 1) {
        receipts_shutdown();
        return err_set(err, ERR_INVALID,
                       "STATEWAVE_RECEIPT_SIGNING_KEY: '%s' holds no Ed25519 private key "
                       "(PEM)",
                       path);
    }
    for (i = 0; i < 8; i++)
        snprintf(key_id + 2 * i, 3, "%02x", md[i]);
    log_write(LOG_INFO, "receipts: signing with Ed25519 key %s", key_id);
    return 0;
}

void receipts_shutdown(void)
{
    EVP_PKEY_free(key);
    key = NULL;
    key_id[0] = '\0';
}

int receipts_can_sign(void)
{
    return key != NULL;
}

const char *receipts_key_id(void)
{
    return key_id;
}

const char *receipts_sign(struct arena *a, const char *msg, size_t n)
{
    unsigned char sig[64];
    size_t siglen = sizeof(sig);
    char *out;
    EVP_MD_CTX *md;
    int ok;

    if (!key)
        return NULL;
    md = EVP_MD_CTX_new();
    ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
         EVP_DigestSign(md, sig, &siglen, (const unsigned char *)msg, n) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        BUG("Ed25519 signing failed");
    out = arena_alloc(a, 4 * ((siglen + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
    return out;
}

int receipts_check(const char *msg, size_t n, const char *sig)
{
    unsigned char raw[96];
    size_t len = strlen(sig);
    int rawlen, ok;
    EVP_MD_CTX *md;

    if (!key || len == 0 || len > 88 || len % 4)
        return 0;
    rawlen = EVP_DecodeBlock(raw, (const unsigned char *)sig, (int)len);
    if (rawlen < 0)
        return 0;
    while (len && sig[len - 1] == '=')   /* DecodeBlock counts the padding as zero bytes */
        len--, rawlen--;
    md = EVP_MD_CTX_new();
    ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
         EVP_DigestVerify(md, raw, (size_t)rawlen, (const unsigned char *)msg, n) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}
