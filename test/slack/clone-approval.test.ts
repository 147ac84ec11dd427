/** The approval message of a copy ("Another like this"): what is copied, and its plan is the one clone call VergeOS gets. */
import { describe, expect, it } from 'vitest';
import { approvalRequest } from '../../src/slack/views/approval-message.js';
import type { RequestRecord } from '../../src/store/records.js';
import { fullSpec, pendingRequest } from '../helpers/full-spec.js';

describe('a copy’s approval message', () => {
  it('names the VM copied and shows the clone call and power on, not the calls that would build it anew', () => {
    const base = pendingRequest('REQ-9', { ...fullSpec('web-01-copy'), power_on: true });
    const request = { ...base, kind: 'clone', clone: { runId: 'run-abc', vmKey: '42', name: 'web-01' } } as RequestRecord;
    const message = approvalRequest(request);
    const text = `${message.text}\n${JSON.stringify(message.blocks)}`;
    expect(text).toContain('asks for a copy of web-01 (VM key 42) named web-01-copy');
    expect(text).toContain('1. POST /api/v4/vm_actions  clone VM web-01 (VM key 42) as web-01-copy: its drives and NICs copied, new MAC addresses');
    expect(text).toContain('2. POST /api/v4/vm_actions  power on');
    expect(text).not.toContain('POST /api/v4/vms ');
    expect(text).not.toContain('/machine_drives');
  });
});
