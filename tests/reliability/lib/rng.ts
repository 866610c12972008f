/**
 * A small seeded PRNG (mulberry32), so every fuzz run is reproducible from
 * the seed it prints.
 */
export class Rng {
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** A seed from `--seed N` / `FUZZ_SEED`, else a fresh random one. */
  static seedFrom(value: string | undefined): number {
    const n = Number(value);
    return value !== undefined && Number.isInteger(n) ? n >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  bytes(length: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}
