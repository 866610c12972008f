/**
 * sox, the format converter of the offline engines: what this build can
 * read and write (checked once), and the argument lists for the
 * conversions yychat needs. Audio always flows through stdin/stdout, never
 * through files.
 */
import { PCM_SAMPLE_RATE, type SpeechFormat } from "../core/speech.ts";
import { runToCompletion } from "./process.ts";

export const SOX_INSTALL_HINT = "apt-get install sox libsox-fmt-mp3";

/** What the installed sox can do. */
export interface SoxCapabilities {
  available: boolean;
  /** File types it reads and writes (`wav`, `mp3`, `flac`, `ogg`, …). */
  types: ReadonlySet<string>;
}

/** Runs `sox -h` once and reads its "AUDIO FILE FORMATS" line. */
export async function probeSox(command: string): Promise<SoxCapabilities> {
  try {
    const { code, stdout } = await runToCompletion(command, {
      args: ["-h"],
      timeoutMs: 10_000,
      maxStdoutBytes: 256 * 1024,
    });
    const line = stdout.split("\n").find((l) => l.startsWith("AUDIO FILE FORMATS:"));
    if (code !== 0 || line === undefined) return { available: false, types: new Set() };
    return {
      available: true,
      types: new Set(line.slice("AUDIO FILE FORMATS:".length).trim().split(/\s+/)),
    };
  } catch {
    return { available: false, types: new Set() };
  }
}

/** Arguments describing raw signed 16-bit little-endian samples. */
export function rawPcmArgs(sampleRate: number, channels: number): string[] {
  return [
    "-t",
    "raw",
    "-r",
    String(sampleRate),
    "-e",
    "signed-integer",
    "-b",
    "16",
    "-c",
    String(channels),
    "-L",
  ];
}

/** Output arguments (before the `-` that names stdout) for a speech format; undefined when sox cannot make it. */
export function soxOutputArgs(format: SpeechFormat, caps: SoxCapabilities): string[] | undefined {
  if (!caps.available) return undefined;
  switch (format) {
    case "wav":
      return ["-t", "wav", "-e", "signed-integer", "-b", "16"];
    case "pcm":
      return rawPcmArgs(PCM_SAMPLE_RATE, 1);
    case "mp3":
      return caps.types.has("mp3") ? ["-t", "mp3"] : undefined;
    case "flac":
      return caps.types.has("flac") ? ["-t", "flac"] : undefined;
    case "opus":
    case "aac":
      return undefined;
  }
}
