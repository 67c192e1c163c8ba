// The review queue's keyboard flow. Plain script, no build step, nothing loaded from the network.
// Enter accepts the value, typing a number replaces it (Enter saves the correction, Esc cancels),
// n marks "not stated", j/k move. Writes carry the token the reviewer entered (or the one handed over
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

async function decide(item, action, value) {
  const reviewer = store.getItem("nianbao-reviewer") || "";
  if (!reviewer) {
    say("Enter your name as reviewer first.", true);
    reviewerInput.focus();
    return;
  }
  const body = { action, reviewer, value: action === "correct" ? value : null };
  let data;
  try {
    data = await call("POST", `/fields/${item.dataset.field}/review`, body, true);
  } catch (error) {
    say(error.message.startsWith("401") || error.message.startsWith("403")
      ? `${error.message} (enter the server's token above)` : error.message, true);
    return;
  }
  const shown = data.field.value === null ? "—" : String(data.field.value);
  item.querySelector(".value").textContent = shown;
  item.classList.add("done", action);
  const section = item.closest("section.doc");
  section.querySelectorAll(`.row-context td[data-key="${item.dataset.key}"]`)
    .forEach((cell) => { cell.textContent = shown; });
  showDocumentBroken(item.dataset.doc, data.broken);
  openItems().filter((other) => other.dataset.doc === item.dataset.doc)
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

function onKey(event) {
  const target = event.target;
  if (target.classList && target.classList.contains("edit")) {
    onEditKey(event, target.closest("article.item"), target);
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
  if (event.key === "j" || event.key === "ArrowDown") move(1);
  else if (event.key === "k" || event.key === "ArrowUp") move(-1);
  else if (event.key === "Enter") decide(current, "accept", null);
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
  item.addEventListener("click", () => focusItem(item));
});
focusItem(openItems()[0]);
if (openItems().length) say("Ready.");
