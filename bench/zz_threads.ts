import { completeOnce, startTargets, streamOnce } from "./completions_bench.ts";
const dataDir = await Deno.makeTempDir();
const { targets, stop } = await startTargets({ portkey: false, dataDir });
async function threads(pid: number) {
  const out = new Map<string, number>();
  const p = new Deno.Command("sh", {
    args: [
      "-c",
      `for t in /proc/${pid}/task/*; do echo "$(cat $t/comm) $(cut -d' ' -f14,15 $t/stat)"; done`,
    ],
    stdout: "piped",
  });
  const text = new TextDecoder().decode((await p.output()).stdout);
  for (const line of text.trim().split("\n")) {
    const parts = line.split(" ");
    const v = Number(parts.at(-1)) + Number(parts.at(-2));
    const k = parts.slice(0, -2).join(" ");
    out.set(k, (out.get(k) ?? 0) + v);
  }
  return out;
}
const mode = Deno.args[0] ?? "nonstream";
for (const t of targets.filter((t) => t.name !== "direct")) {
  let stopFlag = false;
  let n = 0;
  const once = mode === "stream" ? () => streamOnce(t) : () => completeOnce(t);
  const loops = Array.from({ length: mode === "stream" ? 8 : 32 }, async () => {
    while (!stopFlag) {
      await once();
      n++;
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  const a = await threads(t.pid);
  const n0 = n;
  await new Promise((r) => setTimeout(r, 3000));
  const b = await threads(t.pid);
  const n1 = n;
  stopFlag = true;
  await Promise.all(loops);
  const parts = [...b].map(([k, v]) =>
    `${k}=${(((v - (a.get(k) ?? 0)) * 10000) / (n1 - n0)).toFixed(0)}µs`
  );
  console.log(t.name, n1 - n0, "ops;", parts.join(" "));
}
await stop();
