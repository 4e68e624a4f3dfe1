/*
 * packs_data.S - the bundled starter packs, embedded so bin/engram needs no data directory.
 * The Makefile builds the file with scripts/packs-bundle.py (which documents its format: one
 * pack per line) and passes its path as PACKS_BUNDLE_PATH (a quoted string). packs.c reads it.
 */
#ifndef PACKS_BUNDLE_PATH
#error "PACKS_BUNDLE_PATH is not defined: build with the Makefile"
#endif

    .section .rodata
    .balign 16
    .global packs_bundle_data
    .type packs_bundle_data, %object
packs_bundle_data:
    .incbin PACKS_BUNDLE_PATH
packs_bundle_end:
    .size packs_bundle_data, packs_bundle_end - packs_bundle_data

    .balign 8
    .global packs_bundle_size
    .type packs_bundle_size, %object
packs_bundle_size:
    .8byte packs_bundle_end - packs_bundle_data
    .size packs_bundle_size, 8

/* The data needs no executable stack; without this note the linker would assume one. */
    .section .note.GNU-stack, "", %progbits
