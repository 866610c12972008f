/**
 * The data directory the start tasks grant write access to. Deno's task shell
 * has no `${VAR:-default}` and does not read `.env`, so `deno task start`,
 * `dev` and `compile` ask this script, with the narrowest permissions that
 * let it answer (read `.env`, read one variable):
 *
 *     --allow-write="$(deno run -q --allow-read=.env --allow-env=YYCHAT_DATA_DIR config/data_dir.ts)"
 *
 * It prints `YYCHAT_DATA_DIR` as the server will read it (environment first,
 * then `.env`, else `./data`), so `--allow-write` names exactly the
 * directory the server writes. When it cannot (a comma, which Deno's
 * permission lists cannot express), it prints nothing and explains on stderr;
 * Deno then refuses the empty `--allow-write=` and the server does not start
 * with more access than it needs.
 */
import { DEFAULTS } from "./defaults.ts";
import { readEnvFile } from "./env_file.ts";

/**
 * `YYCHAT_DATA_DIR` from a merged environment, with the rule of
 * `config/settings.ts` (trimmed; empty or absent means the default).
 */
export function dataDirFrom(env: Record<string, string | undefined>): string {
  return env.YYCHAT_DATA_DIR?.trim() || DEFAULTS.dataDir;
}

if (import.meta.main) {
  let file: Record<string, string> = {};
  try {
    file = await readEnvFile(".env");
  } catch {
    // The server reports an unreadable .env itself, with a clearer message.
  }
  const value = Deno.env.get("YYCHAT_DATA_DIR");
  const dir = dataDirFrom({ ...file, ...(value === undefined ? {} : { YYCHAT_DATA_DIR: value }) });
  if (dir.includes(",")) {
    console.error(
      `YYCHAT_DATA_DIR "${dir}" contains a comma, which Deno's --allow-write list cannot ` +
        "express: choose a directory without one",
    );
    Deno.exitCode = 1;
  } else {
    console.log(dir);
  }
}
