/**
 * The embedded speech-to-text engine: CMU pocketsphinx with its US English
 * model (Debian `pocketsphinx` + `pocketsphinx-en-us`), sox converting any
 * input to the 16 kHz mono 16-bit samples it expects. Audio is piped
 * through stdin, never written to disk.
 *
 * Quality, honestly: with open vocabulary it is a demo (clean synthetic
 * speech comes back with many wrong words). Constrained to a grammar it is
 * exact on clear speech: a `prompt` that is a JSGF grammar (it starts with
 * `#JSGF`) is used as the recognition grammar, e.g.
 * `#JSGF V1.0; grammar g; public <s> = (turn on | turn off) the light;`.
 * Words must be in the CMU dictionary; `import` is refused.
 *
 * pocketsphinx prints each utterance as soon as it is recognised, so
 * {@linkcode PocketsphinxStt.transcribeStream} yields text while later audio
 * is still being decoded.
 */
import { ChatError } from "../core/errors.ts";
import type {
  AudioInput,
  EngineStatus,
  SpeechModelInfo,
  SpeechToText,
  TranscribeOptions,
  Transcript,
  TranscriptEvent,
  TranscriptSegment,
  TranscriptWord,
} from "../core/speech.ts";
import { EngineProcess, firstLine, runToCompletion } from "./process.ts";
import { probeSox, rawPcmArgs, SOX_INSTALL_HINT } from "./sox.ts";

export const POCKETSPHINX_MODEL_ID = "yychat-offline-stt-pocketsphinx-en-us";
const INSTALL_HINT = "apt-get install pocketsphinx pocketsphinx-en-us";
/** pocketsphinx's US English model takes 16 kHz mono 16-bit samples. */
const RECOGNIZER_RATE = 16_000;
const BYTES_PER_SECOND = RECOGNIZER_RATE * 2;
const MAX_LINE_CHARS = 64 * 1024;
const MAX_TRANSCRIPT_CHARS = 1024 * 1024;

export interface PocketsphinxSttOptions {
  /** Program names or paths (default `pocketsphinx_continuous`, `sox`). */
  pocketsphinxCommand?: string;
  soxCommand?: string;
  /** Where grammar files from `prompt` are written (created on demand, files removed after use). */
  tempDir: string;
  /** Longest a transcription may take (`STT_TIMEOUT`). */
  timeoutMs: number;
  /** Largest grammar accepted in `prompt`, default 64 KiB. */
  maxGrammarBytes?: number;
}

/** See the module doc. */
export class PocketsphinxStt implements SpeechToText {
  readonly offline = true;
  readonly model = POCKETSPHINX_MODEL_ID;
  readonly #ps: string;
  readonly #sox: string;
  readonly #options: PocketsphinxSttOptions;
  #probe: Promise<EngineStatus> | undefined;

  constructor(options: PocketsphinxSttOptions) {
    this.#ps = options.pocketsphinxCommand ?? "pocketsphinx_continuous";
    this.#sox = options.soxCommand ?? "sox";
    this.#options = options;
  }

  models(): SpeechModelInfo[] {
    return [{
      id: POCKETSPHINX_MODEL_ID,
      kind: "stt",
      offline: true,
      description:
        "Offline speech to text with CMU pocketsphinx, US English only. Open vocabulary " +
        "is demo quality; with a JSGF grammar in `prompt` it is exact on clear speech",
    }];
  }

  status(): Promise<EngineStatus> {
    this.#probe ??= this.#runProbe();
    return this.#probe;
  }

  async transcribe(audio: AudioInput, options: TranscribeOptions = {}): Promise<Transcript> {
    for await (const event of this.transcribeStream(audio, options)) {
      if (event.type === "done") return event.transcript;
    }
    throw new ChatError("audio_engine_error", "pocketsphinx ended without a transcript");
  }

  async *transcribeStream(
    audio: AudioInput,
    options: TranscribeOptions = {},
  ): AsyncGenerator<TranscriptEvent> {
    const status = await this.status();
    if (!status.available) throw new ChatError("audio_engine_unavailable", status.reason!);
    checkLanguage(options.language);
    if (audio.container === "webm" || audio.container === "mp4") {
      throw new ChatError(
        "unsupported_audio_format",
        `The offline speech recogniser cannot read ${audio.container} audio: send WAV, MP3, FLAC or Ogg`,
      );
    }
    const { signal } = options;
    signal?.throwIfAborted();
    const grammar = await this.#writeGrammar(options.prompt);
    const procs: EngineProcess[] = [];
    let fed = 0;
    try {
      const ps = new EngineProcess(this.#ps, {
        args: ["-infile", "/dev/stdin", "-time", "yes", ...(grammar ? ["-jsgf", grammar] : [])],
        stdin: true,
        signal,
        timeoutMs: this.#options.timeoutMs,
        stderrFilter: (line) => /ERROR|FATAL/.test(line),
        installHint: INSTALL_HINT,
      });
      procs.push(ps);
      const pcm = audio.pcm;
      const direct = pcm !== undefined && audio.sampleRate === RECOGNIZER_RATE &&
        audio.channels === 1;
      if (direct) {
        const samples = audio.data.subarray(pcm.offset, pcm.offset + pcm.length);
        fed = samples.length;
        ps.writeAndClose(samples).catch(() => {});
      } else {
        const input = pcm
          ? rawPcmArgs(audio.sampleRate!, audio.channels!)
          : ["-t", audio.container];
        const sox = new EngineProcess(this.#sox, {
          args: ["-V1", ...input, "-", ...rawPcmArgs(RECOGNIZER_RATE, 1), "-"],
          stdin: true,
          signal,
          timeoutMs: this.#options.timeoutMs,
          installHint: SOX_INSTALL_HINT,
        });
        procs.push(sox);
        const counter = new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            fed += chunk.length;
            controller.enqueue(chunk);
          },
        });
        sox.stdout.pipeThrough(counter).pipeTo(ps.stdin).catch(() => {});
        const bytes = pcm ? audio.data.subarray(pcm.offset, pcm.offset + pcm.length) : audio.data;
        sox.writeAndClose(bytes).catch(() => {});
      }

      const utterances: { text: string; words: TranscriptWord[]; start?: number; end?: number }[] =
        [];
      let chars = 0;
      let said = false;
      for await (const line of lines(ps.stdout)) {
        const word = WORD_LINE.exec(line);
        const current = utterances.at(-1);
        if (word && current) {
          const start = Number(word[2]);
          const end = Number(word[3]);
          current.start ??= start;
          current.end = end;
          const w = cleanWord(word[1]!);
          if (w) current.words.push({ word: w, start, end });
          continue;
        }
        const text = line.split(/\s+/).map(cleanWord).filter((w) => w).join(" ");
        chars += text.length;
        if (chars > MAX_TRANSCRIPT_CHARS) {
          throw new ChatError("audio_engine_error", "The transcript is over 1 MiB: refused");
        }
        utterances.push({ text, words: [] });
        if (text) {
          // Deltas concatenate to the final text: utterances are joined by one space.
          yield { type: "delta", text: said ? ` ${text}` : text };
          said = true;
        }
      }
      for (const p of procs.slice().reverse()) await p.wait();
      await this.#check(procs, grammar);

      const spoken = utterances.filter((u) => u.text);
      const segments: TranscriptSegment[] = spoken.map((u) => ({
        start: u.words[0]?.start ?? u.start ?? 0,
        end: u.words.at(-1)?.end ?? u.end ?? 0,
        text: u.text,
      }));
      const transcript: Transcript = {
        text: spoken.map((u) => u.text).join(" "),
        model: POCKETSPHINX_MODEL_ID,
        language: "en",
        durationSeconds: audio.durationSeconds ?? fed / BYTES_PER_SECOND,
        segments,
        ...(options.wordTimestamps ? { words: spoken.flatMap((u) => u.words) } : {}),
      };
      yield { type: "done", transcript };
    } catch (err) {
      if (signal?.aborted) throw new ChatError("cancelled", "The transcription was cancelled");
      if (procs.some((p) => p.killed === "timeout")) {
        throw new ChatError(
          "audio_engine_error",
          `The offline speech recogniser took longer than ${this.#options.timeoutMs} ms (STT_TIMEOUT)`,
        );
      }
      throw err;
    } finally {
      await Promise.all(procs.map((p) => p.close()));
      if (grammar) await Deno.remove(grammar).catch(() => {});
    }
  }

  /** Exit statuses → coded errors: sox failing means the audio could not be decoded. */
  async #check(procs: EngineProcess[], grammar: string | undefined): Promise<void> {
    const [ps, sox] = procs;
    if (procs.some((p) => p.killed === "timeout")) throw new Error("timeout");
    if (sox) {
      const { code } = await sox.wait();
      if (code !== 0) {
        throw new ChatError(
          "invalid_audio",
          `The audio could not be decoded${sox.stderr ? ` (${firstLine(sox.stderr)})` : ""}`,
        );
      }
    }
    const { code } = await ps!.wait();
    if (code === 0) return;
    const error = firstLine(ps!.stderr.replaceAll(grammar ?? "\0", "prompt"));
    if (grammar && /jsgf|grammar|dictionary|fsg/i.test(ps!.stderr)) {
      throw new ChatError("validation_error", `The JSGF grammar in "prompt" was refused: ${error}`);
    }
    throw new ChatError("audio_engine_error", `pocketsphinx failed (exit ${code}): ${error}`);
  }

  async #writeGrammar(prompt: string | undefined): Promise<string | undefined> {
    if (prompt === undefined || !prompt.trimStart().startsWith("#JSGF")) return undefined;
    const max = this.#options.maxGrammarBytes ?? 64 * 1024;
    const bytes = new TextEncoder().encode(prompt);
    if (bytes.length > max) {
      throw new ChatError("validation_error", `The JSGF grammar in "prompt" is over ${max} bytes`);
    }
    if (/^\s*import\b/m.test(prompt)) {
      throw new ChatError(
        "validation_error",
        `The JSGF grammar in "prompt" may not import other grammars`,
      );
    }
    await Deno.mkdir(this.#options.tempDir, { recursive: true });
    const path = await Deno.makeTempFile({
      dir: this.#options.tempDir,
      prefix: "grammar-",
      suffix: ".jsgf",
    });
    await Deno.writeFile(path, bytes);
    return path;
  }

  async #runProbe(): Promise<EngineStatus> {
    const [ps, sox] = await Promise.all([
      runToCompletion(this.#ps, {
        // Loads the acoustic model and the dictionary, then reads an empty input.
        args: ["-infile", "/dev/null", "-logfn", "/dev/null"],
        timeoutMs: 30_000,
        maxStdoutBytes: 64 * 1024,
      }).then((r) => r.code === 0, () => false),
      probeSox(this.#sox),
    ]);
    if (!ps) {
      return {
        available: false,
        reason: `The offline speech recogniser is not installed: ${INSTALL_HINT}` +
          " (or set STT_BASE_URL to an OpenAI-compatible transcription server)",
      };
    }
    if (!sox.available) {
      return {
        available: false,
        reason: `The offline speech recogniser needs sox to convert audio: ${SOX_INSTALL_HINT}`,
      };
    }
    return { available: true };
  }
}

/** `word start end confidence` — a line of pocketsphinx's `-time yes` output. */
const WORD_LINE = /^(\S+) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e-?\d+)?)$/;

/** The dictionary word without its pronunciation index (`the(2)`); fillers (`<sil>`, `[NOISE]`) are dropped. */
function cleanWord(raw: string): string {
  if (/^[<[+(]/.test(raw)) return "";
  return raw.replace(/\(\d+\)$/, "");
}

/** pocketsphinx's model is US English: other languages are refused, not guessed. */
function checkLanguage(language: string | undefined): void {
  if (language === undefined) return;
  const l = language.trim().toLowerCase();
  if (l === "" || l === "en" || l === "en-us" || l === "en_us" || l === "english") return;
  throw new ChatError(
    "unsupported_language",
    `The offline speech recogniser understands US English only (language "${language}"): ` +
      "set STT_BASE_URL to an OpenAI-compatible server for other languages",
  );
}

/** Lines of `stream`, each cut at {@linkcode MAX_LINE_CHARS}. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    partial += decoder.decode(chunk, { stream: true });
    const parts = partial.split("\n");
    partial = parts.pop()!;
    for (const p of parts) yield p.trim().slice(0, MAX_LINE_CHARS);
    if (partial.length > MAX_LINE_CHARS) {
      yield partial.slice(0, MAX_LINE_CHARS);
      partial = "";
    }
  }
  partial += decoder.decode();
  if (partial.trim()) yield partial.trim();
}
