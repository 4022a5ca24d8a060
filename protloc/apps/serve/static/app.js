// protloc's page: submit FASTA, follow the job, show the table and a page per protein.
// Everything that comes from the user or the server is shown with textContent (never as HTML).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { model: null, job: null, rows: [], columns: [], sort: null, ascending: true };

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

function show(view) {
  for (const id of ["submit-view", "results-view", "protein-view"]) {
    document.getElementById(id).hidden = !(id === view || (view === "results-view" && id === "submit-view"));
  }
}

function callOf(row) {
  return row.prediction !== undefined ? row.prediction : row.locations.join("|");
}

async function loadModel() {
  state.model = await api("/api/model");
  document.getElementById("model").textContent =
    `${state.model.name}: ${state.model.class_names.length} locations` +
    (state.model.homology ? ", with homology to labelled proteins" : "");
  const select = document.getElementById("filter-location");
  for (const name of state.model.class_names) select.append(element("option", name, { value: name }));
  document.getElementById("filter-evidence-label").hidden = !state.model.homology;
  for (const value of ["both", "homology", "network"]) {
    document.getElementById("filter-evidence").append(element("option", value, { value }));
  }
}

async function submit(event) {
  event.preventDefault();
  const file = document.getElementById("file").files[0];
  const text = document.getElementById("fasta").value;
  const error = document.getElementById("error");
  error.textContent = "";
  if (!file && !text.trim()) { error.textContent = "Paste proteins or choose a file first."; return; }
  document.getElementById("run").disabled = true;
  try {
    const job = await api("/api/jobs", { method: "POST", body: file || text });
    location.hash = `#job/${job.id}`;
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    document.getElementById("run").disabled = false;
  }
}

async function follow(jobId) {
  const status = document.getElementById("status");
  for (;;) {
    const job = await api(`/api/jobs/${encodeURIComponent(jobId)}`);
    status.textContent = `${job.status}: ${job.done} of ${job.total} proteins`;
    if (job.status === "failed") throw new Error(job.error);
    if (job.status === "done") break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const results = await api(`/api/jobs/${encodeURIComponent(jobId)}/results`);
  state.job = jobId;
  state.columns = results.columns;
  state.rows = results.rows.map((row, index) => ({ ...row, _index: index }));
  status.textContent = `done: ${state.rows.length} proteins`;
  for (const format of ["tsv", "csv", "json"]) {
    const link = document.getElementById(`download-${format}`);
    link.href = `/api/jobs/${encodeURIComponent(jobId)}/results?format=${format}`;
    link.setAttribute("download", `protloc.${format}`);
  }
}

function shownRows() {
  const location = document.getElementById("filter-location").value;
  const evidence = document.getElementById("filter-evidence").value;
  const flags = document.getElementById("filter-flags").value;
  let rows = state.rows.filter((row) =>
    (!location || callOf(row).split("|").includes(location)) &&
    (!evidence || row.evidence === evidence) &&
    (!flags || (flags === "none" ? row.flags.length === 0 : row.flags.length > 0)));
  if (state.sort) {
    const key = state.sort;
    rows = [...rows].sort((a, b) => {
      const x = a[key], y = b[key];
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x ?? "").localeCompare(String(y ?? ""));
      return state.ascending ? order : -order;
    });
  }
  return rows;
}

function renderTable() {
  const head = document.querySelector("#results thead");
  const body = document.querySelector("#results tbody");
  head.replaceChildren();
  body.replaceChildren();
  const header = element("tr");
  for (const column of state.columns) {
    const cell = element("th", column);
    if (state.sort === column) cell.className = state.ascending ? "sorted-asc" : "sorted-desc";
    cell.addEventListener("click", () => {
      state.ascending = state.sort === column ? !state.ascending : true;
      state.sort = column;
      renderTable();
    });
    header.append(cell);
  }
  head.append(header);
  const rows = shownRows();
  for (const row of rows) {
    const line = element("tr");
    for (const column of state.columns) {
      const value = row[column];
      const cell = element("td");
      if (column === "id") {
        const link = element("a", value, { href: `#protein/${state.job}/${row._index}` });
        cell.append(link);
      } else if (typeof value === "number" && column !== "length") {
        cell.textContent = column === "neighbour_identity" ? value.toFixed(3) : value.toFixed(3);
        cell.className = "number";
      } else if (Array.isArray(value)) {
        cell.textContent = value.join(", ");
      } else {
        cell.textContent = value === null || value === undefined ? "" : String(value);
        if (typeof value === "number") cell.className = "number";
      }
      line.append(cell);
    }
    body.append(line);
  }
  document.getElementById("count").textContent = `(${rows.length} of ${state.rows.length} shown)`;
}

function bars(row) {
  const names = state.model.class_names;
  const called = callOf(row).split("|");
  const entries = names.map((name) => [name, row[name], called.includes(name) ? "bar called" : "bar"]);
  if (row.membrane !== undefined) entries.push(["membrane", row.membrane, "bar membrane"]);
  const width = 560, rowHeight = 22, label = 130;
  const figure = svg("svg", { width, height: entries.length * rowHeight + 10, role: "img",
                              "aria-label": "probability of each location" });
  entries.forEach(([name, value, kind], index) => {
    const y = 5 + index * rowHeight;
    figure.append(svg("text", { x: 4, y: y + 14 }, name));
    figure.append(svg("rect", { x: label, y: y + 3, width: Math.max(1, value * (width - label - 60)), height: 14,
                                class: kind }));
    figure.append(svg("text", { x: width - 52, y: y + 14 }, value.toFixed(3)));
  });
  return figure;
}

function trackFigure(track) {
  const values = track.values, count = values.length;
  const width = Math.max(600, Math.min(1200, count * 2)), height = 140, bottom = 110, left = 40;
  const top = Math.max(...values, 0), low = Math.min(...values, 0);
  const span = top - low || 1;
  const scale = (v) => bottom - ((v - low) / span) * (bottom - 10);
  const step = (width - left - 10) / count;
  const figure = svg("svg", { width, height, role: "img", "aria-label": `${track.kind} along the sequence`,
                              class: "track" });
  for (const region of track.regions || []) {  // predicted sorting signals, shaded behind the bars
    const x = left + (region.first - 1) * step, regionWidth = (region.last - region.first + 1) * step;
    const shade = svg("rect", { x, y: 0, width: Math.max(regionWidth, 1), height: bottom, class: "signal-region" });
    shade.append(svg("title", {}, `${region.name}: residues ${region.first}-${region.last}`));
    figure.append(shade);
    figure.append(svg("text", { x: x + regionWidth / 2, y: 10, "text-anchor": "middle", class: "signal-label" },
                      region.type));
  }
  values.forEach((value, index) => {
    const x = left + index * step, zero = scale(0), y = scale(value);
    const bar = svg("rect", { x, y: Math.min(y, zero), width: Math.max(step, 0.6), height: Math.max(Math.abs(zero - y), 0.5),
                              class: value < 0 ? "track-bar negative" : "track-bar" });
    bar.append(svg("title", {}, `${index + 1} ${track.residues[index]}: ${value.toFixed(4)}`));
    figure.append(bar);
  });
  figure.append(svg("line", { x1: left, x2: width - 10, y1: scale(0), y2: scale(0), stroke: "#5d6b7a" }));
  for (const [position, anchor] of [[1, "start"], [Math.ceil(count / 2), "middle"], [count, "end"]]) {
    figure.append(svg("text", { x: left + (position - 0.5) * step, y: height - 12, "text-anchor": anchor }, position));
  }
  figure.append(svg("text", { x: 2, y: 16 }, top.toFixed(3)));
  return figure;
}

async function showProtein(jobId, index) {
  if (state.job !== jobId) { await follow(jobId); renderTable(); }
  show("protein-view");
  document.getElementById("back").href = `#job/${jobId}`;
  const title = document.getElementById("protein-title");
  title.textContent = "";
  document.getElementById("bars").replaceChildren();
  document.getElementById("track").replaceChildren(element("p", "computing the track...", { class: "muted" }));
  const found = await api(`/api/jobs/${encodeURIComponent(jobId)}/proteins/${index}`);
  const row = found.row;
  title.textContent = `${row.id}: ${callOf(row)}`;
  const parts = [`${row.length} residues`];
  if (row.membrane !== undefined) parts.push(`membrane-associated with probability ${row.membrane.toFixed(3)}`);
  if (row.neighbour) {
    parts.push(`closest labelled protein ${row.neighbour} (${(100 * row.neighbour_identity).toFixed(0)}% identity, ` +
               `${row.neighbour_class})`);
  } else if (state.model.homology) {
    parts.push("no labelled relative found");
  }
  if (row.evidence) parts.push(`evidence: ${row.evidence}`);
  parts.push(row.flags.length ? `flags: ${row.flags.join(", ")}` : "no flags");
  document.getElementById("protein-summary").textContent = parts.join("; ");
  document.getElementById("bars").replaceChildren(bars(row));
  const track = found.track;
  document.getElementById("track-title").textContent =
    track.kind === "attention" ? "Attention along the sequence" : "Occlusion importance along the sequence";
  document.getElementById("track-note").textContent = track.kind === "attention"
    ? `Where the network looked (attention weights) when placing it in ${track.target}.`
    : `How much the network's probability of ${track.target} drops when each stretch of residues is masked.`;
  document.getElementById("track").replaceChildren(trackFigure(track));
  if (track.regions && track.regions.length) {
    document.getElementById("track-note").textContent += " Shaded: the sorting signals the network finds, " +
      track.regions.map((r) => `${r.name} ${r.first}-${r.last}`).join(", ") + ".";
  }
}

async function route() {
  const [view, jobId, index] = location.hash.replace(/^#/, "").split("/");
  const error = document.getElementById("error");
  try {
    if (view === "job" && jobId) {
      show("results-view");
      await follow(jobId);
      renderTable();
    } else if (view === "protein" && jobId && index !== undefined) {
      await showProtein(jobId, Number(index));
    } else {
      show("submit-view");
    }
  } catch (failure) {
    show("submit-view");
    error.textContent = failure.message;
  }
}

document.getElementById("submit-form").addEventListener("submit", submit);
for (const id of ["filter-location", "filter-evidence", "filter-flags"]) {
  document.getElementById(id).addEventListener("change", renderTable);
}
window.addEventListener("hashchange", route);
loadModel().then(route);
