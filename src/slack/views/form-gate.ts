/**
 * What the gate (listeners/gate.ts) checks before a form's submission reaches its listener,
 * declared by each form beside its view and listed by its callback_id in the gate.
 */
export type FormGate =
  /** Only people who may request VMs; a refusal is shown under the form's `refusalBlock`. */
  | { callbackId: string; asks: 'requester'; refusalBlock(privateMetadata: string | undefined): string }
  /** A lead's decision on a request: who may decide is checked where it is handled. */
  | { callbackId: string; asks: 'decision' };
