/**
 * A set of IP addresses and CIDR ranges (IPv4 and IPv6), for
 * `YYCHAT_TRUSTED_PROXIES`. Addresses are compared as numbers, so
 * `::1` and `0:0:0:0:0:0:0:1` are the same address.
 */
export class AddressSet {
  readonly #ranges: { bits: number; value: bigint; prefix: number }[] = [];

  /** @throws {RangeError} when an entry is not an address or CIDR */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addr, prefixText] = entry.trim().split("/");
      const parsed = parseAddress(addr ?? "");
      if (parsed === undefined) {
        throw new RangeError(`Invalid address or CIDR: ${JSON.stringify(entry)}`);
      }
      const prefix = prefixText === undefined ? parsed.bits : Number(prefixText);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > parsed.bits) {
        throw new RangeError(`Invalid CIDR prefix: ${JSON.stringify(entry)}`);
      }
      this.#ranges.push({ ...parsed, prefix });
    }
  }

  get size(): number {
    return this.#ranges.length;
  }

  has(address: string): boolean {
    if (this.#ranges.length === 0) return false;
    const parsed = parseAddress(address);
    if (parsed === undefined) return false;
    return this.#ranges.some((r) => {
      if (r.bits !== parsed.bits) return false;
      const shift = BigInt(r.bits - r.prefix);
      return (r.value >> shift) === (parsed.value >> shift);
    });
  }
}

/** An IPv4 or IPv6 address as a number, or undefined. */
export function parseAddress(text: string): { bits: number; value: bigint } | undefined {
  const a = text.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) {
    const parts = a.split(".").map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return { bits: 32, value: parts.reduce((v, p) => (v << 8n) | BigInt(p), 0n) };
  }
  if (!a.includes(":") || !/^[0-9a-f:.]+$/.test(a)) return undefined;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  let text6 = a;
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (v4) {
    const inner = parseAddress(v4[1]!);
    if (inner === undefined) return undefined;
    const hi = Number(inner.value >> 16n).toString(16);
    const lo = Number(inner.value & 0xffffn).toString(16);
    text6 = `${a.slice(0, v4.index)}${hi}:${lo}`;
  }
  const halves = text6.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return { bits: 128, value };
}
