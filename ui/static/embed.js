// Embed codes (spec 6.5, V4 names and HTML escaping): one line per image in
// the chosen format, with a copy button that also works on plain-http hosts.
import { t, el, copyText, flash } from "./lib.js";

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
// Markdown alt text and BBCode need their brackets neutralised.
const md = (s) => String(s).replace(/[\[\]\\]/g, "\\$&");
const medium = (i) => i.medium || i.url;
const mediumName = (i) => i.medium_filename || i.filename;
const alt = (i) => i.title || i.filename;

/** FORMATS lists the embed code formats: group, id, label, and the line of one image. */
export const FORMATS = [
  { group: "Links", id: "viewer-links", label: "Viewer links", line: (i) => i.viewer },
  { group: "Links", id: "direct-links", label: "Direct links", line: (i) => i.url },
  { group: "Links", id: "medium-links", label: "Medium links", line: (i) => medium(i) },
  { group: "Links", id: "thumb-links", label: "Thumbnail links", line: (i) => i.thumb },
  { group: "Links", id: "delete-links", label: "Delete links", line: (i) => i.delete || "", owner: true },
  { group: "HTML", id: "html-embed", label: "HTML image", line: (i) => `<img src="${esc(i.url)}" alt="${esc(alt(i))}" border="0">` },
  { group: "HTML", id: "html-embed-full", label: "HTML full linked", line: (i) => `<a href="${esc(i.viewer)}"><img src="${esc(i.url)}" alt="${esc(alt(i))}" border="0"></a>` },
  { group: "HTML", id: "html-embed-medium", label: "HTML medium linked", line: (i) => `<a href="${esc(i.viewer)}"><img src="${esc(medium(i))}" alt="${esc(alt(i))}" border="0"></a>` },
  { group: "HTML", id: "html-embed-thumbnail", label: "HTML thumbnail linked", line: (i) => `<a href="${esc(i.viewer)}"><img src="${esc(i.thumb)}" alt="${esc(alt(i))}" border="0"></a>`, sep: " " },
  { group: "BBCode", id: "bbcode-embed", label: "BBCode full", line: (i) => `[img]${i.url}[/img]` },
  { group: "BBCode", id: "bbcode-embed-full", label: "BBCode full linked", line: (i) => `[url=${i.viewer}][img]${i.url}[/img][/url]` },
  { group: "BBCode", id: "bbcode-embed-medium", label: "BBCode medium linked", line: (i) => `[url=${i.viewer}][img]${medium(i)}[/img][/url]` },
  { group: "BBCode", id: "bbcode-embed-thumbnail", label: "BBCode thumbnail linked", line: (i) => `[url=${i.viewer}][img]${i.thumb}[/img][/url]`, sep: " " },
  { group: "Markdown", id: "markdown-embed", label: "Markdown full", line: (i) => `![${md(alt(i))}](${i.url})` },
  { group: "Markdown", id: "markdown-embed-full", label: "Markdown full linked", line: (i) => `[![${md(alt(i))}](${i.url})](${i.viewer})` },
  { group: "Markdown", id: "markdown-embed-medium", label: "Markdown medium linked", line: (i) => `[![${md(alt(i))}](${medium(i)})](${i.viewer})` },
  { group: "Markdown", id: "markdown-embed-thumbnail", label: "Markdown thumbnail linked", line: (i) => `[![${md(alt(i))}](${i.thumb})](${i.viewer})`, sep: " " },
];

/** code returns the embed code of images in format id. */
export function code(id, images) {
  const f = FORMATS.find((x) => x.id === id);
  if (!f) return "";
  return images.map(f.line).filter((s) => s !== "").join(f.sep || "\n");
}

let counter = 0;

/**
 * mountCodes fills container with a format select, a read-only textarea and
 * a copy button for images (objects from the server's embedImage). It
 * returns a function that replaces the image list. Formats needing data no
 * image has (delete links for non-owners, medium when none has one) are
 * left out. The select remembers the last format in localStorage.
 */
export function mountCodes(container, images, initial = "viewer-links") {
  const n = ++counter;
  const select = el("select", { id: `embed-format-${n}`, "data-embed-format": "" });
  const area = el("textarea", { id: `embed-code-${n}`, class: "code", readonly: true, rows: "4", "data-embed-code": "", spellcheck: "false" });
  const button = el("button", { type: "button", class: "primary", "data-embed-copy": "" }, t("Copy"));
  let list = images;
  const fill = () => {
    select.replaceChildren();
    let group = null;
    for (const f of FORMATS) {
      if (f.owner && !list.some((i) => i.delete)) continue;
      if (f.id.startsWith("medium") && !list.some((i) => i.medium)) continue;
      if (!group || group.dataset.name !== f.group) {
        group = el("optgroup", { label: t(f.group), "data-name": f.group });
        select.append(group);
      }
      group.append(el("option", { value: f.id }, t(f.label)));
    }
    let want = initial;
    try { want = localStorage.getItem("pb-embed-format") || initial; } catch { /* private mode */ }
    select.value = want;
    if (!select.value) select.value = initial;
    area.value = code(select.value, list);
  };
  select.addEventListener("change", () => {
    area.value = code(select.value, list);
    try { localStorage.setItem("pb-embed-format", select.value); } catch { /* private mode */ }
  });
  button.addEventListener("click", async () => {
    const ok = await copyText(area.value);
    flash(button, ok ? t("Copied") : t("Press Ctrl+C to copy"));
    if (!ok) area.select();
  });
  container.replaceChildren(
    el("label", { class: "field", for: select.id }, el("span", {}, t("Embed codes")), select),
    el("div", { class: "code-row" }, area, button),
  );
  fill();
  return (next) => { list = next; fill(); };
}
