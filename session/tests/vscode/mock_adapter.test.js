// VS Code's DebugClient (the test client of VS Code's own debug adapters) drives
// dapkit-session's example adapter, examples/mock_adapter.rs, over its stdio.
//
// Run by tests/adapter_vscode.rs, which builds the example and passes its path in
// DAPKIT_EXAMPLE_ADAPTER; by hand: `npm ci && DAPKIT_EXAMPLE_ADAPTER=<path> npm test`.
'use strict';

const { test, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const ADAPTER = process.env.DAPKIT_EXAMPLE_ADAPTER;
if (!ADAPTER || !fs.existsSync(ADAPTER)) {
  throw new Error(
    `DAPKIT_EXAMPLE_ADAPTER must name the built example adapter (got ${JSON.stringify(ADAPTER)})`,
  );
}

// The "program": each line is a statement. Line 3 is blank (a breakpoint there is not
// verified).
const LINES = ['let a = 1', 'let b = a + 1', '', 'print a b', 'done'];

let dir;
let program;
let dc;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapkit-mock-'));
  program = path.join(dir, 'program.txt');
  fs.writeFileSync(program, LINES.join('\n') + '\n');
  // DebugClient spawns `runtime executable`: the adapter binary, with `--stdio`.
  dc = new DebugClient(ADAPTER, '--stdio', 'mock', undefined, true);
  dc.defaultTimeout = 10000;
  await dc.start();
});

afterEach(async () => {
  await dc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('initialize answers with capabilities, then sends initialized', async () => {
  const initialized = dc.waitForEvent('initialized');
  const response = await dc.initializeRequest();
  assert.equal(response.success, true);
  assert.equal(response.body.supportsConfigurationDoneRequest, true);
  const event = await initialized;
  // The event leaves after the response: its seq is larger.
  assert.ok(event.seq > response.seq, `initialized seq ${event.seq} <= response seq ${response.seq}`);
});

test('unknown requests get an error response naming the command', async () => {
  await dc.initializeRequest();
  await assert.rejects(dc.customRequest('noSuchCommand', { x: 1 }), /noSuchCommand/);
});

test('breakpoint, stack, variables, evaluate, step, continue to the end', async () => {
  const output = dc.assertOutput('console', `running ${program}`);
  await dc.hitBreakpoint({ program }, { path: program, line: 2 });
  await output;

  const threads = await dc.threadsRequest();
  assert.deepEqual(threads.body.threads.map((t) => [t.id, t.name]), [[1, 'main']]);

  const trace = await dc.stackTraceRequest({ threadId: 1 });
  assert.equal(trace.body.stackFrames.length, 1);
  const frame = trace.body.stackFrames[0];
  assert.equal(frame.line, 2);
  assert.equal(frame.source.path, program);

  const scopes = await dc.scopesRequest({ frameId: frame.id });
  assert.equal(scopes.body.scopes[0].name, 'Locals');
  const locals = await dc.variablesRequest({
    variablesReference: scopes.body.scopes[0].variablesReference,
  });
  const byName = Object.fromEntries(locals.body.variables.map((v) => [v.name, v]));
  assert.equal(byName.line.value, '"let b = a + 1"');
  assert.equal(byName.lineNumber.value, '2');
  assert.ok(byName.words.variablesReference > 0, 'words has children');
  const words = await dc.variablesRequest({ variablesReference: byName.words.variablesReference });
  assert.deepEqual(words.body.variables.map((v) => v.value), ['"let"', '"b"', '"="', '"a"', '"+"', '"1"']);

  const evaluated = await dc.evaluateRequest({ expression: 'lineNumber', frameId: frame.id });
  assert.equal(evaluated.body.result, '2');
  const echoed = await dc.evaluateRequest({ expression: 'hello world', context: 'repl' });
  assert.equal(echoed.body.result, 'hello world');

  // `next` goes to line 3 (blank lines are statements too).
  await Promise.all([
    dc.nextRequest({ threadId: 1 }),
    dc.assertStoppedLocation('step', { path: program, line: 3 }),
  ]);

  // A breakpoint on the blank line is not verified; one on line 4 is.
  const set = await dc.setBreakpointsRequest({
    source: { path: program },
    breakpoints: [{ line: 3 }, { line: 4 }],
  });
  assert.deepEqual(set.body.breakpoints.map((b) => b.verified), [false, true]);

  await Promise.all([
    dc.continueRequest({ threadId: 1 }),
    dc.assertStoppedLocation('breakpoint', { path: program, line: 4 }),
  ]);

  const exited = dc.waitForEvent('exited');
  await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('terminated')]);
  assert.equal((await exited).body.exitCode, 0);
});

test('stopOnEntry stops on line 1', async () => {
  await Promise.all([
    dc.configurationSequence(),
    dc.launch({ program, stopOnEntry: true }),
    dc.assertStoppedLocation('entry', { path: program, line: 1 }),
  ]);
});

test('a program that cannot be read fails launch with the reason', async () => {
  const missing = path.join(dir, 'missing.txt');
  await Promise.all([
    dc.configurationSequence(),
    assert.rejects(dc.launch({ program: missing }), /cannot read the program/),
  ]);
});
