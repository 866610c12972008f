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

/** Why a cluster cannot be started here, or undefined when it can. */
export function clusterMissing(): string | undefined {
  return redisMissing() ?? postgresMissing();
}

export interface TestCluster {
  redis: RedisServer;
  postgres: PostgresServer;
  mock: OpenAIMock;
  nodes: ServerProcess[];
  /** Starts one more node (or one that was stopped) with the cluster's settings. */
  startNode(id: string, env?: Record<string, string>): Promise<ServerProcess>;
  close(): Promise<void>;
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
  const startNode = async (id: string, extra: Record<string, string> = {}) => {
    const node = await startServerProcess({
      YYCHAT_REDIS_URL: redis.url,
      YYCHAT_DATABASE_URL: postgres.url,
      YYCHAT_NODE_ID: id,
      OPENAI_BASE_URL: mock.baseUrl,
      OPENAI_API_KEY: "sk-test-provider",
      PROVIDER_MAX_RETRIES: "0",
      LOG_LEVEL: "info",
      ...env,
      ...extra,
    });
    nodes.push(node);
    return node;
  };
  try {
    for (let i = 0; i < count; i++) await startNode(`node-${String.fromCharCode(97 + i)}`);
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
    startNode,
    async close() {
      for (const n of nodes) await n.stop("SIGTERM", 10_000);
      await mock.close();
      await postgres.close();
      await redis.close();
    },
  };
}
