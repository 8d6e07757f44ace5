/** Pass options described for humans (`llmopt passes`, docs) from their zod schemas. */
import { z } from 'zod';

export interface OptionDoc {
  readonly name: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

interface JsonSchemaProperty {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  items?: JsonSchemaProperty;
  anyOf?: JsonSchemaProperty[];
}

export function describeOptions(schema: z.ZodType): OptionDoc[] {
  let json: { properties?: Record<string, JsonSchemaProperty> };
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as typeof json;
  } catch {
    return [];
  }
  return Object.entries(json.properties ?? {}).map(([name, p]) => ({
    name,
    type: typeOf(p),
    default: p.default === undefined ? '' : JSON.stringify(p.default),
    description: p.description ?? '',
  }));
}

function typeOf(p: JsonSchemaProperty): string {
  if (p.enum) return p.enum.map((e) => JSON.stringify(e)).join(' | ');
  if (p.anyOf) return p.anyOf.map(typeOf).join(' | ');
  if (p.type === 'array') return `${p.items ? typeOf(p.items) : 'value'}[]`;
  return p.type ?? 'value';
}
