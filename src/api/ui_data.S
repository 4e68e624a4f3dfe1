/*
 * ui_data.S - the admin web UI's files (GET /ui/), embedded so bin/engram serves them without a
 * data directory or a CDN: the page, and the script and styles scripts/build-ui.sh bundles
 * from ui/ into build/ui with esbuild. The Makefile passes build/ui and src/util (embed.inc)
 * to the assembler's include path. ui.c serves them.
 */
    .include "embed.inc"

    embed ui_index_html, "index.html"
    embed ui_app_js, "app.js"
    embed ui_app_css, "app.css"
    embed ui_licenses, "LICENSES.txt"

/* The data needs no executable stack; without this note the linker would assume one. */
    .section .note.GNU-stack, "", %progbits
