/* ui.c - the admin web UI (/ui/): one page, answered at every path the UI routes to so links and
 * reloads work, and its files under /ui/assets/. All of it is embedded by ui_data.S; the page
 * only calls the public HTTP API, with the key the user types in. Served under the same strict
 * Content-Security-Policy as /docs (no inline script, nothing from elsewhere). */
#include "api/api.h"

#include <stdint.h>
#include <string.h>

#include "util/err.h"

/* Defined by ui_data.S: each file's bytes and their count. */
extern const unsigned char ui_index_html_data[], ui_app_js_data[], ui_app_css_data[],
    ui_licenses_data[];
extern const uint64_t ui_index_html_size, ui_app_js_size, ui_app_css_size, ui_licenses_size;

struct ui_asset {
    const char *name; /* the file name under /ui/assets/ */
    const char *ctype;
    const unsigned char *data;
    const uint64_t *size;
};

static const struct ui_asset ui_assets[] = {
    { "app.js", "text/javascript; charset=utf-8", ui_app_js_data, &ui_app_js_size },
    { "app.css", "text/css; charset=utf-8", ui_app_css_data, &ui_app_css_size },
    { "LICENSES.txt", "text/plain; charset=utf-8", ui_licenses_data, &ui_licenses_size },
};

/* GET /ui/, /ui/subjects, /ui/subjects/{subject_id}, /ui/context, /ui/search, /ui/operations:
 * the page; its script reads the path and shows the view. */
int api_ui(struct req *req)
{
    return http_reply_static(req, 200, "text/html; charset=utf-8", ui_index_html_data,
                             (size_t)ui_index_html_size, api_page_headers);
}

/* GET /ui: to /ui/, so relative links resolve inside the UI. */
int api_ui_redirect(struct req *req)
{
    static const char *const headers[] = { "Location", "/ui/", NULL };

    return http_reply_static(req, 308, "text/plain; charset=utf-8", "", 0, headers);
}

int api_ui_asset(struct req *req)
{
    size_t i;

    for (i = 0; i < sizeof(ui_assets) / sizeof(ui_assets[0]); i++) {
        const struct ui_asset *f = &ui_assets[i];

        if (strcmp(req->params[0], f->name) == 0)
            return http_reply_static(req, 200, f->ctype, f->data, (size_t)*f->size,
                                     api_page_headers);
    }
    return err_set(&req->err, ERR_NOT_FOUND, "Not Found");
}
