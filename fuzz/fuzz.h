/* fuzz.h - what every fuzz target (fuzz/fuzz_*.c) shares: the libFuzzer entry points and
 * FUZZ_CHECK, which turns a broken invariant into an abort that libFuzzer records as a
 * finding and the replay driver (fuzz/replay.c) as a failed input.
 *
 * Each target is one file that defines LLVMFuzzerTestOneInput() and, when it needs a
 * one-time setup, LLVMFuzzerInitialize(). `make fuzz` links it with libFuzzer (clang);
 * `make test` links the same file with replay.c (gcc) and runs the corpus through it once.
 */
#ifndef ENGRAM_FUZZ_FUZZ_H
#define ENGRAM_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with a message naming the broken invariant. */
#define FUZZ_CHECK(cond, what)                                                              \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, __LINE__, what, \
                    #cond);                                                                 \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#endif
