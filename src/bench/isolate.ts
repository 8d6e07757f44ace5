/** Runs the memory phase of one model in a fresh Node process (see child.ts) and returns its figures. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildReply, ChildRequest } from './child.js';
import { RuntimeError } from '../errors.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.js');

export function measureIsolated(request: ChildRequest): Promise<ChildReply> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.on('error', (err) => reject(new RuntimeError(`could not start the isolated measurement: ${err.message}`, { cause: err })));
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line) return resolve(JSON.parse(line) as ChildReply);
      const reason = stderr.trim().split('\n').pop() || `exit ${code}`;
      reject(new RuntimeError(`${request.file}: isolated measurement failed: ${reason}`));
    });
    child.stdin.end(JSON.stringify(request));
  });
}
