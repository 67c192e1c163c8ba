// The review queue's keyboard flow. Plain script, no build step, nothing loaded from the network.
// Enter accepts the value, typing a number replaces it (Enter saves the correction, Esc cancels),
// n marks "not stated", j/k move. A broken identity is one item ahead of its fields: Enter (or a, from any of
// its fields) accepts all of them as printed, one decision; j goes into them to correct one. u or Ctrl+Z
// undoes the reviewer's last decision (the server appends an undo; the fields wait again). The counter
// shows what this tab decided and what waits in the store. A document whose agency or year is in doubt has
// an item of its own: Enter accepts them as shown, e (or a digit, for the year) edits them; m edits any
// document's agency and year.
// Writes carry the token the reviewer entered (or the one handed over
// in the page link as #token=…), kept in sessionStorage: for this tab only, never sent to other sites.
"use strict";

const store = window.sessionStorage;
const statusLine = document.getElementById("status");
const tokenInput = document.getElementById("token");
const reviewerInput = document.getElementById("reviewer");
const UNDO_KEY = "nianbao-decisions";  // this tab's decisions, newest last: what u takes back
const DONE_KEY = "nianbao-done";  // fields this tab decided, for the counter
const MAX_UNDO = 100;
const DECISION_CLASSES = ["done", "accept", "correct", "not_stated"];
let current = null;
let busy = false;  // a decision is on its way: another key must not decide the same item twice

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

// ---------------------------------------------------------------- what a decision changes on the page
function shown(value) {
  return value === null ? "—" : String(value);
}

function sectionOf(documentId) {
  return document.querySelector(`section.doc[data-doc="${documentId}"]`);
}

function setField(id, value, action) {
  // every place the field shows: its item, its table row, the members of the identities it is in
  document.querySelectorAll(`article.item[data-field="${id}"]`).forEach((item) => {
    item.querySelector(".value").textContent = shown(value);
    item.classList.remove(...DECISION_CLASSES);
    if (action) item.classList.add("done", action);
    item.closest("section.doc").querySelectorAll(`.row-context td[data-key="${item.dataset.key}"]`)
      .forEach((cell) => { cell.textContent = shown(value); });
  });
  document.querySelectorAll(`tr[data-member="${id}"] .member-value`)
    .forEach((cell) => { cell.textContent = shown(value); });
}

function showRemaining(documentId, remaining) {
  const section = sectionOf(documentId);
  section.querySelector(".remaining").textContent = remaining ? `${remaining} left` : "done ✓";
  section.classList.toggle("complete", remaining === 0);
}

function showGroups(documentId, groups) {
  const byIdentity = new Map(groups.map((g) => [g.identity, g]));
  sectionOf(documentId).querySelectorAll("article.group").forEach((head) => {
    const group = byIdentity.get(head.dataset.group);
    head.classList.remove(...DECISION_CLASSES);
    if (!group) {
      head.classList.add("done", "accept");  // nothing of it waits any more
      return;
    }
    head.querySelector(".formula").textContent = group.formula;
    for (const member of group.members) {
      const row = head.querySelector(`tr[data-member="${member.id}"]`);
      if (!row) continue;
      row.classList.toggle("pending", member.pending);
      row.querySelector(".member-value").textContent = shown(member.value);
    }
  });
}

async function refreshGroups(documentId) {
  if (!sectionOf(documentId).querySelector("article.group")) return;
  try {
    showGroups(documentId, await call("GET", `/documents/${documentId}/groups`));
  } catch (error) {
    say(error.message, true);
  }
}

// ---------------------------------------------------------------- the counter and the undo stack
function showCounter(waiting) {
  document.getElementById("done-count").textContent = store.getItem(DONE_KEY) || "0";
  if (waiting) document.getElementById("left-count").textContent = String(waiting.fields);
}

function countDone(fields) {
  store.setItem(DONE_KEY, String(Math.max(0, Number(store.getItem(DONE_KEY) || 0) + fields)));
  showCounter(null);
}

async function refreshCounter() {
  try {
    showCounter(await call("GET", "/queue/size"));
  } catch (error) {
    say(error.message, true);
  }
}

function decisions() {
  return JSON.parse(store.getItem(UNDO_KEY) || "[]");
}

function remember(fields) {
  const stack = decisions();
  stack.push(fields);
  store.setItem(UNDO_KEY, JSON.stringify(stack.slice(-MAX_UNDO)));
}

function nextAfter(item) {
  const after = (other) => other.compareDocumentPosition(item) & Node.DOCUMENT_POSITION_PRECEDING;
  return openItems().find(after) || openItems()[0];
}

// One decision at a time: a key pressed while one is on its way is not a second decision.
async function oneAtATime(work) {
  if (busy) {
    say("saving the last decision…");
    return;
  }
  busy = true;
  try {
    await work();
  } finally {
    busy = false;
  }
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
  setField(item.dataset.field, data.field.value, action);
  remember([Number(item.dataset.field)]);
  countDone(1);
  showDocumentBroken(item.dataset.doc, data.broken);
  openItems().filter((other) => other.dataset.doc === item.dataset.doc && other.dataset.field)
    .forEach((other) => showBroken(other, data.broken));
  showRemaining(item.dataset.doc, data.remaining);
  say(`${item.dataset.key}: ${action.replace("_", " ")} → ${shown(data.field.value)}`);
  focusItem(nextAfter(item));
  refreshCounter();
  refreshGroups(item.dataset.doc);
}

function showDecision(data) {
  showRemaining(data.document, data.remaining);
  showGroups(data.document, data.groups);
  showDocumentBroken(data.document, data.broken);
  showCounter(data.waiting);
}

async function acceptGroup(head) {
  const reviewer = theReviewer();
  if (!reviewer) return;
  let data;
  try {
    data = await call("POST", `/documents/${head.dataset.doc}/groups/accept`,
                      { identity: head.dataset.group, reviewer }, true);
  } catch (error) {
    sayWriteError(error);
    return;
  }
  data.fields.forEach((f) => setField(f.id, f.value, "accept"));
  remember(data.fields.map((f) => f.id));
  countDone(data.fields.length);
  showDecision(data);
  head.classList.add("done", "accept");
  say(`${head.querySelector(".formula").textContent}: ${data.fields.length} fields accepted as printed`);
  focusItem(nextAfter(head));
}

async function undoLast() {
  const stack = decisions();
  if (!stack.length) {
    say("nothing of yours to undo in this tab");
    return;
  }
  const reviewer = theReviewer();
  if (!reviewer) return;
  const fields = stack.pop();
  let data;
  try {
    data = await call("POST", "/reviews/undo", { fields, reviewer }, true);
  } catch (error) {
    if (error.message.startsWith("409")) store.setItem(UNDO_KEY, JSON.stringify(stack));  // it cannot be undone
    sayWriteError(error);
    return;
  }
  store.setItem(UNDO_KEY, JSON.stringify(stack));
  data.fields.forEach((f) => setField(f.id, f.value, null));
  countDone(-data.fields.length);
  showDecision(data);
  const items = fields.map((id) => document.querySelector(`article.item[data-field="${id}"]`));
  if (items.some((item) => !item)) {
    window.location.reload();  // decided before this page was loaded: only a reload shows them again
    return;
  }
  const head = items.length > 1 ? groupOf(items[0]) : null;  // a group taken back: its head again
  say(`undone: ${data.fields.map((f) => f.key).join(", ")} wait again`);
  focusItem(head && !head.classList.contains("done") ? head : items[0]);
}

function groupOf(item) {
  if (item.classList.contains("group")) return item;
  if (!item.dataset.group) return null;
  return item.closest("section.doc").querySelector(`article.group[data-group="${item.dataset.group}"]`);
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
    oneAtATime(() => decide(item, "correct", value));
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
    focusItem(nextAfter(item));
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

function onQueueKey(event) {
  // on an item (not in an input): u or Ctrl+Z undoes; a key that decides waits for the last decision
  const section = current.closest("section.doc");
  const head = groupOf(current);
  if (event.key === "u") oneAtATime(undoLast);
  else if (event.key === "j" || event.key === "ArrowDown") move(1);
  else if (event.key === "k" || event.key === "ArrowUp") move(-1);
  else if (event.key === "m" || (event.key === "e" && !current.dataset.field && !head)) openMeta(section);
  else if (head && (event.key === "a" || (event.key === "Enter" && current === head))) {
    oneAtATime(() => acceptGroup(head));
  } else if (current === head) {
    if (/^[0-9.\-n]$/.test(event.key)) say("a broken identity: Enter accepts it as printed, j goes to its fields");
    else return;
  } else if (!current.dataset.field) {  // the agency/year item
    if (event.key === "Enter") saveMeta(metaForm(section));
    else if (/^[0-9]$/.test(event.key)) openMeta(section, ".meta-year", event.key);
    else return;
  } else if (event.key === "Enter") oneAtATime(() => decide(current, "accept", null));
  else if (event.key === "n") oneAtATime(() => decide(current, "not_stated", null));
  else if (/^[0-9.\-]$/.test(event.key)) startEdit(current, event.key);
  else return;
  event.preventDefault();
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
  if ((event.ctrlKey || event.metaKey) && event.key === "z" && !event.shiftKey) {
    event.preventDefault();
    oneAtATime(undoLast);
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (!current) focusItem(openItems()[0]);
  if (current) onQueueKey(event);
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
// The band above a crop exists only where the cell's table header is known: drop the others.
document.querySelectorAll("img.above").forEach((img) => {
  img.addEventListener("error", () => img.remove());
  if (img.complete && img.naturalWidth === 0) img.remove();
});
showCounter(null);
focusItem(openItems()[0]);
if (openItems().length) say("Ready.");
