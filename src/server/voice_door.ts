/**
 * The WebSocket door's speech (`handlers/voice.ts`), built from the voice
 * engines: audio decoding and checks, transcription, and one speech
 * pipeline per spoken reply, in the voice the client, the personality or
 * the server chose (in that order).
 */
import type { SpeechEngines } from "../core/speech.ts";
import type { Personalities } from "../engine/personalities.ts";
import type { VoiceDoor } from "../../handlers/voice.ts";
import { decodeBase64Audio } from "../voice/audio_input.ts";
import { SpeechPipeline } from "../voice/pipeline.ts";

export function createVoiceDoor(
  engines: SpeechEngines,
  options: { maxAudioBytes: number; personalities: Personalities },
): VoiceDoor {
  const { personalities } = options;
  return {
    decode: (fields) => decodeBase64Audio(fields, { maxBytes: options.maxAudioBytes }),
    async transcribe(audio, { language, prompt, signal }) {
      const t = await engines.stt.transcribe(audio, {
        ...(language ? { language } : {}),
        ...(prompt ? { prompt } : {}),
        signal,
      });
      return { text: t.text, ...(t.language ? { language: t.language } : {}) };
    },
    speaker({ voice, format, speed, personalityId }) {
      const chosen = voice ??
        (personalityId && personalities.has(personalityId)
          ? personalities.get(personalityId).voice
          : personalities.default.voice);
      return (signal) =>
        new SpeechPipeline({
          tts: engines.tts,
          format: format ?? "wav",
          ...(chosen ? { voice: chosen } : {}),
          ...(speed ? { speed } : {}),
          signal,
        });
    },
  };
}
