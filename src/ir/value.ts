/**
 * A Value is one SSA name: produced by exactly one node output, a graph input or an initializer, and read by
 * any number of node inputs (in its graph or in nested subgraphs) and graph outputs. The use list is kept
 * right by every IR mutation; passes never edit it directly.
 */
import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Tensor } from './tensor.js';
import { InvariantError } from '../errors.js';

export type Dim = number | string | null;

/** A tensor type; `shape` undefined = rank unknown; a null dim = unknown size. */
export interface TensorType {
  readonly elemType: number;
  readonly shape?: readonly Dim[];
}

export interface Use {
  readonly node: Node;
  readonly index: number;
}

export class Value {
  producer: Node | undefined;
  producerIndex = -1;
  readonly uses: Use[] = [];
  /** Set for initializers: the value is this constant. */
  initializer: Tensor | undefined;
  /** Opaque sparse initializer message, when the value is one. */
  sparseInitializer: unknown;
  private tensorType: TensorType | undefined;
  typeModified = false;

  constructor(readonly graph: Graph, private valueName: string, type?: TensorType) {
    this.tensorType = type;
  }

  get name(): string { return this.valueName; }

  /** Renames the value everywhere it is referenced; the new name must be free in the model. */
  rename(newName: string): void {
    if (newName === this.valueName) return;
    this.graph.renameValue(this, newName);
    this.valueName = newName;
  }

  get type(): TensorType | undefined { return this.tensorType; }
  set type(t: TensorType | undefined) {
    this.tensorType = t;
    this.typeModified = true;
  }

  get isGraphInput(): boolean { return this.graph.inputs.includes(this); }
  get isGraphOutput(): boolean { return this.graph.outputs.includes(this); }
  get isConstant(): boolean { return this.initializer !== undefined; }

  /** Consumer nodes (a node reading the value twice appears twice). */
  consumers(): Node[] { return this.uses.map((u) => u.node); }

  /** True when nothing reads the value: no node input and no graph output. */
  get isUnused(): boolean { return this.uses.length === 0 && !this.isGraphOutput; }

  /**
   * Points every reader of this value at `other`, including graph outputs. A graph output keeps its name:
   * `other` takes over this value's name (this value gets a fresh one), so the model's interface is unchanged.
   */
  replaceAllUsesWith(other: Value): void {
    if (other === this) return;
    for (const use of [...this.uses]) use.node.setInput(use.index, other);
    const outputs = this.graph.outputs;
    if (!outputs.includes(this)) return;
    if (other.isGraphInput || other.isGraphOutput || other.graph !== this.graph) {
      throw new InvariantError(`cannot replace graph output '${this.name}' with '${other.name}' without renaming the model's interface`);
    }
    for (let i = 0; i < outputs.length; i++) if (outputs[i] === this) outputs[i] = other;
    const declared = this.graph.declarations.output.get(this);
    if (declared !== undefined) this.graph.declarations.output.set(other, declared);
    if (!other.type && this.type) other.type = this.type;
    const keep = this.name;
    this.rename(this.graph.model.freshName(`${keep}__replaced`));
    other.rename(keep);
  }

  /** @internal */
  addUse(node: Node, index: number): void { this.uses.push({ node, index }); }
  /** @internal */
  removeUse(node: Node, index: number): void {
    const at = this.uses.findIndex((u) => u.node === node && u.index === index);
    if (at < 0) throw new InvariantError(`use-def broken: '${this.name}' has no use at ${node.describe()} input ${index}`);
    this.uses.splice(at, 1);
  }
}
