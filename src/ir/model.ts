/** The Model: one main graph, operator-set imports, metadata, local functions and what the IR carries opaquely. */
import { Graph } from './graph.js';

export interface OpsetImport {
  readonly domain: string;
  readonly version: number;
}

/** A model-local function: a body graph whose inputs/outputs are the formal parameters. */
export interface LocalFunction {
  readonly name: string;
  readonly domain: string;
  readonly overload: string;
  readonly body: Graph;
  /** Opaque original message (attributes, opset imports, value infos, doc string). */
  readonly original: unknown;
}

export class Model {
  irVersion = 8;
  opsetImports: OpsetImport[] = [];
  producerName = '';
  producerVersion = '';
  metadata = new Map<string, string>();
  readonly functions: LocalFunction[] = [];
  /** Opaque original message: everything the IR does not model, carried through untouched. */
  original: unknown;
  /** Folder of the model file, for reading external data. */
  baseDir: string | undefined;
  readonly graph: Graph;
  /** How many graphs define each value name (sibling subgraphs may reuse one); fresh names avoid them all. */
  private readonly names = new Map<string, number>();
  private readonly nameCounters = new Map<string, number>();
  private nodeNames = new Set<string>();

  constructor(graphName = 'main') {
    this.graph = new Graph(this, graphName);
  }

  opsetVersion(domain = ''): number | undefined {
    const d = domain === 'ai.onnx' ? '' : domain;
    return this.opsetImports.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === d)?.version;
  }

  /** Adds or raises an opset import. */
  requireOpset(domain: string, version: number): void {
    const at = this.opsetImports.findIndex((o) => o.domain === domain);
    if (at < 0) this.opsetImports.push({ domain, version });
    else if (this.opsetImports[at]!.version < version) this.opsetImports[at] = { domain, version };
  }

  /** @internal Counts a value name as used (uniqueness within a scope is checked by the graph). */
  claimName(name: string): void { this.names.set(name, (this.names.get(name) ?? 0) + 1); }

  /** @internal */
  releaseName(name: string): void {
    const n = (this.names.get(name) ?? 0) - 1;
    if (n > 0) this.names.set(name, n);
    else this.names.delete(name);
  }

  freshName(hint: string): string {
    if (!this.names.has(hint)) return hint;
    let n = this.nameCounters.get(hint) ?? 1;
    while (this.names.has(`${hint}_${n}`)) n++;
    this.nameCounters.set(hint, n + 1);
    return `${hint}_${n}`;
  }

  freshNodeName(hint: string): string {
    if (this.nodeNames.size === 0) this.nodeNames = new Set([...this.graph.allNodes()].map((n) => n.name));
    let name = hint;
    for (let n = 1; this.nodeNames.has(name); n++) name = `${hint}_${n}`;
    this.nodeNames.add(name);
    return name;
  }
}

/** An empty model for a computation the tool runs itself: IR 8, the default ONNX domain at `opset`. */
export function scratchModel(graphName: string, opset = 17): Model {
  const model = new Model(graphName);
  model.opsetImports = [{ domain: '', version: opset }];
  model.producerName = 'llmopt';
  return model;
}
