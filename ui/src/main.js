// main.js - Engram's admin UI: the shell (navigation, API key and tenant), and the router that
// maps /ui/... paths to pages. Every path is one the server answers with this page, so links
// and reloads work.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { html, Link } from "./util.js";
import { settings, saveSettings } from "./api.js";
import { SubjectsPage } from "./pages/subjects.js";
import { SubjectPage } from "./pages/subject.js";
import { ContextPage } from "./pages/context.js";
import { SearchPage } from "./pages/search.js";
import { OperationsPage } from "./pages/operations.js";
import "./style.css";

const NAV = [
    ["/ui/subjects", "Subjects"],
    ["/ui/context", "Context"],
    ["/ui/search", "Search"],
    ["/ui/operations", "Operations"],
];

function route(path) {
    const p = path.replace(/\/+$/, "");
    if (p === "/ui" || p === "/ui/subjects") return { page: SubjectsPage, nav: "/ui/subjects" };
    const m = /^\/ui\/subjects\/([^/]+)$/.exec(p);
    if (m) return { page: SubjectPage, nav: "/ui/subjects", params: { id: decodeURIComponent(m[1]) } };
    if (p === "/ui/context") return { page: ContextPage, nav: p };
    if (p === "/ui/search") return { page: SearchPage, nav: p };
    if (p === "/ui/operations") return { page: OperationsPage, nav: p };
    return { page: NotFound, nav: "" };
}

function NotFound() {
    return html`<section><h1>Not found</h1><p>No page at <code>${location.pathname}</code>.
        <${Link} href="/ui/subjects">Subjects</${Link}></p></section>`;
}

function Settings() {
    const [s, setS] = useState(settings());
    const [saved, setSaved] = useState(false);
    const submit = (e) => {
        e.preventDefault();
        saveSettings(s);
        setSaved(true);
        setTimeout(() => setSaved(false), 1500);
    };
    return html`<form class="settings" onSubmit=${submit} aria-label="Connection settings">
        <label><span>API key</span>
            <input type="password" autocomplete="off" name="api_key" value=${s.apiKey} placeholder="none"
                onInput=${(e) => setS({ ...s, apiKey: e.currentTarget.value })} /></label>
        <label><span>Tenant</span>
            <input type="text" name="tenant" value=${s.tenant} placeholder="all" size="10"
                onInput=${(e) => setS({ ...s, tenant: e.currentTarget.value.trim() })} /></label>
        <button type="submit">${saved ? "Saved" : "Use"}</button>
    </form>`;
}

function App() {
    const [path, setPath] = useState(location.pathname + location.search);
    useEffect(() => {
        const on = () => setPath(location.pathname + location.search);
        window.addEventListener("popstate", on);
        window.addEventListener("engram-route", on);
        return () => {
            window.removeEventListener("popstate", on);
            window.removeEventListener("engram-route", on);
        };
    }, []);
    const r = route(location.pathname);
    const Page = r.page;
    useEffect(() => {
        window.scrollTo(0, 0);
    }, [location.pathname]);
    return html`
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
            <${Link} class="brand" href="/ui/subjects">Engram</${Link}>
            <nav aria-label="Main">
                ${NAV.map(([href, label]) => html`<${Link} href=${href}
                    aria-current=${r.nav === href ? "page" : undefined}>${label}</${Link}>`)}
            </nav>
            <${Settings} />
        </header>
        <main id="main" tabindex="-1">
            <${Page} key=${path} ...${r.params || {}} />
        </main>`;
}

render(html`<${App} />`, document.getElementById("app"));
