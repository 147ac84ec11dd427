/**
 * Sizes as people write them. Units are binary, as in the VergeOS UI: 1 GB = 1 GiB = 1024 MiB.
 * A bare number is in the API's own unit (MB for RAM, bytes for disks).
 */
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

export const MIB = 1024 ** 2;
export const GIB = 1024 ** 3;
export const TIB = 1024 ** 4;

/** Bytes for `"8GiB"`, `"512 MiB"`, `"1.5TB"`; undefined when it is not a size. */
export function parseSizeToBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const factor = unit === '' ? undefined : UNIT_BYTES[unit];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}

/** `8589934592` → `8 GiB`; `1536 MiB` stays `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', TIB],
    ['GiB', GIB],
    ['MiB', MIB],
  ] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : Number(value.toFixed(2))} ${unit}`;
    }
  }
  return `${bytes} B`;
}

export function formatMegabytes(mb: number): string {
  return formatBytes(mb * MIB);
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Milliseconds for `"7d"`, `"12h"`, `"30m"`, `"2w"`; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  return m ? Number(m[1]) * DURATION_MS[m[2]!]! : undefined;
}

/** `604800000` → `7 days`; `3600000` → `1 hour`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['week', 7 * 86_400_000],
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms / size === 1 ? '' : 's'}`;
  }
  if (ms >= 86_400_000) return `${Math.round(ms / 86_400_000)} days`;
  return `${Math.round(ms / 1000)} s`;
}
