// api.js - every call the UI makes goes through here, to Engram's public HTTP API only.
// The API key and the tenant live in sessionStorage (typed in by the user, never in the page);
// the key goes in X-API-Key. The tenant goes in X-Tenant-ID on /v1 calls (tenant: "header",
// the default), as the tenant_id query parameter on the admin reads that take one
// (tenant: "query"; the admin surface ignores the header, api.md §1.5), or nowhere
// (tenant: "none").

const KEY = "engram.apiKey";
const TENANT = "engram.tenant";

export function settings() {
    return {
        apiKey: sessionStorage.getItem(KEY) || "",
        tenant: sessionStorage.getItem(TENANT) || "",
    };
}

export function saveSettings({ apiKey, tenant }) {
    if (apiKey) sessionStorage.setItem(KEY, apiKey);
    else sessionStorage.removeItem(KEY);
    if (tenant) sessionStorage.setItem(TENANT, tenant);
    else sessionStorage.removeItem(TENANT);
    window.dispatchEvent(new Event("engram-settings"));
}

// An error the server answered: status, the envelope's code and message, and the request id.
export class ApiError extends Error {
    constructor(status, code, message, requestId, details) {
        super(message);
        this.status = status;
        this.code = code;
        this.requestId = requestId;
        this.details = details;
    }
}

function explain(status, body) {
    const e = body && typeof body === "object" ? body.error : null;
    if (e && typeof e === "object") {
        let msg = e.message || "Request failed";
        if (Array.isArray(e.details) && e.details.length) {
            msg += ": " + e.details.map((d) => `${(d.loc || []).join(".")} ${d.msg || d.type}`).join("; ");
        }
        return new ApiError(status, e.code || "unknown", msg, e.request_id, e.details);
    }
    if (typeof e === "string") return new ApiError(status, "unknown", e);
    return new ApiError(status, "unknown", `HTTP ${status}`);
}

// Query string from an object, leaving out empty values.
export function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
        if (v === undefined || v === null || v === "") continue;
        u.set(k, String(v));
    }
    const s = u.toString();
    return s ? "?" + s : "";
}

// Path segment: subject ids may hold ':' or '/', so every segment is encoded.
export const seg = (s) => encodeURIComponent(s);

export async function api(method, path, { query, body, tenant: how = "header" } = {}) {
    const { apiKey, tenant } = settings();
    const headers = { Accept: "application/json" };
    if (apiKey) headers["X-API-Key"] = apiKey;
    const q = { ...(query || {}) };
    if (tenant) {
        if (how === "query" && !("tenant_id" in q)) q.tenant_id = tenant;
        else if (how === "header") headers["X-Tenant-ID"] = tenant;
    }
    const init = { method, headers };
    if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch(path + qs(q), init);
    } catch (err) {
        throw new ApiError(0, "network", `The server did not answer (${err.message})`);
    }
    const text = await res.text();
    let data = null;
    if (text) {
        try {
            data = JSON.parse(text);
        } catch {
            data = null;
        }
    }
    if (!res.ok) throw explain(res.status, data);
    return data;
}
