// Behaviour of every page: language switch, theme, local times, copy
// buttons and confirmations.
import { t, copyText, flash, formatTimes } from "./lib.js";

formatTimes();

for (const sel of document.querySelectorAll("select[data-autosubmit]")) {
  sel.addEventListener("change", () => {
    const back = sel.form.querySelector("input[name=back]");
    if (back) back.value = location.pathname + location.search;
    sel.form.submit();
  });
}

// Theme: automatic (the system's) -> dark -> light -> automatic. Kept in a
// cookie so the server renders the right theme without a flash.
const themeButton = document.querySelector("[data-theme-toggle]");
function showTheme() {
  if (!themeButton) return;
  const cur = document.documentElement.dataset.theme || "auto";
  themeButton.textContent = themeButton.dataset["label" + cur[0].toUpperCase() + cur.slice(1)];
}
if (themeButton) {
  showTheme();
  themeButton.addEventListener("click", () => {
    const next = { auto: "dark", dark: "light", light: "auto" }[document.documentElement.dataset.theme || "auto"];
    if (next === "auto") {
      delete document.documentElement.dataset.theme;
      document.cookie = "pb_theme=; Path=/; Max-Age=0; SameSite=Lax";
    } else {
      document.documentElement.dataset.theme = next;
      document.cookie = "pb_theme=" + next + "; Path=/; Max-Age=31536000; SameSite=Lax";
    }
    showTheme();
  });
}

// Copy buttons: <button data-copy="ID"> copies the value of element ID.
document.addEventListener("click", async (ev) => {
  const btn = ev.target.closest("[data-copy]");
  if (!btn) return;
  const target = document.getElementById(btn.dataset.copy);
  if (!target) return;
  const ok = await copyText(target.value !== undefined ? target.value : target.textContent);
  flash(btn, ok ? t("Copied") : t("Press Ctrl+C to copy"));
  if (!ok && target.select) target.select();
});

// Forms and buttons with data-confirm ask first.
document.addEventListener("submit", (ev) => {
  const msg = ev.target.dataset.confirm || (ev.submitter && ev.submitter.dataset.confirm);
  if (msg && !window.confirm(msg)) ev.preventDefault();
});

// Read-only code fields select themselves on focus for manual copying.
document.addEventListener("focusin", (ev) => {
  const f = ev.target;
  if ((f.tagName === "TEXTAREA" || f.tagName === "INPUT") && f.readOnly) f.select();
});
