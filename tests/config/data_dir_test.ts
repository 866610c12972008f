/**
 * `config/data_dir.ts`, run exactly as the start tasks run it (same flags,
 * from a working directory holding a `.env`), prints the directory the
 * server will write to, by the same rule as `loadSettings`.
 */
import assert from "node:assert/strict";
import { dataDirFrom } from "../../config/data_dir.ts";
import { parseEnvFile } from "../../config/env_file.ts";
import { loadSettings } from "../../config/settings.ts";

const SCRIPT = new URL("../../config/data_dir.ts", import.meta.url).pathname;
const DENO_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** The task's own command, checked so this test runs what `deno task start` runs. */
const TASK_COMMAND = "deno run -q --allow-read=.env --allow-env=YYCHAT_DATA_DIR config/data_dir.ts";

async function runHelper(
  options: { env?: string; dotEnv?: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cwd = await Deno.makeTempDir({ prefix: "yychat-datadir-" });
  try {
    if (options.dotEnv !== undefined) await Deno.writeTextFile(`${cwd}/.env`, options.dotEnv);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-q",
        "--config",
        DENO_CONFIG,
        "--allow-read=.env",
        "--allow-env=YYCHAT_DATA_DIR",
        SCRIPT,
      ],
      cwd,
      // Only what the case sets: the test process's own YYCHAT_DATA_DIR must not leak in.
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        ...(options.env === undefined ? {} : { YYCHAT_DATA_DIR: options.env }),
      },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000),
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("deno.json's start, dev and compile tasks ask config/data_dir.ts for --allow-write", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(DENO_CONFIG)).tasks;
  for (const name of ["start", "dev", "compile"]) {
    const task: string = tasks[name];
    assert.ok(task.includes(`"--allow-write=$(${TASK_COMMAND})"`), `${name}: ${task}`);
    assert.ok(!/(^|\s)(-A|--allow-all)(\s|$)/.test(task), `${name} never uses -A`);
  }
});

Deno.test("config/data_dir.ts prints YYCHAT_DATA_DIR by the server's rule", async (t) => {
  const cases: { label: string; env?: string; dotEnv?: string; expected: string }[] = [
    { label: "default", expected: "./data" },
    { label: "from the environment", env: "/srv/yychat data", expected: "/srv/yychat data" },
    {
      label: "from .env",
      dotEnv: "YYCHAT_DATA_DIR=/var/lib/yychat\n",
      expected: "/var/lib/yychat",
    },
    {
      label: ".env, quoted and commented",
      dotEnv: '# data\nexport YYCHAT_DATA_DIR="/var/lib/my yychat"\n',
      expected: "/var/lib/my yychat",
    },
    {
      label: "the environment wins over .env",
      env: "/from/env",
      dotEnv: "YYCHAT_DATA_DIR=/from/file",
      expected: "/from/env",
    },
    {
      label: "empty in the environment means the default",
      env: "  ",
      dotEnv: "YYCHAT_DATA_DIR=/from/file",
      expected: "./data",
    },
    { label: "relative stays relative", env: "state/db", expected: "state/db" },
  ];
  for (const c of cases) {
    await t.step(c.label, async () => {
      const out = await runHelper(c);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, `${c.expected}\n`);
      // The same answer as the server's own settings (main.ts: the environment over .env).
      const merged = {
        ...parseEnvFile(c.dotEnv ?? ""),
        ...(c.env === undefined ? {} : { YYCHAT_DATA_DIR: c.env }),
      };
      assert.equal(loadSettings(merged).dataDir, c.expected);
      assert.equal(dataDirFrom(merged), c.expected);
    });
  }
});

Deno.test("config/data_dir.ts refuses a directory Deno's permission list cannot name", async () => {
  const out = await runHelper({ env: "/tmp/a,b" });
  assert.equal(out.code, 1);
  assert.equal(out.stdout, "", "an empty --allow-write= makes Deno refuse to start");
  assert.match(out.stderr, /YYCHAT_DATA_DIR "\/tmp\/a,b" contains a comma/);
});
