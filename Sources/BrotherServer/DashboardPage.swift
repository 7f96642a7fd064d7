/// brother's live dashboard: one self-contained page (no external scripts, styles or fonts, so it
/// works on an isolated balancer network) fed by the server-sent events of `GET /events`.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>brother</title>
        <style>
        :root { --bg:#0f1419; --panel:#182029; --line:#2a3440; --text:#e6edf3; --dim:#8b98a5; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --accent:#58a6ff; }
        * { box-sizing: border-box; }
        body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
        header { display:flex; align-items:center; gap:12px; padding:12px 16px; border-bottom:1px solid var(--line); position:sticky; top:0; background:var(--bg); z-index:1; }
        header h1 { font-size:18px; margin:0; }
        #live { font-size:12px; padding:2px 8px; border-radius:10px; background:var(--line); color:var(--dim); }
        #live.on { background:#12351d; color:var(--ok); }
        main { padding:12px; display:grid; gap:12px; }
        .cluster { background:var(--panel); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
        .cluster > .head { display:flex; flex-wrap:wrap; gap:8px 16px; align-items:baseline; padding:10px 12px; border-bottom:1px solid var(--line); }
        .cluster .name { font-weight:600; font-size:16px; }
        .dim { color:var(--dim); }
        .badge { font-size:12px; padding:1px 8px; border-radius:10px; background:var(--line); }
        .badge.running { background:#12351d; color:var(--ok); }
        .badge.stopping { background:#3b2e0a; color:var(--warn); }
        .badge.stopped, .badge.alert { background:#3d1214; color:var(--bad); }
        table { width:100%; border-collapse:collapse; }
        th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; overflow-wrap:anywhere; }
        th { font-size:12px; color:var(--dim); font-weight:500; }
        td.num { font-variant-numeric:tabular-nums; }
        .bar { height:6px; background:var(--line); border-radius:3px; margin-top:4px; min-width:60px; }
        .bar > span { display:block; height:100%; border-radius:3px; background:var(--accent); transition:width .4s; }
        .weight { font-size:16px; font-weight:600; font-variant-numeric:tabular-nums; }
        .zero { color:var(--bad); }
        .forced { color:var(--warn); }
        .events { padding:8px 12px; font-size:12px; max-height:180px; overflow:auto; }
        .events div { padding:2px 0; border-bottom:1px dashed var(--line); }
        .events time { color:var(--dim); margin-right:6px; font-variant-numeric:tabular-nums; }
        @media (max-width: 720px) {
          thead { display:none; }
          table, tbody, tr, td { display:block; width:100%; }
          tr { border-bottom:1px solid var(--line); padding:6px 0; }
          td { border:none; padding:3px 12px; display:flex; justify-content:space-between; gap:12px; }
          td::before { content:attr(data-label); color:var(--dim); font-size:12px; }
          td.node { font-weight:600; flex-wrap:wrap; }
        }
        </style>
        </head>
        <body>
        <header><h1>brother</h1><span id="version" class="dim"></span><span id="live">connecting…</span><span id="reload" class="dim"></span></header>
        <main id="clusters"><p class="dim">Waiting for the first snapshot…</p></main>
        <script>
        "use strict";
        window.__dashboardLoadedAt = Date.now() + ":" + Math.random();
        const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));
        const ago = (iso) => { if (!iso) return ""; const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); return s < 60 ? s + "s ago" : Math.round(s / 60) + "m ago"; };
        const clock = (iso) => { const d = new Date(iso); return d.toLocaleTimeString([], {hour12:false}); };
        // The age of a cluster's last round, marked stale past the limit GET /health uses. Events come
        // only on changes, and a stuck brother sends none: the ages are refreshed here every 5 s.
        const roundText = (iso, limit) => {
          const stale = limit != null && iso && (Date.now() - Date.parse(iso)) / 1000 > limit;
          return (iso ? "polled " + ago(iso) : "") + (stale ? ` <span class="badge alert">rounds stale (limit ${limit}s)</span>` : "");
        };
        setInterval(() => {
          for (const span of document.querySelectorAll('[data-role="round"]')) {
            span.innerHTML = roundText(span.dataset.last || null, span.dataset.limit === "" ? null : Number(span.dataset.limit));
          }
        }, 5000);
        function nodeRow(n) {
          const forced = (n.force ? `<span class="forced">forced ${esc(n.force)}${n.forceReason ? ": " + esc(n.forceReason) : ""}</span>` : "")
            + (n.fileForce ? `<span class="forced">file forced ${esc(n.fileForce)}: ${esc(n.fileForcePath)}</span>` : "");
          const ramp = n.rampPercent != null ? `<div class="bar" title="ramp ${n.rampPercent}%"><span style="width:${n.rampPercent}%"></span></div>` : "";
          return `<tr data-node="${esc(n.node)}" data-weight="${n.weight}">
            <td class="node" data-label="node">${esc(n.node)}<div class="dim">${esc(n.agent)}</div></td>
            <td data-label="weight"><span class="weight ${n.weight === 0 ? "zero" : ""}" data-role="weight">${n.weight}</span>${n.capacity > 1 ? ` <span class="dim" data-role="kernel-weight" title="capacity ${n.capacity}">× ${n.capacity} = ${n.kernelWeight}</span>` : ""}<div class="bar"><span style="width:${Math.min(100, n.weight)}%"></span></div></td>
            <td data-label="why">${esc(n.reason)}${ramp}${forced ? "<div>" + forced + "</div>" : ""}${n.draining ? `<div class="forced">${esc(n.draining)}</div>` : ""}</td>
            <td class="num" data-label="health">${n.health ?? "–"}${n.agentForced ? ` <span class="forced">(agent forced ${esc(n.agentForced)})</span>` : ""}</td>
            <td class="num" data-label="connections">${n.activeConnections} active · ${n.inactiveConnections} inactive<div class="dim">${n.connectionRate}/s</div></td>
            <td class="num" data-label="last poll">${n.lastPollMilliseconds != null ? n.lastPollMilliseconds + " ms" : "–"}${n.lastPollProblem ? `<div class="zero">${esc(n.lastPollProblem)}</div>` : ""}</td>
          </tr>`;
        }
        function clusterCard(c) {
          const flags = [
            c.clusterForce ? `<span class="badge alert">cluster forced ${esc(c.clusterForce)}</span>` : "",
            c.panicking ? `<span class="badge alert">panic guard</span>` : "",
            c.sorryServerActive ? `<span class="badge alert">sorry server</span>` : "",
            c.lastError ? `<span class="badge alert" title="${esc(c.lastError)}">error</span>` : "",
            (c.faults || []).map(f => `<span class="badge alert" title="${esc(f)}">${esc(f.split(":")[0])}</span>`).join(""),
          ].join("");
          const events = c.events.slice(-12).reverse().map((e) => `<div><time>${clock(e.time)}</time>${e.node ? esc(e.node) + ": " : ""}${esc(e.message)}</div>`).join("");
          return `<section class="cluster" data-cluster="${esc(c.name)}">
            <div class="head"><span class="name">${esc(c.name)}</span><span class="dim">${esc(c.service)} · ${esc(c.scheduler)} · ${esc(c.forwarding)}</span>
              <span class="badge ${esc(c.phase)}">${esc(c.phase)}</span><span>CombinedWeight <b data-role="combined">${c.combinedWeight}</b></span>${flags}
              <span class="dim" data-role="round" data-last="${esc(c.lastRound ?? "")}" data-limit="${c.phase === "stopped" ? "" : c.roundAgeLimitSeconds}">${roundText(c.lastRound, c.phase === "stopped" ? null : c.roundAgeLimitSeconds)}</span></div>
            <table><thead><tr><th>node</th><th>weight</th><th>why</th><th>health</th><th>connections</th><th>last poll</th></tr></thead>
            <tbody>${c.nodes.map(nodeRow).join("")}</tbody></table>
            <div class="events">${events || '<span class="dim">no events yet</span>'}</div>
          </section>`;
        }
        function render(snapshot) {
          document.getElementById("version").textContent = "v" + snapshot.version;
          const reload = snapshot.lastReload;
          document.getElementById("reload").textContent = reload ? (reload.error ? "last reload refused: " + reload.error : "reloaded " + ago(reload.time)) : "";
          document.getElementById("clusters").innerHTML = snapshot.clusters.length ? snapshot.clusters.map(clusterCard).join("") : '<p class="dim">No clusters configured.</p>';
        }
        function connect() {
          const source = new EventSource("events");
          const live = document.getElementById("live");
          source.addEventListener("snapshot", (event) => { live.textContent = "live"; live.className = "on"; render(JSON.parse(event.data)); });
          source.onerror = () => {
            live.className = "";
            // A refused stream (503: brother's limit of open streams) is not retried by EventSource itself.
            if (source.readyState === EventSource.CLOSED) { live.textContent = "not live (too many dashboards open); retrying in 30 s"; setTimeout(connect, 30000); }
            else { live.textContent = "reconnecting…"; }
          };
        }
        connect();
        </script>
        </body>
        </html>
        """#
}
