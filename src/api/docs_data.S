/*
 * docs_data.S - the files of the /docs page, embedded so bin/engram serves them without a data
 * directory or a CDN: Swagger UI's bundle, styles and icon (fetched from npm by
 * scripts/fetch-docs-ui.sh into build/docs-ui) and our page and start-up script (src/api/docs).
 * The Makefile passes both directories to the assembler's include path (-Wa,-I,dir). docs.c
 * serves them.
 */

/* embed NAME, "FILE": NAME_data (the bytes) and NAME_size (their count, 8 bytes). */
.macro embed name, file
    .section .rodata
    .balign 16
    .global \name\()_data
    .type \name\()_data, %object
\name\()_data:
    .incbin "\file"
\name\()_end:
    .size \name\()_data, \name\()_end - \name\()_data
    .balign 8
    .global \name\()_size
    .type \name\()_size, %object
\name\()_size:
    .8byte \name\()_end - \name\()_data
    .size \name\()_size, 8
.endm

    embed docs_index_html, "index.html"
    embed docs_init_js, "docs-init.js"
    embed docs_bundle_js, "swagger-ui-bundle.js"
    embed docs_css, "swagger-ui.css"
    embed docs_favicon_png, "favicon-32x32.png"
    embed docs_license, "LICENSE"

/* The data needs no executable stack; without this note the linker would assume one. */
    .section .note.GNU-stack, "", %progbits
