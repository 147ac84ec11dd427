/** `vmbot store repair`: mend DATA_DIR's journals, archive and audit log after damage, and say what was dropped. */
import { LowdbStore } from '../store/lowdb.js';
import { repairDataDir, type RepairedFile } from '../store/repair.js';
import { StoreError } from '../store/store.js';
import { CliExit, config, EXIT } from './context.js';

export async function storeRepairCommand(): Promise<void> {
  const env = config([]);
  if (env.DATABASE_URL)
    throw new CliExit(
      EXIT.badInput,
      'store repair mends the files in DATA_DIR; with DATABASE_URL set there is nothing to repair here (unset it to repair a DATA_DIR)',
    );
  let report;
  try {
    report = await repairDataDir(env.DATA_DIR);
  } catch (err) {
    if (err instanceof StoreError) throw new CliExit(err.code === 'STORE_LOCKED' ? EXIT.badInput : EXIT.failed, err.message);
    throw err;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const damaged = report.files.filter((f) => f.damaged.length);
  if (!damaged.length) out(`Nothing damaged in ${env.DATA_DIR}: ${report.files.map((f) => `${f.file} (${f.kept} lines)`).join(', ') || 'no files yet'}.`);
  for (const file of damaged) out(describe(file));
  out(
    report.audit.ok
      ? `The audit chain verifies: ${report.audit.records} records.`
      : `The audit chain still breaks at audit.jsonl:${report.audit.line}: ${report.audit.problem}. A record that was lost can't be put back; \`vmbot audit verify\` will keep showing where.`,
  );
  // The store must open now, or the repair is not done.
  try {
    const store = await LowdbStore.open(env.DATA_DIR, { readOnly: true });
    out(`The store opens: ${store.listRequests().length} requests and ${store.listRuns().length} runs in the working set.`);
    await store.close();
  } catch (err) {
    throw new CliExit(EXIT.failed, `the store still does not open: ${(err as Error).message}`);
  }
  process.exitCode = report.audit.ok ? EXIT.ok : EXIT.failed;
}

function describe(file: RepairedFile): string {
  const lines = file.damaged.map((d) =>
    d.salvaged
      ? `  line ${d.line}: ${d.bytes} damaged bytes before a whole record dropped; the record kept`
      : `  line ${d.line}: ${d.bytes} bytes dropped (no whole record in it)`,
  );
  return `${file.file}: kept ${file.kept} records; ${file.damaged.length} damaged line${file.damaged.length === 1 ? '' : 's'}, set aside in ${file.setAside}:\n${lines.join('\n')}`;
}
