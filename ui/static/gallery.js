// Albums, My images and the viewer's owner tools. Every page works without
// this script (plain forms and links); it adds the embed-code panels, the
// selection count, select all, shift-click ranges and infinite scrolling.
import { t } from "./lib.js";
import { mountCodes } from "./embed.js";

// Embed codes of an album page or of the viewer's owner tools.
for (const box of document.querySelectorAll("[data-embed-images]")) {
  let images = [];
  try { images = JSON.parse(box.dataset.embedImages || "[]"); } catch { images = []; }
  if (images.length > 0) mountCodes(box, images);
}

// An album's password field only matters for password albums.
for (const select of document.querySelectorAll("select[data-album-privacy]")) {
  const field = select.form && select.form.querySelector("[data-album-password]");
  if (!field) continue;
  const input = field.querySelector("input");
  const sync = () => {
    const on = select.value === "password";
    field.hidden = !on;
    // A password the album already has is kept when the field stays empty.
    input.required = on && !input.placeholder;
  };
  select.addEventListener("change", sync);
  sync();
}

// My images: the selection.
const form = document.querySelector("form[data-my-form]");
if (form) {
  const count = form.querySelector("[data-sel-count]");
  const allButton = form.querySelector("[data-select-all]");
  const deleteButton = form.querySelector('button[formaction="/my/delete"]');
  const boxes = () => Array.from(form.querySelectorAll('input[type=checkbox][name="image_ids"]'));
  let last = null; // the last box clicked, for shift-click ranges

  const update = () => {
    const all = boxes();
    const n = all.filter((b) => b.checked).length;
    if (n === 0) count.textContent = t("Tick images to move them to an album or delete them.");
    else if (n === 1) count.textContent = t("1 image selected");
    else count.textContent = t("{n} images selected", { n });
    for (const b of form.querySelectorAll("[data-needs-selection]")) b.disabled = n === 0;
    if (deleteButton) {
      deleteButton.dataset.confirm = n === 1
        ? t("Delete the selected image? This cannot be undone.")
        : t("Delete the {n} selected images? This cannot be undone.", { n });
    }
    const every = all.length > 0 && n === all.length;
    allButton.textContent = every ? allButton.dataset.labelNone : allButton.dataset.labelAll;
    form.classList.toggle("selecting", n > 0);
  };

  allButton.classList.remove("hidden");
  allButton.addEventListener("click", () => {
    const all = boxes();
    const every = all.every((b) => b.checked);
    for (const b of all) b.checked = !every;
    update();
  });

  form.addEventListener("click", (ev) => {
    const box = ev.target.closest && ev.target.closest('input[type=checkbox][name="image_ids"]');
    if (!box) return;
    if (ev.shiftKey && last && last !== box) {
      const all = boxes();
      const [a, b] = [all.indexOf(last), all.indexOf(box)].sort((x, y) => x - y);
      for (let i = a; i <= b; i++) all[i].checked = box.checked;
    }
    last = box;
  });
  form.addEventListener("change", update);

  // Enter in the new album's fields creates the album (the form's default
  // button is a disabled placeholder, so Enter elsewhere does nothing).
  const create = form.querySelector("[data-create-album]");
  form.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter" || !create || ev.target.tagName !== "INPUT" || !ev.target.closest(".new-album")) return;
    ev.preventDefault();
    if (!create.disabled) create.click();
  });

  update();

  // Infinite scroll: the "Older" link loads the next page into the grid
  // when it comes into view (and still works as a plain link).
  const grid = form.querySelector("[data-gallery]");
  const older = document.querySelector("[data-pager] a[data-older]");
  if (grid && older && "IntersectionObserver" in window) {
    let loading = false;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    }, { rootMargin: "600px 0px" });
    const loadMore = async () => {
      if (loading) return;
      loading = true;
      older.setAttribute("aria-busy", "true");
      try {
        const res = await fetch(older.getAttribute("href"), { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!res.ok) throw new Error(String(res.status));
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        for (const tile of doc.querySelectorAll("[data-gallery] > .tile")) grid.append(document.adoptNode(tile));
        const next = doc.querySelector("[data-pager] a[data-older]");
        if (next) {
          older.setAttribute("href", next.getAttribute("href"));
          // Still in view (a tall screen): the observer will not fire again.
          if (older.getBoundingClientRect().top < window.innerHeight + 600) setTimeout(loadMore, 0);
        } else {
          observer.disconnect();
          older.remove();
        }
        update();
      } catch {
        observer.disconnect(); // the link still loads the page the plain way
      } finally {
        loading = false;
        older.removeAttribute("aria-busy");
      }
    };
    observer.observe(older);
  }
}
