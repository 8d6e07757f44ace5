/** Small helpers of the `llmopt run` tests: token data, config files, an XML well-formedness check. */
import fs from 'node:fs';
import path from 'node:path';
import { writeIdsNpy } from '../helpers/npy.js';

/** A .npy of int64 token ids [rows, seq], deterministic, below `vocab`. */
export function writeIds(file: string, rows: number, seq: number, vocab: number): void {
  writeIdsNpy(file, rows, seq, vocab);
}

export function writeConfig(dir: string, name: string, config: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

/**
 * Parses the XML subset JUnit reports use (declaration, elements, attributes, text, the five entities)
 * and throws on anything malformed: unclosed or mismatched tags, bad attributes, stray '<' or '&'.
 */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => { throw new Error(`malformed XML at ${i}: ${why}`); };
  const decode = (s: string) => {
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(s)) fail(`bad entity in '${s}'`);
    return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  };
  const skipSpace = () => { while (/\s/.test(xml[i] ?? '')) i++; };
  if (xml.startsWith('<?xml')) i = xml.indexOf('?>') + 2;
  skipSpace();
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < xml.length) {
    if (xml.startsWith('</', i)) {
      const end = xml.indexOf('>', i);
      const name = xml.slice(i + 2, end).trim();
      const open = stack.pop() ?? fail(`closing </${name}> without an open element`);
      if (open.name !== name) fail(`</${name}> closes <${open.name}>`);
      i = end + 1;
    } else if (xml[i] === '<') {
      const m = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/.exec(xml.slice(i)) ?? fail('bad start tag');
      const attributes: Record<string, string> = {};
      for (const a of m[2]!.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) {
        if (a[1]! in attributes) fail(`duplicate attribute ${a[1]}`);
        attributes[a[1]!] = decode(a[2]!);
      }
      const el: XmlElement = { name: m[1]!, attributes, children: [], text: '' };
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else if (root) fail('a second root element');
      else root = el;
      if (!m[3]) stack.push(el);
      i += m[0].length;
    } else {
      const next = xml.indexOf('<', i);
      const text = xml.slice(i, next < 0 ? xml.length : next);
      if (!stack.length && text.trim()) fail('text outside the root element');
      if (stack.length) stack[stack.length - 1]!.text += decode(text);
      i = next < 0 ? xml.length : next;
    }
  }
  if (stack.length) fail(`<${stack[stack.length - 1]!.name}> is not closed`);
  return root ?? fail('no root element');
}
