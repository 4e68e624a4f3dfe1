/*
 * tokens_data.S - the cl100k_base rank table, embedded so bin/engram needs no data file.
 * The Makefile passes the file's path as TOKENS_RANKS_PATH (a quoted string); the file is made
 * by scripts/fetch-tokenizer.sh, which also documents its format. tokens.c reads it.
 */
#ifndef TOKENS_RANKS_PATH
#error "TOKENS_RANKS_PATH is not defined: build with the Makefile"
#endif

    .section .rodata
    .balign 16
    .global tokens_ranks_data
    .type tokens_ranks_data, %object
tokens_ranks_data:
    .incbin TOKENS_RANKS_PATH
tokens_ranks_end:
    .size tokens_ranks_data, tokens_ranks_end - tokens_ranks_data

    .balign 8
    .global tokens_ranks_size
    .type tokens_ranks_size, %object
tokens_ranks_size:
    .8byte tokens_ranks_end - tokens_ranks_data
    .size tokens_ranks_size, 8

/* The data needs no executable stack; without this note the linker would assume one. */
    .section .note.GNU-stack, "", %progbits
