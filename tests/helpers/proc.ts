/**
 * Process facts from Linux's `/proc`, read through `cat` and `ps`: Deno
 * grants `/proc` reads only with `--allow-all`, and the test task runs with
 * explicit permissions (`--allow-run` covers these commands).
 */
const decoder = new TextDecoder();

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")} failed: ${decoder.decode(out.stderr).trim()}`);
  }
  return decoder.decode(out.stdout);
}

/** The text of a `/proc` file. */
export function readProc(path: string): Promise<string> {
  return run("cat", [path]);
}

/** Resident set size of a process, bytes. */
export async function rssBytes(pid: number = Deno.pid): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readProc(`/proc/${pid}/status`));
  if (m === null) throw new TypeError(`Cannot read VmRSS of process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of a process. */
export async function openFdCount(pid: number = Deno.pid): Promise<number> {
  const listing = await run("ls", [`/proc/${pid}/fd`]);
  return listing.split("\n").filter((l) => l.trim() !== "").length;
}

/** Pids of the descendants of `root` whose command line contains `needle`. */
export async function descendants(needle: string, root: number = Deno.pid): Promise<number[]> {
  const parent = new Map<number, number>();
  const args = new Map<number, string>();
  for (const line of (await run("ps", ["-eo", "pid=,ppid=,args="])).split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    parent.set(Number(m[1]), Number(m[2]));
    args.set(Number(m[1]), m[3]!);
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) return true;
    }
    return false;
  };
  return [...args].filter(([pid, a]) => a.includes(needle) && under(pid)).map(([pid]) => pid);
}
