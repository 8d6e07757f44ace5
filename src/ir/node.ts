/** A Node: an operator application. Inputs and outputs are Values; optional inputs left empty are null. */
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { Value } from './value.js';
import { InvariantError } from '../errors.js';

export type AttributeValue =
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'tensor'; readonly value: Tensor }
  | { readonly type: 'graph'; readonly value: Graph }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensors'; readonly value: readonly Tensor[] }
  | { readonly type: 'graphs'; readonly value: readonly Graph[] }
  /** Kinds the IR carries without interpreting (sparse tensors, type protos, references to function attributes). */
  | { readonly type: 'opaque'; readonly value: unknown };

export type Attribute = AttributeValue & {
  readonly name: string;
  /** Original message, reused on write when the attribute was not replaced. */
  readonly original?: unknown;
};

export class Node {
  private readonly inputValues: (Value | null)[] = [];
  private readonly outputValues: (Value | null)[] = [];
  readonly attributes = new Map<string, Attribute>();
  /** Opaque original message: doc string, metadata, device configurations, unknown fields. */
  original: unknown;

  constructor(
    public graph: Graph,
    public opType: string,
    public domain: string,
    public name: string,
    public overload = '',
  ) {}

  get inputs(): readonly (Value | null)[] { return this.inputValues; }
  get outputs(): readonly (Value | null)[] { return this.outputValues; }

  input(i: number): Value {
    const v = this.inputValues[i];
    if (!v) throw new InvariantError(`${this.describe()} has no input ${i}`);
    return v;
  }

  output(i: number): Value {
    const v = this.outputValues[i];
    if (!v) throw new InvariantError(`${this.describe()} has no output ${i}`);
    return v;
  }

  /** For messages: `MatMul 'name'` or `MatMul #12`. */
  describe(): string {
    const where = this.name ? `'${this.name}'` : `#${this.graph.nodes.indexOf(this)}`;
    return `${this.domain ? `${this.domain}.` : ''}${this.opType} ${where}`;
  }

  setInput(i: number, value: Value | null): void {
    while (this.inputValues.length <= i) this.inputValues.push(null);
    const old = this.inputValues[i];
    if (old === value) return;
    old?.removeUse(this, i);
    this.inputValues[i] = value;
    value?.addUse(this, i);
  }

  /** Replaces all inputs (use lists updated). */
  setInputs(values: readonly (Value | null)[]): void {
    this.detachInputs();
    values.forEach((v, i) => this.setInput(i, v));
  }

  appendInput(value: Value | null): void { this.setInput(this.inputValues.length, value); }

  /** Drops trailing inputs from index `count` on. */
  truncateInputs(count: number): void {
    for (let i = this.inputValues.length - 1; i >= count; i--) {
      this.inputValues[i]?.removeUse(this, i);
      this.inputValues.pop();
    }
  }

  /** @internal Use lists of inputs are released (node leaving the graph). */
  detachInputs(): void { this.truncateInputs(0); }

  /** @internal Graph-owned: attaches a fresh output value. */
  setOutputSlot(i: number, value: Value | null): void {
    while (this.outputValues.length <= i) this.outputValues.push(null);
    const old = this.outputValues[i];
    if (old) { old.producer = undefined; old.producerIndex = -1; }
    this.outputValues[i] = value;
    if (value) { value.producer = this; value.producerIndex = i; }
  }

  attr(name: string): Attribute | undefined { return this.attributes.get(name); }

  getInt(name: string, fallback: number): number;
  getInt(name: string): number | undefined;
  getInt(name: string, fallback?: number): number | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'int' ? a.value : fallback;
  }

  getFloat(name: string, fallback: number): number;
  getFloat(name: string): number | undefined;
  getFloat(name: string, fallback?: number): number | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'float' ? a.value : fallback;
  }

  getInts(name: string): readonly number[] | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'ints' ? a.value : undefined;
  }

  getString(name: string): string | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'string' ? a.value : undefined;
  }

  setAttribute(name: string, attr: AttributeValue): void {
    this.attributes.set(name, { name, ...attr });
  }

  removeAttribute(name: string): void { this.attributes.delete(name); }

  /** Subgraphs held by this node's attributes (If/Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes.values()) {
      if (a.type === 'graph') out.push(a.value);
      else if (a.type === 'graphs') out.push(...a.value);
    }
    return out;
  }
}
