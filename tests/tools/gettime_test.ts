import assert from "node:assert/strict";
import { createGetTimeTool, timeIn } from "../../src/tools/gettime.ts";

const signal = new AbortController().signal;
const NOW = new Date("2026-01-15T12:34:56Z");

Deno.test("timeIn() renders the wall-clock time of a zone", async (t) => {
  const cases: [string, string, string, string][] = [
    ["UTC", "2026-01-15 12:34:56", "+00:00", "Thursday"],
    ["Asia/Shanghai", "2026-01-15 20:34:56", "+08:00", "Thursday"],
    ["America/New_York", "2026-01-15 07:34:56", "-05:00", "Thursday"],
    ["Pacific/Kiritimati", "2026-01-16 02:34:56", "+14:00", "Friday"],
  ];
  for (const [tz, local, offset, weekday] of cases) {
    await t.step(tz, () => {
      const r = timeIn(tz, NOW);
      assert.equal(r.local_time, local);
      assert.equal(r.utc_offset, offset);
      assert.equal(r.weekday, weekday);
      assert.equal(r.utc_iso, "2026-01-15T12:34:56.000Z");
      assert.equal(r.unix, NOW.getTime() / 1000);
    });
  }
});

Deno.test("createGetTimeTool() uses the configured default zone", async () => {
  const tool = createGetTimeTool({ defaultTimezone: "Asia/Tokyo", now: () => NOW });
  const r = await tool.call({}, { signal }) as { timezone: string; local_time: string };
  assert.equal(r.timezone, "Asia/Tokyo");
  assert.equal(r.local_time, "2026-01-15 21:34:56");
  const explicit = await tool.call({ timezone: "Europe/London" }, { signal }) as {
    timezone: string;
  };
  assert.equal(explicit.timezone, "Europe/London");
});

Deno.test("createGetTimeTool() rejects an invalid zone with a clear error", async () => {
  const tool = createGetTimeTool({ defaultTimezone: "UTC", now: () => NOW });
  await assert.rejects(
    () => tool.call({ timezone: "Mars/Olympus" }, { signal }),
    (err: unknown) => {
      assert.ok(err instanceof RangeError);
      assert.match(err.message, /^Unknown time zone "Mars\/Olympus"/);
      return true;
    },
  );
  await assert.rejects(() => tool.call({ timezone: 5 }, { signal }), TypeError);
});
