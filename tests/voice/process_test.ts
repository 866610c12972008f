import assert from "node:assert/strict";
import { ChatError } from "../../src/core/errors.ts";
import { EngineProcess, runToCompletion } from "../../src/voice/process.ts";

/** The process state `ps` reports (`S`, `Z` for a zombie…), "" when there is no such process. */
const state = (pid: number) =>
  new TextDecoder().decode(
    new Deno.Command("ps", {
      args: ["-o", "stat=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync().stdout,
  ).trim();

Deno.test("EngineProcess refuses a missing program with audio_engine_unavailable", () => {
  assert.throws(
    () =>
      new EngineProcess("/nonexistent/espeak-ng", {
        args: [],
        installHint: "apt-get install espeak-ng",
      }),
    (err: unknown) =>
      err instanceof ChatError && err.code === "audio_engine_unavailable" &&
      err.message.includes("apt-get install espeak-ng"),
  );
});

Deno.test("EngineProcess is killed and reaped when its signal aborts", async () => {
  const ac = new AbortController();
  const p = new EngineProcess("sleep", { args: ["30"], signal: ac.signal });
  assert.match(state(p.pid), /^[RSD]/, "running");
  ac.abort();
  const status = await p.close();
  assert.equal(status.success, false);
  assert.equal(p.killed, "abort");
  assert.equal(state(p.pid), "", "gone: no zombie is left");
});

Deno.test("EngineProcess is killed after its timeout", async () => {
  const p = new EngineProcess("sleep", { args: ["30"], timeoutMs: 50 });
  await p.stdout.cancel();
  const status = await p.wait();
  assert.equal(status.signal, "SIGKILL");
  assert.equal(p.killed, "timeout");
});

Deno.test("EngineProcess keeps only a bounded, filtered tail of stderr", async () => {
  const script =
    'for i in $(seq 1 2000); do echo "INFO line $i" >&2; echo "ERROR bad $i" >&2; done';
  // sh is the program under test here, not a shell around an engine.
  const p = new EngineProcess("sh", {
    args: ["-c", script],
    maxStderrBytes: 200,
    stderrFilter: (l) => l.startsWith("ERROR"),
  });
  for await (const _ of p.stdout) { /* nothing */ }
  await p.wait();
  assert.ok(p.stderr.length <= 200);
  assert.ok(p.stderr.endsWith("ERROR bad 2000"));
  assert.ok(!p.stderr.includes("INFO"));
});

Deno.test("runToCompletion() stops reading past maxStdoutBytes", async () => {
  const r = await runToCompletion("head", {
    args: ["-c", "10000000", "/dev/zero"],
    maxStdoutBytes: 1000,
  });
  assert.ok(r.stdout.length <= 1000);
  assert.notEqual(r.code, 0, "the program was stopped");
  const ok = await runToCompletion("cat", { args: [], input: new TextEncoder().encode("hello") });
  assert.deepEqual([ok.code, ok.stdout], [0, "hello"]);
});

Deno.test("EngineProcess does not pass the server's environment (keys) to engines", async () => {
  Deno.env.set("YYCHAT_TEST_SECRET_KEY", "must-not-leak");
  try {
    const r = await runToCompletion("env", { args: [] });
    assert.equal(r.code, 0);
    assert.ok(!r.stdout.includes("must-not-leak"));
    assert.match(r.stdout, /^PATH=/m);
  } finally {
    Deno.env.delete("YYCHAT_TEST_SECRET_KEY");
  }
});
