// Shared helpers of picbed's page scripts. No framework, no build step.

let table = null;

/** t translates an English UI string into the page language; args fill {name} placeholders. */
export function t(key, args = {}) {
  if (table === null) {
    try { table = JSON.parse(document.body.dataset.i18n || "{}"); } catch { table = {}; }
  }
  let s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : key;
  for (const [k, v] of Object.entries(args)) s = s.split("{" + k + "}").join(String(v));
  return s;
}

/** csrf returns the page's CSRF token, sent as X-CSRF-Token by scripts. */
export function csrf() { return document.body.dataset.csrf || ""; }

/** lang returns the page language ("en" or "zh-CN"). */
export function lang() { return document.body.dataset.lang || "en"; }

/**
 * send posts body (FormData, URLSearchParams or an object sent as JSON) to url
 * with the CSRF header and returns {ok, status, data}; data is the parsed JSON
 * answer or null. Network failures resolve with status 0.
 */
export async function send(url, body, method = "POST") {
  const headers = { "Accept": "application/json", "X-CSRF-Token": csrf() };
  let payload = body;
  if (body && !(body instanceof FormData) && !(body instanceof URLSearchParams)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  } catch {
    return { ok: false, status: 0, data: null };
  }
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  return { ok: res.ok, status: res.status, data };
}

/** errorText returns the message of an error answer of send. */
export function errorText(r) {
  if (r.data && r.data.error && r.data.error.message) return r.data.error.message;
  if (r.status === 0) return t("The server could not be reached.");
  return t("Server error ({status})", { status: r.status });
}

/**
 * copyText copies text to the clipboard. The asynchronous Clipboard API only
 * exists on https and localhost; on a plain-http LAN address the selection
 * of a temporary textarea is copied with execCommand instead.
 */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return true; } catch { /* fall through */ }
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.style.position = "fixed";
  ta.style.top = "-1000px";
  document.body.appendChild(ta);
  ta.select();
  ta.setSelectionRange(0, text.length);
  let ok = false;
  try { ok = document.execCommand("copy"); } catch { ok = false; }
  ta.remove();
  return ok;
}

/** flash briefly shows a status text next to el. */
export function flash(el, text) {
  let note = el.nextElementSibling;
  if (!note || !note.classList.contains("copied")) {
    note = document.createElement("span");
    note.className = "copied";
    note.setAttribute("role", "status");
    el.after(note);
  }
  note.textContent = text;
  clearTimeout(note._timer);
  note._timer = setTimeout(() => { note.textContent = ""; }, 2000);
}

/** formatTimes rewrites <time datetime> elements in the viewer's time zone and language. */
export function formatTimes(root = document) {
  const fmt = new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" });
  for (const el of root.querySelectorAll("time[datetime]")) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) {
      el.textContent = fmt.format(d);
      el.title = d.toISOString();
    }
  }
}

/** el builds an element: el("a", {href: "/"}, "text", child...). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
