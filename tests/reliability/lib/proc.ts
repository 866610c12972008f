/**
 * Process figures from `/proc` (Linux): resident memory and open file
 * descriptors, of this process or of a child server. `Deno.resources()` is
 * gone in Deno 2, so the fd table is the resource count.
 */

/** Resident set size in bytes (`VmRSS`), of `pid` or this process. */
export function rssBytes(pid: number | "self" = "self"): number {
  if (pid === "self") return Deno.memoryUsage().rss;
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/**
 * Open file descriptors of `pid` or this process. Deno asks for
 * `--allow-all` to read `/proc/<pid>/fd` itself, so `ls` (`--allow-run`, as
 * in `deno task test`) lists it; the pipe to `ls` adds the same one or two
 * descriptors to every count.
 */
export function fdCount(pid: number | "self" = "self"): number {
  const target = pid === "self" ? Deno.pid : pid;
  const out = new Deno.Command("ls", { args: ["-1", `/proc/${target}/fd`], stderr: "null" })
    .outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.length > 0).length;
}

/** `nproc`, CPU model and Deno version, for the results table. */
export function machine(): { nproc: number; cpu: string; deno: string; date: string } {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    deno: Deno.version.deno,
    date: new Date().toISOString(),
  };
}

export const MiB = 1024 * 1024;

/** `bytes` as "12.3 MiB". */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
