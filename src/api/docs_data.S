/*
 * docs_data.S - the files of the /docs page, embedded so bin/engram serves them without a data
 * directory or a CDN: Swagger UI's bundle, styles and icon (fetched from npm by
 * scripts/fetch-docs-ui.sh into build/docs-ui) and our page and start-up script (src/api/docs).
 * The Makefile passes both directories and src/util (embed.inc) to the assembler's include
 * path (-Wa,-I,dir). docs.c serves them.
 */

    .include "embed.inc"

    embed docs_index_html, "index.html"
    embed docs_init_js, "docs-init.js"
    embed docs_bundle_js, "swagger-ui-bundle.js"
    embed docs_css, "swagger-ui.css"
    embed docs_favicon_png, "favicon-32x32.png"
    embed docs_license, "LICENSE"

/* The data needs no executable stack; without this note the linker would assume one. */
    .section .note.GNU-stack, "", %progbits
