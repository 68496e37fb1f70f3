/// The status page, `GET /` and `GET /status`: one self-contained document (no external assets).
/// The server's figures at the time of the request are embedded as JSON (every `<` escaped, so no
/// model name or message can close the script element); the script renders them with text nodes only,
/// so names and error strings are always shown as text, and refreshes them from `/v1/status` every 2 s.
enum StatusPage {
    /// The page with `statusJSON` (the bytes `/v1/status` would answer now) embedded.
    static func render(statusJSON: [UInt8]) -> [UInt8] {
        var page: [UInt8] = []
        page.reserveCapacity(head.utf8.count + statusJSON.count + tail.utf8.count + 64)
        page.append(contentsOf: head.utf8)
        for byte in statusJSON {
            if byte == UInt8(ascii: "<") {
                page.append(contentsOf: "\\u003c".utf8)
            } else {
                page.append(byte)
            }
        }
        page.append(contentsOf: tail.utf8)
        return page
    }

    private static let head = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>model-server status</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
        h1 { font-size: 1.4em; margin: 0 0 .2em; }
        h2 { font-size: 1.15em; margin: 1.6em 0 .3em; font-family: ui-monospace, monospace; }
        table { border-collapse: collapse; margin: .4em 0 .8em; background: #fff; }
        th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
        th { background: #f0f0f0; font-weight: 600; }
        td.number { text-align: right; font-variant-numeric: tabular-nums; }
        .state-AVAILABLE { color: #0a7d28; font-weight: 600; }
        .state-END { color: #b00020; font-weight: 600; }
        .state-LOADING, .state-START { color: #a86400; font-weight: 600; }
        .muted { color: #777; }
        .figures span { display: inline-block; margin-right: 1.6em; }
        .figures b { font-variant-numeric: tabular-nums; }
        </style>
        </head>
        <body>
        <h1>model-server</h1>
        <div class="muted" id="updated">figures at page load; refreshing every 2 s from <code>/v1/status</code></div>
        <main id="models"><noscript>This page draws its tables with JavaScript; the same figures are at /v1/status.</noscript></main>
        <script id="initial-status" type="application/json">
        """

    private static let tail = """
        </script>
        <script>
        "use strict";
        const previous = new Map();
        let bounds = [];

        function element(tag, text, className) {
          const node = document.createElement(tag);
          if (text !== undefined && text !== null) node.textContent = String(text);
          if (className) node.className = className;
          return node;
        }

        function table(headers, rows) {
          const result = element("table");
          const head = result.createTHead().insertRow();
          for (const header of headers) head.appendChild(element("th", header));
          const body = result.createTBody();
          for (const row of rows) {
            const line = body.insertRow();
            for (const cell of row) {
              const td = line.insertCell();
              if (cell && typeof cell === "object") {
                td.textContent = String(cell.text);
                if (cell.className) td.className = cell.className;
              } else {
                td.textContent = String(cell);
              }
            }
          }
          return result;
        }

        function percentile(counts, q) {
          const total = counts.reduce((a, b) => a + b, 0);
          if (total === 0) return null;
          let seen = 0;
          for (let i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= q * total) return i < bounds.length ? bounds[i] : Infinity;
          }
          return Infinity;
        }

        function microseconds(value) {
          if (value === null) return "–";
          if (value === Infinity) return "> " + (bounds[bounds.length - 1] / 1e6).toFixed(0) + " s";
          if (value < 1000) return "≤ " + value + " µs";
          if (value < 1e6) return "≤ " + (value / 1000).toFixed(value < 1e4 ? 2 : 1) + " ms";
          return "≤ " + (value / 1e6).toFixed(2) + " s";
        }

        function rate(now, before, seconds) {
          if (before === undefined || seconds <= 0) return "–";
          return ((now - before) / seconds).toFixed(1);
        }

        function render(status) {
          bounds = status.latency_bucket_upper_us;
          const main = document.getElementById("models");
          main.replaceChildren();
          if (status.models.length === 0) main.appendChild(element("p", "No models are configured.", "muted"));
          for (const model of status.models) {
            const section = element("section");
            section.dataset.model = model.name;
            section.appendChild(element("h2", model.name));
            section.appendChild(element("div", model.base_path, "muted"));
            const labelsOf = (version) => Object.entries(model.labels).filter(([, v]) => v === version).map(([l]) => l).join(", ");
            section.appendChild(table(
              ["version", "state", "labels", "loaded at", "load time", "message"],
              model.versions.map((v) => [
                v.version,
                { text: v.state, className: "state state-" + v.state },
                labelsOf(v.version),
                v.loaded_at_unix_ms === null ? "" : new Date(v.loaded_at_unix_ms).toLocaleString(),
                v.load_ms === null ? "" : v.load_ms + " ms",
                v.error_code === "OK" ? v.message : v.error_code + ": " + v.message,
              ])));
            // Rates over the last 10 s, percentiles and batch sizes over the last minute, from earlier reads.
            const history = (previous.get(model.name) || []).filter((h) => status.time_unix_ms - h.time <= 60000);
            const recent = history.find((h) => status.time_unix_ms - h.time <= 10000);
            const before = recent;
            const minute = history[0];
            const seconds = before ? (status.time_unix_ms - before.time) / 1000 : 0;
            const window = minute ? model.requests.latency_counts.map((c, i) => c - minute.counts[i]) : model.requests.latency_counts;
            const figures = element("div", null, "figures");
            const figure = (name, value, key) => {
              const span = element("span", name + " ");
              const bold = element("b", value);
              bold.dataset.figure = key;
              span.appendChild(bold);
              figures.appendChild(span);
            };
            figure("requests", model.requests.ok + model.requests.errors, "requests");
            figure("errors", model.requests.errors, "errors");
            figure("requests/s", rate(model.requests.ok + model.requests.errors, before && before.requests, seconds), "rate");
            figure("errors/s", rate(model.requests.errors, before && before.errors, seconds), "error-rate");
            figure("p50 (1 min)", microseconds(percentile(window, 0.5)), "p50");
            figure("p99 (1 min)", microseconds(percentile(window, 0.99)), "p99");
            section.appendChild(figures);
            if (model.queues.length > 0) {
              section.appendChild(table(
                ["signature", "version", "queue depth", "running", "executions", "mean batch size (1 min)"],
                model.queues.map((q) => {
                  const key = q.signature + "@" + q.version;
                  const last = minute && minute.queues[key];
                  const runs = last ? q.executions - last.executions : q.executions;
                  const rows = last ? q.executed_rows - last.rows : q.executed_rows;
                  return [q.signature, q.version, { text: q.queued, className: "number" }, { text: q.running, className: "number" },
                          { text: q.executions, className: "number" }, { text: runs > 0 ? (rows / runs).toFixed(2) : "–", className: "number" }];
                })));
            }
            main.appendChild(section);
            const queues = {};
            for (const q of model.queues) queues[q.signature + "@" + q.version] = { executions: q.executions, rows: q.executed_rows };
            history.push({ time: status.time_unix_ms, requests: model.requests.ok + model.requests.errors,
                           errors: model.requests.errors, counts: model.requests.latency_counts, queues });
            previous.set(model.name, history);
          }
          document.getElementById("updated").textContent =
            "updated " + new Date(status.time_unix_ms).toLocaleTimeString() + "; refreshing every 2 s from /v1/status";
        }

        render(JSON.parse(document.getElementById("initial-status").textContent));
        setInterval(async () => {
          try {
            const answer = await fetch("/v1/status", { cache: "no-store" });
            if (answer.ok) render(await answer.json());
          } catch (error) {
            document.getElementById("updated").textContent = "the server did not answer: " + error;
          }
        }, 2000);
        </script>
        </body>
        </html>

        """
}
