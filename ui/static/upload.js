// The upload page (spec 6): files come from the picker, the camera, drag
// and drop anywhere (folders too), the clipboard or "Add image URLs"; each
// becomes a queue item with a preview that opens its edit dialog. "Upload"
// sends the items two at a time to POST /upload with XMLHttpRequest (for
// upload progress), then shows the spec's final state and the embed codes.
import { t, csrf, el, send, errorText } from "./lib.js";
import { mountCodes } from "./embed.js";

// THREADS is how many uploads run at once (Chevereto's upload_threads).
const THREADS = 2;
// PREVIEW is the width previews are decoded at: enough for a sharp tile on
// a 3x phone screen, far less memory than the full image.
const PREVIEW = 360;

const box = document.querySelector("[data-upload]");
if (box) init(box);

function init(box) {
  const q = (sel, root = document) => root.querySelector(sel);
  const cfg = {
    maxBytes: Number(box.dataset.maxBytes) || 0,
    maxSize: box.dataset.maxSize || "",
    mimes: (box.dataset.mimes || "").split(","),
    loggedIn: "loggedIn" in box.dataset,
    user: box.dataset.user || "",
    signups: "signups" in box.dataset,
    urlUploads: "urlUploads" in box.dataset,
  };
  const ui = {
    heading: q("[data-upload-heading]", box),
    sub: q("[data-upload-sub]", box),
    live: q("[data-upload-live]", box),
    pick: q("[data-upload-pick]", box),
    input: q("[data-upload-input]", box),
    camera: q("[data-upload-camera]", box),
    queue: q("[data-upload-queue]", box),
    list: q("[data-upload-list]", box),
    hint: q("[data-upload-hint]", box),
    options: q("[data-upload-options]", box),
    album: q("[data-upload-album]", box),
    expiry: q("[data-upload-expiry]", box),
    nsfw: q("[data-upload-nsfw]", box),
    controls: q("[data-upload-controls]", box),
    start: q("[data-upload-start]", box),
    running: q("[data-upload-running]", box),
    results: q("[data-upload-results]", box),
    summary: q("[data-upload-summary]", box),
    codes: q("[data-upload-codes]", box),
  };
  // Touch screens tap their previews (spec 6.2).
  if (matchMedia("(pointer: coarse)").matches) ui.hint.textContent = t("Customize upload by touching any preview");
  const initialHeading = ui.heading.textContent;
  const initialSub = ui.sub.textContent;

  /** items are the queue: {key, name, file | url, state, li, ...}. */
  let items = [];
  let phase = "pick"; // pick | queue | uploading | done
  let running = 0;
  let batch = [];
  let previews = Promise.resolve();

  // --- Adding files -------------------------------------------------------

  const mimeAliases = { "image/pjpeg": "image/jpeg", "image/jpg": "image/jpeg", "image/x-png": "image/png", "image/x-ms-bmp": "image/bmp", "image/x-bmp": "image/bmp", "image/x-windows-bmp": "image/bmp" };
  const extMimes = { jpg: "image/jpeg", jpeg: "image/jpeg", jpe: "image/jpeg", png: "image/png", gif: "image/gif", webp: "image/webp", bmp: "image/bmp" };

  /** typeOf is a file's image type as the page knows it, "" if none. */
  function typeOf(file) {
    let type = (file.type || "").toLowerCase();
    type = mimeAliases[type] || type;
    if (!type) type = extMimes[(file.name.split(".").pop() || "").toLowerCase()] || "";
    return cfg.mimes.includes(type) ? type : "";
  }

  /** addFiles queues files ({file, path}) after the spec's checks. */
  function addFiles(entries, { pasted = false } = {}) {
    if (phase === "uploading") return;
    if (phase === "done") reset();
    const rejected = [];
    for (const entry of entries) {
      let { file } = entry;
      const { path } = entry;
      let name = file.name || "image";
      if (!typeOf(file)) {
        rejected.push(t("{name} - Invalid or unsupported file format.", { name: shortName(path || name) }));
        continue;
      }
      if (cfg.maxBytes && file.size > cfg.maxBytes) {
        rejected.push(t("{name} - File too big - max {x}", { name: shortName(path || name), x: cfg.maxSize }));
        continue;
      }
      let key = path || name;
      if (items.some((i) => i.key === key)) {
        // Clipboard images are all called image.png: number them instead.
        if (!pasted) continue;
        const dot = name.lastIndexOf(".");
        const stem = dot > 0 ? name.slice(0, dot) : name, ext = dot > 0 ? name.slice(dot) : "";
        for (let n = 2; items.some((i) => i.key === key); n++) key = name = `${stem}-${n}${ext}`;
        file = new File([file], name, { type: file.type, lastModified: file.lastModified });
      }
      addItem({ key, name, file, gif: typeOf(file) === "image/gif" });
    }
    if (rejected.length) showList("[data-upload-rejected]", "[data-rejected-list]", rejected);
  }

  /** addURLs queues image URLs (URL uploads). */
  function addURLs(urls) {
    if (phase === "uploading") return;
    if (phase === "done") reset();
    for (const url of urls) {
      if (items.some((i) => i.key === url)) continue;
      let name = url;
      try { name = decodeURIComponent(new URL(url).pathname.split("/").pop()) || url; } catch { /* keep the URL */ }
      addItem({ key: url, name, url });
    }
  }

  function addItem(item) {
    item.state = "queued";
    item.progress = 0;
    item.edit = null;
    item.li = renderItem(item);
    items.push(item);
    ui.list.append(item.li);
    if (item.file) previews = previews.then(() => makePreview(item));
    setPhase("queue");
  }

  function renderItem(item) {
    const pic = el("button", { type: "button", class: "pic", "aria-label": t("Edit {name}", { name: item.name }), title: item.name });
    pic.addEventListener("click", () => openEdit(item));
    if (item.url) pic.append(el("span", { class: "url-mark", "aria-hidden": "true" }, "URL"));
    const remove = el("button", { type: "button", class: "remove", "aria-label": t("Remove {name}", { name: item.name }), title: t("Remove") }, "×");
    remove.addEventListener("click", () => removeItem(item));
    const cancel = el("button", { type: "button", class: "link-button cancel" }, t("Cancel"));
    cancel.addEventListener("click", () => cancelItem(item));
    const size = item.file ? el("span", { class: "size" }, formatSize(item.file.size)) : null;
    const li = el("li", { class: "item", "data-upload-item": "", "data-state": "queued" },
      pic, remove,
      el("div", { class: "meta" }, el("span", { class: "name", title: item.name }, item.name), size),
      el("progress", { max: "1", value: "0", "aria-label": t("Progress of {name}", { name: item.name }) }),
      el("div", { class: "status" }),
      cancel,
    );
    item.pic = pic;
    return li;
  }

  /** makePreview draws the item's image, upright (EXIF orientation), into its tile. */
  async function makePreview(item) {
    if (!item.li.isConnected) return;
    try {
      const bmp = await createImageBitmap(item.file, { imageOrientation: "from-image", resizeWidth: PREVIEW, resizeQuality: "medium" });
      const canvas = el("canvas", { width: String(bmp.width), height: String(bmp.height), "aria-hidden": "true" });
      canvas.getContext("2d").drawImage(bmp, 0, 0);
      bmp.close();
      item.pic.prepend(canvas);
    } catch {
      // A format the browser cannot decode (a BMP variant, say): the
      // server may still take it, so the tile shows the file type.
      item.pic.prepend(el("span", { class: "no-preview", "aria-hidden": "true" }, (item.name.split(".").pop() || "?").toUpperCase()));
    }
  }

  function removeItem(item) {
    if (phase !== "queue") return;
    items = items.filter((i) => i !== item);
    item.li.remove();
    setPhase(items.length ? "queue" : "pick");
  }

  function reset() {
    for (const i of items) i.li.remove();
    items = [];
    batch = [];
    ui.summary.replaceChildren();
    ui.codes.replaceChildren();
    setPhase("pick");
  }

  // The file picker and the camera.
  for (const input of [ui.input, ui.camera]) {
    if (!input) continue;
    input.addEventListener("change", () => {
      addFiles([...input.files].map((file) => ({ file })));
      input.value = "";
    });
  }

  // Drag and drop anywhere on the page, folders included.
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  let dragDepth = 0;
  const dragOff = () => { dragDepth = 0; document.body.classList.remove("upload-dragging"); };
  document.addEventListener("dragenter", (e) => {
    if (!hasFiles(e) || phase === "uploading") return;
    e.preventDefault();
    dragDepth++;
    document.body.classList.add("upload-dragging");
  });
  document.addEventListener("dragover", (e) => {
    if (!hasFiles(e) || phase === "uploading") return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", (e) => {
    if (!hasFiles(e)) return;
    if (--dragDepth <= 0) dragOff();
  });
  document.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragOff();
    if (phase === "uploading") return;
    // The items must be read now: the DataTransfer empties when the event ends.
    const found = [];
    for (const it of e.dataTransfer.items || []) {
      if (it.kind !== "file") continue;
      const entry = it.webkitGetAsEntry ? it.webkitGetAsEntry() : null;
      found.push({ entry, file: it.getAsFile() });
    }
    if (!found.length) for (const file of e.dataTransfer.files) found.push({ entry: null, file });
    collectDropped(found).then((entries) => addFiles(entries));
  });

  /** collectDropped turns dropped items into files, walking folders. */
  async function collectDropped(found) {
    const out = [];
    for (const { entry, file } of found) {
      if (entry && entry.isDirectory) await walkFolder(entry, out);
      else if (file) out.push({ file });
    }
    return out;
  }

  async function walkFolder(dir, out) {
    const reader = dir.createReader();
    for (;;) {
      let batch;
      try { batch = await new Promise((ok, fail) => reader.readEntries(ok, fail)); } catch { return; }
      if (!batch.length) return;
      for (const entry of batch) {
        if (entry.name.startsWith(".")) continue; // .DS_Store and friends
        if (entry.isDirectory) {
          await walkFolder(entry, out);
        } else {
          try {
            const file = await new Promise((ok, fail) => entry.file(ok, fail));
            out.push({ file, path: entry.fullPath.replace(/^\//, "") });
          } catch { /* unreadable: skip */ }
        }
      }
    }
  }

  // Paste: images from the clipboard, or image URLs when URL uploads are on.
  document.addEventListener("paste", (e) => {
    const dt = e.clipboardData;
    if (!dt || phase === "uploading" || q("dialog[open]")) return;
    const files = [...dt.files];
    if (files.length) {
      e.preventDefault();
      addFiles(files.map((file) => ({ file })), { pasted: true });
      return;
    }
    const target = e.target;
    const editing = target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
    if (cfg.urlUploads && !editing) {
      const urls = extractURLs(dt.getData("text/plain") || dt.getData("text") || "");
      if (urls.length) {
        e.preventDefault();
        addURLs(urls);
      }
    }
  });

  // "Add image URLs".
  const urlsDialog = q("[data-upload-urls]");
  const urlsOpen = q("[data-upload-urls-open]", box);
  if (urlsDialog && urlsOpen) {
    const form = q("[data-urls-form]", urlsDialog);
    const err = q("[data-urls-error]", urlsDialog);
    urlsOpen.addEventListener("click", () => {
      err.hidden = true;
      form.elements.urls.value = "";
      urlsDialog.showModal();
    });
    form.addEventListener("submit", (e) => {
      if (e.submitter && e.submitter.value === "cancel") return;
      const urls = extractURLs(form.elements.urls.value);
      if (!urls.length) {
        e.preventDefault();
        err.textContent = t("No image URLs found. Enter links that start with http:// or https://.");
        err.hidden = false;
        return;
      }
      addURLs(urls);
    });
  }

  // --- The edit dialog ----------------------------------------------------

  const edit = q("[data-upload-edit]");
  const editForm = q("[data-edit-form]", edit);
  let editing = null;

  function defaultTitle(name) {
    const dot = name.lastIndexOf(".");
    const stem = (dot > 0 ? name.slice(0, dot) : name).split("/").pop();
    return stem.charAt(0).toUpperCase() + stem.slice(1);
  }

  async function openEdit(item) {
    if (phase !== "queue") return;
    editing = item;
    const f = editForm.elements;
    const v = item.edit || {
      title: defaultTitle(item.name),
      description: "",
      album_id: ui.album ? ui.album.value : "",
      width: "",
      expiration: ui.expiry ? ui.expiry.value : "",
      nsfw: ui.nsfw ? ui.nsfw.checked : false,
    };
    f.title.value = v.title;
    f.description.value = v.description;
    if (f.album_id) f.album_id.value = v.album_id;
    f.width.value = v.width;
    f.expiration.value = v.expiration;
    f.nsfw.checked = v.nsfw;
    q("[data-edit-file]", edit).textContent = item.name;
    const pic = q("[data-edit-pic]", edit);
    pic.replaceChildren();
    const shown = item.pic.querySelector("canvas");
    if (shown) {
      const copy = el("canvas", { width: String(shown.width), height: String(shown.height), "aria-hidden": "true" });
      copy.getContext("2d").drawImage(shown, 0, 0);
      pic.append(copy);
    }
    q("[data-edit-resize]", edit).hidden = !item.file;
    q("[data-edit-gif]", edit).hidden = !item.gif;
    const size = q("[data-edit-size]", edit);
    size.textContent = t("Width in pixels; the height follows.");
    f.width.removeAttribute("max");
    f.width.placeholder = "";
    edit.showModal();
    if (item.file && !item.width) {
      try {
        const bmp = await createImageBitmap(item.file, { imageOrientation: "from-image" });
        item.width = bmp.width;
        item.height = bmp.height;
        bmp.close();
      } catch { /* unknown size */ }
    }
    if (editing === item && item.width) {
      size.textContent = t("Width in pixels; the height follows. Original: {w} × {h}.", { w: item.width, h: item.height });
      f.width.max = String(item.width);
      f.width.placeholder = String(item.width);
    }
  }

  editForm.addEventListener("submit", (e) => {
    if (!e.submitter || e.submitter.value !== "save" || !editing) return;
    if (!editForm.reportValidity()) {
      e.preventDefault();
      return;
    }
    const f = editForm.elements;
    editing.edit = {
      title: f.title.value.trim(),
      description: f.description.value.trim(),
      album_id: f.album_id ? f.album_id.value : "",
      width: f.width.value.trim(),
      expiration: f.expiration.value,
      nsfw: f.nsfw.checked,
    };
    editing.li.classList.add("edited");
  });
  edit.addEventListener("close", () => {
    if (editing) editing.pic.focus();
    editing = null;
  });

  // --- Uploading ----------------------------------------------------------

  ui.start.addEventListener("click", () => {
    if (phase !== "queue" || !items.length) return;
    batch = items.filter((i) => i.state === "queued");
    setPhase("uploading");
    announce(t("Uploading {n} files", { n: batch.length }));
    showProgress();
    pump();
  });

  function pump() {
    while (running < THREADS) {
      const next = batch.find((i) => i.state === "queued");
      if (!next) break;
      send1(next);
    }
    if (running === 0 && !batch.some((i) => i.state === "queued")) finish();
  }

  /** fieldsOf returns what an item sends: queue-wide values, then its own. */
  function fieldsOf(item) {
    const out = {};
    if (ui.album && ui.album.value) out.album_id = ui.album.value;
    if (ui.expiry && ui.expiry.value) out.expiration = ui.expiry.value;
    if (ui.nsfw && ui.nsfw.checked) out.nsfw = "1";
    const v = item.edit;
    if (v) {
      if (v.title) out.title = v.title;
      if (v.description) out.description = v.description;
      if (v.album_id) out.album_id = v.album_id; else delete out.album_id;
      if (v.width) out.width = v.width;
      if (v.expiration) out.expiration = v.expiration;
      out.nsfw = v.nsfw ? "1" : "0";
    }
    return out;
  }

  function send1(item) {
    running++;
    setState(item, "uploading");
    const fields = fieldsOf(item);
    item.albumID = fields.album_id || "";
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    if (item.file) {
      fd.append("source", item.file, item.file.name);
    } else {
      fd.append("type", "url");
      fd.append("source", item.url);
      item.progress = 1; // URL items count as sent at once (spec 6.4)
    }
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open("POST", "/upload");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && e.total > 0) {
        item.progress = e.loaded / e.total;
        showProgress();
      }
    });
    xhr.upload.addEventListener("load", () => {
      item.progress = 1;
      item.li.classList.add("processing"); // sent: the server works on it
      showProgress();
    });
    xhr.addEventListener("load", () => {
      let doc = null;
      try { doc = JSON.parse(xhr.responseText); } catch { doc = null; }
      if (doc && doc.status_code === 200 && doc.image) {
        done(item, doc.image);
      } else if (doc && doc.error && doc.error.message) {
        failed(item, doc.error.message);
      } else {
        failed(item, t("Server error (Internal server error)"));
      }
    });
    xhr.addEventListener("error", () => failed(item, t("The server could not be reached.")));
    xhr.addEventListener("abort", () => failed(item, t("Upload canceled"), "canceled"));
    xhr.send(fd);
  }

  function settle(item) {
    item.xhr = null;
    item.progress = 1;
    item.li.classList.remove("processing");
    running--;
    showProgress();
    pump();
  }

  function done(item, image) {
    item.image = image;
    setState(item, "done");
    const status = q(".status", item.li);
    status.replaceChildren(el("a", { href: image.url_viewer, class: "ok", title: t("View {name}", { name: item.name }) }, "✓ ", t("View")));
    settle(item);
  }

  function failed(item, message, state = "failed") {
    if (item.state !== "uploading" && item.state !== "queued") return;
    const wasRunning = item.state === "uploading";
    item.error = t("{name} - {message}", { name: shortName(item.name), message });
    setState(item, state);
    q(".status", item.li).replaceChildren(el("span", { class: "fail", title: item.error }, "⚠ ", message));
    if (wasRunning) settle(item);
    else { item.progress = 1; showProgress(); }
  }

  function cancelItem(item) {
    if (item.state === "uploading" && item.xhr) item.xhr.abort();
    else if (item.state === "queued") failed(item, t("Upload canceled"), "canceled");
  }

  q("[data-upload-cancel-all]", box).addEventListener("click", () => {
    for (const i of batch) if (i.state === "queued") failed(i, t("Upload canceled"), "canceled");
    for (const i of batch) if (i.state === "uploading" && i.xhr) i.xhr.abort();
    pump();
  });

  function setState(item, state) {
    item.state = state;
    item.li.dataset.state = state;
  }

  function showProgress() {
    if (phase !== "uploading") return;
    for (const i of batch) {
      const bar = q("progress", i.li);
      if (bar) bar.value = i.progress;
    }
    const n = batch.length;
    const p = Math.floor((100 * batch.reduce((sum, i) => sum + i.progress, 0)) / Math.max(n, 1));
    ui.heading.textContent = n === 1
      ? t("Uploading 1 file ({p}% complete)", { p })
      : t("Uploading {n} files ({p}% complete)", { n, p });
    ui.sub.textContent = t("The queue is being uploaded, it should take just a few seconds to complete.");
  }

  // --- Results ------------------------------------------------------------

  function finish() {
    if (phase !== "uploading") return;
    setPhase("done");
    const ok = batch.filter((i) => i.state === "done");
    const bad = batch.filter((i) => i.state !== "done");
    const report = bad.map((i) => i.error);
    const parts = [];
    if (ok.length) {
      ui.heading.textContent = t("Upload complete");
      ui.sub.textContent = doneSentence(ok);
      if (bad.length) {
        const more = el("button", { type: "button", class: "link-button" }, t("Learn more"));
        more.addEventListener("click", () => showList("[data-upload-report]", "[data-report-list]", report));
        parts.push(el("p", { class: "alert warn", "data-upload-note": "" }, t("Note: Some files couldn't be uploaded."), " ", more));
      }
      const images = [];
      const seen = new Set();
      for (const i of ok) {
        if (seen.has(i.image.id_encoded)) continue; // the same bytes twice: one image
        seen.add(i.image.id_encoded);
        images.push(embedOf(i.image));
      }
      mountCodes(ui.codes, images);
      albumTools(images.map((i) => i.id));
    } else {
      ui.heading.textContent = t("No files have been uploaded");
      ui.sub.textContent = t("Some errors have occurred and the system couldn't process your request.");
      parts.push(el("p", {}, t("Check the error report for more information.")));
      parts.push(el("h2", {}, t("Error report")));
      parts.push(el("ul", { class: "report" }, ...report.map((r) => el("li", {}, r))));
    }
    ui.summary.replaceChildren(...parts);
    ui.results.querySelectorAll("[data-album-create], [data-album-move]").forEach((b) => { b.hidden = !ok.length; });
    announce(ui.heading.textContent + ". " + ui.sub.textContent);
  }

  /** doneSentence is spec 6.4's sentence under "Upload complete". */
  function doneSentence(ok) {
    if (!cfg.loggedIn) {
      return cfg.signups
        ? t("You must create an account or sign in to save this content into your account.")
        : t("Sign in to save this content into your account.");
    }
    const albums = new Set(ok.map((i) => i.albumID));
    let target;
    if (albums.size === 1 && !albums.has("")) {
      const id = [...albums][0];
      const opt = ui.album && [...ui.album.options].find((o) => o.value === id);
      target = opt ? opt.textContent : t("{name}'s albums", { name: cfg.user });
    } else if (albums.size === 1) {
      target = t("{name}'s images", { name: cfg.user });
    } else {
      target = t("{name}'s albums", { name: cfg.user });
    }
    return q("[data-album-move]", box)
      ? t("Uploaded content added to {target}. You can create new album with the content just uploaded or move it to an existing album.", { target })
      : t("Uploaded content added to {target}. You can create new album with the content just uploaded.", { target });
  }

  /** embedOf turns an image of the upload answer into embed.js's shape. */
  function embedOf(img) {
    return {
      id: img.id_encoded,
      title: img.title || "",
      filename: img.filename,
      viewer: img.url_viewer,
      url: img.url,
      medium: img.medium ? img.medium.url : "",
      medium_filename: img.medium ? img.medium.filename : "",
      thumb: img.thumb.url,
      thumb_filename: img.thumb.filename,
      width: Number(img.width),
      height: Number(img.height),
      delete: img.delete_url || "",
    };
  }

  q("[data-upload-again]", box).addEventListener("click", () => {
    reset();
    ui.input.focus();
  });
  q("[data-upload-clear]", box).addEventListener("click", () => {
    if (phase === "queue") reset();
  });

  // --- Albums after the upload (spec 6.6) ----------------------------------

  let uploadedIDs = [];
  function albumTools(ids) { uploadedIDs = ids; }

  const albumDialog = q("[data-album-dialog]");
  const createBtn = q("[data-album-create]", box);
  if (albumDialog && createBtn) {
    const form = q("[data-album-form]", albumDialog);
    const err = q("[data-album-error]", albumDialog);
    const pw = q("[data-album-password]", albumDialog);
    const syncPassword = () => { pw.hidden = form.elements.privacy.value !== "password"; };
    form.elements.privacy.addEventListener("change", syncPassword);
    createBtn.addEventListener("click", () => {
      form.reset();
      err.hidden = true;
      syncPassword();
      albumDialog.showModal();
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = form.elements;
      const title = f.title.value.trim();
      if (!title) return showError(err, t("You must enter the album name."), f.title);
      const button = q("button[type=submit]", form);
      button.disabled = true;
      const r = await send("/albums", {
        title,
        description: f.description.value.trim(),
        privacy: f.privacy.value,
        password: f.privacy.value === "password" ? f.password.value : "",
        image_ids: uploadedIDs,
      });
      button.disabled = false;
      if (r.ok && r.data && r.data.album && r.data.album.url) {
        location.href = r.data.album.url;
        return;
      }
      showError(err, errorText(r));
    });
  }

  const moveDialog = q("[data-move-dialog]");
  const moveBtn = q("[data-album-move]", box);
  if (moveDialog && moveBtn) {
    const form = q("[data-move-form]", moveDialog);
    const err = q("[data-move-error]", moveDialog);
    const select = q("[data-move-select]", moveDialog);
    moveBtn.addEventListener("click", async () => {
      err.hidden = true;
      // The page's list may be old: another tab may have made albums.
      const r = await send("/albums.json", undefined, "GET");
      if (r.ok && r.data && Array.isArray(r.data.albums) && r.data.albums.length) {
        select.replaceChildren(...r.data.albums.map((a) => el("option", { value: a.id }, a.title)));
      }
      moveDialog.showModal();
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = q("button[type=submit]", form);
      button.disabled = true;
      const r = await send("/albums/move", { album_id: select.value, image_ids: uploadedIDs });
      button.disabled = false;
      if (r.ok && r.data && r.data.album && r.data.album.url) {
        location.href = r.data.album.url;
        return;
      }
      if (r.ok) {
        moveDialog.close();
        return;
      }
      showError(err, errorText(r));
    });
  }

  // --- Helpers ------------------------------------------------------------

  function setPhase(p) {
    phase = p;
    box.dataset.phase = p;
    ui.pick.hidden = p === "uploading" || p === "done";
    ui.queue.hidden = p === "pick";
    ui.hint.hidden = p !== "queue";
    ui.options.hidden = p !== "queue";
    ui.controls.hidden = p !== "queue";
    ui.running.hidden = p !== "uploading";
    ui.results.hidden = p !== "done";
    if (p === "pick" || p === "queue") {
      ui.heading.textContent = initialHeading;
      ui.sub.textContent = initialSub;
    }
    ui.start.textContent = items.length > 1 ? t("Upload {n} files", { n: items.length }) : t("Upload");
  }

  function announce(text) { ui.live.textContent = text; }

  function showList(dialogSel, listSel, lines) {
    const dialog = q(dialogSel);
    q(listSel, dialog).replaceChildren(...lines.map((l) => el("li", {}, l)));
    if (!dialog.open) dialog.showModal();
  }

  function showError(box, text, focus) {
    box.textContent = text;
    box.hidden = false;
    if (focus) focus.focus();
  }

  // Leaving the page would abort the uploads still running: ask first.
  window.addEventListener("beforeunload", (e) => {
    if (phase === "uploading") e.preventDefault();
  });

  // Buttons that close their dialog.
  document.addEventListener("click", (e) => {
    const b = e.target.closest("[data-dialog-close]");
    if (b) b.closest("dialog").close();
  });

  setPhase("pick");
}

/** shortName shortens a long file name in the middle, keeping its end. */
function shortName(name) {
  return name.length > 40 ? name.slice(0, 24) + "…" + name.slice(-12) : name;
}

/** formatSize is a byte count in decimal units, as Chevereto shows sizes. */
function formatSize(n) {
  if (n < 1000) return n + " B";
  if (n < 1e6) return (n / 1e3).toFixed(1).replace(/\.0$/, "") + " KB";
  return (n / 1e6).toFixed(1).replace(/\.0$/, "") + " MB";
}

/**
 * extractURLs picks the http(s) URLs out of text: plain lists, HTML
 * (src/href attributes) and BBCode ([img]...[/img], [url=...]) alike.
 */
export function extractURLs(text) {
  const found = String(text).replace(/\[\/?[a-z]+(=|\])/gi, " ").match(/https?:\/\/[^\s"'<>\[\]()]+/gi) || [];
  const out = [];
  for (let u of found) {
    u = u.replace(/[.,;:!?]+$/, "").replace(/&amp;/g, "&");
    if (!out.includes(u)) out.push(u);
  }
  return out;
}
