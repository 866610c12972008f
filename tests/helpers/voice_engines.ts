/**
 * Whether the offline speech engines (Debian packages, installed by .ci/run)
 * are on this machine; tests that need them are ignored, loudly, without them.
 */

export const VOICE_PACKAGES = "espeak-ng pocketsphinx pocketsphinx-en-us sox libsox-fmt-mp3";

function run(command: string, args: string[]): { ok: boolean; stdout: string } {
  try {
    const out = new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).outputSync();
    return { ok: out.success, stdout: new TextDecoder().decode(out.stdout) };
  } catch {
    return { ok: false, stdout: "" };
  }
}

export const hasEspeak = run("espeak-ng", ["--version"]).ok;
const soxHelp = run("sox", ["-h"]);
export const hasSox = soxHelp.ok && run("soxi", []).ok;
export const hasSoxMp3 = hasSox && /AUDIO FILE FORMATS:.*\bmp3\b/.test(soxHelp.stdout);
export const hasPocketsphinx =
  run("pocketsphinx_continuous", ["-infile", "/dev/null", "-logfn", "/dev/null"]).ok;
/** Every offline engine the voice tests use. */
export const hasVoiceEngines = hasEspeak && hasSox && hasSoxMp3 && hasPocketsphinx;

/** Says, once per test module, which engines are missing and how to install them. */
export function warnIfMissing(module: string): void {
  if (hasVoiceEngines) return;
  const missing = [
    !hasEspeak && "espeak-ng",
    !hasSox && "sox",
    hasSox && !hasSoxMp3 && "libsox-fmt-mp3",
    !hasPocketsphinx && "pocketsphinx + pocketsphinx-en-us",
  ].filter(Boolean).join(", ");
  console.warn(
    `⚠ ${module}: tests needing the offline speech engines are IGNORED: missing ${missing}. ` +
      `Install them with: apt-get install ${VOICE_PACKAGES}`,
  );
}

/** `soxi`'s view of a file: sample rate, channels, duration in seconds (reads the audio). */
export async function soxInfo(
  bytes: Uint8Array,
  type: string,
): Promise<{ rate: number; channels: number; seconds: number }> {
  const file = await Deno.makeTempFile({ suffix: `.${type}` });
  try {
    await Deno.writeFile(file, bytes);
    const info = (args: string[]) => {
      const out = new Deno.Command("soxi", {
        args: [...args, file],
        stdout: "piped",
        stderr: "piped",
      })
        .outputSync();
      if (!out.success) {
        throw new Error(`soxi refused the ${type}: ${new TextDecoder().decode(out.stderr)}`);
      }
      return new TextDecoder().decode(out.stdout).trim();
    };
    const rate = Number(info(["-r"]));
    const channels = Number(info(["-c"]));
    // soxi -D trusts the header; a streamed WAV's header has no length, so sox counts the samples.
    const stat = new Deno.Command("sox", {
      args: [file, "-n", "stat"],
      stdout: "piped",
      stderr: "piped",
    })
      .outputSync();
    const seconds = Number(
      /Length \(seconds\):\s*([\d.]+)/.exec(new TextDecoder().decode(stat.stderr))?.[1],
    );
    return { rate, channels, seconds };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** A JSGF grammar accepting any sequence of `phrases` (words from the CMU dictionary). */
export function phraseGrammar(phrases: string[]): string {
  return `#JSGF V1.0;\ngrammar phrases;\npublic <utterance> = <phrase>+;\n<phrase> = ${
    phrases.join(" | ")
  };\n`;
}
