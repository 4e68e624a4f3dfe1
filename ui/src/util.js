// util.js - small shared pieces: the html tag, formatting, navigation, and the hooks every page
// uses to load data and show the API's own error messages.
import { h } from "preact";
import { useEffect, useState, useCallback } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);

export function fmtTime(ts) {
    if (!ts) return "—";
    const d = new Date(ts);
    if (Number.isNaN(d.getTime())) return ts;
    return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/:\d\dZ$/, "Z");
}

export const fmtNum = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en"));

export function navigate(to) {
    if (to === location.pathname + location.search) return;
    history.pushState(null, "", to);
    window.dispatchEvent(new Event("engram-route"));
}

// Links inside the app change the route without reloading the page.
export function Link({ href, children, ...rest }) {
    const onClick = (e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
    };
    return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

export const subjectHref = (id) => "/ui/subjects/" + encodeURIComponent(id);

// Run an async loader when its inputs change; reload on "engram-settings" (key or tenant typed).
export function useLoad(loader, deps) {
    const [state, setState] = useState({ loading: true, data: null, error: null });
    const run = useCallback(() => {
        let live = true;
        setState((s) => ({ ...s, loading: true, error: null }));
        loader().then(
            (data) => live && setState({ loading: false, data, error: null }),
            (error) => live && setState({ loading: false, data: null, error }),
        );
        return () => {
            live = false;
        };
    }, deps);
    useEffect(() => {
        let cancel = run();
        const again = () => {
            cancel();
            cancel = run();
        };
        window.addEventListener("engram-settings", again);
        return () => {
            cancel();
            window.removeEventListener("engram-settings", again);
        };
    }, [run]);
    return [state, run];
}

export function ErrorBox({ error }) {
    if (!error) return null;
    const hint =
        error.status === 401 || error.status === 403
            ? " Type the server's API key in the settings above."
            : error.code === "missing_tenant"
              ? " Type a tenant in the settings above."
              : "";
    return html`<div class="error" role="alert">
        <strong>${error.status ? `HTTP ${error.status}` : "Error"}${error.code && error.code !== "unknown" ? ` · ${error.code}` : ""}</strong>
        <span> ${error.message}${hint}</span>
        ${error.requestId ? html`<small> (request ${error.requestId})</small>` : null}
    </div>`;
}

export function Loading({ state, children }) {
    if (state.error) return html`<${ErrorBox} error=${state.error} />`;
    if (state.loading && !state.data) return html`<p class="muted" aria-busy="true">Loading…</p>`;
    return children();
}

// A form field with its label.
export function Field({ label, children, wide }) {
    return html`<label class=${wide ? "field wide" : "field"}><span>${label}</span>${children}</label>`;
}

export function Pager({ offset, limit, count, total, onPage }) {
    const last = total !== undefined && total !== null ? offset + count >= total : count < limit;
    return html`<nav class="pager" aria-label="Pages">
        <button type="button" disabled=${offset === 0} onClick=${() => onPage(Math.max(0, offset - limit))}>← Previous</button>
        <span>${count ? `${offset + 1}–${offset + count}` : "0"}${total !== undefined && total !== null ? ` of ${fmtNum(total)}` : ""}</span>
        <button type="button" disabled=${last} onClick=${() => onPage(offset + limit)}>Next →</button>
    </nav>`;
}

export function Badge({ value, kind }) {
    if (value === null || value === undefined || value === "") return html`<span class="muted">—</span>`;
    return html`<span class=${`badge ${kind || ""} b-${String(value).replace(/[^a-z0-9_-]/gi, "")}`}>${value}</span>`;
}
