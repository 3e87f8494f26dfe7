// A non-Python agent loop on toolwise's HTTP API: Node 20, built-in fetch, no npm packages.
//
//   toolwise serve --port 8765 &                      # (with keys: toolwise keys create --agent devops)
//   TOOLWISE_URL=http://127.0.0.1:8765 TOOLWISE_KEY=tw_... node examples/node_client/agent.mjs
//
// Each turn asks for a brief (the same one a Python agent's pre-selection gets), "runs" the
// recommended tool (simulated here: kubectl works, ansible mostly times out), and records the
// call with the brief's decision id, so toolwise measures whether its advice was followed.
// The last line printed is a JSON report (the test reads it).

const BASE = (process.env.TOOLWISE_URL ?? "http://127.0.0.1:8765").replace(/\/$/, "");
const KEY = process.env.TOOLWISE_KEY ?? "";
const AGENT = process.env.TOOLWISE_AGENT ?? "devops";
const TURNS = Number(process.env.TURNS ?? 12);

/** A tiny client: JSON in and out, the bearer key, and retries that stay idempotent. */
class ToolwiseClient {
  constructor(baseUrl, key) {
    this.baseUrl = baseUrl;
    this.key = key;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const payload = await response.json();
      // 503: the store is down for a moment. Calls carry their own ids, so resending is safe.
      if (response.status === 503 && attempt < 5) {
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        continue;
      }
      if (!response.ok) {
        const where = payload.field ? ` (field ${payload.field})` : "";
        throw new Error(`${method} ${path}: ${response.status} ${payload.message}${where}`);
      }
      return payload;
    }
  }

  agentPath(agent, rest) {
    return `/v1/agents/${encodeURIComponent(agent)}/${rest}`;
  }

  /** Record one call or a batch; each gets an id first, so a retry never counts twice. */
  record(agent, calls) {
    const batch = (Array.isArray(calls) ? calls : [calls]).map((c) => ({ id: crypto.randomUUID(), ...c }));
    return this.request("POST", this.agentPath(agent, "calls"), batch);
  }

  brief(agent, request) {
    return this.request("POST", this.agentPath(agent, "brief"), request);
  }

  summary(agent) {
    return this.request("GET", this.agentPath(agent, "summary"));
  }
}

// A deterministic stand-in for real tools (mulberry32), so a run is reproducible.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(7);
const TOOLS = {
  kubectl_deploy: { works: 0.9, ms: 400, description: "Apply a manifest with kubectl." },
  ansible_run: { works: 0.2, ms: 30000, description: "Run the deploy playbook over SSH." },
};

function runTool(name) {
  const tool = TOOLS[name];
  const ok = random() < tool.works;
  return {
    tool: name,
    success: ok,
    latency_ms: Math.round(tool.ms * (0.5 + random())),
    ...(ok ? {} : { error_type: "TimeoutError", error_message: `${name} timed out` }),
  };
}

async function main() {
  const tw = new ToolwiseClient(BASE, KEY);
  const tools = Object.entries(TOOLS).map(([name, t]) => ({ name, description: t.description }));

  // Some history first (e.g. from before the agent used briefs): a batch of past calls.
  const history = [];
  for (let i = 0; i < 6; i++) history.push(runTool(i % 2 ? "ansible_run" : "kubectl_deploy"));
  await tw.record(AGENT, history.map((call) => ({ ...call, task_type: "deploy" })));

  let followed = 0;
  let lastBrief = null;
  for (let turn = 0; turn < TURNS; turn++) {
    const brief = await tw.brief(AGENT, {
      task: "deploy the web service to production",
      task_type: "deploy",
      tools,
    });
    lastBrief = brief;
    // The model would read brief.text; this loop simply takes the recommendation.
    const choice = brief.recommended_tool ?? tools[0].name;
    if (choice === brief.recommended_tool) followed++;
    await tw.record(AGENT, { ...runTool(choice), decision_id: brief.decision_id });
  }

  const summary = await tw.summary(AGENT);
  for (const t of summary.tools) {
    console.log(`${t.name.padEnd(16)} ${String(t.call_count).padStart(4)} calls  ${Math.round(t.success_rate * 100)}% success  p50 ${Math.round(t.p50_latency_ms)} ms`);
  }
  console.log(lastBrief.text);
  console.log(JSON.stringify({
    agent: AGENT,
    total_calls: summary.total_calls,
    tools: Object.fromEntries(summary.tools.map((t) => [t.name, t.call_count])),
    advice: summary.advice,
    turns: TURNS,
    followed,
    last_decision_id: lastBrief.decision_id,
  }));
}

main().catch((error) => {
  console.error(`toolwise example failed: ${error.message}`);
  process.exit(1);
});
