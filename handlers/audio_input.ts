import { ChatError } from "../src/core/errors.ts";
import type { AudioInput } from "../src/protocol/messages.ts";
import type { ConnectionContext, Handler } from "../src/router/router.ts";
import type { TextMessageHandler } from "./text_message.ts";
import type { VoiceDoor } from "./voice.ts";

/**
 * `audio_input{audio_base64, format, sample_rate?, language?, respond?}`:
 * spoken input → `audio_processing_start`, `transcription_result{text}`;
 * with `respond: true` the transcript then runs as a `text_message` (same
 * `request_id`, the stage-1 sequence follows, and `voice` speaks the reply).
 * It is one generation: resumable and cancellable like any reply. Bad audio
 * is refused before anything starts (nothing is stored).
 */
export class AudioInputHandler implements Handler<AudioInput> {
  readonly name = "AudioInputHandler";
  readonly #voice: VoiceDoor;
  readonly #replies: TextMessageHandler;

  constructor(options: { voice: VoiceDoor; replies: TextMessageHandler }) {
    this.#voice = options.voice;
    this.#replies = options.replies;
  }

  handle(msg: AudioInput, ctx: ConnectionContext): void {
    const audio = this.#voice.decode({
      audio_base64: (msg.audio_base64 ?? msg.audio ?? msg.audio_b64 ?? msg.data)!,
      format: msg.format,
      ...(msg.sample_rate ? { sample_rate: msg.sample_rate } : {}),
    });
    if (msg.voice && msg.respond !== true) {
      throw new ChatError(
        "validation_error",
        'Invalid "audio_input": "voice" needs "respond": true',
      );
    }
    // The user message is the transcript, filled in once it is known.
    const spec = this.#replies.spec(msg, ctx, []);
    const voice = this.#voice;
    spec.transcription = {
      respond: msg.respond === true,
      run: (signal) =>
        voice.transcribe(audio, {
          ...(msg.language ? { language: msg.language } : {}),
          ...(msg.prompt ? { prompt: msg.prompt } : {}),
          signal,
        }),
    };
    this.#replies.start(spec, ctx);
  }
}
