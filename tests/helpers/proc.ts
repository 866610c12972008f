/**
 * Process facts from Linux's `/proc`, for tests and benchmarks. Deno reads
 * `/proc` only with `--allow-all`, and the test and bench tasks keep explicit
 * permissions, so files are read through `cat`, `ls` and `ps`
 * (`--allow-run`).
 */
const decoder = new TextDecoder();

function command(name: string, args: string[]): Deno.Command {
  return new Deno.Command(name, { args, stdout: "piped", stderr: "piped" });
}

function text(name: string, args: string[], out: Deno.CommandOutput): string {
  if (!out.success) {
    throw new Error(`${name} ${args.join(" ")} failed: ${decoder.decode(out.stderr).trim()}`);
  }
  return decoder.decode(out.stdout);
}

function runSync(name: string, args: string[]): string {
  return text(name, args, command(name, args).outputSync());
}

/** The text of a `/proc` file, without blocking the event loop (benchmarks under load). */
export async function readProc(path: string): Promise<string> {
  return text("cat", [path], await command("cat", [path]).output());
}

/** The text of a `/proc` file. */
export function readProcSync(path: string): string {
  return runSync("cat", [path]);
}

export const MiB = 1024 * 1024;

/** `bytes` as "12.3 MiB". */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Resident set size (`VmRSS`) of `pid`, bytes (this process by default). */
export function rssBytes(pid: number = Deno.pid): number {
  if (pid === Deno.pid) return Deno.memoryUsage().rss;
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readProcSync(`/proc/${pid}/status`));
  if (m === null) throw new TypeError(`Cannot read VmRSS of process ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Open file descriptors of `pid` (`Deno.resources()` is gone in Deno 2, so
 * the fd table is the resource count). The pipe to `ls` adds the same one or
 * two descriptors to every count of this process.
 */
export function fdCount(pid: number = Deno.pid): number {
  return runSync("ls", ["-1", `/proc/${pid}/fd`]).split("\n").filter((l) => l.length > 0).length;
}

/** Pids of the descendants of `root` whose command line contains `needle`. */
export function descendants(needle: string, root: number = Deno.pid): number[] {
  const parent = new Map<number, number>();
  const args = new Map<number, string>();
  for (const line of runSync("ps", ["-eo", "pid=,ppid=,args="]).split("\n")) {
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

/** `nproc`, CPU model and Deno version, for results tables. */
export function machine(): { nproc: number; cpu: string; deno: string; date: string } {
  const cpuinfo = readProcSync("/proc/cpuinfo");
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    deno: Deno.version.deno,
    date: new Date().toISOString(),
  };
}
