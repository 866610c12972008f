/**
 * The generation layer's cost (issue 8, item 5), old and new builds side by
 * side in one run:
 *
 * 1. server CPU per streamed chunk with the event log on, this build vs the
 *    build before the generation layer (`--baseline-rev`, default the commit
 *    before it), each reading the same instant 2,000-chunk reply from the
 *    in-process mock; rounds alternate which build goes first;
 * 2. time from `resume` sent to the first replayed event, with a 1,000-event
 *    log (a paced reply cancelled after 1,000 events), p50/p99 over many
 *    resumes;
 * 3. memory per detached generation: RSS of the server with K running
 *    replies whose sockets went away, against the same server idle.
 *
 * `deno run -A bench/generation_bench.ts [--quick] [--rounds N] [--baseline-rev REV]`
 * (the baseline checkout comes from `git archive REV`).
 */
import { type ServerProcess, startServerProcess } from "../tests/helpers/server_process.ts";
import { StreamMock } from "./stream_mock.ts";
import { WsChat, yychatEnv } from "./stream_bench.ts";
import { cpuSeconds, rssKiB } from "./ws_load.ts";

const REPO = new URL("..", import.meta.url).pathname;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** A checkout of `rev` in a temporary directory (for the baseline build). */
async function checkout(rev: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "yychat-baseline-" });
  const archive = new Deno.Command("git", {
    args: ["-C", REPO, "archive", rev],
    stdout: "piped",
  }).spawn();
  const tar = new Deno.Command("tar", { args: ["-x", "-C", dir], stdin: "piped" }).spawn();
  await archive.stdout.pipeTo(tar.stdin);
  if (!(await archive.status).success || !(await tar.status).success) {
    throw new Error(`Cannot check out ${rev}`);
  }
  return `${dir}/`;
}

/**
 * CPU µs per upstream chunk of `replies` 2,000-chunk replies through
 * `server` (/proc counts in 10 ms ticks: a batch keeps that under 5 %).
 */
async function cpuPerChunk(server: ServerProcess, chat: WsChat, replies: number): Promise<number> {
  const before = await cpuSeconds(server.pid);
  for (let i = 0; i < replies; i++) {
    const r = await chat.run({ content: "long" }, { timeoutMs: 30_000 });
    if (r.finishReason !== "stop") throw new Error(`Reply ended with ${r.finishReason}`);
  }
  const after = await cpuSeconds(server.pid);
  return (after - before) * 1e6 / (2000 * replies);
}

/** Time to the first replayed event of `resume`s of a finished 1,000-event reply. */
async function resumeLatency(server: ServerProcess, samples: number): Promise<number[]> {
  const ws = new WebSocket(server.ws);
  const events: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  ws.onmessage = (e) => {
    events.push(JSON.parse(String(e.data)));
    wake?.();
  };
  const next = async () => {
    while (events.length === 0) await new Promise<void>((r) => wake = r);
    return events.shift()!;
  };
  await new Promise((r) => ws.onopen = r);
  await next(); // connection_established
  ws.send(JSON.stringify({ type: "text_message", content: "slow", request_id: "log" }));
  const start = await next();
  let seq = 0;
  while (seq < 1000) seq = Number((await next()).seq);
  ws.send(JSON.stringify({ type: "cancel", request_id: "log" }));
  while ((await next()).type !== "stream_end");
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const sent = performance.now();
    ws.send(JSON.stringify({
      type: "resume",
      request_id: "log",
      resume_token: start.resume_token,
      last_seq: 0,
    }));
    if ((await next()).type !== "resume_ok") throw new Error("Expected resume_ok");
    await next();
    times.push(performance.now() - sent);
    while ((await next()).type !== "stream_end");
  }
  ws.close();
  return times.sort((a, b) => a - b);
}

/** RSS KiB per detached generation (K paced replies whose sockets closed). */
async function detachedMemory(server: ServerProcess, k: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 500));
  const idle = await rssKiB(server.pid);
  const sockets: WsChat[] = [];
  for (let i = 0; i < k; i++) {
    const chat = await WsChat.open(server.ws);
    sockets.push(chat);
    chat.run({ content: "slow" }, { timeoutMs: 600_000 }).catch(() => {});
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const chat of sockets) await chat.close();
  await new Promise((r) => setTimeout(r, 700));
  return (await rssKiB(server.pid) - idle) / k;
}

export async function main(args: string[] = []): Promise<void> {
  const quick = args.includes("--quick");
  const rounds = Number(args[args.indexOf("--rounds") + 1]) || (quick ? 3 : 8);
  const rev = args.includes("--baseline-rev")
    ? args[args.indexOf("--baseline-rev") + 1]!
    : "b14cc63^";
  const mock = new StreamMock();
  const baselineRoot = await checkout(rev);
  const dataDirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const env = (i: number) => ({
    ...yychatEnv(mock, dataDirs[i]!),
    WS_MAX_CONNECTIONS: "1000",
    WS_MAX_CONNECTIONS_PER_IP: "1000",
  });
  const current = await startServerProcess(env(0));
  const baseline = await startServerProcess(env(1), { root: baselineRoot });
  try {
    const chats = [await WsChat.open(current.ws), await WsChat.open(baseline.ws)];
    for (let w = 0; w < 2; w++) {
      await chats[0]!.run({ content: "long" });
      await chats[1]!.run({ content: "long" });
    }
    const ratios: number[] = [];
    const cur: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      const us = [0, 0];
      for (const i of order) {
        us[i] = await cpuPerChunk(i === 0 ? current : baseline, chats[i]!, quick ? 10 : 25);
      }
      cur.push(us[0]!);
      base.push(us[1]!);
      ratios.push(us[0]! / us[1]!);
    }
    for (const c of chats) await c.close();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `CPU per streamed chunk (${rounds} rounds, ${rev} as baseline): this build ${
        median(cur).toFixed(2)
      } µs, baseline ${median(base).toFixed(2)} µs, ratio median ${median(ratios).toFixed(3)} ` +
        `(rounds ${ratios.map((x) => x.toFixed(2)).join(" ")}; target ≤ 1.10)`,
    );
    const resumes = await resumeLatency(current, quick ? 30 : 200);
    console.log(
      `resume → first replayed event, 1,000-event log, ${resumes.length} resumes: p50 ${
        percentile(resumes, 0.5).toFixed(2)
      } ms, p99 ${percentile(resumes, 0.99).toFixed(2)} ms (target p99 ≤ 5 ms)`,
    );
    const k = quick ? 50 : 200;
    const perGen = await detachedMemory(current, k);
    console.log(
      `memory per detached generation (${k} paced replies, 1 s after their sockets went): ${
        perGen.toFixed(0)
      } KiB`,
    );
  } finally {
    await current.stop();
    await baseline.stop();
    await mock.close();
    for (const d of [...dataDirs, baselineRoot]) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
}

if (import.meta.main) await main(Deno.args);
