/**
 * A starter for the lock race test: on each `{ dir }` message it tries to take the writer lock of
 * `dir` and answers whether it holds it (or the refusal); on `release` it lets go.
 */
import { releaseLock, takeLock } from '../../src/store/lock-file.js';
import { StoreError } from '../../src/store/store.js';

let held: string | undefined;
process.on('message', (message: { dir?: string; release?: boolean }) => {
  if (message.release) {
    if (held) releaseLock(held);
    held = undefined;
    process.send!({ released: true });
    return;
  }
  try {
    held = takeLock(message.dir!);
    process.send!({ held: true });
  } catch (err) {
    process.send!({ held: false, code: err instanceof StoreError ? err.code : 'OTHER', message: (err as Error).message });
  }
});
process.send!({ ready: true });
