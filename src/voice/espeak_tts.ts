/**
 * The embedded text-to-speech engine: espeak-ng (formant synthesis: robotic
 * but clear, ~100 languages including Mandarin `cmn` and Cantonese `yue`,
 * hundreds of times faster than real time), with sox converting its 22.05 kHz
 * mono WAV to the other formats. The text goes through stdin, so nothing in
 * it is ever read as an option.
 *
 * Voices: any espeak-ng language (`en-us`, `cmn`, `de`), optionally with a
 * variant (`en-us+f3`), and OpenAI's voice names mapped onto English
 * variants so OpenAI clients work unchanged. When a request names no voice
 * or an OpenAI voice name, text written mostly in Chinese, Japanese or
 * Korean script is spoken with that language's voice.
 */
import { ChatError } from "../core/errors.ts";
import {
  PCM_SAMPLE_RATE,
  SPEECH_CONTENT_TYPES,
  type SpeechFormat,
  type SpeechModelInfo,
  type SynthesizedSpeech,
  type SynthesizeOptions,
  type TextToSpeech,
  type TtsStatus,
  type VoiceInfo,
} from "../core/speech.ts";
import { ByteStream } from "./byte_stream.ts";
import { EngineProcess, firstLine, runToCompletion } from "./process.ts";
import { probeSox, SOX_INSTALL_HINT, type SoxCapabilities, soxOutputArgs } from "./sox.ts";

export const ESPEAK_MODEL_ID = "yychat-offline-tts-espeak-ng";
/** espeak-ng writes 16-bit mono WAV at this rate. */
export const ESPEAK_SAMPLE_RATE = 22_050;
const ESPEAK_INSTALL_HINT = "apt-get install espeak-ng";
/** espeak-ng's default rate in words per minute, and the range it honours. */
const BASE_WPM = 175;
const MIN_WPM = 80;
const MAX_WPM = 600;

/** OpenAI's voice names, spoken by English espeak-ng variants. */
const OPENAI_VOICES: Record<string, { variant: string; gender: "male" | "female" }> = {
  alloy: { variant: "", gender: "male" },
  ash: { variant: "m3", gender: "male" },
  ballad: { variant: "m7", gender: "male" },
  cedar: { variant: "m1", gender: "male" },
  coral: { variant: "f2", gender: "female" },
  echo: { variant: "m2", gender: "male" },
  fable: { variant: "m4", gender: "male" },
  marin: { variant: "f1", gender: "female" },
  nova: { variant: "f3", gender: "female" },
  onyx: { variant: "m6", gender: "male" },
  sage: { variant: "f4", gender: "female" },
  shimmer: { variant: "f5", gender: "female" },
  verse: { variant: "m5", gender: "male" },
};

export interface EspeakTtsOptions {
  /** Program names or paths (default `espeak-ng`, `sox`). */
  espeakCommand?: string;
  soxCommand?: string;
  /** Voice when a request names none (`TTS_VOICE`), default `en-us`. */
  defaultVoice?: string;
  /** Longest the engine may take to produce the next bytes. */
  idleTimeoutMs: number;
}

/** The voices espeak-ng reports (`--voices`, `--voices=variant`). */
export interface Catalogue {
  /** Language voice id → description. */
  languages: Map<string, { name: string; gender?: "male" | "female" }>;
  variants: Set<string>;
}

interface Probe {
  status: TtsStatus;
  catalogue: Catalogue;
  sox: SoxCapabilities;
}

/** See the module doc. */
export class EspeakTts implements TextToSpeech {
  readonly offline = true;
  readonly model = ESPEAK_MODEL_ID;
  readonly defaultVoice: string;
  readonly #espeak: string;
  readonly #sox: string;
  readonly #idleTimeoutMs: number;
  #probe: Promise<Probe> | undefined;

  constructor(options: EspeakTtsOptions) {
    this.#espeak = options.espeakCommand ?? "espeak-ng";
    this.#sox = options.soxCommand ?? "sox";
    this.defaultVoice = options.defaultVoice ?? "en-us";
    this.#idleTimeoutMs = options.idleTimeoutMs;
  }

  models(): SpeechModelInfo[] {
    return [{
      id: ESPEAK_MODEL_ID,
      kind: "tts",
      offline: true,
      description: "Offline text to speech with espeak-ng (formant synthesis: robotic but clear; " +
        "~100 languages including Mandarin and Cantonese)",
    }];
  }

  async status(): Promise<TtsStatus> {
    return (await this.#probed()).status;
  }

  async voices(): Promise<VoiceInfo[]> {
    const { status, catalogue } = await this.#probed();
    if (!status.available) return [];
    const out: VoiceInfo[] = Object.entries(OPENAI_VOICES).map(([id, v]) => ({
      id,
      description: `OpenAI voice name, spoken by espeak-ng en-us${
        v.variant ? `+${v.variant}` : ""
      }`,
      language: "en-us",
      gender: v.gender,
    }));
    for (const [id, v] of catalogue.languages) {
      out.push({
        id,
        description: `espeak-ng ${v.name.replaceAll("_", " ")} (add +variant, e.g. ${id}+f3)`,
        language: id,
        ...(v.gender ? { gender: v.gender } : {}),
      });
    }
    return out;
  }

  async synthesize(text: string, options: SynthesizeOptions): Promise<SynthesizedSpeech> {
    const { status, catalogue, sox } = await this.#probed();
    if (!status.available) throw new ChatError("audio_engine_unavailable", status.reason!);
    const { format } = options;
    if (!status.formats.includes(format)) {
      throw new ChatError(
        "unsupported_response_format",
        `The offline speech engine cannot make "${format}": it makes ${status.formats.join(", ")}`,
      );
    }
    const voice = resolveVoice(options.voice ?? this.defaultVoice, options.voice, text, catalogue);
    const speed = options.speed ?? 1;
    const wpm = Math.min(MAX_WPM, Math.max(MIN_WPM, Math.round(BASE_WPM * speed)));
    // Speeds espeak-ng cannot reach are made up by sox's tempo effect (pitch kept).
    const tempo = (BASE_WPM * speed) / wpm;
    const needsTempo = Math.abs(tempo - 1) > 0.01 && sox.available;
    const signal = options.signal;
    signal?.throwIfAborted();

    const espeak = new EngineProcess(this.#espeak, {
      args: ["-v", voice, "-s", String(wpm), "-b", "1", "--stdin", "--stdout"],
      stdin: true,
      signal,
      installHint: ESPEAK_INSTALL_HINT,
    });
    const procs = [espeak];
    let output = espeak.stdout;
    try {
      if (format !== "wav" || needsTempo) {
        const soxProc = new EngineProcess(this.#sox, {
          args: [
            "-V1",
            "-t",
            "wav",
            "-",
            ...soxOutputArgs(format, sox)!,
            "-",
            ...(needsTempo ? ["tempo", "-s", tempo.toFixed(3)] : []),
          ],
          stdin: true,
          signal,
          installHint: SOX_INSTALL_HINT,
        });
        procs.push(soxProc);
        espeak.stdout.pipeTo(soxProc.stdin).catch(() => {});
        output = soxProc.stdout;
      }
    } catch (err) {
      await espeak.close();
      throw err;
    }
    espeak.writeAndClose(new TextEncoder().encode(text)).catch(() => {});

    const chunks = new ByteStream({
      source: output,
      idleTimeoutMs: this.#idleTimeoutMs,
      signal,
      timeoutError: () =>
        new ChatError(
          "audio_engine_error",
          `The offline speech engine produced nothing for ${this.#idleTimeoutMs} ms (TTS_TIMEOUT)`,
        ),
      readError: (err) =>
        new ChatError("audio_engine_error", `Reading the offline speech engine failed: ${err}`),
      finish: async () => {
        for (const p of procs) {
          const { code } = await p.wait();
          if (code !== 0 && p.killed === undefined) {
            throw new ChatError(
              "audio_engine_error",
              `${p.name} failed (exit ${code})${p.stderr ? `: ${firstLine(p.stderr)}` : ""}`,
            );
          }
        }
      },
      release: async () => {
        await Promise.all(procs.map((p) => p.close()));
      },
    });
    await chunks.start();
    return {
      format,
      sampleRate: format === "pcm" ? PCM_SAMPLE_RATE : ESPEAK_SAMPLE_RATE,
      contentType: SPEECH_CONTENT_TYPES[format],
      voice,
      model: ESPEAK_MODEL_ID,
      chunks,
    };
  }

  #probed(): Promise<Probe> {
    this.#probe ??= this.#runProbe();
    return this.#probe;
  }

  async #runProbe(): Promise<Probe> {
    const [voices, variants, sox] = await Promise.all([
      listVoices(this.#espeak, "--voices"),
      listVoices(this.#espeak, "--voices=variant"),
      probeSox(this.#sox),
    ]);
    const catalogue: Catalogue = { languages: new Map(), variants: new Set() };
    if (voices === undefined) {
      return {
        status: {
          available: false,
          reason: `The offline text-to-speech engine is not installed: ${ESPEAK_INSTALL_HINT}` +
            " (or set TTS_BASE_URL to an OpenAI-compatible speech server)",
          formats: [],
        },
        catalogue,
        sox,
      };
    }
    for (const v of voices) {
      if (!catalogue.languages.has(v.language)) {
        catalogue.languages.set(v.language, { name: v.name, gender: v.gender });
      }
    }
    for (const v of variants ?? []) {
      const variant = v.file.replace(/^!v\//, "");
      if (/^[A-Za-z0-9_-]+$/.test(variant)) catalogue.variants.add(variant);
    }
    const formats: SpeechFormat[] = ["wav"];
    for (const f of ["pcm", "mp3", "flac"] as const) {
      if (soxOutputArgs(f, sox)) formats.push(f);
    }
    return { status: { available: true, formats }, catalogue, sox };
  }
}

interface VoiceLine {
  language: string;
  gender?: "male" | "female";
  name: string;
  file: string;
}

/** Parses `espeak-ng --voices` (a table: Pty Language Age/Gender VoiceName File Other…). */
async function listVoices(command: string, flag: string): Promise<VoiceLine[] | undefined> {
  try {
    const { code, stdout } = await runToCompletion(command, {
      args: [flag],
      timeoutMs: 10_000,
      maxStdoutBytes: 512 * 1024,
    });
    if (code !== 0) return undefined;
    const out: VoiceLine[] = [];
    for (const line of stdout.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 5) continue;
      const g = cols[2]!.split("/")[1];
      out.push({
        language: cols[1]!.toLowerCase(),
        name: cols[3]!,
        file: cols[4]!,
        ...(g === "M"
          ? { gender: "male" as const }
          : g === "F"
          ? { gender: "female" as const }
          : {}),
      });
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * The espeak-ng `-v` argument for `voice`. `requested` is what the request
 * named (undefined: the default voice was used), which decides whether the
 * language may follow the text's script.
 *
 * @throws {ChatError} `voice_not_found`
 */
export function resolveVoice(
  voice: string,
  requested: string | undefined,
  text: string,
  catalogue: Catalogue,
): string {
  const lower = voice.trim().toLowerCase();
  const alias = OPENAI_VOICES[lower];
  let language: string;
  let variant: string;
  if (alias) {
    language = "en-us";
    variant = alias.variant;
  } else {
    const [lang = "", v = "", ...rest] = lower.split("+");
    const knownVariant = v === "" ||
      [...catalogue.variants].some((known) => known.toLowerCase() === v);
    if (!catalogue.languages.has(lang) || !knownVariant || rest.length > 0) {
      throw new ChatError(
        "voice_not_found",
        `Unknown voice "${voice}": use an espeak-ng language such as en-us or cmn, ` +
          `optionally with a variant (en-us+f3), or an OpenAI voice name (alloy, nova…); ` +
          `GET /v1/audio/voices lists them`,
      );
    }
    language = lang;
    variant = v === "" ? "" : [...catalogue.variants].find((k) => k.toLowerCase() === v)!;
  }
  if (requested === undefined || alias) {
    const script = dominantScript(text);
    if (script && catalogue.languages.has(script)) language = script;
  }
  return variant ? `${language}+${variant}` : language;
}

/** `cmn`, `ja` or `ko` when CJK letters outnumber Latin ones in `text`. */
function dominantScript(text: string): "cmn" | "ja" | "ko" | undefined {
  const sample = text.slice(0, 2000);
  const count = (re: RegExp) => sample.match(re)?.length ?? 0;
  const han = count(/\p{Script=Han}/gu);
  const kana = count(/[\p{Script=Hiragana}\p{Script=Katakana}]/gu);
  const hangul = count(/\p{Script=Hangul}/gu);
  const latin = count(/\p{Script=Latin}/gu);
  if (han + kana + hangul === 0 || han + kana + hangul < latin) return undefined;
  if (kana > 0) return "ja";
  if (hangul > han) return "ko";
  return "cmn";
}
