/* docs.c - GET /docs (the interactive API reference, Swagger UI) and GET /docs/assets/{file},
 * served from the files docs_data.S embeds, under a strict Content-Security-Policy: scripts,
 * styles and images only from this server, no inline script, nothing framed. */
#include "api/api.h"

#include <stdint.h>
#include <string.h>

#include "util/err.h"

/* Defined by docs_data.S: each file's bytes and their count. */
extern const unsigned char docs_index_html_data[], docs_init_js_data[], docs_bundle_js_data[],
    docs_css_data[], docs_favicon_png_data[], docs_license_data[];
extern const uint64_t docs_index_html_size, docs_init_js_size, docs_bundle_js_size, docs_css_size,
    docs_favicon_png_size, docs_license_size;

/* 'unsafe-inline' is absent from script-src: a page runs only its own script files. Swagger UI
 * and the admin UI set element styles from script (CSSOM), which style-src does not govern. */
static const char docs_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'self'; form-action 'none'; "
    "frame-ancestors 'none'";

/* The headers of every page Engram serves and of its files (/docs, /ui/): shared with ui.c. */
const char *const api_page_headers[] = {
    "Content-Security-Policy",
    docs_csp,
    "X-Content-Type-Options",
    "nosniff",
    "Referrer-Policy",
    "no-referrer",
    "Cache-Control",
    "no-cache",
    NULL,
};

struct docs_asset {
    const char *name; /* the file name under /docs/assets/ */
    const char *ctype;
    const unsigned char *data;
    const uint64_t *size;
};

static const struct docs_asset docs_assets[] = {
    { "swagger-ui-bundle.js", "text/javascript; charset=utf-8", docs_bundle_js_data,
      &docs_bundle_js_size },
    { "docs-init.js", "text/javascript; charset=utf-8", docs_init_js_data, &docs_init_js_size },
    { "swagger-ui.css", "text/css; charset=utf-8", docs_css_data, &docs_css_size },
    { "favicon-32x32.png", "image/png", docs_favicon_png_data, &docs_favicon_png_size },
    { "LICENSE", "text/plain; charset=utf-8", docs_license_data, &docs_license_size },
};

int api_docs(struct req *req)
{
    return http_reply_static(req, 200, "text/html; charset=utf-8", docs_index_html_data,
                             (size_t)docs_index_html_size, api_page_headers);
}

/* GET /redoc: the Statewave API names it as a documentation path; Engram has one page. */
int api_docs_redirect(struct req *req)
{
    static const char *const headers[] = { "Location", "docs", NULL };

    return http_reply_static(req, 308, "text/plain; charset=utf-8", "", 0, headers);
}

int api_docs_asset(struct req *req)
{
    size_t i;

    for (i = 0; i < sizeof(docs_assets) / sizeof(docs_assets[0]); i++) {
        const struct docs_asset *f = &docs_assets[i];

        if (strcmp(req->params[0], f->name) == 0)
            return http_reply_static(req, 200, f->ctype, f->data, (size_t)*f->size, api_page_headers);
    }
    return err_set(&req->err, ERR_NOT_FOUND, "Not Found");
}
