/**
 * The nginx configuration of docs/deploy/nginx.conf, run for real in front
 * of a three-node cluster: WebSockets upgrade through it, SSE is not
 * buffered (the first chunk arrives while the provider is still
 * streaming), keep-alive comments pass, the client address reaches yychat
 * through X-Forwarded-For from the trusted proxy, and a reply resumes
 * through the proxy whichever node the new connection lands on.
 */
import assert from "node:assert/strict";
import { clusterMissing, startCluster, type TestCluster } from "../helpers/cluster.ts";
import { textReply } from "../helpers/openai_mock.ts";
import { freePort } from "../helpers/server_process.ts";
import { waitFor } from "../helpers/wait.ts";
import { TestClient } from "../helpers/ws_client.ts";

const NGINX = "/usr/sbin/nginx";
const nginxMissing = (() => {
  try {
    return Deno.statSync(NGINX).isFile ? undefined : `${NGINX} is missing`;
  } catch {
    return `${NGINX} is missing (apt-get install nginx)`;
  }
})();
const missing = clusterMissing() ?? nginxMissing;
if (missing) console.warn(`nginx tests ignored: ${missing} (.ci/run installs it)`);

interface Nginx {
  url: string;
  close(): Promise<void>;
}

/** Runs docs/deploy/nginx.conf with the cluster's ports and a free listen port. */
async function startNginx(cluster: TestCluster): Promise<Nginx> {
  const dir = await Deno.makeTempDir({ prefix: "yychat-nginx-" });
  const port = freePort();
  let conf = await Deno.readTextFile(new URL("../../docs/deploy/nginx.conf", import.meta.url));
  cluster.nodes.forEach((node, i) => {
    conf = conf.replace(`127.0.0.1:980${i + 1}`, `127.0.0.1:${node.port}`);
  });
  conf = conf.replace("listen 8080;", `listen 127.0.0.1:${port};`);
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\naccess_log off;\n` +
      `client_body_temp_path ${dir};\nproxy_temp_path ${dir};\n${conf}\n}\n`,
  );
  const child = new Deno.Command(NGINX, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  await waitFor(
    async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      } catch {
        return false;
      }
    },
    10_000,
    "nginx to listen",
  );
  return {
    url: `127.0.0.1:${port}`,
    async close() {
      try {
        child.kill("SIGQUIT");
      } catch { /* gone */ }
      await child.status;
      await stderr;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test({
  name: "nginx in front of three nodes carries WebSockets, unbuffered SSE and resumes",
  ignore: missing !== undefined,
  async fn(t) {
    const cluster = await startCluster(3, {
      YYCHAT_TRUSTED_PROXIES: "127.0.0.1",
      SSE_KEEPALIVE_INTERVAL: "0.1",
    });
    const nginx = await startNginx(cluster);
    try {
      await t.step("a WebSocket upgrades and streams through the proxy", async () => {
        cluster.mock.enqueue(textReply("Through the proxy."));
        const { client } = await TestClient.connect(`ws://${nginx.url}/ws/chat`);
        client.send({ type: "text_message", content: "hi" });
        const events = await client.until("stream_end");
        assert.equal(events.at(-1)!.full_content, "Through the proxy.");
        await client.close();
      });
      await t.step("SSE is not buffered and keep-alive comments pass", async () => {
        cluster.mock.enqueue(textReply("first second", { chunkDelayMs: 600 }));
        const res = await fetch(`http://${nginx.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ stream: true, messages: [{ role: "user", content: "go" }] }),
        });
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        while (!text.includes('"content":"first')) text += (await reader.read()).value ?? "";
        const request = cluster.mock.completionRequests.at(-1)!;
        assert.equal(request.completed, false, "a chunk arrived while the provider still streams");
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += value;
        }
        assert.ok(text.includes(": keep-alive"), "keep-alive comments reach the client");
        assert.ok(text.trimEnd().endsWith("data: [DONE]"));
      });
      await t.step("the client address comes through X-Forwarded-For", async () => {
        const ws = new WebSocket(`ws://${nginx.url}/ws/chat`, {
          headers: { "x-forwarded-for": "198.51.100.23" },
        });
        await new Promise((resolve) => ws.onopen = resolve);
        ws.close();
        await new Promise((resolve) => ws.onclose = resolve);
        await waitFor(
          () =>
            cluster.nodes.some((n) =>
              n.lines.some((l) => l.includes('"ws_open"') && l.includes('"198.51.100.23"'))
            ),
          5000,
          "the forwarded address in a node's log",
        );
      });
      await t.step(
        "a reply resumes through the proxy, whichever node serves the new socket",
        async () => {
          cluster.mock.enqueue(
            textReply("one two three four five six seven", { chunkDelayMs: 60 }),
          );
          const first = (await TestClient.connect(`ws://${nginx.url}/ws/chat`)).client;
          first.send({ type: "text_message", content: "go", request_id: "via-nginx" });
          const start = await first.next();
          const chunk = (await first.until("stream_chunk")).at(-1)!;
          await first.close();
          const again = (await TestClient.connect(`ws://${nginx.url}/ws/chat`)).client;
          again.send({
            type: "resume",
            request_id: "via-nginx",
            resume_token: start.resume_token,
            last_seq: chunk.seq,
          });
          assert.equal((await again.next()).type, "resume_ok");
          const end = (await again.until("stream_end", 10_000)).at(-1)!;
          assert.equal(end.full_content, "one two three four five six seven");
          await again.close();
        },
      );
    } finally {
      await nginx.close();
      await cluster.close();
    }
  },
});
