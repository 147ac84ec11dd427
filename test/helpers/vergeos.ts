import { VergeosClient, type VergeosClientOptions } from '../../src/vergeos/index.js';
import { SIM_DEFAULT_API_KEY, startVergeosSim, type VergeosSim, type VergeosSimOptions } from '../../src/sim/index.js';
import { VergeosError } from '../../src/vergeos/errors.js';

/** A simulator with fast clocks and a client pointed at it, with short retry delays. */
export async function simAndClient(
  simOptions: VergeosSimOptions = {},
  clientOptions: Partial<VergeosClientOptions> = {},
): Promise<{ sim: VergeosSim; client: VergeosClient; close: () => Promise<void> }> {
  const sim = await startVergeosSim({ timing: { importMs: 150, startMs: 0, stopMs: 0 }, ...simOptions });
  const client = new VergeosClient({
    url: sim.url,
    auth: { apiKey: SIM_DEFAULT_API_KEY },
    retry: { retries: 2, baseMs: 1, maxMs: 5 },
    timeouts: { connectMs: 1_000, headersMs: 400, bodyMs: 400 },
    ...clientOptions,
  });
  return {
    sim,
    client,
    close: async () => {
      await client.close();
      await sim.close();
    },
  };
}

/** The VergeosError a promise rejects with (fails the test if it resolves or throws something else). */
export async function vergeosFailure(promise: Promise<unknown>): Promise<VergeosError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof VergeosError) return err;
    throw new Error(`expected a VergeosError, got ${String(err)}`);
  }
  throw new Error('expected the call to fail, but it succeeded');
}
