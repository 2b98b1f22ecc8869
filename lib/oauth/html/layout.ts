import { html, SafeHtml } from './escape';

// Pages here are served without Next (data-plane path), so Tailwind is not available: a small
// inline stylesheet in the dashboard's palette (slate, indigo-600) keeps them looking like the rest
// of Gatehouse.
const STYLES = `
:root { color-scheme: light; --bg:#f8fafc; --card:#fff; --text:#0f172a; --muted:#475569; --border:#e2e8f0;
  --primary:#4f46e5; --primary-text:#fff; --danger:#be123c; --ok:#047857; --note:#f1f5f9; }
* { box-sizing: border-box; }
body { margin:0; min-height:100vh; display:flex; align-items:center; justify-content:center; padding:1.5rem;
  background:var(--bg); color:var(--text); font:15px/1.5 ui-sans-serif, system-ui, -apple-system, "Segoe UI", sans-serif; }
main { width:100%; max-width:28rem; background:var(--card); border:1px solid var(--border); border-radius:.75rem;
  padding:2rem; box-shadow:0 1px 3px rgb(0 0 0 / .06); }
.brand { display:flex; align-items:center; gap:.5rem; font-size:.8rem; font-weight:600; letter-spacing:.08em; text-transform:uppercase; color:var(--muted); margin:0 0 1rem; }
h1 { font-size:1.35rem; line-height:1.3; margin:0 0 .75rem; }
p { margin:.5rem 0; color:var(--muted); }
strong { color:var(--text); }
ul { margin:.5rem 0 1rem; padding-left:1.25rem; color:var(--muted); }
.note { background:var(--note); border-radius:.5rem; padding:.75rem 1rem; margin:1rem 0; font-size:.9rem; }
.error { color:var(--danger); font-weight:500; }
.success { color:var(--ok); font-weight:500; }
label { display:block; font-weight:500; margin:1rem 0 .35rem; }
input[type=text] { width:100%; padding:.6rem .75rem; border:1px solid var(--border); border-radius:.5rem; background:transparent;
  color:var(--text); font:600 1.25rem/1.2 ui-monospace, SFMono-Regular, Menlo, monospace; letter-spacing:.12em; text-transform:uppercase; }
input[type=text]:focus, button:focus-visible { outline:2px solid var(--primary); outline-offset:2px; }
.actions { display:flex; gap:.75rem; margin-top:1.5rem; }
button { flex:1; padding:.6rem 1rem; border-radius:.5rem; font:inherit; font-weight:600; cursor:pointer; border:1px solid var(--border);
  background:transparent; color:var(--text); }
button.primary { background:var(--primary); border-color:var(--primary); color:var(--primary-text); }
code { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; }
`;

export interface PageOptions {
  title: string;
  body: SafeHtml;
  status?: number;
  headers?: Record<string, string>;
}

/**
 * A complete page. Strict headers: no scripts at all, no framing (consent and approval screens
 * must not be clickjacked), no referrer leaking codes or state to other sites, never cached.
 */
export function htmlPage(options: PageOptions): Response {
  const document = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${options.title} · Gatehouse</title>
<link rel="icon" href="/favicon.svg">
<style>${new SafeHtml(STYLES)}</style>
</head>
<body>
<main>
<p class="brand"><img src="/logo.svg" alt="" width="20" height="20">Gatehouse</p>
${options.body}
</main>
</body>
</html>`;
  const headers = new Headers(options.headers);
  headers.set('content-type', 'text/html; charset=utf-8');
  headers.set('cache-control', 'no-store');
  headers.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'");
  headers.set('x-frame-options', 'DENY');
  // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on the page's
  // own form posts, which the CSRF check (rightly) refuses; other sites still get no referrer.
  headers.set('referrer-policy', 'same-origin');
  headers.set('x-content-type-options', 'nosniff');
  return new Response(document.value, { status: options.status ?? 200, headers });
}

/** A page explaining why a request cannot continue (never redirects anywhere). */
export function errorPage(title: string, message: string, status = 400): Response {
  return htmlPage({ title, status, body: html`<h1>${title}</h1><p class="error">${message}</p>` });
}
