// VS Code's DebugClient (npm @vscode/debugadapter-testsupport) joins a proxied debugpy
// session as an observer while it is stopped: it gets the snapshot, reads the stack,
// scopes and a variable, and its `continue` is refused.
//
// Run by tests/debugpy.rs with DAPKIT_PROXY_PORT, DAPKIT_EXPECT_THREAD, DAPKIT_EXPECT_FRAME,
// DAPKIT_EXPECT_VARIABLE and DAPKIT_EXPECT_VALUE set; the package comes from
// session/tests/vscode/node_modules (NODE_PATH).
'use strict';

const assert = require('node:assert/strict');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

async function main() {
  const port = Number(process.env.DAPKIT_PROXY_PORT);
  const thread = Number(process.env.DAPKIT_EXPECT_THREAD);
  // The runtime and executable are not used: start(port) connects to a running server.
  const dc = new DebugClient('node', 'unused', 'python');
  dc.defaultTimeout = 20000;
  await dc.start(port);
  try {
    const stopped = dc.waitForEvent('stopped');
    const init = await dc.initializeRequest({ adapterID: 'python', linesStartAt1: true, pathFormat: 'path' });
    assert.equal(init.success, true);
    assert.equal(init.body.supportsConfigurationDoneRequest, true);
    const stop = await stopped;
    assert.equal(stop.body.threadId, thread);
    const trace = await dc.stackTraceRequest({ threadId: thread });
    const top = trace.body.stackFrames[0];
    assert.equal(top.name, process.env.DAPKIT_EXPECT_FRAME);
    const scopes = await dc.scopesRequest({ frameId: top.id });
    const locals = scopes.body.scopes.find((s) => s.name === 'Locals');
    assert.ok(locals, 'a Locals scope');
    const vars = await dc.variablesRequest({ variablesReference: locals.variablesReference });
    const v = vars.body.variables.find((x) => x.name === process.env.DAPKIT_EXPECT_VARIABLE);
    assert.ok(v, `variable ${process.env.DAPKIT_EXPECT_VARIABLE}`);
    assert.equal(v.value, process.env.DAPKIT_EXPECT_VALUE);
    await assert.rejects(dc.continueRequest({ threadId: thread }), /observer cannot send continue/);
    console.log('observer ok');
  } finally {
    await dc.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
