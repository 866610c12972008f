/**
 * A/B of the JS hot path (frame in → pong out through the real `Connection`,
 * router and middleware, socket as a sink) between this tree and an earlier
 * commit, in ONE process: both trees are imported side by side and measured
 * in alternating batches (A B, B A, …), so a disturbance from the shared
 * machine hits both alike. Prints per-frame medians and the median of the
 * per-round ratios with its range.
 *
 * ```sh
 * deno run --allow-all bench/hot_path_ab.ts --rev <commit> [--rounds 200] [--frames 20000]
 * ```
 *
 * The commit is extracted with `git archive` under `data/` (so this
 * project's import map serves both trees) and removed afterwards.
 */

interface SinkSocketLike {
  readyState: number;
  bufferedAmount: number;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: unknown;
  onerror: unknown;
  send(data: string): void;
  close(): void;
}

let sink = 0;

function sinkSocket(): SinkSocketLike {
  return {
    readyState: WebSocket.OPEN,
    bufferedAmount: 0,
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    send(data) {
      sink += data.length;
    },
    close() {
      this.readyState = WebSocket.CLOSED;
    },
  };
}

/** Builds the app of the tree at `root` and returns "one ping frame in" plus a cleanup. */
async function setup(root: string): Promise<{ frame: () => void; close: () => Promise<void> }> {
  const { loadSettings } = await import(`${root}/config/settings.ts`);
  const { createApp } = await import(`${root}/src/server/app.ts`);
  const { Connection } = await import(`${root}/src/actors/connection.ts`);
  const { Logger } = await import(`${root}/src/core/logger.ts`);
  const { systemClock } = await import(`${root}/src/core/clock.ts`);
  const dir = await Deno.makeTempDir({ prefix: "yychat_ab_" });
  await Deno.writeTextFile(`${dir}/mcp.json`, '{"mcpServers":{}}');
  const logger = new Logger("silent");
  const app = await createApp(
    loadSettings({
      LOG_LEVEL: "silent",
      WS_MESSAGES_PER_SECOND: "1000000",
      YYCHAT_DATA_DIR: dir,
      YYCHAT_MCP_CONFIG: `${dir}/mcp.json`,
    }),
    { logger },
  );
  const socket = sinkSocket();
  const conn = new Connection({
    socket,
    clientId: crypto.randomUUID(),
    router: app.router,
    clock: systemClock,
    logger,
    limits: {
      maxMessageBytes: 1024 * 1024,
      maxBufferedBytes: 8 * 1024 * 1024,
      mailboxCapacity: 64,
      authTimeoutMs: 5000,
    },
    principal: undefined,
    authRequired: false,
    onFrame: () => {},
    onStopped: () => {},
    // As the supervisor passes it (trees without metrics ignore the option).
    metrics: app.metrics,
  });
  socket.onopen!(new Event("open"));
  const ping = { data: '{"type":"ping"}' };
  return {
    frame: () => socket.onmessage!(ping),
    close: async () => {
      conn.stop();
      await app.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function arg(name: string, fallback?: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

if (import.meta.main) {
  const rev = arg("rev");
  if (rev === undefined) {
    console.error("usage: deno run --allow-all bench/hot_path_ab.ts --rev <commit>");
    Deno.exit(2);
  }
  const rounds = Number(arg("rounds", "200"));
  const frames = Number(arg("frames", "20000"));
  const project = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  await Deno.mkdir(`${project}/data`, { recursive: true });
  const base = await Deno.makeTempDir({ dir: `${project}/data`, prefix: "ab_base_" });
  try {
    const archive = new Deno.Command("git", {
      args: ["archive", rev],
      cwd: project,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const untar = new Deno.Command("tar", { args: ["-x", "-C", base], stdin: "piped" }).spawn();
    await archive.stdout.pipeTo(untar.stdin);
    if (!(await archive.status).success || !(await untar.status).success) {
      throw new Error(`Cannot extract ${rev}`);
    }
    const trees = [await setup(base), await setup(project)];
    const perFrameUs: number[][] = [[], []];
    for (let w = 0; w < 5; w++) for (const t of trees) for (let i = 0; i < frames; i++) t.frame();
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const frame = trees[k]!.frame;
        const t0 = performance.now();
        for (let i = 0; i < frames; i++) frame();
        perFrameUs[k]!.push(((performance.now() - t0) * 1000) / frames);
      }
    }
    const ratios = perFrameUs[1]!.map((v, i) => v / perFrameUs[0]![i]!);
    console.log(`frame in → pong out (JS only), ${rounds} rounds × ${frames} frames per tree`);
    console.log(`  ${rev}: median ${median(perFrameUs[0]!).toFixed(3)} µs/frame`);
    console.log(`  this tree: median ${median(perFrameUs[1]!).toFixed(3)} µs/frame`);
    console.log(
      `  this / ${rev}: median of per-round ratios ${median(ratios).toFixed(3)} ` +
        `(range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
    );
    for (const t of trees) await t.close();
    if (sink === 0) console.log("(nothing was sent)");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}
