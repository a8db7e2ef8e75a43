const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3,
};
const DURATION_UNITS: Record<string, number> = { '': 1, ms: 0.001, s: 1, m: 60, h: 3600 };

function parseWithUnits(text: string, units: Record<string, number>): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return null;
  const factor = units[(match[2] ?? '').toLowerCase()];
  return factor === undefined ? null : Number(match[1]) * factor;
}

/** "32MiB", "64M", "1048576" → bytes */
export const parseSize = (text: string): number | null => {
  const v = parseWithUnits(text, SIZE_UNITS);
  return v === null ? null : Math.floor(v);
};

/** "600", "600s", "10m", "1.5h" → seconds */
export const parseDuration = (text: string): number | null => parseWithUnits(text, DURATION_UNITS);
