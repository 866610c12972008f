/**
 * Short churn run (CI): 2,000 connections in bursts of 100, 5% of them
 * dropped over raw TCP mid-stream. The long version (20,000 against a child
 * server process) is `bench/reliability/churn.ts`.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { runChurn } from "./lib/churn.ts";
import { fdCount, mib, rssBytes } from "../helpers/proc.ts";
import { Rng } from "./lib/rng.ts";
import { providerEnv, startScriptedProvider } from "./lib/scripted_provider.ts";

Deno.test("Supervisor returns to zero connections, streams and descriptors after 2,000 churned connections", async () => {
  const seed = Rng.seedFrom(Deno.env.get("CHURN_SEED"));
  console.log(`churn seed ${seed}`);
  const mock = await startScriptedProvider();
  const server = await startTestServer({
    ...providerEnv(mock),
    LOG_LEVEL: "warn",
    WS_MAX_CONNECTIONS: "1000",
    WS_MAX_CONNECTIONS_PER_IP: "1000",
    WS_HEARTBEAT_INTERVAL: "1",
  });
  try {
    const port = Number(new URL(server.http).port);
    // Warm-up burst, then the baseline.
    await runChurn({
      ws: server.ws,
      port,
      rng: new Rng(seed ^ 1),
      connections: 100,
      burst: 50,
      abruptRatio: 0.05,
    });
    await waitFor(() => server.app.supervisor.size === 0, 10_000, "warm-up connections to close");
    const fdsBefore = fdCount();
    const rssBefore = rssBytes();
    const totalBefore = server.app.supervisor.stats().accepted_connections;

    const r = await runChurn({
      ws: server.ws,
      port,
      rng: new Rng(seed),
      connections: 2000,
      burst: 100,
      abruptRatio: 0.05,
    });
    console.log(
      `churn: ${r.opened} connections (${r.abrupt} dropped mid-stream) in ${r.durationMs} ms, ${r.failures} failures`,
    );
    assert.equal(r.failures, 0, r.firstFailures.join("\n"));
    assert.equal(server.app.supervisor.stats().accepted_connections - totalBefore, 2000);

    await waitFor(() => server.app.supervisor.size === 0, 15_000, "the registry to empty");
    // Every upstream request of a dropped client ended (aborted or complete).
    await waitFor(
      () => mock.completionRequests.every((req) => req.aborted || req.completed),
      15_000,
      "every provider stream to end",
    );
    await waitFor(() => fdCount() <= fdsBefore + 2, 10_000, "descriptors back to baseline");
    const rssAfter = rssBytes();
    console.log(
      `churn: fds ${fdsBefore} → ${fdCount()}, RSS ${mib(rssBefore)} → ${
        mib(rssAfter)
      }, ${mock.completionRequests.length} streams`,
    );
    const { client } = await TestClient.connect(server.ws);
    assert.equal((await client.request({ type: "get_status" })).type, "status_response");
    await client.close();
  } finally {
    await server.close();
    await mock.close();
  }
});
