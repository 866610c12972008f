/**
 * A real three-node yychat cluster for tests: a private Redis and PostgreSQL
 * (started by the test, on unix sockets), an OpenAI mock as the provider,
 * and `main.ts` processes sharing them, each with its own node id and port.
 * The same layout as docs/DEPLOYMENT.md, without nginx in front.
 */
import { OpenAIMock } from "./openai_mock.ts";
import { postgresMissing, type PostgresServer, startPostgres } from "./postgres_server.ts";
import { redisMissing, type RedisServer, startRedis } from "./redis_server.ts";
import { type ServerProcess, startServerProcess } from "./server_process.ts";
import { waitFor } from "./wait.ts";

/** Why a cluster cannot be started here, or undefined when it can. */
export function clusterMissing(): string | undefined {
  return redisMissing() ?? postgresMissing();
}

export interface TestCluster {
  redis: RedisServer;
  postgres: PostgresServer;
  mock: OpenAIMock;
  nodes: ServerProcess[];
  close(): Promise<void>;
}

/** A WebSocket to `url` once it is open, or undefined when the server refused it. */
export function tryOpen(url: string): Promise<WebSocket | undefined> {
  const ws = new WebSocket(url);
  return new Promise((resolve) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => resolve(undefined);
  });
}

/** Closes every socket and waits for each close handshake. */
export async function closeAll(sockets: WebSocket[]): Promise<void> {
  for (const ws of sockets) {
    ws.close();
    await new Promise((r) => ws.onclose = r);
  }
}

/** Starts Redis, PostgreSQL, the mock and `count` nodes named `node-a`, `node-b`, … */
export async function startCluster(
  count: number,
  env: Record<string, string> = {},
): Promise<TestCluster> {
  const redis = await startRedis();
  const postgres = await startPostgres().catch(async (err) => {
    await redis.close();
    throw err;
  });
  const mock = await OpenAIMock.start();
  const nodes: ServerProcess[] = [];
  const startNode = async (id: string) => {
    const node = await startServerProcess({
      YYCHAT_REDIS_URL: redis.url,
      YYCHAT_DATABASE_URL: postgres.url,
      YYCHAT_NODE_ID: id,
      OPENAI_BASE_URL: mock.baseUrl,
      OPENAI_API_KEY: "sk-test-provider",
      PROVIDER_MAX_RETRIES: "0",
      LOG_LEVEL: "info",
      ...env,
    });
    nodes.push(node);
    return node;
  };
  try {
    for (let i = 0; i < count; i++) await startNode(`node-${String.fromCharCode(97 + i)}`);
    // A node listens before its Redis scripts are loaded; until then it is
    // `degraded` and admits on its own limit, which the tests do not expect.
    await waitFor(
      async () => {
        const health = await Promise.all(
          nodes.map(async (n) => (await (await fetch(`${n.http}/health`)).json()).status),
        );
        return health.every((status) => status === "ok");
      },
      15_000,
      "every node to join the cluster",
    );
  } catch (err) {
    for (const n of nodes) await n.stop("SIGKILL");
    await mock.close();
    await postgres.close();
    await redis.close();
    throw err;
  }
  return {
    redis,
    postgres,
    mock,
    nodes,
    async close() {
      for (const n of nodes) await n.stop("SIGTERM", 10_000);
      await mock.close();
      await postgres.close();
      await redis.close();
    },
  };
}
