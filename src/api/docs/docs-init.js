/* docs-init.js - start Swagger UI on this server's /openapi.json (served as a file, not inline,
 * so the page's Content-Security-Policy can forbid inline scripts). */
"use strict";
window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
});
