/**
 * The `calculator` built-in: safe arithmetic on two numbers, with the
 * original service's schema (`operation`, `a`, `b`). No `eval`: the
 * operation is picked from a closed list.
 */
import type { Tool } from "./tool.ts";

export const CALCULATOR_OPERATIONS = [
  "add",
  "subtract",
  "multiply",
  "divide",
  "pow",
  "sqrt",
] as const;
export type CalculatorOperation = (typeof CALCULATOR_OPERATIONS)[number];

export interface CalculatorResult {
  operation: CalculatorOperation;
  a: number;
  b?: number;
  result: number;
}

/**
 * Computes one operation. Numeric strings are accepted (models often quote
 * numbers).
 *
 * @throws {TypeError} on a missing or non-numeric operand or an unknown operation
 * @throws {RangeError} on division by zero, a negative square root, or a non-finite result
 */
export function calculate(operation: unknown, a: unknown, b?: unknown): CalculatorResult {
  if (typeof operation !== "string" || !isOperation(operation)) {
    throw new TypeError(
      `Unknown operation ${JSON.stringify(operation ?? null)}: expected one of ${
        CALCULATOR_OPERATIONS.join(", ")
      }`,
    );
  }
  const x = operand("a", a);
  if (operation === "sqrt") {
    if (x < 0) throw new RangeError(`Cannot take the square root of a negative number (${x})`);
    return { operation, a: x, result: Math.sqrt(x) };
  }
  const y = operand("b", b);
  let result: number;
  switch (operation) {
    case "add":
      result = x + y;
      break;
    case "subtract":
      result = x - y;
      break;
    case "multiply":
      result = x * y;
      break;
    case "divide":
      if (y === 0) throw new RangeError("Division by zero");
      result = x / y;
      break;
    case "pow":
      result = x ** y;
      break;
  }
  if (!Number.isFinite(result)) {
    throw new RangeError(`The result of ${operation}(${x}, ${y}) is not a finite number`);
  }
  return { operation, a: x, b: y, result };
}

function isOperation(s: string): s is CalculatorOperation {
  return (CALCULATOR_OPERATIONS as readonly string[]).includes(s);
}

function operand(name: string, value: unknown): number {
  const n = typeof value === "number"
    ? value
    : typeof value === "string" && value.trim() !== ""
    ? Number(value)
    : NaN;
  if (!Number.isFinite(n)) {
    throw new TypeError(`"${name}" must be a finite number (got ${JSON.stringify(value ?? null)})`);
  }
  return n;
}

/** The `calculator` tool for the registry. */
export function createCalculatorTool(): Tool {
  return {
    name: "calculator",
    description:
      "Performs exact arithmetic on two numbers: add, subtract, multiply, divide, pow (a to the power b) or sqrt (square root of a; b unused).",
    parameters: {
      type: "object",
      properties: {
        operation: {
          type: "string",
          enum: [...CALCULATOR_OPERATIONS],
          description: "The operation to perform",
        },
        a: { type: "number", description: "First operand" },
        b: { type: "number", description: "Second operand (not used by sqrt)" },
      },
      required: ["operation", "a"],
    },
    call(args) {
      return Promise.resolve().then(() => calculate(args.operation, args.a, args.b));
    },
  };
}
