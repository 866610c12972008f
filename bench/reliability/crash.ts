/**
 * Long crash-safety run: `--rounds` times, `main.ts` as a child process
 * completes `--turns` turns, streams `--inflight` more, is killed with
 * SIGKILL and restarted on the same data dir; every completed turn must be
 * there and `PRAGMA integrity_check` must say ok.
 *
 *   deno task reliability:crash [--rounds N] [--turns N] [--inflight N]
 */
import { parseArgs } from "node:util";
import { runCrash } from "../../tests/reliability/lib/crash.ts";
import { machine } from "../../tests/helpers/proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    turns: { type: "string", default: "500" },
    inflight: { type: "string", default: "16" },
  },
});
const rounds = Number(values.rounds);
console.log(JSON.stringify({ bench: "crash", ...values, ...machine() }));
let failed = 0;
for (let round = 1; round <= rounds; round++) {
  const r = await runCrash({
    turns: Number(values.turns),
    conversations: 20,
    inflight: Number(values.inflight),
    concurrency: 8,
  });
  const ok = r.integrity === "ok" && r.missing.length === 0 && r.inflightStored === 0 &&
    r.tornConversations.length === 0 && r.killSignal === "SIGKILL";
  if (!ok) failed++;
  console.log(JSON.stringify({ round, ok, ...r }));
}
console.log(`${rounds - failed}/${rounds} rounds kept every completed turn`);
if (failed > 0) Deno.exitCode = 1;
