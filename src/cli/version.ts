/** The package version, read once from package.json. */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function readVersion(): string {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      return (require(candidate) as { version: string }).version;
    } catch {
      // compiled (dist/src/cli) and source (src/cli) layouts differ by one folder
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
