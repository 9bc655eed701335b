// dapkit show --html: the viewer's script.
//
// Reads the data blocks (see trace/src/html/mod.rs for their lines), then shows the
// records as a sequence view that renders only the rows in sight. Every text from the
// trace goes into the page with textContent or as a form value, never as markup.
(function () {
  "use strict";

  // Fields of a record's first array (read for every record when the page opens) ...
  const N = 0, OFF = 1, DIR = 2, CLIENT = 3, KIND = 4, NAME = 5, ANSWER = 6, TONE = 7;
  // ... and of its second (read when the record is shown: `more(i)`).
  const TIME = 0, SEQ = 1, RSEQ = 2, DETAIL = 3, BYTES = 4;
  const KINDS = ["request", "response", "event", "other", "invalid"];
  const ROW = 22;
  const INIT_COMMANDS = new Set([
    "initialize", "setBreakpoints", "setFunctionBreakpoints", "setExceptionBreakpoints",
    "setDataBreakpoints", "setInstructionBreakpoints", "configurationDone", "launch", "attach",
  ]);

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // The data blocks write `<` as `&lt;` and `&` as `&amp;`; this undoes exactly that.
  function unescapeData(s) {
    return s.indexOf("&") < 0 ? s : s.replace(/&lt;|&amp;/g, (m) => (m === "&lt;" ? "<" : "&"));
  }

  // ---- data ---------------------------------------------------------------------------
  const scriptStart = performance.now();
  const headerData = JSON.parse(unescapeData($("dapkit-header").textContent));
  const recordsEl = $("dapkit-records");
  const lines = unescapeData(recordsEl.textContent).split("\n");
  const metaText = [];
  const moreText = [];
  const raws = [];
  const findings = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    if (line.charCodeAt(0) === 123 /* { */) {
      findings.push(JSON.parse(line).finding);
      continue;
    }
    const tab = line.indexOf("\t");
    const tab2 = line.indexOf("\t", tab + 1);
    metaText.push(line.slice(0, tab));
    moreText.push(line.slice(tab + 1, tab2));
    raws.push(line.slice(tab2 + 1));
  }
  const R = JSON.parse("[" + metaText.join(",") + "]");
  metaText.length = 0;
  const count = R.length;
  const moreOf = new Array(count);
  function more(i) {
    let m = moreOf[i];
    if (m === undefined) m = moreOf[i] = JSON.parse(moreText[i]);
    return m;
  }
  const dataRead = performance.now();
  const indexOfNumber = new Map();
  for (let i = 0; i < count; i++) indexOfNumber.set(R[i][N], i);

  // Responses of requests, findings of records.
  const responseOf = new Int32Array(count).fill(-1);
  for (let i = 0; i < count; i++) {
    const a = R[i][ANSWER];
    if (a && typeof a[0] === "number") {
      const q = indexOfNumber.get(a[0]);
      if (q !== undefined) responseOf[q] = i;
    }
  }
  const findingsOf = new Map();
  const general = [];
  let errors = 0, warnings = 0;
  for (const f of findings) {
    if (f.severity === "error") errors++; else warnings++;
    const i = f.record !== undefined ? indexOfNumber.get(f.record) : undefined;
    if (i === undefined) { general.push(f); continue; }
    if (!findingsOf.has(i)) findingsOf.set(i, []);
    findingsOf.get(i).push(f);
  }

  // Lanes: one per client, then the adapter.
  const clients = [...new Set(R.map((r) => r[CLIENT]))].sort((a, b) => a - b);
  if (clients.length === 0) clients.push(0);
  const laneOf = new Map(clients.map((c, k) => [c, k]));
  const adapterLane = clients.length;
  const laneCount = clients.length + 1;
  const laneWidth = laneCount <= 2 ? 120 : Math.max(64, Math.min(110, Math.floor(720 / laneCount)));
  const lanesWidth = laneCount * laneWidth;
  document.documentElement.style.setProperty("--lanes-width", lanesWidth + "px");
  const laneX = (k) => Math.round((k + 0.5) * laneWidth);
  const clientName = (c) => (clients.length === 1 && c === 0 ? "client" : "client " + c);

  // ---- formatting ---------------------------------------------------------------------
  function latency(us) {
    return us >= 1e6 ? (us / 1e6).toFixed(2) + " s" : (us / 1e3).toFixed(1) + " ms";
  }
  function offset(us) {
    const s = Math.floor(us / 1e6);
    const ms = Math.floor(us / 1e3) % 1000;
    return s + "." + String(ms).padStart(3, "0");
  }
  function plural(n, what) {
    return n + " " + what + (n === 1 ? "" : "s");
  }

  // The text of a record: its JSON as sent, or its bytes decoded (lossily) as UTF-8.
  function textOf(i) {
    const b = more(i)[BYTES];
    if (!b) return raws[i];
    try {
      const bin = atob(b[0]);
      const bytes = new Uint8Array(bin.length);
      for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
      return new TextDecoder("utf-8").decode(bytes);
    } catch (e) {
      return b[0];
    }
  }

  // Re-indents JSON text token by token, keeping every token as written (numbers and
  // string escapes stay as sent). Returns [class, text] pieces; null when it is not JSON.
  function prettyTokens(src) {
    const out = [];
    let depth = 0;
    let i = 0;
    const nl = () => "\n" + "  ".repeat(depth);
    let expectKey = false;
    const stack = [];
    while (i < src.length) {
      const c = src[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") { i++; continue; }
      if (c === "{" || c === "[") {
        // Empty containers stay on one line.
        let j = i + 1;
        while (j < src.length && " \t\r\n".includes(src[j])) j++;
        const close = c === "{" ? "}" : "]";
        if (src[j] === close) { out.push(["", c + close]); i = j + 1; continue; }
        stack.push(c);
        depth++;
        out.push(["", c + nl()]);
        expectKey = c === "{";
        i++;
        continue;
      }
      if (c === "}" || c === "]") {
        stack.pop();
        depth = Math.max(0, depth - 1);
        out.push(["", nl() + c]);
        i++;
        continue;
      }
      if (c === ",") {
        out.push(["", "," + nl()]);
        expectKey = stack[stack.length - 1] === "{";
        i++;
        continue;
      }
      if (c === ":") { out.push(["", ": "]); i++; continue; }
      if (c === '"') {
        let j = i + 1;
        while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
        out.push([expectKey ? "k" : "s", src.slice(i, j + 1)]);
        expectKey = false;
        i = j + 1;
        continue;
      }
      let j = i;
      while (j < src.length && !" \t\r\n,:{}[]\"".includes(src[j])) j++;
      if (j === i) return null;
      const word = src.slice(i, j);
      out.push([/^[-0-9]/.test(word) ? "n" : "l", word]);
      i = j;
    }
    return out;
  }

  function prettyInto(pre, text) {
    let json = true;
    try { JSON.parse(text); } catch (e) { json = false; }
    const tokens = json && text.length <= 400000 ? prettyTokens(text) : null;
    if (!tokens) {
      pre.textContent = json ? JSON.stringify(JSON.parse(text), null, 2) : text;
      return;
    }
    const frag = document.createDocumentFragment();
    let plain = "";
    for (const [cls, t] of tokens) {
      if (!cls) { plain += t; continue; }
      if (plain) { frag.appendChild(document.createTextNode(plain)); plain = ""; }
      frag.appendChild(el("span", cls, t));
    }
    if (plain) frag.appendChild(document.createTextNode(plain));
    pre.appendChild(frag);
  }

  // ---- header and overview ------------------------------------------------------------
  const header = headerData.header || {};
  $("title").textContent = headerData.title || "trace";
  document.title = (headerData.title || "trace") + " — dapkit";
  const first = count ? R[0][OFF] : 0;
  const last = count ? R[count - 1][OFF] : 0;
  {
    const facts = $("facts");
    const add = (label, value, cls) => {
      const s = el("span", cls);
      s.appendChild(document.createTextNode(label + " "));
      s.appendChild(el("b", null, value));
      facts.appendChild(s);
    };
    add("records", count);
    add("duration", latency(Math.max(0, last - first)));
    if (count) add("from", more(0)[TIME]);
    const adapter = header.adapter;
    if (adapter && typeof adapter === "object") {
      const v = adapter.command ? adapter.command.join(" ") : JSON.stringify(adapter);
      add("adapter", v);
    }
    if (header.tool) add("recorded by", header.tool);
    if (clients.length > 1) add("clients", clients.length);
    if (header.redacted) add("secrets", "redacted");
    add("errors", errors, errors ? "bad" : "");
    add("warnings", warnings, warnings ? "warn" : "");
  }

  // Counts and latencies per command and event.
  const perCommand = new Map();
  const perEvent = new Map();
  for (let i = 0; i < count; i++) {
    const r = R[i];
    const name = r[NAME];
    if (r[KIND] === 2) {
      perEvent.set(name, (perEvent.get(name) || 0) + 1);
    } else if ((r[KIND] === 0 || r[KIND] === 1) && name !== null) {
      let s = perCommand.get(name);
      if (!s) { s = { requests: 0, failed: 0, lat: [] }; perCommand.set(name, s); }
      if (r[KIND] === 0) s.requests++;
      else {
        if (r[TONE] === 2) s.failed++;
        const a = r[ANSWER];
        if (a && typeof a[0] === "number") s.lat.push(a[1]);
      }
    }
  }
  function median(sorted) {
    const n = sorted.length;
    return n % 2 ? sorted[(n - 1) / 2] : Math.round((sorted[n / 2 - 1] + sorted[n / 2]) / 2);
  }
  {
    const table = $("commands");
    const head = table.insertRow();
    for (const [t, c] of [["command", "name"], ["requests"], ["failed"], ["median"], ["worst"], [""]]) {
      const th = el("th", c || "", t);
      head.appendChild(th);
    }
    let maxWorst = 1;
    const rows = [...perCommand.entries()].sort((a, b) => b[1].requests - a[1].requests || (a[0] < b[0] ? -1 : 1));
    for (const [, s] of rows) {
      s.lat.sort((a, b) => a - b);
      if (s.lat.length) maxWorst = Math.max(maxWorst, s.lat[s.lat.length - 1]);
    }
    const scale = (us) => Math.max(2, Math.round(180 * Math.log10(1 + us / 10) / Math.log10(1 + maxWorst / 10)));
    for (const [name, s] of rows) {
      const tr = table.insertRow();
      tr.dataset.command = name;
      const td = el("td", "name");
      const a = el("a", null, name);
      a.addEventListener("click", () => setFilter({ name: "c:" + name }));
      td.appendChild(a);
      tr.appendChild(td);
      tr.appendChild(el("td", null, s.requests));
      tr.appendChild(el("td", s.failed ? "bad" : "", s.failed || ""));
      const med = s.lat.length ? median(s.lat) : null;
      const worst = s.lat.length ? s.lat[s.lat.length - 1] : null;
      tr.appendChild(el("td", "median", med === null ? "" : latency(med)));
      tr.appendChild(el("td", "worst", worst === null ? "" : latency(worst)));
      const chart = el("td", "chart");
      if (med !== null) {
        const m = el("div", "bar median"); m.style.width = scale(med) + "px"; chart.appendChild(m);
        const w = el("div", "bar worst"); w.style.width = scale(worst) + "px"; chart.appendChild(w);
      }
      tr.appendChild(chart);
    }
  }
  {
    const table = $("events");
    const head = table.insertRow();
    head.appendChild(el("th", "name", "event"));
    head.appendChild(el("th", null, "count"));
    for (const [name, n] of [...perEvent.entries()].sort((a, b) => b[1] - a[1])) {
      const tr = table.insertRow();
      const td = el("td", "name");
      const a = el("a", null, name);
      a.addEventListener("click", () => setFilter({ name: "e:" + name }));
      td.appendChild(a);
      tr.appendChild(td);
      tr.appendChild(el("td", null, n));
    }
  }
  function findingText(f) {
    let t = f.rule;
    if (f.record !== undefined) t += " · #" + f.record;
    else if (f.line !== undefined) t += " · line " + f.line;
    if (f.command) t += " " + f.command;
    return t + ": " + f.message;
  }
  function findingItem(f, clickable) {
    const li = el("li");
    li.appendChild(el("span", "sev-" + f.severity, f.severity));
    li.appendChild(document.createTextNode(" " + findingText(f)));
    li.title = f.message;
    if (clickable && f.record !== undefined) li.addEventListener("click", () => reveal(indexOfNumber.get(f.record)));
    return li;
  }
  {
    const list = $("findings");
    const shown = findings.slice(0, 300);
    for (const f of shown) list.appendChild(findingItem(f, true));
    if (findings.length > shown.length) list.appendChild(el("li", "none", "… and " + (findings.length - shown.length) + " more (use “problems only”)"));
    if (!findings.length) list.appendChild(el("li", "none", "none: the trace follows the protocol"));
  }

  // ---- filters ------------------------------------------------------------------------
  const state = { dir: "", name: "", client: "", q: "", init: false, problems: false };
  {
    const sel = $("f-name");
    const group = (label, names, prefix) => {
      if (!names.length) return;
      const g = el("optgroup");
      g.label = label;
      for (const n of names.sort()) {
        const o = el("option", null, n);
        o.value = prefix + n;
        g.appendChild(o);
      }
      sel.appendChild(g);
    };
    group("commands", [...perCommand.keys()], "c:");
    group("events", [...perEvent.keys()], "e:");
    const cs = $("f-client");
    for (const c of clients) {
      const o = el("option", null, clientName(c));
      o.value = String(c);
      cs.appendChild(o);
    }
    if (clients.length < 2) $("f-client-label").hidden = true;
  }

  // The end of each client's initialization: its first launch/attach and configurationDone answers.
  const initEnd = new Map();
  {
    const seen = new Map();
    for (let i = 0; i < count; i++) {
      const r = R[i];
      if (r[KIND] !== 1) continue;
      const c = r[CLIENT];
      if (!seen.has(c)) seen.set(c, { start: -1, done: -1 });
      const s = seen.get(c);
      if ((r[NAME] === "launch" || r[NAME] === "attach") && s.start < 0) s.start = i;
      if (r[NAME] === "configurationDone" && s.done < 0) s.done = i;
    }
    for (const [c, s] of seen) if (s.start >= 0) initEnd.set(c, Math.max(s.start, s.done));
  }
  function inInit(i) {
    const r = R[i];
    const end = initEnd.get(r[CLIENT]);
    if (end !== undefined && i > end) return false;
    if (r[KIND] === 2) return r[NAME] === "initialized";
    return (r[KIND] === 0 || r[KIND] === 1) && INIT_COMMANDS.has(r[NAME]);
  }
  function isProblem(i) {
    const r = R[i];
    return r[TONE] === 2 || r[TONE] === 4 || findingsOf.has(i);
  }

  let view = new Int32Array(0);
  function applyFilters() {
    const dir = state.dir === "" ? -1 : Number(state.dir);
    const client = state.client === "" ? null : Number(state.client);
    let kindSet = null, name = null;
    if (state.name) {
      name = state.name.slice(2);
      kindSet = state.name[0] === "e" ? [2] : [0, 1];
    }
    const q = state.q.trim();
    const re = q ? new RegExp(q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i") : null;
    const out = new Int32Array(count);
    let n = 0;
    for (let i = 0; i < count; i++) {
      const r = R[i];
      if (dir >= 0 && r[DIR] !== dir) continue;
      if (client !== null && r[CLIENT] !== client) continue;
      if (name !== null && (r[NAME] !== name || !kindSet.includes(r[KIND]))) continue;
      if (state.init && !inInit(i)) continue;
      if (state.problems && !isProblem(i)) continue;
      if (re && !(re.test(raws[i]) || re.test(moreText[i]) || (r[NAME] !== null && re.test(r[NAME])) || (raws[i] === "" && re.test(textOf(i))))) continue;
      out[n++] = i;
    }
    view = out.subarray(0, n);
    positionOf = null;
    for (const e of rendered.values()) e.remove();
    rendered.clear();
    $("shown").textContent = n === count ? plural(count, "record") : n + " of " + plural(count, "record") + " shown";
    syncControls();
    layout();
  }
  function syncControls() {
    $("f-dir").value = state.dir;
    $("f-name").value = state.name;
    $("f-client").value = state.client;
    if ($("f-q").value !== state.q) $("f-q").value = state.q;
    $("f-init").setAttribute("aria-pressed", String(state.init));
    $("f-problems").checked = state.problems;
  }
  function setFilter(changes) {
    Object.assign(state, changes);
    applyFilters();
    scroller.scrollTop = 0;
    render();
  }
  $("f-dir").addEventListener("change", (e) => setFilter({ dir: e.target.value }));
  $("f-name").addEventListener("change", (e) => setFilter({ name: e.target.value }));
  $("f-client").addEventListener("change", (e) => setFilter({ client: e.target.value }));
  let searchTimer = 0;
  $("f-q").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    const v = e.target.value;
    searchTimer = setTimeout(() => setFilter({ q: v }), 150);
  });
  $("f-init").addEventListener("click", () => setFilter({ init: !state.init }));
  $("f-problems").addEventListener("change", (e) => setFilter({ problems: e.target.checked }));
  $("f-clear").addEventListener("click", () => setFilter({ dir: "", name: "", client: "", q: "", init: false, problems: false }));

  // ---- the sequence view --------------------------------------------------------------
  const scroller = $("scroller");
  const spacer = $("spacer");
  const rowsEl = $("rows");
  {
    const head = $("lanes-head");
    head.appendChild(el("div", "num", "#"));
    head.appendChild(el("div", "time", "time s"));
    const lanes = el("div", "lanes");
    for (let k = 0; k < laneCount; k++) {
      const name = el("span", "lane-name", k === adapterLane ? "adapter" : clientName(clients[k]));
      name.style.left = laneX(k) + "px";
      lanes.appendChild(name);
    }
    head.appendChild(lanes);
    head.appendChild(el("div", "summary", "message"));
  }

  const expanded = new Map(); // record index → extra height in px (measured)
  let expandedList = []; // [view position, extra height], by position
  let positionOf = null; // record index → view position (built when needed)
  let selected = -1;

  function viewPosition(i) {
    if (!positionOf) {
      positionOf = new Map();
      for (let p = 0; p < view.length; p++) positionOf.set(view[p], p);
    }
    return positionOf.get(i);
  }
  function layout() {
    expandedList = [];
    for (const [i, h] of expanded) {
      const p = viewPosition(i);
      if (p !== undefined) expandedList.push([p, h]);
    }
    expandedList.sort((a, b) => a[0] - b[0]);
    let extra = 0;
    for (const [, h] of expandedList) extra += h;
    spacer.style.height = view.length * ROW + extra + "px";
  }
  function topOf(p) {
    let y = p * ROW;
    for (const [q, h] of expandedList) {
      if (q < p) y += h; else break;
    }
    return y;
  }
  function positionAt(y) {
    let extra = 0;
    for (const [q, h] of expandedList) {
      const top = q * ROW + extra;
      if (y < top) break;
      if (y < top + ROW + h) return q;
      extra += h;
    }
    return Math.floor((y - extra) / ROW);
  }

  const rendered = new Map(); // record index → element
  function render() {
    const top = scroller.scrollTop;
    const height = scroller.clientHeight || 600;
    const from = Math.max(0, positionAt(top) - 5);
    const to = Math.min(view.length, positionAt(top + height) + 6);
    const want = new Set();
    for (let p = from; p < to; p++) want.add(view[p]);
    for (const [i, e] of rendered) {
      if (!want.has(i)) { e.remove(); rendered.delete(i); }
    }
    const pair = selected >= 0 ? pairOf(selected) : -1;
    let remeasure = false;
    for (let p = from; p < to; p++) {
      const i = view[p];
      let e = rendered.get(i);
      if (!e) {
        e = buildItem(i);
        rendered.set(i, e);
        rowsEl.appendChild(e);
      }
      e.style.top = topOf(p) + "px";
      e.classList.toggle("selected", i === selected);
      e.classList.toggle("paired", i === pair);
      if (expanded.has(i)) {
        const box = e.querySelector(".detail-box");
        const h = box ? box.offsetHeight + 6 : 0;
        if (h && h !== expanded.get(i)) { expanded.set(i, h); remeasure = true; }
      }
    }
    if (remeasure) {
      layout();
      for (let p = from; p < to; p++) {
        const e = rendered.get(view[p]);
        if (e) e.style.top = topOf(p) + "px";
      }
    }
  }
  let frame = 0;
  scroller.addEventListener("scroll", () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
  });
  window.addEventListener("resize", () => render());

  function pairOf(i) {
    const a = R[i][ANSWER];
    if (a && typeof a[0] === "number") {
      const q = indexOfNumber.get(a[0]);
      return q === undefined ? -1 : q;
    }
    return responseOf[i];
  }

  function jump(text, target) {
    const a = el("a", "jump", text);
    a.addEventListener("click", (ev) => { ev.stopPropagation(); reveal(target); });
    return a;
  }

  function buildItem(i) {
    const r = R[i];
    const m = more(i);
    const item = el("div", "item");
    item.dataset.n = r[N];
    if (r[TONE] === 2) item.classList.add("failed");
    if (r[TONE] === 4) item.classList.add("invalid");
    const row = el("div", "row");
    row.appendChild(el("div", "num", r[N]));
    const time = el("div", "time");
    const p = viewPosition(i);
    if (p > 0) {
      const gap = r[OFF] - R[view[p - 1]][OFF];
      if (gap >= 100000) time.appendChild(el("span", "gap", "+" + (gap >= 1e6 ? (gap / 1e6).toFixed(1) + "s" : Math.round(gap / 1e3) + "ms")));
    }
    time.appendChild(document.createTextNode(offset(r[OFF])));
    time.title = m[TIME];
    row.appendChild(time);

    const lanes = el("div", "lanes");
    for (let k = 0; k < laneCount; k++) {
      const l = el("div", "lane");
      l.style.left = laneX(k) + "px";
      lanes.appendChild(l);
    }
    const clientX = laneX(laneOf.has(r[CLIENT]) ? laneOf.get(r[CLIENT]) : 0);
    const adapterX = laneX(adapterLane);
    const toAdapter = r[DIR] === 0;
    const arrow = el("div", "arrow tone-" + r[TONE] + (toAdapter ? " right" : " left") + (r[KIND] === 2 ? " event" : ""));
    arrow.style.left = Math.min(clientX, adapterX) + 6 + "px";
    arrow.style.width = Math.abs(adapterX - clientX) - 14 + "px";
    if (r[KIND] === 2) arrow.appendChild(el("span", "dot"));
    arrow.title = KINDS[r[KIND]] + (toAdapter ? ", client → adapter" : ", adapter → client");
    lanes.appendChild(arrow);
    row.appendChild(lanes);

    const s = el("div", "summary");
    const seq = r[KIND] === 1 ? m[RSEQ] : m[SEQ];
    s.appendChild(el("span", "seq", seq === null ? "" : seq));
    if (clients.length > 1) s.appendChild(el("span", "client", clientName(r[CLIENT])));
    const label = r[KIND] === 2 ? "event " + r[NAME] : r[KIND] === 4 ? "invalid" : (r[NAME] === null ? KINDS[r[KIND]] : r[NAME]);
    s.appendChild(el("span", "name tone-" + r[TONE], label));
    const a = r[ANSWER];
    if (a && typeof a[0] === "number") {
      const b = el("span", "badge latency");
      b.appendChild(jump("← #" + a[0], indexOfNumber.get(a[0])));
      b.appendChild(document.createTextNode(" " + latency(a[1])));
      b.dataset.latencyUs = a[1];
      s.appendChild(b);
    } else if (a) {
      s.appendChild(el("span", "badge sev-error", a[0] === "duplicate" ? "duplicate of #" + a[1] : "answers no request"));
    } else if (r[KIND] === 0) {
      const q = responseOf[i];
      if (q >= 0) {
        const b = el("span", "badge latency");
        b.appendChild(jump("→ #" + R[q][N], q));
        b.appendChild(document.createTextNode(" " + latency(R[q][ANSWER][1])));
        s.appendChild(b);
      } else {
        s.appendChild(el("span", "badge latency pending", "no answer"));
      }
    }
    const fs = findingsOf.get(i);
    if (fs) {
      const worst = fs.some((f) => f.severity === "error") ? "error" : "warning";
      const b = el("span", "badge sev-" + worst, fs.length === 1 ? fs[0].rule : plural(fs.length, "finding"));
      b.title = fs.map(findingText).join("\n");
      s.appendChild(b);
    }
    s.appendChild(el("span", "detail", m[DETAIL]));
    row.appendChild(s);
    row.addEventListener("click", () => { select(i); toggle(i); });
    item.appendChild(row);
    if (expanded.has(i)) item.appendChild(buildDetail(i));
    return item;
  }

  function copy(text, button) {
    const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = button.dataset.label; }, 1200); };
    const fallback = () => {
      const t = el("textarea");
      t.value = text;
      document.body.appendChild(t);
      t.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* the text is in the box below */ }
      t.remove();
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  }

  function buildDetail(i) {
    const r = R[i];
    const m = more(i);
    const text = textOf(i);
    const box = el("div", "detail-box");
    box.addEventListener("click", (ev) => ev.stopPropagation());
    const bar = el("div", "bar-top");
    bar.appendChild(el("span", null, "record #" + r[N]));
    bar.appendChild(el("span", null, m[TIME]));
    bar.appendChild(el("span", null, (r[DIR] === 0 ? clientName(r[CLIENT]) + " → adapter" : "adapter → " + clientName(r[CLIENT]))));
    const enc = new TextEncoder().encode(text).length;
    bar.appendChild(el("span", null, plural(enc, "byte")));
    const q = pairOf(i);
    if (q >= 0) {
      const isResponse = r[KIND] === 1;
      const lat = isResponse ? r[ANSWER][1] : R[q][ANSWER][1];
      const span = el("span");
      span.appendChild(document.createTextNode(isResponse ? "answers " : "answered by "));
      span.appendChild(jump("#" + R[q][N], q));
      span.appendChild(document.createTextNode((isResponse ? ", " : " after ") + latency(lat)));
      bar.appendChild(span);
    }
    const button = el("button", "copy", "Copy exact text");
    button.type = "button";
    button.dataset.label = button.textContent;
    button.addEventListener("click", () => copy(text, button));
    bar.appendChild(button);
    box.appendChild(bar);
    const fs = findingsOf.get(i);
    if (fs) {
      const list = el("ul", "findings");
      for (const f of fs) list.appendChild(findingItem(f, false));
      box.appendChild(list);
    }
    if (m[BYTES] && m[BYTES][1]) box.appendChild(el("div", "error-text", m[BYTES][1]));
    const pre = el("pre", "pretty");
    prettyInto(pre, text);
    box.appendChild(pre);
    const ex = el("details", "exact");
    ex.appendChild(el("summary", null, m[BYTES] ? "Exact bytes (base64)" : "Exact text, as sent"));
    const ta = el("textarea", "exact");
    ta.readOnly = true;
    ta.value = m[BYTES] ? m[BYTES][0] : text;
    ex.appendChild(ta);
    ex.addEventListener("toggle", () => render());
    box.appendChild(ex);
    return box;
  }

  function refresh(i) {
    const e = rendered.get(i);
    if (e) { e.remove(); rendered.delete(i); }
  }
  function toggle(i) {
    if (expanded.has(i)) expanded.delete(i); else expanded.set(i, 200);
    refresh(i);
    layout();
    render();
  }
  function select(i) {
    const old = selected;
    selected = i;
    for (const k of [old, i]) if (k >= 0) refresh(k);
    render();
  }
  // Shows record i: clears filters that hide it, scrolls to it and selects it.
  function reveal(i) {
    if (i === undefined || i < 0) return;
    if (viewPosition(i) === undefined) {
      Object.assign(state, { dir: "", name: "", client: "", q: "", init: false, problems: false });
      applyFilters();
    }
    const p = viewPosition(i);
    const y = topOf(p);
    if (y < scroller.scrollTop || y + ROW > scroller.scrollTop + scroller.clientHeight) {
      scroller.scrollTop = Math.max(0, y - scroller.clientHeight / 3);
    }
    select(i);
  }
  scroller.addEventListener("keydown", (ev) => {
    if (!view.length) return;
    const p = selected >= 0 ? viewPosition(selected) : undefined;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      const np = p === undefined ? 0 : Math.max(0, Math.min(view.length - 1, p + (ev.key === "ArrowDown" ? 1 : -1)));
      reveal(view[np]);
      ev.preventDefault();
    } else if (ev.key === "Enter" && selected >= 0) {
      toggle(selected);
      ev.preventDefault();
    }
  });

  // ---- start: filters from the address (?dir=1&name=c:threads&q=…&init=1&open=12) ------
  const params = new URLSearchParams(location.search);
  for (const k of ["dir", "name", "client", "q"]) if (params.has(k)) state[k] = params.get(k);
  state.init = params.get("init") === "1";
  state.problems = params.get("problems") === "1";
  applyFilters();
  render();
  for (const n of params.getAll("open")) {
    const i = indexOfNumber.get(Number(n));
    if (i !== undefined) { reveal(i); toggle(i); }
  }
  const interactive = performance.now();
  document.documentElement.dataset.interactiveMs = interactive.toFixed(1);
  document.documentElement.dataset.timings = "script start " + scriptStart.toFixed(0) + " ms, data read " + dataRead.toFixed(0) + " ms";

  // A measurement (?measure=1) needs the marks, not the data, in the document.
  if (params.get("measure") === "1") recordsEl.remove();

  // ---- test hook (?test=1): a report of what is on screen, written into the page ------
  if (params.get("test") === "1") {
    window.addEventListener("load", () => setTimeout(report, 50));
  }
  function report() {
    const seen = new Map();
    const collect = () => {
      for (const e of rowsEl.children) {
        const n = Number(e.dataset.n);
        if (seen.has(n)) continue;
        const badge = e.querySelector(".badge.latency");
        seen.set(n, {
          top: parseFloat(e.style.top),
          n,
          name: e.querySelector(".name").textContent,
          client: e.querySelector(".summary .client") ? e.querySelector(".summary .client").textContent : null,
          arrowLeft: parseFloat(e.querySelector(".arrow").style.left),
          detail: e.querySelector(".detail").textContent,
          arrow: e.querySelector(".arrow").className,
          latency: badge ? badge.textContent : null,
          latencyUs: badge && badge.dataset.latencyUs ? Number(badge.dataset.latencyUs) : null,
        });
      }
    };
    const keep = scroller.scrollTop;
    if (params.get("rows") !== "0") {
      for (let y = 0; ; y += Math.max(ROW, scroller.clientHeight - ROW)) {
        scroller.scrollTop = y;
        render();
        collect();
        if (y >= spacer.offsetHeight) break;
      }
      scroller.scrollTop = keep;
      render();
    }
    const boxes = [...rowsEl.querySelectorAll(".detail-box")].map((b) => ({
      n: Number(b.parentElement.dataset.n),
      pretty: b.querySelector("pre.pretty").textContent,
      exact: b.querySelector("textarea.exact").value,
      findings: [...b.querySelectorAll("ul.findings li")].map((li) => li.textContent),
      bar: b.querySelector(".bar-top").textContent,
    }));
    const out = {
      interactiveMs: interactive,
      total: count,
      shown: view.length,
      rows: [...seen.values()].sort((a, b) => a.top - b.top),
      open: boxes,
      errors,
      warnings,
      lanes: [...document.querySelectorAll("#lanes-head .lane-name")].map((l) => l.textContent),
      commands: [...$("commands").rows].slice(1).map((tr) => [...tr.cells].slice(0, 5).map((c) => c.textContent)),
      images: document.images.length,
      scripts: document.scripts.length,
      pwned: window.pwned === undefined ? null : String(window.pwned),
    };
    // Leave the report, not the data, in the document.
    recordsEl.remove();
    const pre = el("pre", null, JSON.stringify(out));
    pre.id = "dapkit-test";
    document.body.appendChild(pre);
  }
})();
