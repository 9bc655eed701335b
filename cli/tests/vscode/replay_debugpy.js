// VS Code's DebugClient (the test client of VS Code's own debug adapters) runs one debugpy
// session against the adapter listening on 127.0.0.1:DAPKIT_PORT: launch DAPKIT_PROGRAM,
// a breakpoint at DAPKIT_LINE, stack, scopes, variables, evaluate, continue to the end.
//
// Run by cli/tests/replay.rs, once against real debugpy (through a recording tap) and once
// against `dapkit replay --as-adapter` of that recording. Needs NODE_PATH to hold the
// node_modules of session/tests/vscode (installed by `bash .ci/install-peers`).
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

async function main() {
  const port = Number(process.env.DAPKIT_PORT);
  const program = process.env.DAPKIT_PROGRAM;
  const line = Number(process.env.DAPKIT_LINE);
  assert.ok(port > 0 && program && line > 0, 'DAPKIT_PORT, DAPKIT_PROGRAM, DAPKIT_LINE');

  const dc = new DebugClient('node', 'unused', 'python');
  await dc.start(port);
  await dc.initializeRequest({
    adapterID: 'debugpy',
    clientID: 'vscode-debugclient',
    linesStartAt1: true,
    columnsStartAt1: true,
    pathFormat: 'path',
  });
  const initialized = dc.waitForEvent('initialized', 30000);
  const launched = dc.launchRequest({
    program,
    cwd: path.dirname(program),
    console: 'internalConsole',
    justMyCode: true,
  });
  await initialized;
  const bps = await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line }] });
  assert.equal(bps.body.breakpoints[0].verified, true);
  const stopped = dc.waitForEvent('stopped', 30000);
  await dc.configurationDoneRequest();
  await launched;
  const stop = await stopped;
  const threadId = stop.body.threadId;
  await dc.threadsRequest();
  const stack = await dc.stackTraceRequest({ threadId });
  const frameId = stack.body.stackFrames[0].id;
  assert.equal(stack.body.stackFrames[0].line, line);
  const scopes = await dc.scopesRequest({ frameId });
  const vars = await dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference });
  assert.ok(vars.body.variables.some((v) => v.name === 'items'));
  const result = await dc.evaluateRequest({ expression: 'sum(items)', frameId, context: 'repl' });
  assert.equal(result.body.result, '18');
  const terminated = dc.waitForEvent('terminated', 30000);
  await dc.continueRequest({ threadId });
  await terminated;
  await dc.disconnectRequest({});
  dc.stopAdapter();
  console.log('session done');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
