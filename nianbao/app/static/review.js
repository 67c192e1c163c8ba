// The review queue's keyboard flow. Plain script, no build step, nothing loaded from the network.
// Enter accepts the value, typing a number replaces it (Enter saves the correction, Esc cancels),
// n marks "not stated", j/k move. A document whose agency or year is in doubt has an item of its own: Enter
// accepts them as shown, e (or a digit, for the year) edits them; m edits any document's agency and year.
// Writes carry the token the reviewer entered (or the one handed over
// in the page link as #token=…), kept in sessionStorage: for this tab only, never sent to other sites.
"use strict";

const store = window.sessionStorage;
const statusLine = document.getElementById("status");
const tokenInput = document.getElementById("token");
const reviewerInput = document.getElementById("reviewer");
let current = null;

function say(text, bad = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("bad", bad);
}

function takeTokenFromLink() {
  const found = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (found) {
    store.setItem("nianbao-token", decodeURIComponent(found[1]));
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
}

function bindIdentityInputs() {
  tokenInput.value = store.getItem("nianbao-token") || "";
  reviewerInput.value = store.getItem("nianbao-reviewer") || "";
  tokenInput.addEventListener("input", () => store.setItem("nianbao-token", tokenInput.value.trim()));
  reviewerInput.addEventListener("input", () => store.setItem("nianbao-reviewer", reviewerInput.value.trim()));
  document.getElementById("who").addEventListener("submit", (event) => event.preventDefault());
}

function openItems() {
  return Array.from(document.querySelectorAll("article.item:not(.done)"));
}

function focusItem(item) {
  if (!item) {
    current = null;
    say("The queue is empty: every document shown is done.");
    return;
  }
  if (current) current.classList.remove("current");
  current = item;
  item.classList.add("current");
  item.focus({ preventScroll: true });
  item.scrollIntoView({ block: "nearest" });
}

function move(step) {
  const items = openItems();
  if (!items.length) return focusItem(null);
  const at = items.indexOf(current);
  focusItem(items[Math.min(items.length - 1, Math.max(0, at + step))]);
}

function parseNumber(text) {
  const cleaned = text.replace(/[,，\s]/g, "");
  if (cleaned === "" || !/^-?\d*\.?\d+$/.test(cleaned)) return undefined;
  return Number(cleaned);
}

async function call(method, url, body, write) {
  const headers = { "Content-Type": "application/json" };
  if (write) headers["Authorization"] = "Bearer " + (store.getItem("nianbao-token") || "");
  const response = await fetch(url, { method, headers, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    throw new Error(`${response.status}: ${detail}`);
  }
  return data;
}

function showBroken(item, broken, prefix = "") {
  const box = item.querySelector(".check");
  const mine = broken.filter((b) => b.fields.includes(item.dataset.key));
  box.classList.toggle("bad", mine.length > 0);
  box.textContent = prefix + (mine.length
    ? "breaks " + mine.map((b) => `${b.identity} (${b.detail})`).join("; ")
    : "its identities hold");
}

function showDocumentBroken(documentId, broken) {
  const section = document.querySelector(`section.doc[data-doc="${documentId}"]`);
  const list = section.querySelector("ul.broken");
  list.replaceChildren(...broken.map((b) => {
    const li = document.createElement("li");
    li.textContent = `${b.identity}: ${b.detail}`;
    return li;
  }));
}

let checkTimer = null;
function checkAsTyped(item, input) {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(async () => {
    const value = parseNumber(input.value);
    if (value === undefined) {
      item.querySelector(".check").textContent = input.value.trim() ? "not a number" : "";
      return;
    }
    try {
      const data = await call("POST", `/documents/${item.dataset.doc}/check`,
                              { values: { [item.dataset.key]: value } }, false);
      showBroken(item, data.broken, `with ${value}: `);
    } catch (error) {
      say(error.message, true);
    }
  }, 120);
}

function theReviewer() {
  const reviewer = store.getItem("nianbao-reviewer") || "";
  if (!reviewer) {
    say("Enter your name as reviewer first.", true);
    reviewerInput.focus();
  }
  return reviewer;
}

function sayWriteError(error) {
  say(error.message.startsWith("401") || error.message.startsWith("403")
    ? `${error.message} (enter the server's token above)` : error.message, true);
}

async function decide(item, action, value) {
  const reviewer = theReviewer();
  if (!reviewer) return;
  const body = { action, reviewer, value: action === "correct" ? value : null };
  let data;
  try {
    data = await call("POST", `/fields/${item.dataset.field}/review`, body, true);
  } catch (error) {
    sayWriteError(error);
    return;
  }
  const shown = data.field.value === null ? "—" : String(data.field.value);
  item.querySelector(".value").textContent = shown;
  item.classList.add("done", action);
  const section = item.closest("section.doc");
  section.querySelectorAll(`.row-context td[data-key="${item.dataset.key}"]`)
    .forEach((cell) => { cell.textContent = shown; });
  showDocumentBroken(item.dataset.doc, data.broken);
  openItems().filter((other) => other.dataset.doc === item.dataset.doc && other.dataset.field)
    .forEach((other) => showBroken(other, data.broken));
  section.querySelector(".remaining").textContent = data.remaining ? `${data.remaining} left` : "done ✓";
  section.classList.toggle("complete", data.remaining === 0);
  say(`${item.dataset.key}: ${action.replace("_", " ")} → ${shown}`);
  const next = openItems().find((other) => other.compareDocumentPosition(item) & Node.DOCUMENT_POSITION_PRECEDING);
  focusItem(next || openItems()[0]);
}

function startEdit(item, first) {
  const input = item.querySelector(".edit");
  input.hidden = false;
  input.value = first;
  input.focus();
  checkAsTyped(item, input);
}

function stopEdit(item) {
  const input = item.querySelector(".edit");
  input.hidden = true;
  input.value = "";
  item.querySelector(".check").textContent = "";
  focusItem(item);
}

function onEditKey(event, item, input) {
  if (event.key === "Escape") {
    event.preventDefault();
    stopEdit(item);
  } else if (event.key === "Enter") {
    event.preventDefault();
    const value = parseNumber(input.value);
    if (value === undefined) {
      say("Type a number, or Esc to cancel.", true);
      return;
    }
    input.hidden = true;
    decide(item, "correct", value);
  }
}

// ---------------------------------------------------------------- a document's agency and year
function metaForm(section) {
  return section.querySelector("form.meta-edit");
}

function openMeta(section, field = ".meta-agency", first = null) {
  const form = metaForm(section);
  form.hidden = false;
  const input = form.querySelector(field);
  if (first !== null) input.value = first;
  input.focus();
  if (first === null) input.select();
}

function closeMeta(form) {
  const section = form.closest("section.doc");
  form.querySelector(".meta-agency").value = section.dataset.agency;
  form.querySelector(".meta-year").value = section.dataset.year;
  const item = form.closest("article.item");
  if (!item) form.hidden = true;
  focusItem(item || current || openItems()[0]);
}

// What the form asks for: a change is a correction (empty: unknown), an unchanged value in doubt is accepted.
function metaDecisions(form) {
  const section = form.closest("section.doc");
  const item = form.closest("article.meta-item");
  const doubted = item && !item.classList.contains("done") ? item.dataset.meta.split(" ") : [];
  const agency = form.querySelector(".meta-agency").value.trim() || null;
  const yearText = form.querySelector(".meta-year").value.trim();
  if (yearText && !/^\d{4}$/.test(yearText)) throw new Error("The year is four digits (or empty: unknown).");
  const year = yearText ? Number(yearText) : null;
  const was = { agency: section.dataset.agency || null, year: section.dataset.year ? Number(section.dataset.year) : null };
  const decisions = [];
  for (const [key, value] of [["agency", agency], ["year", year]]) {
    if (value === was[key]) {
      if (doubted.includes(key)) decisions.push({ key, action: "accept", value: null });
    } else {
      decisions.push({ key, action: value === null ? "not_stated" : "correct", value });
    }
  }
  return decisions;
}

function showMeta(section, meta, remaining) {
  section.dataset.agency = meta.agency ?? "";
  section.dataset.year = meta.year ?? "";
  section.querySelector(".meta-line").textContent =
    `${meta.agency ?? "?"} · ${meta.year ?? "?"} · template ${meta.format ?? "?"}`;
  const form = metaForm(section);
  form.querySelector(".meta-agency").value = section.dataset.agency;
  form.querySelector(".meta-year").value = section.dataset.year;
  const item = section.querySelector("article.meta-item");
  if (item) item.querySelector(".value").textContent = `${meta.agency ?? "—"} · ${meta.year ?? "—"}`;
  section.querySelector(".remaining").textContent = remaining ? `${remaining} left` : "done ✓";
  section.classList.toggle("complete", remaining === 0);
}

async function saveMeta(form) {
  const section = form.closest("section.doc");
  let decisions;
  try {
    decisions = metaDecisions(form);
  } catch (error) {
    say(error.message, true);
    return;
  }
  const item = form.closest("article.meta-item");
  if (!decisions.length) {
    say("agency and year unchanged");
    closeMeta(form);
    return;
  }
  const reviewer = theReviewer();
  if (!reviewer) return;
  let data;
  try {
    for (const { key, action, value } of decisions) {
      data = await call("POST", `/documents/${section.dataset.doc}/meta/${key}/review`,
                        { action, value, reviewer }, true);
    }
  } catch (error) {
    sayWriteError(error);
    return;
  }
  showMeta(section, data.meta, data.remaining);
  if (item) {
    item.classList.add("done", decisions.some((d) => d.action !== "accept") ? "correct" : "accept");
    const next = openItems().find((other) => other.compareDocumentPosition(item) & Node.DOCUMENT_POSITION_PRECEDING);
    focusItem(next || openItems()[0]);
  } else {
    form.hidden = true;
    focusItem(current || openItems()[0]);
  }
  const check = data.cross_year;
  say(`agency/year: ${data.meta.agency ?? "?"} · ${data.meta.year ?? "?"}; cross-year check: ` +
      `${check.pairs} pairs, ${check.breaks} breaks, ${check.ambiguous} ambiguous` +
      (check.breaks ? " (reload for the fields it flagged)" : ""));
}

function onMetaKey(event, form) {
  if (event.key === "Escape") {
    event.preventDefault();
    closeMeta(form);
  } else if (event.key === "Enter" && !event.isComposing) {  // not while an input method composes
    event.preventDefault();
    saveMeta(form);
  }
}

function onKey(event) {
  const target = event.target;
  if (target.classList && target.classList.contains("edit")) {
    onEditKey(event, target.closest("article.item"), target);
    return;
  }
  const form = target.closest ? target.closest("form.meta-edit") : null;
  if (form) {
    onMetaKey(event, form);
    return;
  }
  if (target === tokenInput || target === reviewerInput) {
    if (event.key === "Enter") {  // done with who I am: the keyboard goes to the queue
      event.preventDefault();
      focusItem(current || openItems()[0]);
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (!current) focusItem(openItems()[0]);
  if (!current) return;
  const section = current.closest("section.doc");
  if (event.key === "j" || event.key === "ArrowDown") move(1);
  else if (event.key === "k" || event.key === "ArrowUp") move(-1);
  else if (event.key === "m" || (event.key === "e" && !current.dataset.field)) openMeta(section);
  else if (!current.dataset.field) {  // the agency/year item
    if (event.key === "Enter") saveMeta(metaForm(section));
    else if (/^[0-9]$/.test(event.key)) openMeta(section, ".meta-year", event.key);
    else return;
  } else if (event.key === "Enter") decide(current, "accept", null);
  else if (event.key === "n") decide(current, "not_stated", null);
  else if (/^[0-9.\-]$/.test(event.key)) startEdit(current, event.key);
  else return;
  event.preventDefault();
}

takeTokenFromLink();
bindIdentityInputs();
document.addEventListener("keydown", onKey);
document.addEventListener("input", (event) => {
  if (event.target.classList.contains("edit")) checkAsTyped(event.target.closest("article.item"), event.target);
});
document.querySelectorAll("article.item").forEach((item) => {
  item.addEventListener("click", (event) => {
    if (!event.target.closest("form")) focusItem(item);
  });
});
document.querySelectorAll("form.meta-edit").forEach((form) => {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveMeta(form);
  });
});
focusItem(openItems()[0]);
if (openItems().length) say("Ready.");
