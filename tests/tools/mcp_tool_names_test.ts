import assert from "node:assert/strict";
import {
  isValidToolName,
  MAX_TOOL_NAME_LENGTH,
  type McpServerToolNames,
  mcpToolNames,
} from "../../src/tools/mcp_tool_names.ts";

const BUILTINS = ["calculator", "gettime", "tavily_search"];

function names(servers: McpServerToolNames[], reserved = BUILTINS): (string | undefined)[][] {
  return mcpToolNames({ reserved, servers });
}

/** Offered names must be valid and unique among themselves and the built-ins. */
function assertOfferable(result: (string | undefined)[][], reserved = BUILTINS): void {
  const all = result.flat().filter((n): n is string => n !== undefined);
  for (const n of all) assert.ok(isValidToolName(n), `invalid offered name ${JSON.stringify(n)}`);
  assert.equal(new Set([...all, ...reserved]).size, all.length + reserved.length, all.join());
}

const A64 = "a".repeat(64);
const A65 = "a".repeat(65);
const LONG = "x".repeat(200);

Deno.test("mcpToolNames() makes every tricky name valid, readable where it can", async (t) => {
  const cases: [string, string, RegExp | string][] = [
    ["valid name kept", "get-sum", "get-sum"],
    ["dots", "github.search", "github_search"],
    ["slashes", "fs/read_file", "fs_read_file"],
    ["spaces", "say hello", "say_hello"],
    ["CJK", "天气", "__"],
    ["emoji is one code point", "🔥fire", "_fire"],
    ["empty", "", "_"],
    ["64 characters kept", A64, A64],
    ["65 characters cut with a hash", A65, /^a{55}_[0-9a-f]{8}$/],
    ["200 characters cut with a hash", LONG, /^x{55}_[0-9a-f]{8}$/],
    ["long and invalid", "é".repeat(100), /^_{55}_[0-9a-f]{8}$/],
  ];
  for (const [label, tool, expected] of cases) {
    await t.step(label, () => {
      const result = names([{ server: "srv", tools: [tool] }]);
      const got = result[0]![0]!;
      if (typeof expected === "string") assert.equal(got, expected);
      else assert.match(got, expected);
      assert.ok(got.length <= MAX_TOOL_NAME_LENGTH);
      assertOfferable(result);
    });
  }
});

Deno.test("mcpToolNames() keeps names unique", async (t) => {
  await t.step("two tools of one server that clean to the same name", () => {
    const result = names([{ server: "srv", tools: ["a.b", "a b", "a_b"] }]);
    const [dot, space, exact] = result[0]!;
    assert.equal(exact, "a_b", "the tool whose own name is a_b keeps it");
    assert.match(dot!, /^a_b_[0-9a-f]{8}$/);
    assert.match(space!, /^a_b_[0-9a-f]{8}$/);
    assert.notEqual(dot, space);
    assertOfferable(result);
  });
  await t.step("two long names with the same first 55 characters", () => {
    const result = names([{ server: "srv", tools: [`${LONG}1`, `${LONG}2`] }]);
    assert.notEqual(result[0]![0], result[0]![1]);
    assertOfferable(result);
  });
  await t.step("a tool colliding with a built-in is prefixed with its server", () => {
    const result = names([{ server: "math", tools: ["calculator", "tavily.search"] }]);
    assert.deepEqual(result, [["math__calculator", "math__tavily_search"]]);
    assertOfferable(result);
  });
  await t.step("the same name on two servers is prefixed on both", () => {
    const result = names([
      { server: "everything", tools: ["echo", "only_here"] },
      { server: "fixture", tools: ["echo"] },
    ]);
    assert.deepEqual(result, [["everything__echo", "only_here"], ["fixture__echo"]]);
  });
  await t.step("names that clean to the same name on two servers are prefixed", () => {
    const result = names([
      { server: "gh.com", tools: ["search.issues"] },
      { server: "gitlab", tools: ["search issues"] },
    ]);
    assert.deepEqual(result, [["gh_com__search_issues"], ["gitlab__search_issues"]]);
  });
  await t.step("a prefixed name equal to a built-in gets a hash", () => {
    const result = names([{ server: "x", tools: ["y"] }, { server: "z", tools: ["y"] }], [
      "x__y",
    ]);
    assert.match(result[0]![0]!, /^x__y_[0-9a-f]{8}$/);
    assert.equal(result[1]![0], "z__y");
    assertOfferable(result, ["x__y"]);
  });
  await t.step("a long server name and tool name stay within 64", () => {
    const result = names([
      { server: "s".repeat(100), tools: ["gettime"] },
      { server: "t", tools: ["gettime"] },
    ]);
    assert.match(result[0]![0]!, /^s{55}_[0-9a-f]{8}$/);
    assert.equal(result[1]![0], "t__gettime");
    assertOfferable(result);
  });
  await t.step("a name listed twice by one server is offered once", () => {
    const result = names([{ server: "srv", tools: ["dup", "dup", "other"] }]);
    assert.deepEqual(result, [["dup", undefined, "other"]]);
  });
  await t.step("a real tool already named like a hashed one is numbered, not lost", () => {
    const first = names([{ server: "srv", tools: ["a.b", "a b"] }])[0]![0]!;
    const result = names([{ server: "srv", tools: ["a.b", "a b", first] }]);
    assertOfferable(result);
    assert.equal(result[0]![2], first, "the real name wins");
    assert.equal(result[0]![0], `${first}_2`);
  });
});

Deno.test("mcpToolNames() is stable: the same names in any order and after a restart", () => {
  const tools = ["github.search", "github/search", LONG, "天气", "echo"];
  const once = names([{ server: "gh", tools }]);
  const again = names([{ server: "gh", tools: [...tools].reverse() }]);
  assert.deepEqual(once[0], [...again[0]!].reverse());
  // A hash depends on the tool's identity only: the same after a restart.
  assert.deepEqual(names([{ server: "gh", tools }]), once);
  assert.match(once[0]![0]!, /^github_search_[0-9a-f]{8}$/);
  assert.match(once[0]![1]!, /^github_search_[0-9a-f]{8}$/);
  assert.notEqual(once[0]![0], once[0]![1]);
  assertOfferable(once);
});
