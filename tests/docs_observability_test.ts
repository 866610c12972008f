/**
 * docs/OBSERVABILITY.md and docs/prometheus/ say what the server does: every
 * metric a real server registers is documented, the Prometheus config and
 * alert rules pass promtool, and the alerts only use metrics that exist.
 */
import assert from "node:assert/strict";
import { hasPromtool, PROMTOOL } from "./helpers/prom_text.ts";
import { startTestServer } from "./helpers/test_server.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));

/** Names of every metric a real server registers. */
async function registeredMetrics(): Promise<string[]> {
  const server = await startTestServer({ LOG_LEVEL: "silent" });
  try {
    return server.app.metrics.registry.collect().map((m) => m.name);
  } finally {
    await server.close();
  }
}

async function promtool(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(PROMTOOL, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const d = new TextDecoder();
  return { code, output: d.decode(stdout) + d.decode(stderr) };
}

Deno.test("docs/OBSERVABILITY.md has a table row for every metric the server registers", async () => {
  const doc = await read("docs/OBSERVABILITY.md");
  const names = await registeredMetrics();
  assert.ok(names.length >= 20);
  const missing = names.filter((n) => !new RegExp(`^\\| \`${n}\` +\\|`, "m").test(doc));
  assert.deepEqual(missing, [], "document each metric: type, labels, meaning");
});

Deno.test("the alert rules use only metrics the server registers", async () => {
  const rules = await read("docs/prometheus/alerts.yml");
  const names = new Set(await registeredMetrics());
  const used = new Set(
    [...rules.matchAll(/\b(yychat_[a-z_]+)/g)].map((m) =>
      m[1]!.replace(/_(bucket|sum|count)$/, "")
    ),
  );
  assert.ok(used.size >= 8);
  for (const name of used) assert.ok(names.has(name), `${name} in alerts.yml`);
});

Deno.test({
  name: "promtool accepts docs/prometheus/alerts.yml and prometheus.yml",
  ignore: !hasPromtool,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "yychat-promtool-" });
    try {
      for (const file of ["alerts.yml", "prometheus.yml"]) {
        await Deno.writeTextFile(`${dir}/${file}`, await read(`docs/prometheus/${file}`));
      }
      // The key file the config names (a real deployment keeps one of its keys in it).
      await Deno.writeTextFile(`${dir}/yychat.key`, "sk-example\n");
      const rules = await promtool(["check", "rules", "alerts.yml"], dir);
      assert.equal(rules.code, 0, rules.output);
      assert.match(rules.output, /SUCCESS: 9 rules found/);
      const config = await promtool(["check", "config", "prometheus.yml"], dir);
      assert.equal(config.code, 0, config.output);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
