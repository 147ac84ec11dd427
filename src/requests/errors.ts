/** What the request lifecycle refuses, with the request as it stands (the edge says it in its own words). */
import { CodedError } from '../errors.js';
import type { RequestRecord } from '../store/records.js';

export type RequestErrorCode =
  | 'REQUEST_NOT_FOUND'
  | 'REQUEST_ALREADY_DECIDED'
  | 'REQUEST_SELF_APPROVAL'
  | 'REQUEST_NOT_ELIGIBLE'
  | 'REQUEST_ALREADY_APPROVED_BY_YOU'
  | 'REQUEST_NOT_REQUESTER'
  | 'REQUEST_WRONG_STATE';

export class RequestError extends CodedError {
  override name = 'RequestError';
  constructor(
    override readonly code: RequestErrorCode,
    message: string,
    readonly request?: RequestRecord,
  ) {
    super(code, message);
  }
}
