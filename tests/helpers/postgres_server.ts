/**
 * A private PostgreSQL 15 (Debian's `postgresql` package) for tests and
 * benchmarks: a new cluster in a temporary directory, listening only on a
 * unix socket in that directory (no TCP port, so test files running in
 * parallel never collide), stopped by pid and removed afterwards.
 *
 * `initdb` and `pg_ctl` refuse to run as root, so as root they run as the
 * `postgres` user through `runuser` (no shell), in a directory that user
 * owns. The server is a daemon started by `pg_ctl`, not a child of the test
 * process, so Deno's resource sanitizer sees nothing left open; `close()`
 * must still be called (in a `finally`).
 *
 * ```ts
 * const pg = await startPostgres();
 * try {
 *   const url = await pg.createDatabase("t1"); // postgres://postgres@%2Ftmp%2F…/t1
 *   await pg.stop();  // the "database down" case
 *   await pg.start(); // back, same data
 * } finally {
 *   await pg.close();
 * }
 * ```
 */

/** Where Debian puts the PostgreSQL 15 programs. */
export const POSTGRES_BIN_DIR = "/usr/lib/postgresql/15/bin";
const PROGRAMS = ["initdb", "pg_ctl", "postgres", "psql"];
/** Port number in the socket file's name (`.s.PGSQL.5432`); no TCP port is opened. */
const SOCKET_PORT = 5432;
const decoder = new TextDecoder();

export interface PostgresServer {
  /** URL of the `postgres` database as superuser `postgres` over the unix socket. */
  readonly url: string;
  /** The temporary directory: data in `data/`, the socket, `postgres.log`. */
  readonly dir: string;
  /** The postmaster's pid while running, else undefined. */
  readonly pid: number | undefined;
  /** URL of `database` on this server (not created). */
  urlFor(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (`pg_ctl stop -m fast`, then SIGKILL by pid); data is kept. */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same socket and data. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. Idempotent. */
  close(): Promise<void>;
}

/** Why a private PostgreSQL cannot be started here, or undefined when it can. */
export function postgresMissing(): string | undefined {
  for (const program of PROGRAMS) {
    try {
      if (!Deno.statSync(`${POSTGRES_BIN_DIR}/${program}`).isFile) throw new Error();
    } catch {
      return `${POSTGRES_BIN_DIR}/${program} is missing (apt-get install postgresql)`;
    }
  }
  if (Deno.uid() === 0 && postgresUser() === undefined) {
    return "running as root but there is no `postgres` user (apt-get install postgresql)";
  }
  return undefined;
}

/** True when {@linkcode startPostgres} can work on this machine. */
export function postgresAvailable(): boolean {
  return postgresMissing() === undefined;
}

/** uid and gid of the `postgres` user, from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const f = line.split(":");
      if (f[0] === "postgres") return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch { /* no passwd file */ }
  return undefined;
}

/** Runs a PostgreSQL program (as `postgres` when we are root); throws with its output on failure. */
async function run(program: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const path = `${POSTGRES_BIN_DIR}/${program}`;
  const asRoot = Deno.uid() === 0;
  const command = new Deno.Command(asRoot ? "runuser" : path, {
    args: asRoot ? ["-u", "postgres", "--", path, ...args] : args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C.UTF-8", PGTZ: "UTC" },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const out = await command.output();
  const text = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")} failed (${out.code}): ${text.trim()}`);
  }
  return text;
}

function processExists(pid: number): boolean {
  try {
    // Signal 0 is not offered; SIGCONT is harmless to a running postmaster.
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Starts a new private PostgreSQL and returns it running. */
export async function startPostgres(): Promise<PostgresServer> {
  const missing = postgresMissing();
  if (missing) throw new Error(`Cannot start PostgreSQL: ${missing}`);
  const dir = await Deno.makeTempDir({ prefix: "yychat-pg-" });
  const data = `${dir}/data`;
  let pid: number | undefined;
  let closed = false;
  const owner = Deno.uid() === 0 ? postgresUser() : undefined;
  if (owner) await Deno.chown(dir, owner.uid, owner.gid);

  const url = (database: string) =>
    `postgres://postgres@${encodeURIComponent(dir)}:${SOCKET_PORT}/${encodeURIComponent(database)}`;
  const readPid = async () => {
    const text = await Deno.readTextFile(`${data}/postmaster.pid`);
    const n = Number(text.split("\n")[0]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Bad postmaster.pid: ${text}`);
    return n;
  };
  const start = async () => {
    if (pid !== undefined) return;
    await run("pg_ctl", ["start", "-D", data, "-w", "-t", "60", "-l", `${dir}/postgres.log`]);
    pid = await readPid();
  };
  const stop = async () => {
    if (pid === undefined) return;
    const target = pid;
    try {
      await run("pg_ctl", ["stop", "-D", data, "-m", "fast", "-w", "-t", "30"], 40_000);
    } catch {
      // pg_ctl failed or timed out: end it by pid.
      try {
        Deno.kill(target, "SIGKILL");
      } catch { /* already gone */ }
      for (let i = 0; i < 200 && processExists(target); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    pid = undefined;
  };

  try {
    await run("initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
      "--no-sync",
      "--no-instructions",
    ]);
    // Only the socket in `dir`; settings for a throwaway test server.
    await Deno.writeTextFile(
      `${data}/postgresql.conf`,
      [
        "",
        "listen_addresses = ''",
        `unix_socket_directories = '${dir}'`,
        `port = ${SOCKET_PORT}`,
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "shared_buffers = 16MB",
        "max_connections = 40",
        "log_min_messages = warning",
        "",
      ].join("\n"),
      { append: true },
    );
    await start();
  } catch (err) {
    await stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }

  return {
    url: url("postgres"),
    dir,
    get pid() {
      return pid;
    },
    urlFor: url,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
        throw new TypeError(`Invalid database name "${name}": use [a-z0-9_]`);
      }
      await run("psql", [
        "-h",
        dir,
        "-p",
        String(SOCKET_PORT),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
        `CREATE DATABASE ${name}`,
      ]);
      return url(name);
    },
    stop,
    start,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await stop();
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
}
