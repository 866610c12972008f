import assert from "node:assert/strict";
import { calculate, createCalculatorTool } from "../../src/tools/calculator.ts";

const signal = new AbortController().signal;

Deno.test("calculate() performs each operation", async (t) => {
  const cases: [string, unknown, unknown, number][] = [
    ["add", 2, 3, 5],
    ["subtract", 2, 3, -1],
    ["multiply", 12, 7, 84],
    ["divide", 7, 2, 3.5],
    ["pow", 2, 10, 1024],
    ["sqrt", 16, undefined, 4],
    ["add", "1.5", "2", 3.5],
  ];
  for (const [op, a, b, expected] of cases) {
    await t.step(`${op}(${a}, ${b}) = ${expected}`, () => {
      assert.equal(calculate(op, a, b).result, expected);
    });
  }
});

Deno.test("calculate() rejects bad input with clear errors", async (t) => {
  const cases: [string, unknown, unknown, unknown, ErrorConstructor, RegExp][] = [
    ["division by zero", "divide", 1, 0, RangeError, /^Division by zero$/],
    ["negative sqrt", "sqrt", -4, undefined, RangeError, /negative number \(-4\)/],
    ["unknown operation", "mod", 1, 2, TypeError, /Unknown operation "mod": expected one of add/],
    ["missing operation", undefined, 1, 2, TypeError, /Unknown operation null/],
    ["non-numeric a", "add", "abc", 2, TypeError, /"a" must be a finite number \(got "abc"\)/],
    ["missing b", "multiply", 2, undefined, TypeError, /"b" must be a finite number \(got null\)/],
    ["overflow", "pow", 10, 400, RangeError, /not a finite number/],
  ];
  for (const [name, op, a, b, type, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => calculate(op, a, b), (err: unknown) => {
        assert.ok(err instanceof type);
        assert.match((err as Error).message, message);
        return true;
      });
    });
  }
});

Deno.test("createCalculatorTool() keeps the original schema and calls calculate()", async () => {
  const tool = createCalculatorTool();
  assert.equal(tool.name, "calculator");
  const props = (tool.parameters as { properties: Record<string, { enum?: string[] }> })
    .properties;
  assert.deepEqual(Object.keys(props), ["operation", "a", "b"]);
  assert.deepEqual(props.operation!.enum, [
    "add",
    "subtract",
    "multiply",
    "divide",
    "pow",
    "sqrt",
  ]);
  assert.deepEqual(await tool.call({ operation: "multiply", a: 12, b: 7 }, { signal }), {
    operation: "multiply",
    a: 12,
    b: 7,
    result: 84,
  });
  await assert.rejects(
    () => tool.call({ operation: "divide", a: 1, b: 0 }, { signal }),
    RangeError,
  );
});
