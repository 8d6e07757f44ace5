/**
 * A Graph owns its nodes (in order), inputs, outputs, initializers and the values they define. Subgraphs
 * (If/Loop/Scan bodies) have a parent and may read the parent's values. All mutation goes through these
 * methods so that producers and use lists stay right.
 */
import { Node, type AttributeValue } from './node.js';
import { Value, type TensorType } from './value.js';
import type { Tensor } from './tensor.js';
import type { Model } from './model.js';
import { InvariantError } from '../errors.js';

export interface NodeSpec {
  readonly opType: string;
  readonly domain?: string;
  readonly name?: string;
  readonly inputs: readonly (Value | null)[];
  /** Number of outputs (fresh names from `name`/opType) or explicit names. */
  readonly outputs?: number | readonly string[];
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
  /** Insert before this node (default: append, or before the first consumer is the caller's job). */
  readonly before?: Node;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  /** Initializer values in file order. */
  readonly initializers: Value[] = [];
  /** Values that carried a value_info entry, in file order (intermediate type annotations). */
  readonly valueInfos: Value[] = [];
  /** Opaque original message: doc string, metadata, quantization annotations, unknown fields. */
  original: unknown;
  /** Original declarations (value-info messages) per list, reused on write while the value's type is unchanged. */
  readonly declarations = { input: new Map<Value, unknown>(), output: new Map<Value, unknown>(), valueInfo: new Map<Value, unknown>() };
  private readonly scope = new Map<string, Value>();

  constructor(readonly model: Model, public name: string, readonly parent?: Graph) {}

  /** The value visible under `name` here or in an enclosing graph. */
  lookup(name: string): Value | undefined {
    return this.scope.get(name) ?? this.parent?.lookup(name);
  }

  /** Values defined in this graph (not in subgraphs). */
  ownValues(): IterableIterator<Value> { return this.scope.values(); }

  /** Creates a value with a given (free) name. */
  createValue(name: string, type?: TensorType): Value {
    if (this.lookup(name)) throw new InvariantError(`value name '${name}' is defined twice in graph '${this.name}'`);
    this.model.claimName(name);
    const value = new Value(this, name, type);
    this.scope.set(name, value);
    return value;
  }

  /** Creates a value with a fresh name derived from `hint`. */
  freshValue(hint: string, type?: TensorType): Value {
    return this.createValue(this.model.freshName(hint), type);
  }

  addInput(name: string, type?: TensorType): Value {
    const v = this.lookupOwn(name) ?? this.createValue(name, type);
    this.inputs.push(v);
    return v;
  }

  addInitializer(tensor: Tensor, name = tensor.name): Value {
    const existing = this.lookupOwn(name);
    const v = existing ?? this.createValue(name);
    if (v.initializer || v.producer) throw new InvariantError(`'${name}' is already defined`);
    tensor.name = name;
    v.initializer = tensor;
    this.initializers.push(v);
    return v;
  }

  /** A new initializer with a fresh name. */
  addConstant(hint: string, tensor: Tensor): Value {
    return this.addInitializer(tensor, this.model.freshName(hint));
  }

  addNode(spec: NodeSpec): Node {
    const name = spec.name ?? this.model.freshNodeName(spec.opType);
    const node = new Node(this, spec.opType, spec.domain ?? '', name);
    spec.inputs.forEach((v, i) => node.setInput(i, v));
    const outs = spec.outputs ?? 1;
    const names = typeof outs === 'number'
      ? Array.from({ length: outs }, (_, i) => this.model.freshName(`${name}_out${i === 0 ? '' : i}`))
      : outs;
    names.forEach((n, i) => node.setOutputSlot(i, n === '' ? null : this.createValue(n)));
    for (const [k, a] of Object.entries(spec.attributes ?? {})) node.setAttribute(k, a);
    const at = spec.before ? this.nodes.indexOf(spec.before) : -1;
    if (spec.before && at < 0) throw new InvariantError(`insertion point ${spec.before.describe()} is not in graph '${this.name}'`);
    if (at < 0) this.nodes.push(node);
    else this.nodes.splice(at, 0, node);
    return node;
  }

  /** @internal Used by the proto reader: a node whose output values were created already. */
  appendNode(node: Node): void { this.nodes.push(node); }

  /** Removes a node whose outputs nobody reads; throws otherwise (a removed producer must not leave users). */
  removeNode(node: Node): void {
    const at = this.nodes.indexOf(node);
    if (at < 0) throw new InvariantError(`${node.describe()} is not in graph '${this.name}'`);
    for (const out of node.outputs) {
      if (out && !out.isUnused) throw new InvariantError(`cannot remove ${node.describe()}: '${out.name}' is still used`);
    }
    this.nodes.splice(at, 1);
    node.detachInputs();
    node.outputs.forEach((out, i) => {
      if (!out) return;
      node.setOutputSlot(i, null);
      this.dropValue(out);
    });
  }

  /** Removes an initializer nobody reads. */
  removeInitializer(value: Value): void {
    if (!value.isUnused) throw new InvariantError(`cannot remove initializer '${value.name}': still used`);
    const at = this.initializers.indexOf(value);
    if (at < 0) throw new InvariantError(`'${value.name}' is not an initializer of '${this.name}'`);
    this.initializers.splice(at, 1);
    value.initializer = undefined;
    if (!value.isGraphInput) this.dropValue(value);
  }

  /** Nodes of one op type (a snapshot: safe to mutate the graph while iterating). */
  nodesOfType(opType: string, domain = ''): Node[] {
    return this.nodes.filter((n) => n.opType === opType && n.domain === domain);
  }

  /** This graph's nodes and, recursively, those of its subgraphs. */
  *allNodes(): IterableIterator<Node> {
    for (const n of this.nodes) {
      yield n;
      for (const g of n.subgraphs()) yield* g.allNodes();
    }
  }

  /** This graph and every nested subgraph. */
  *graphsDeep(): IterableIterator<Graph> {
    yield this;
    for (const n of this.nodes) for (const g of n.subgraphs()) yield* g.graphsDeep();
  }

  /** @internal Called by Value.rename. */
  renameValue(value: Value, newName: string): void {
    if (this.scope.get(value.name) !== value) throw new InvariantError(`'${value.name}' does not belong to graph '${this.name}'`);
    if (this.lookup(newName)) throw new InvariantError(`cannot rename '${value.name}': '${newName}' is already defined`);
    this.model.claimName(newName);
    this.model.releaseName(value.name);
    this.scope.delete(value.name);
    this.scope.set(newName, value);
  }

  private lookupOwn(name: string): Value | undefined { return this.scope.get(name); }

  private dropValue(value: Value): void {
    const at = this.valueInfos.indexOf(value);
    if (at >= 0) this.valueInfos.splice(at, 1);
    this.scope.delete(value.name);
    this.model.releaseName(value.name);
  }
}
