/**
 * Three yychat processes on one Redis and one PostgreSQL act as one service
 * (SPEC §10): a reply started on node A resumes on node B and is cancelled
 * from node C; the connection limit holds cluster-wide when the nodes race
 * for the last slots; status counts are summed; memory is shared.
 */
import assert from "node:assert/strict";
import { closeAll, clusterMissing, startCluster, tryOpen } from "../helpers/cluster.ts";
import { textReply } from "../helpers/openai_mock.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Event, TestClient } from "../helpers/ws_client.ts";

const missing = clusterMissing();
if (missing) console.warn(`Cluster tests ignored: ${missing} (.ci/run installs both)`);

const WORDS = Array.from({ length: 60 }, (_, i) => `w${i} `);
const text = (events: Event[]) =>
  events.filter((e) => e.type === "stream_chunk").map((e) => e.content).join("");

Deno.test({
  name: "cluster: a reply started on node A resumes on node B and is cancelled from node C",
  ignore: missing !== undefined,
  async fn() {
    const cluster = await startCluster(3);
    const [a, b, c] = cluster.nodes;
    try {
      cluster.mock.enqueue(textReply(WORDS.join(""), { chunkDelayMs: 40 }));
      const onA = (await TestClient.connect(a!.ws)).client;
      onA.send({
        type: "text_message",
        content: "go",
        request_id: "x1",
        conversation_id: "shared",
      });
      const start = await onA.next();
      const token = start.resume_token;
      const seenA = [start, ...await onA.until("stream_chunk")];
      seenA.push(...await onA.until("stream_chunk"));
      const lastSeq = Number(seenA.at(-1)!.seq);
      await onA.close();

      const onB = (await TestClient.connect(b!.ws)).client;
      onB.send({ type: "resume", request_id: "x1", resume_token: token, last_seq: lastSeq });
      const ok = await onB.next();
      assert.deepEqual([ok.type, ok.recovered, ok.status], ["resume_ok", true, "running"]);
      const seenB = await onB.until("stream_chunk");
      assert.equal(Number(seenB[0]!.seq), lastSeq + 1, "B continues exactly after A");

      const onC = (await TestClient.connect(c!.ws)).client;
      onC.send({ type: "resume", request_id: "x1", resume_token: token, last_seq: 0 });
      assert.equal((await onC.next()).type, "resume_ok");
      await onC.until("stream_chunk");
      onC.send({ type: "cancel", request_id: "x1" });
      const endC = (await onC.until("stream_end", 10_000)).at(-1)!;
      seenB.push(...await onB.until("stream_end", 10_000));
      const endB = seenB.at(-1)!;
      assert.equal(endB.finish_reason, "cancelled");
      assert.equal(endC.finish_reason, "cancelled");
      assert.equal(endB.seq, endC.seq, "one generation, one end");
      const seqsB = seenB.map((e) => Number(e.seq));
      assert.deepEqual(seqsB, [...new Set(seqsB)].sort((x, y) => x - y), "no duplicate on B");
      assert.equal(text(seenA) + text(seenB), endB.full_content, "no gap between A and B");
      await cluster.mock.waitForAbort(5000);
      await onB.close();
      await onC.close();
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name: "cluster: exactly WS_MAX_CONNECTIONS are admitted when three nodes race for the last slots",
  ignore: missing !== undefined,
  async fn() {
    const cluster = await startCluster(3, { WS_MAX_CONNECTIONS: "7" });
    const open: WebSocket[] = [];
    try {
      // Nine clients at once, three per node.
      const attempts = cluster.nodes.flatMap((node) => [0, 1, 2].map(() => tryOpen(node.ws)));
      for (const ws of await Promise.all(attempts)) if (ws) open.push(ws);
      const admitted = open.length;
      assert.equal(admitted, 7);
      // Others' figures arrive with their heartbeats (a quarter of YYCHAT_NODE_TTL apart).
      await waitFor(
        async () => {
          const s = await (await fetch(`${cluster.nodes[1]!.http}/ws/status`)).json();
          return s.data.total_connections === 7 && s.data.nodes === 3;
        },
        10_000,
        "the summed connection count",
      );
      const status = await (await fetch(`${cluster.nodes[0]!.http}/ws/status`)).json();
      assert.equal(status.data.max_connections, 7);
      assert.equal(status.data.node.id, "node-a");
      // A slot given back is free for any node.
      await closeAll([open.pop()!]);
      await waitFor(
        async () => {
          const again = await tryOpen(cluster.nodes[2]!.ws);
          if (again) open.push(again);
          return again !== undefined;
        },
        5000,
        "the freed slot",
      );
    } finally {
      await closeAll(open);
      await cluster.close();
    }
  },
});

Deno.test({
  name: "cluster: memory is shared — a conversation continued on another node recalls it",
  ignore: missing !== undefined,
  async fn() {
    const cluster = await startCluster(2);
    try {
      cluster.mock.enqueue(textReply("Noted: your cat is called Miso."), textReply("Miso."));
      const post = (node: number, content: string) =>
        fetch(`${cluster.nodes[node]!.http}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            conversation_id: "pets",
            messages: [{ role: "user", content }],
          }),
        }).then((r) => r.json());
      await post(0, "My cat is called Miso.");
      await post(1, "What is my cat called?");
      const second = cluster.mock.completionRequests[1]!.body.messages as { content: string }[];
      assert.ok(
        second.some((m) => String(m.content).includes("My cat is called Miso.")),
        "node B's prompt holds the turn node A stored",
      );
    } finally {
      await cluster.close();
    }
  },
});
