// The spenv leaderboard page. Reads the JSON embedded in #leaderboard-data and draws the tabs,
// the sortable rating table with Bradley-Terry interval bars and the head-to-head heatmap.
// Every string from the data is written with textContent or setAttribute, never as markup.
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var DATA = JSON.parse(document.getElementById("leaderboard-data").textContent);
  var views = DATA.views || [];
  var state = { view: 0, sortKey: "bt", sortDir: -1 };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG_NS, tag);
    setAttrs(e, attrs);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(x, digits) {
    return x === null || x === undefined || !isFinite(x) ? "\u2013" : Number(x).toFixed(digits);
  }
  function signed(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return "\u2013";
    return (x > 0 ? "+" : "") + Number(x).toFixed(digits);
  }

  function columnsOf(view) {
    var cols = [
      { key: "rank", label: "#", sortable: false },
      { key: "agent", label: "Agent", text: true, title: "agent label (agent spec)" },
      { key: "elo", label: "Elo", digits: 0, title: "Elo, averaged over " + (DATA.elo_shuffles || "?") + " random game orders" },
      { key: "bt", label: "Bradley\u2013Terry", digits: 0,
        title: "Bradley\u2013Terry strength on the Elo scale (mean 1000)" },
      { key: "bt_lo", label: "95% interval", interval: true,
        title: "bootstrap 95% interval of the Bradley\u2013Terry strength (sorts by its lower end)" },
      { key: "ts", label: "TrueSkill", digits: 1, title: "TrueSkill \u03bc \u2212 3\u03c3" },
      { key: "games", label: "Games", digits: 0, title: "rated two-seat games" },
      { key: "wins", label: "W", digits: 0, title: "wins" },
      { key: "draws", label: "D", digits: 0, title: "draws" },
      { key: "losses", label: "L", digits: 0, title: "losses (invalid moves and agent errors included)" }
    ];
    if (view.id !== "overall") {
      cols.push({ key: "mean_reward", label: "Mean reward", digits: 3, signed: true,
                  title: "mean reward per game in this game's units" });
    }
    (view.columns || []).forEach(function (c) {
      cols.push({ key: "extra." + c.key, label: c.label, digits: 3,
                  title: (c.note || c.label) + (c.better ? " (" + c.better + " is better)" : "") });
    });
    return cols;
  }

  function value(row, key) {
    if (key.indexOf("extra.") === 0) {
      var v = row.extra ? row.extra[key.slice(6)] : null;
      return v === undefined ? null : v;
    }
    var x = row[key];
    return x === undefined ? null : x;
  }

  function sortedRows(view) {
    var key = state.sortKey, dir = state.sortDir;
    var rows = view.agents.slice();
    rows.sort(function (a, b) {
      var va = value(a, key), vb = value(b, key);
      if (va === null && vb === null) return a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0;
      if (va === null) return 1;   // missing values last, whichever the direction
      if (vb === null) return -1;
      var c;
      if (typeof va === "string" || typeof vb === "string") {
        c = String(va).localeCompare(String(vb));
      } else {
        c = va - vb;
      }
      if (c === 0) c = a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0;
      return dir * c;
    });
    return rows;
  }

  function intervalDomain(view) {
    var lo = Infinity, hi = -Infinity;
    view.agents.forEach(function (r) {
      [r.bt_lo, r.bt_hi, r.bt].forEach(function (x) {
        if (x !== null && x !== undefined && isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
      });
    });
    if (!isFinite(lo)) return null;
    if (hi - lo < 1e-9) { lo -= 50; hi += 50; }
    var pad = (hi - lo) * 0.06;
    return [lo - pad, hi + pad];
  }

  function intervalSvg(row, domain) {
    var W = 170, H = 18;
    var svg = svgEl("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "ci",
                             role: "img" });
    if (!domain || row.bt === null) return svg;
    var x = function (v) { return 4 + (W - 8) * (v - domain[0]) / (domain[1] - domain[0]); };
    svg.appendChild(svgEl("line", { x1: 4, x2: W - 4, y1: H / 2, y2: H / 2, stroke: "#d9dee7" }));
    if (domain[0] < 1000 && domain[1] > 1000) {
      svg.appendChild(svgEl("line", { x1: x(1000), x2: x(1000), y1: 2, y2: H - 2,
                                      stroke: "#9aa3b2", "stroke-dasharray": "2,2" }));
    }
    if (row.bt_lo !== null && row.bt_hi !== null) {
      svg.appendChild(svgEl("rect", { "class": "bar", x: x(row.bt_lo), y: H / 2 - 3,
        width: Math.max(1, x(row.bt_hi) - x(row.bt_lo)), height: 6, rx: 2,
        fill: "#2458c6", "fill-opacity": 0.35 }));
    }
    svg.appendChild(svgEl("circle", { cx: x(row.bt), cy: H / 2, r: 3.5, fill: "#0f2f73" }));
    svg.appendChild(svgEl("title", null, row.agent + ": " + fmt(row.bt, 0) + " [" +
                          fmt(row.bt_lo, 0) + ", " + fmt(row.bt_hi, 0) + "]"));
    return svg;
  }

  function renderTable(view, host) {
    var cols = columnsOf(view);
    var domain = intervalDomain(view);
    var wrap = el("div", { "class": "table-wrap" });
    var table = el("table", { "class": "ratings", id: "ratings" });
    var thead = el("thead");
    var tr = el("tr");
    cols.forEach(function (c) {
      var th = el("th", { scope: "col", "data-key": c.key }, c.label);
      if (c.key === "agent") th.className = "agent";
      if (c.title) th.setAttribute("title", c.title);
      if (c.sortable !== false) {
        th.classList.add("sortable");
        th.setAttribute("tabindex", "0");
        th.setAttribute("aria-sort", state.sortKey === c.key
          ? (state.sortDir > 0 ? "ascending" : "descending") : "none");
        var go = function () {
          if (state.sortKey === c.key) {
            state.sortDir = -state.sortDir;
          } else {
            state.sortKey = c.key;
            state.sortDir = c.text ? 1 : -1;   // names A-Z, numbers high first
          }
          render();
        };
        th.addEventListener("click", go);
        th.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); go(); }
        });
      }
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    table.appendChild(thead);
    var tbody = el("tbody");
    sortedRows(view).forEach(function (row, i) {
      var r = el("tr", { "data-agent": row.agent });
      cols.forEach(function (c) {
        var td;
        if (c.key === "rank") {
          td = el("td", null, String(i + 1));
        } else if (c.key === "agent") {
          td = el("td", { "class": "agent" }, row.agent);
        } else if (c.interval) {
          td = el("td", { "class": "interval" });
          td.appendChild(intervalSvg(row, domain));
          td.appendChild(el("span", null, "[" + fmt(row.bt_lo, 0) + ", " + fmt(row.bt_hi, 0) + "]"));
        } else {
          var v = value(row, c.key);
          td = el("td", { "data-key": c.key }, c.signed ? signed(v, c.digits) : fmt(v, c.digits));
          if (c.key === "ts" && row.ts_mu !== null) {
            td.setAttribute("title", "\u03bc " + fmt(row.ts_mu, 2) + ", \u03c3 " + fmt(row.ts_sigma, 2));
          }
        }
        r.appendChild(td);
      });
      tbody.appendChild(r);
    });
    table.appendChild(tbody);
    wrap.appendChild(table);
    host.appendChild(wrap);
  }

  function mix(a, b, t) {
    return [0, 1, 2].map(function (i) { return Math.round(a[i] + (b[i] - a[i]) * t); });
  }
  function scoreColor(s) {
    var red = [192, 57, 43], mid = [247, 247, 247], blue = [36, 88, 198];
    var c = s < 0.5 ? mix(red, mid, s / 0.5) : mix(mid, blue, (s - 0.5) / 0.5);
    return "rgb(" + c.join(",") + ")";
  }
  function shortName(name, n) { return name.length > n ? name.slice(0, n - 1) + "\u2026" : name; }

  function renderHeatmap(view, host) {
    var names = view.h2h.agents, cells = view.h2h.cells, n = names.length;
    host.appendChild(el("h3", null, "Head to head"));
    host.appendChild(el("p", { "class": "muted" },
      "Mean rated score of the row agent against the column agent, from either seat (1: the row " +
      "always wins, 1/2: even). Hover a cell for the games, wins/draws/losses and mean reward."));
    if (n === 0) { host.appendChild(el("p", null, "No rated games.")); return; }
    var cell = n <= 6 ? 56 : n <= 12 ? 44 : 30;
    var longest = names.reduce(function (m, a) { return Math.max(m, Math.min(a.length, 20)); }, 4);
    var left = 12 + longest * 7, top = 20 + longest * 5;
    var W = left + n * cell + 10, H = top + n * cell + 10;
    var svg = svgEl("svg", { "class": "heatmap", id: "heatmap", width: W, height: H,
                             viewBox: "0 0 " + W + " " + H, role: "img" });
    svg.appendChild(svgEl("title", null, "Head-to-head scores for " + view.label));
    names.forEach(function (name, i) {
      var t = svgEl("text", { x: left - 6, y: top + i * cell + cell / 2, "text-anchor": "end",
                              "dominant-baseline": "central", "class": "row-label" },
                    shortName(name, 20));
      t.appendChild(svgEl("title", null, name));
      svg.appendChild(t);
      var cx = left + i * cell + cell / 2, cy = top - 6;
      var c = svgEl("text", { x: cx, y: cy, "text-anchor": "start", "class": "col-label",
                              transform: "rotate(-45 " + cx + " " + cy + ")" },
                    shortName(name, 20));
      c.appendChild(svgEl("title", null, name));
      svg.appendChild(c);
    });
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) {
        var d = cells[i][j];
        var g = svgEl("g", { "class": "h2h", "data-row": i, "data-col": j });
        var rect = svgEl("rect", { x: left + j * cell + 1, y: top + i * cell + 1,
                                   width: cell - 2, height: cell - 2, rx: 3 });
        if (!d) {
          rect.setAttribute("class", "empty");
          g.appendChild(rect);
          if (i !== j) g.appendChild(svgEl("title", null, names[i] + " vs " + names[j] + ": no games"));
          svg.appendChild(g);
          continue;
        }
        rect.setAttribute("fill", scoreColor(d.score));
        g.appendChild(rect);
        if (cell >= 40) {
          var txt = svgEl("text", { "class": "cell", x: left + j * cell + cell / 2,
                                    y: top + i * cell + cell / 2 }, d.score.toFixed(2));
          if (Math.abs(d.score - 0.5) > 0.3) txt.setAttribute("style", "fill:#fff");
          g.appendChild(txt);
        }
        var tip = names[i] + " vs " + names[j] + ": score " + d.score.toFixed(3) + " over " + d.n +
          " rated games";
        if (d.w !== undefined) tip += "; W/D/L " + d.w + "/" + d.d + "/" + d.l;
        if (d.reward !== undefined && d.reward !== null) tip += "; mean reward " + signed(d.reward, 3);
        g.appendChild(svgEl("title", null, tip));
        svg.appendChild(g);
      }
    }
    var scroller = el("div", { "class": "heat-wrap" });
    scroller.appendChild(svg);
    host.appendChild(scroller);
    var legend = el("p", { "class": "legend muted" });
    [[0, "row always loses"], [0.5, "even"], [1, "row always wins"]].forEach(function (p) {
      var sw = svgEl("svg", { width: 14, height: 14 });
      sw.appendChild(svgEl("rect", { x: 0.5, y: 0.5, width: 13, height: 13, rx: 2,
                                     fill: scoreColor(p[0]), stroke: "#c3c9d4" }));
      legend.appendChild(sw);
      legend.appendChild(document.createTextNode(" " + p[0] + ": " + p[1] + "   "));
    });
    host.appendChild(legend);
  }

  function renderTabs() {
    var nav = document.getElementById("tabs");
    clear(nav);
    views.forEach(function (v, i) {
      var b = el("button", { type: "button", role: "tab", "data-view": v.id, id: "tab-" + i,
                             "aria-selected": i === state.view ? "true" : "false" }, v.label);
      b.addEventListener("click", function () { select(i); });
      nav.appendChild(b);
    });
  }

  function select(i) {
    state.view = i;
    try {
      history.replaceState(null, "", "#" + encodeURIComponent(views[i].id));
    } catch (e) { /* file:// pages in some browsers refuse; the view still changes */ }
    renderTabs();
    render();
  }

  function render() {
    var main = document.getElementById("view");
    clear(main);
    var view = views[state.view];
    if (!view) { main.appendChild(el("p", null, "No games in this store yet.")); return; }
    main.setAttribute("data-view", view.id);
    main.appendChild(el("h2", { id: "view-title" }, view.label));
    main.appendChild(el("p", { "class": "muted" },
      view.games + " games stored, " + view.rated_games + " rated; " + view.agents.length +
      " agents"));
    var note = el("p", { "class": "note score-note" });
    note.appendChild(el("b", null, "Rated by: "));
    note.appendChild(document.createTextNode(view.score_note));
    main.appendChild(note);
    if (view.note) main.appendChild(el("p", { "class": "note warn" }, view.note));
    renderTable(view, main);
    renderHeatmap(view, main);
  }

  document.getElementById("elo-shuffles").textContent = String(DATA.elo_shuffles || "?");
  document.getElementById("title").textContent = DATA.title || "spenv leaderboard";
  var envCount = Math.max(0, views.length - 1);
  document.getElementById("summary").textContent =
    (views.length ? views[0].games : 0) + " games in " + envCount + " environment" +
    (envCount === 1 ? "" : "s") + "; generated " + (DATA.generated || "?") + " from " +
    (DATA.source || "?") + "; " + (DATA.n_boot || 0) + " bootstrap samples";
  var wanted = "";
  try { wanted = decodeURIComponent((location.hash || "").slice(1)); } catch (e) { wanted = ""; }
  views.forEach(function (v, i) { if (v.id === wanted) state.view = i; });
  renderTabs();
  render();
})();
