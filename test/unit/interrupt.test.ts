// A signal during a push or launch: the operation stops at its next checkpoint and undoes what it
// created (lib/provision/interrupt.ts). In a file of its own: an interrupt marks the whole process.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Undo } from '../../lib/provision/undo.js';
import { interrupt, interruptedBy, pause } from '../../lib/provision/interrupt.js';
import { waitFor } from '../../lib/provision/ec2/clients.js';
import { ProvisionError } from '../../lib/errors.js';

it('a signal stops a guarded operation at its next step, undoes it, and names the step and the signal', async () => {
  assert.equal(interrupt('SIGINT'), false, 'nothing running: the caller exits at once');
  assert.equal(interruptedBy(), undefined);

  const log: string[] = [];
  const undone: string[] = [];
  const undo = new Undo('launch', (m) => log.push(m));
  let pollAborted = false;
  const result = undo.guard(async () => {
    undo.step('overlay volume for web1');
    undo.add('volume web1.qcow2', async () => { undone.push('web1.qcow2'); });
    // A wait in progress when the signal comes: its poll is cut short.
    const waiting = waitFor('web1 to answer', 600, (signal) => new Promise<undefined>((_resolve, reject) => {
      signal.addEventListener('abort', () => { pollAborted = true; reject(new Error('aborted')); });
    }), 10);
    setTimeout(() => assert.equal(interrupt('SIGINT'), true), 20);
    await waiting.catch(() => {});
    undo.step('define web1');
    undone.push('never reached');
  });
  await assert.rejects(result, (err: unknown) => {
    assert.ok(err instanceof ProvisionError);
    assert.equal(err.code, 'EINTR');
    assert.equal(err.message, "launch failed at step 'overlay volume for web1': interrupted by SIGINT (undone: volume web1.qcow2)");
    return true;
  });
  assert.ok(pollAborted);
  assert.deepEqual(undone, ['web1.qcow2']);
  assert.deepEqual(log, ["launch failed at step 'overlay volume for web1'; undone: volume web1.qcow2"]);
  assert.equal(interruptedBy(), 'SIGINT');
  assert.equal(interrupt('SIGINT'), false, 'a second signal is the caller\'s to exit on');
  await assert.rejects(pause(10_000), /interrupted by SIGINT/);
  await assert.rejects(waitFor('anything', 600, async () => 'ready'), /interrupted by SIGINT/);
});
