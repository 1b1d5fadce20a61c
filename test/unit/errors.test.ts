// Every failure a command prints is one sentence: system errors in words with the path, the
// project's own errors as they are, a stack trace only when EC2_INVENTORY_DEBUG=1 asks for it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CacheError, ProvisionError, describeSystemError, failureLine } from '../../lib/errors.js';
import { Undo } from '../../lib/provision/undo.js';

const sysErr = (code: string, syscall: string, path?: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: something, ${syscall}${path ? ` '${path}'` : ''}`), { code, syscall, ...(path ? { path } : {}), errno: -1 });

describe('failureLine', () => {
  it('says each system error in words, naming the path', () => {
    const cases: [NodeJS.ErrnoException, string][] = [
      [sysErr('ENOSPC', 'write', '/var/cache/x'), 'cannot write /var/cache/x: no space left on the device (ENOSPC)'],
      [sysErr('EACCES', 'open', '/etc/shadow'), 'cannot open /etc/shadow: permission denied (EACCES)'],
      [sysErr('EROFS', 'mkdir', '/ro/dir'), 'cannot create the folder /ro/dir: read-only file system (EROFS)'],
      [sysErr('EISDIR', 'read'), 'read: it is a folder, not a file (EISDIR)'],
      [sysErr('EMFILE', 'open', '/tmp/f'), 'cannot open /tmp/f: too many open files in this process (raise ulimit -n) (EMFILE)'],
    ];
    for (const [err, line] of cases) assert.equal(failureLine(err, {}), line);
  });

  it("keeps the project's own messages, on one line, and names a bug as unexpected without a stack", () => {
    assert.equal(failureLine(new CacheError('cache_path /x is not a writable folder:\n  EACCES', '/x'), {}), 'cache_path /x is not a writable folder: EACCES');
    assert.equal(failureLine(new ProvisionError('bad --size', 'EUSAGE'), {}), 'bad --size');
    const bug = failureLine(new TypeError('x is undefined'), {});
    assert.equal(bug, 'unexpected error: x is undefined (EC2_INVENTORY_DEBUG=1 shows where)');
    assert.doesNotMatch(bug, /    at /);
  });

  it('prints the stack only with EC2_INVENTORY_DEBUG=1', () => {
    assert.match(failureLine(new TypeError('boom'), { EC2_INVENTORY_DEBUG: '1' }), /TypeError: boom\n    at /);
  });

  it('describeSystemError leaves anything that is not a system error alone', () => {
    assert.equal(describeSystemError(new Error('plain')), undefined);
    assert.equal(describeSystemError(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })), undefined);
  });
});

describe('Undo', () => {
  it('a failed step keeps the code and the option the error came through, so the CLI still names the flag', async () => {
    const undo = new Undo('launch', () => {});
    await assert.rejects(undo.guard(async () => {
      undo.step('check names');
      throw new ProvisionError("a domain named 'web' already exists", 'EEXIST', 'name');
    }), (err: unknown) => err instanceof ProvisionError && err.code === 'EEXIST' && err.field === 'name' &&
      err.message === "launch failed at step 'check names': a domain named 'web' already exists (nothing to undo)");
  });
});
