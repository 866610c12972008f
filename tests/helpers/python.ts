/** Debian's python3 with python3-websockets (installed by `deno task peers`), for independent clients. */
export const PYTHON = "/usr/bin/python3";

/** Whether `PYTHON` can import `websockets`. */
export const hasPythonWebsockets = (() => {
  try {
    return new Deno.Command(PYTHON, {
      args: ["-c", "import websockets"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();

if (!hasPythonWebsockets) {
  console.warn(
    "⚠ tests with the Python websockets client are IGNORED: python3-websockets is missing " +
      "(deno task peers installs it)",
  );
}
