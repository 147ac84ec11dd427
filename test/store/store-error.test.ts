import { describe, expect, it } from 'vitest';
import { CodedError, EXIT, isBusy, isConflict } from '../../src/errors.js';
import { StoreError } from '../../src/store/store.js';

describe('StoreError', () => {
  it('is a CodedError keeping its code and message', () => {
    const err = new StoreError('STORE_NOT_FOUND', 'no run R-1');
    expect(err).toBeInstanceOf(CodedError);
    expect(err.name).toBe('StoreError');
    expect(err.code).toBe('STORE_NOT_FOUND');
    expect(err.message).toBe('no run R-1');
  });

  it('fails the command when the storage is unusable or lost a race, and blames the input otherwise', () => {
    const exit = (code: ConstructorParameters<typeof StoreError>[0]) => new StoreError(code, 'x').exitCode;
    expect([exit('STORE_UNWRITABLE'), exit('STORE_UNAVAILABLE'), exit('STORE_CONFLICT')]).toEqual([EXIT.failed, EXIT.failed, EXIT.failed]);
    expect([exit('STORE_CORRUPT'), exit('STORE_LOCKED'), exit('STORE_NOT_FOUND')]).toEqual([EXIT.badInput, EXIT.badInput, EXIT.badInput]);
  });

  it('counts a lost compare-and-set as busy and as a conflict, and nothing else', () => {
    const conflict = new StoreError('STORE_CONFLICT', 'run R-1 changed meanwhile');
    expect([isConflict(conflict), isBusy(conflict)]).toEqual([true, true]);
    const missing = new StoreError('STORE_NOT_FOUND', 'no run R-1');
    expect([isConflict(missing), isBusy(missing)]).toEqual([false, false]);
  });
});
