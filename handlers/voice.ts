/**
 * What the WebSocket door needs of speech, as a port: `src/server` builds it
 * from the voice engines (`src/voice`), so handlers never import an engine.
 */
import type { AudioInput, SpeechStream } from "../src/core/speech.ts";

export interface VoiceDoor {
  /**
   * Decodes and checks the audio of an `audio_input` message.
   *
   * @throws {ChatError} `invalid_audio`, `empty_audio`, `audio_too_large`,
   *   `unsupported_audio_format`, `unsupported_sample_rate`
   */
  decode(
    fields: { audio_base64: string; format: "wav" | "pcm16"; sample_rate?: number },
  ): AudioInput;
  /** Transcribes spoken input (stops when `signal` aborts). */
  transcribe(
    audio: AudioInput,
    options: { language?: string; prompt?: string; signal: AbortSignal },
  ): Promise<{ text: string; language?: string }>;
  /**
   * A speech stream for one reply: the client's voice, else the
   * personality's, else the server's default.
   */
  speaker(options: {
    voice?: string;
    format?: "wav" | "mp3" | "pcm";
    speed?: number;
    personalityId?: string;
  }): (signal: AbortSignal) => SpeechStream;
}
