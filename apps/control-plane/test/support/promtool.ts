import { execFile } from 'node:child_process';

/** Debian's `prometheus` package puts it here (`.ci/run` installs it). */
export const PROMTOOL = '/usr/bin/promtool';

/**
 * `promtool check metrics` over an exposition, as a process: its exit code (0 clean, 3 lint problems, 1 unparsable)
 * and what it said (each problem named, empty when clean).
 */
export function promtoolCheck(exposition: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(PROMTOOL, ['check', 'metrics'], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (error as NodeJS.ErrnoException & { code?: number | string }).code : 0;
      if (typeof code !== 'number') return reject(error);
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
    child.stdin!.end(exposition);
  });
}
