/**
 * Work that follows an ack (opening a modal) starts on a later turn of the event loop, so that
 * the requests of a burst that are already waiting get acked first. Only the start is deferred
 * (network waits overlap freely), and only by one turn: a trigger_id lives 3 s.
 */
export class AfterAck {
  run<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => setImmediate(() => void work().then(resolve, reject)));
  }
}
