import assert from "node:assert/strict";
import { SentenceSegmenter } from "../../src/voice/segmenter.ts";

/** The sentences of `text` pushed in pieces of `size` characters (0: in one piece). */
function segment(text: string, size = 0, max?: number): string[] {
  const s = new SentenceSegmenter(max ? { maxSentenceLength: max } : {});
  const out: string[] = [];
  const chars = [...text];
  const step = size === 0 ? chars.length || 1 : size;
  for (let i = 0; i < chars.length; i += step) {
    out.push(...s.push(chars.slice(i, i + step).join("")));
  }
  out.push(...s.flush());
  return out;
}

/** Each case holds however the text is cut into deltas. */
function check(text: string, expected: string[], max?: number): void {
  for (const size of [0, 1, 2, 3, 7]) {
    assert.deepEqual(segment(text, size, max), expected, `pushed in pieces of ${size || "all"}`);
  }
}

const ENGLISH: [string, string, string[]][] = [
  ["sentence ends", "Hello there. How are you? I'm fine! Thanks.", [
    "Hello there.",
    "How are you?",
    "I'm fine!",
    "Thanks.",
  ]],
  ["decimals", "Pi is about 3.14 and e is 2.718. Both are irrational.", [
    "Pi is about 3.14 and e is 2.718.",
    "Both are irrational.",
  ]],
  ["a number ends a sentence", "The answer is 42. Next question.", [
    "The answer is 42.",
    "Next question.",
  ]],
  ["titles", "Dr. Smith met Mr. Jones and Prof. Lee. They talked.", [
    "Dr. Smith met Mr. Jones and Prof. Lee.",
    "They talked.",
  ]],
  ["e.g. and i.e.", "Use a fruit, e.g. an apple, i.e. something sweet. Done.", [
    "Use a fruit, e.g. an apple, i.e. something sweet.",
    "Done.",
  ]],
  ["U.S. inside a sentence", "The U.S. economy grew in 2023. Then it slowed.", [
    "The U.S. economy grew in 2023.",
    "Then it slowed.",
  ]],
  ["U.S. ending a sentence", "He moved to the U.S. Then he left.", [
    "He moved to the U.S.",
    "Then he left.",
  ]],
  ["initials", "J. R. R. Tolkien wrote it. It is long.", [
    "J. R. R. Tolkien wrote it.",
    "It is long.",
  ]],
  ["No. before a number", "See No. 5 and p. 12 for details. Thanks.", [
    "See No. 5 and p. 12 for details.",
    "Thanks.",
  ]],
  ["etc. ending a sentence", "Bring apples, pears, etc. The rest is here.", [
    "Bring apples, pears, etc.",
    "The rest is here.",
  ]],
  ["etc. inside a sentence", "Bring apples, pears, etc. and some bread.", [
    "Bring apples, pears, etc. and some bread.",
  ]],
  ["ellipsis", "Wait... what? Well… it works. Then... Done.", [
    "Wait... what?",
    "Well… it works.",
    "Then...",
    "Done.",
  ]],
  ["URLs become their host", "Visit https://www.example.com/a.b?c=d.e. Then come back.", [
    "Visit example.com.",
    "Then come back.",
  ]],
  ["e-mail addresses", "Write to jane.doe@example.org. She answers.", [
    "Write to jane.doe@example.org.",
    "She answers.",
  ]],
  ["file names and dotted names", "Open config.json in Node.js now. Ok.", [
    "Open config.json in Node.js now.",
    "Ok.",
  ]],
  ["glued sentences", "That is done.Next we start.", ["That is done.", "Next we start."]],
  ["closing quotes stay", 'She said "Go home." Then she left.', [
    'She said "Go home."',
    "Then she left.",
  ]],
  ["line ends", "First line\nSecond line", ["First line", "Second line"]],
  [
    "headings, emphasis, inline code",
    "# Title\nSome **bold** and _italic_ text with `x = 1` here.",
    [
      "Title",
      "Some bold and italic text with here.",
    ],
  ],
  ["links and images", "Read [the guide](https://x.org/guide). ![A cat](cat.png) is cute.", [
    "Read the guide.",
    "A cat is cute.",
  ]],
  ["lists", "- item one\n- item two\n* item three\n1. first\n2) second", [
    "item one",
    "item two",
    "item three",
    "first",
    "second",
  ]],
  ["fenced code is not read", "Run this:\n```js\nconsole.log('a. b. c.');\n```\nThen relax.", [
    "Run this:",
    "Then relax.",
  ]],
  ["tables", "| Name | Age |\n|------|----:|\n| Alice | 30 |\n| Bob | 4 |", [
    "Name, Age",
    "Alice, 30",
    "Bob, 4",
  ]],
  ["rules and quotes", "> Quoted words.\n\n---\n\nAfter the rule.", [
    "Quoted words.",
    "After the rule.",
  ]],
  ["snake_case and arithmetic", "Call my_function with 2 * 3 now.", [
    "Call my function with 2 * 3 now.",
  ]],
  ["HTML tags go, comparisons stay", "Line one<br>line two. If x < 5 then stop. Done.", [
    "Line one line two.",
    "If x < 5 then stop.",
    "Done.",
  ]],
  ["markup only", "**\n---\n```\n```", []],
  ["no end", "An unfinished thought", ["An unfinished thought"]],
];

const CHINESE: [string, string, string[]][] = [
  ["句号、问号、叹号", "你好！我是助手。你今天好吗？", ["你好！", "我是助手。", "你今天好吗？"]],
  ["小数不切", "圆周率约为3.14，很常用。下一句。", ["圆周率约为3.14，很常用。", "下一句。"]],
  ["引号跟随", "他说：“走吧！”然后离开了。", ["他说：“走吧！”", "然后离开了。"]],
  ["中英混合", "我用Node.js写代码。It works. 很好。", [
    "我用Node.js写代码。",
    "It works.",
    "很好。",
  ]],
  ["英文句号后接中文", "OK.好的。", ["OK.", "好的。"]],
  ["省略号", "嗯……我想想。好吧。", ["嗯……", "我想想。", "好吧。"]],
  ["网址", "请访问https://example.com/docs。谢谢！", ["请访问example.com。", "谢谢！"]],
  ["Markdown", "## 标题\n**重点**内容，见`代码`。\n- 第一项\n- 第二项", [
    "标题",
    "重点内容，见。",
    "第一项",
    "第二项",
  ]],
  ["表格", "| 名字 | 年龄 |\n| --- | --- |\n| 小明 | 10 |", ["名字, 年龄", "小明, 10"]],
  ["全角句号与分号", "第一句．第二句；还是第二句。", ["第一句．", "第二句；还是第二句。"]],
];

Deno.test("SentenceSegmenter cuts English text into sentences", async (t) => {
  for (const [name, text, expected] of ENGLISH) {
    await t.step(name, () => check(text, expected));
  }
});

Deno.test("SentenceSegmenter cuts Chinese text into sentences", async (t) => {
  for (const [name, text, expected] of CHINESE) {
    await t.step(name, () => check(text, expected));
  }
});

Deno.test("SentenceSegmenter cuts over-long sentences", async (t) => {
  await t.step("English: at a comma, else at a space", () => {
    check(
      "This sentence has no end and goes on for quite a while, then it continues further on",
      ["This sentence has no end and goes on for quite a while,", "then it continues further on"],
      60,
    );
    check(
      "one two three four five six seven eight nine ten eleven twelve",
      ["one two three four five six seven", "eight nine ten eleven twelve"],
      35,
    );
  });
  await t.step("Chinese: at a comma-like mark, CJK counting double", () => {
    check("这是一个很长的句子，没有句号也没有别的结束符号一直说下去", [
      "这是一个很长的句子，",
      "没有句号也没有别的结束符号一直说下去",
    ], 40);
  });
  await t.step("no mark at all: at the bound", () => {
    const sentences = segment("一".repeat(50), 0, 20);
    assert.deepEqual(sentences.map((s) => s.length), [10, 10, 10, 10, 10]);
  });
});

Deno.test("SentenceSegmenter.push() releases a sentence as soon as the next text starts", () => {
  const s = new SentenceSegmenter();
  assert.deepEqual(s.push("Hello there"), []);
  assert.deepEqual(s.push("."), [], "a full stop alone could still be 3.14 or e.g.");
  assert.deepEqual(s.push(" How"), ["Hello there."]);
  assert.deepEqual(s.push(" are you? I"), ["How are you?"]);
  assert.deepEqual(s.push("'m"), []);
  assert.deepEqual(s.flush(), ["I'm"]);
  const z = new SentenceSegmenter();
  assert.deepEqual(z.push("你好。"), []);
  assert.deepEqual(z.push("我"), ["你好。"]);
});

Deno.test("SentenceSegmenter does not hold a sentence back behind a comparison sign", () => {
  const s = new SentenceSegmenter();
  assert.deepEqual(s.push("If x < 5 then stop. And"), ["If x < 5 then stop."]);
});

Deno.test("SentenceSegmenter holds back a bounded amount of unclosed markup", () => {
  const s = new SentenceSegmenter();
  const out = s.push("An [unclosed bracket " + "word ".repeat(600) + ". End.");
  out.push(...s.flush());
  assert.ok(out.length >= 2, "the text is released once the bracket is too long to be a link");
  assert.equal(out.at(-1), "End.");
  assert.ok(!out.join(" ").includes("["), "the bracket itself is not read aloud");
});
